from virtualize.passes.schemas import Mode, SchemaViews

DEFS = {
    "Node": {
        "type": "object",
        "required": ["id", "value", "secret"],
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "value": {"type": "string", "maxLength": 5},
            "secret": {"type": "string", "writeOnly": True},
            "next": {"$ref": "#/$defs/Node"},
        },
        "additionalProperties": False,
    },
    "Unused": {"type": "string"},
}


def test_the_request_view_drops_read_only_properties_and_their_required_entries():
    view = SchemaViews(DEFS).def_view("Node", Mode.REQUEST)
    assert set(view["properties"]) == {"value", "secret", "next"}
    assert view["required"] == ["value", "secret"]


def test_the_result_view_drops_write_only_properties_and_every_constraint_and_opens_objects():
    view = SchemaViews(DEFS).def_view("Node", Mode.RESULT)
    assert set(view["properties"]) == {"id", "value", "next"}
    assert "required" not in view
    assert "additionalProperties" not in view
    assert view["properties"]["value"] == {"type": "string"}


def test_a_document_carries_exactly_the_defs_it_reaches_recursion_included():
    document = SchemaViews(DEFS).document(
        {"type": "object", "properties": {"n": {"$ref": "#/$defs/Node"}}}, Mode.REQUEST
    )
    assert list(document["$defs"]) == ["Node"]


def test_a_bounded_document_trims_far_defs_with_a_described_placeholder():
    defs = {f"D{i}": {"type": "object", "properties": {"x" * 50: {"$ref": f"#/$defs/D{i + 1}"}}} for i in range(40)}
    defs["D40"] = {"type": "string"}
    schema, trimmed = SchemaViews(defs).bounded_document({"$ref": "#/$defs/D0", "type": "object"}, Mode.RESULT, 600)
    assert trimmed
    assert len(str(schema)) < 1200
    assert "trimmed" in str(schema)


def test_a_small_document_is_not_trimmed():
    schema, trimmed = SchemaViews(DEFS).bounded_document({"$ref": "#/$defs/Node", "type": "object"}, Mode.RESULT, 8192)
    assert not trimmed
    assert list(schema["$defs"]) == ["Node"]


def test_references_to_missing_defs_are_collected_for_a_diagnostic():
    views = SchemaViews({})
    views.view({"$ref": "#/$defs/Gone"}, Mode.REQUEST)
    assert views.unresolved == {"#/$defs/Gone"}


def test_one_of_is_read_as_any_of_so_overlapping_open_branches_stay_callable():
    from virtualize.runtime.arguments import ArgumentCheck  # noqa: PLC0415

    shapes = {
        "oneOf": [
            {"type": "object", "properties": {"radius": {"type": "number"}}},
            {"type": "object", "properties": {"side": {"type": "number"}}},
        ]
    }
    for mode in Mode:
        view = SchemaViews({}).view(shapes, mode)
        assert "oneOf" not in view and len(view["anyOf"]) == 2
    request = SchemaViews({}).view({"type": "object", "properties": {"body": shapes}}, Mode.REQUEST)
    # {"radius": 2} fits both branches: oneOf would refuse it, and every other call too
    assert ArgumentCheck(request).check({"body": {"radius": 2}}) == {"body": {"radius": 2}}
    mixed = SchemaViews({}).view({"anyOf": [{"type": "string"}], "oneOf": [{"type": "integer"}]}, Mode.REQUEST)
    assert mixed == {"anyOf": [{"type": "string"}], "allOf": [{"anyOf": [{"type": "integer"}]}]}
