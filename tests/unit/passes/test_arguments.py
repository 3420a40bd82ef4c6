from virtualize import ir
from virtualize.passes.arguments import assign_names, plan
from virtualize.passes.emit import _dependent_required
from virtualize.passes.schemas import SchemaViews

Location = ir.Location


def test_a_clash_keeps_the_plain_name_by_location_priority_and_suffixes_the_rest():
    names = assign_names([("id", Location.BODY_FIELD), ("id", Location.QUERY), ("id", Location.PATH)])
    assert names == ["id_body", "id_query", "id"]


def test_a_suffix_that_is_taken_gets_a_number():
    names = assign_names([("id", Location.PATH), ("id_query", Location.QUERY), ("id", Location.QUERY)])
    assert names == ["id", "id_query", "id_query_2"]


def test_wire_names_that_are_not_property_names_are_sanitized_and_lose_to_exact_ones():
    assert assign_names([("page[size]", Location.QUERY), ("page_size", Location.HEADER)]) == [
        "page_size_query",
        "page_size",
    ]


def test_an_object_body_becomes_one_argument_per_property_with_required_kept():
    body = ir.Body(
        media_type="application/json",
        required=True,
        schema={"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "tag": {}}},
    )
    operation = ir.Operation(
        key="POST /p", name_candidates=("p",), call=ir.HttpCall(method="POST", path="/p", body=body)
    )
    planned = plan(operation, SchemaViews({}))
    assert [(a.argument, a.source.location, a.required) for a in planned] == [
        ("name", Location.BODY_FIELD, True),
        ("tag", Location.BODY_FIELD, False),
    ]


def test_a_combinator_body_goes_under_one_body_argument():
    body = ir.Body(
        media_type="application/json", required=True, schema={"oneOf": [{"type": "string"}, {"type": "integer"}]}
    )
    operation = ir.Operation(
        key="POST /p", name_candidates=("p",), call=ir.HttpCall(method="POST", path="/p", body=body)
    )
    [argument] = plan(operation, SchemaViews({}))
    assert (argument.argument, argument.source.location, argument.required) == ("body", Location.BODY, True)
    assert argument.schema == {"anyOf": [{"type": "string"}, {"type": "integer"}]}  # oneOf is read as anyOf


def test_binary_multipart_parts_travel_as_base64_strings():
    body = ir.Body(
        media_type="multipart/form-data",
        schema={"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}},
    )
    operation = ir.Operation(
        key="POST /f", name_candidates=("f",), call=ir.HttpCall(method="POST", path="/f", body=body)
    )
    [argument] = plan(operation, SchemaViews({}))
    assert argument.schema == {
        "type": "string",
        "contentEncoding": "base64",
        "description": "File content, base64-encoded.",
    }


def _post(body: ir.Body) -> ir.Operation:
    return ir.Operation(key="POST /p", name_candidates=("p",), call=ir.HttpCall(method="POST", path="/p", body=body))


def test_an_optional_body_keeps_its_required_fields_as_required_once_any_field_is_sent():
    schema = {
        "type": "object",
        "required": ["ids", "type"],
        "properties": {"ids": {"type": "array"}, "type": {"type": "string"}, "note": {"type": "string"}},
    }
    planned = plan(_post(ir.Body(media_type="application/json", required=False, schema=schema)), SchemaViews({}))
    assert [(a.argument, a.required, a.required_in_body) for a in planned] == [
        ("ids", False, True),
        ("type", False, True),
        ("note", False, False),
    ]
    assert _dependent_required(list(planned)) == {"ids": ["type"], "type": ["ids"], "note": ["ids", "type"]}


def test_a_required_body_needs_no_dependencies():
    schema = {"type": "object", "required": ["ids"], "properties": {"ids": {}, "note": {}}}
    planned = plan(_post(ir.Body(media_type="application/json", required=True, schema=schema)), SchemaViews({}))
    assert [(a.argument, a.required, a.required_in_body) for a in planned] == [
        ("ids", True, False),
        ("note", False, False),
    ]
    assert _dependent_required(list(planned)) == {}


def test_a_required_raw_body_cannot_be_empty_but_an_optional_one_can():
    for required, expected in ((True, 1), (False, None)):
        body = ir.Body(media_type="application/x-tar", required=required, schema={"type": "string", "format": "binary"})
        [argument] = plan(_post(body), SchemaViews({}))
        assert argument.schema.get("minLength") == expected
        assert argument.schema["contentEncoding"] == "base64"


def _form_schemas(media_type: str, properties: dict, required: list[str]) -> dict:
    body = ir.Body(
        media_type=media_type,
        required=True,
        schema={"type": "object", "required": required, "properties": properties},
    )
    operation = ir.Operation(
        key="POST /v", name_candidates=("v",), call=ir.HttpCall(method="POST", path="/v", body=body)
    )
    views = SchemaViews({"Profile": {"type": "object", "properties": {"headline": {"type": "string"}}}})
    return {a.argument: a.schema for a in plan(operation, views)}


def test_a_required_form_field_that_an_empty_value_would_leave_out_needs_an_item_or_property():
    properties = {
        "values": {"type": "array", "items": {"type": "string"}},
        "profile": {"$ref": "#/$defs/Profile"},
        "owner": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        "note": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}},
    }
    required = ["values", "profile", "owner", "note"]

    form = _form_schemas("application/x-www-form-urlencoded", properties, required)
    multipart = _form_schemas("multipart/form-data", properties, required)
    as_json = _form_schemas("application/json", properties, required)

    assert form["values"]["minItems"] == 1  # `values: []` would send no `values` at all
    assert form["profile"] == {"$ref": "#/$defs/Profile", "minProperties": 1}
    assert "minProperties" not in form["owner"]  # it cannot be empty anyway
    assert "minLength" not in form["note"]  # `note=` is sent
    assert "minItems" not in form["tags"]  # optional: leaving it out is what an empty list means
    assert multipart["values"]["minItems"] == 1
    assert multipart["profile"] == {"$ref": "#/$defs/Profile"}  # one JSON part, `{}` included
    assert "minItems" not in as_json["values"]  # `[]` is sent as it is


def test_a_parameters_and_a_bodys_own_description_win_over_their_schemas():
    email = {"type": "string", "description": "An email address."}
    owner = ir.Argument(name="owner", location=Location.QUERY, schema_=email, description="Filter by owner email.")
    body = ir.Body(
        media_type="application/json",
        required=True,
        schema={"oneOf": [{"type": "string"}, {"type": "integer"}], "description": "A key."},
        description="The key of the pet to adopt.",
    )
    operation = ir.Operation(
        key="POST /p",
        name_candidates=("p",),
        arguments=(owner,),
        call=ir.HttpCall(method="POST", path="/p", body=body),
    )
    planned = {argument.argument: argument.schema for argument in plan(operation, SchemaViews({}))}
    # the schema's words stood in for the parameter's, which were dropped without a word
    assert planned["owner"]["description"] == "Filter by owner email."
    assert planned["body"]["description"] == "The key of the pet to adopt."
