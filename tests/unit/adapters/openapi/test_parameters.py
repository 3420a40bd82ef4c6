"""Parameters → arguments with explicit serialization; Swagger 2.0 body, formData and collectionFormat."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from virtualize.adapters import AdapterOptions
from virtualize.adapters.openapi import load
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, Body, Encoding, Location, Serialization


def compile_ir(tmp_path: Path, text: str) -> tuple[Api, Diagnostics]:
    path = tmp_path / "openapi.yaml"
    path.write_text(text, encoding="utf-8")
    diagnostics = Diagnostics()
    api = load(path, AdapterOptions(), diagnostics)
    assert api is not None, [d.render() for d in diagnostics.items]
    return api, diagnostics


def test_styles_default_by_location_and_explicit_ones_are_kept(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /search:
    get:
      parameters:
        - {name: tags, in: query, schema: {type: array, items: {type: string}}, explode: false}
        - {name: filter, in: query, style: deepObject, explode: true, schema: {type: object}}
        - {name: session, in: cookie, schema: {type: string}}
        - {name: X-Request-Id, in: header, schema: {type: string}}
        - {name: q, in: query, allowReserved: true, schema: {type: string}, required: true, example: cats}
        - {name: where, in: query, content: {application/json: {schema: {type: object}}}}
        - {name: Accept, in: header, schema: {type: string}}
        - {name: odd, in: query, style: matrix, schema: {type: string}}
      responses: {"200": {description: ok}}
"""
    api, diagnostics = compile_ir(tmp_path, text)

    arguments = api.operations[0].arguments
    assert [(a.name, a.location, a.required, a.serialization) for a in arguments] == [
        ("tags", Location.QUERY, False, Serialization(style="form", explode=False)),
        ("filter", Location.QUERY, False, Serialization(style="deepObject", explode=True)),
        ("session", Location.COOKIE, False, Serialization(style="form", explode=True)),
        ("X-Request-Id", Location.HEADER, False, Serialization(style="simple", explode=False)),
        ("q", Location.QUERY, True, Serialization(style="form", explode=True, allow_reserved=True)),
        ("where", Location.QUERY, False, Serialization(content_type="application/json")),
        ("odd", Location.QUERY, False, Serialization(style="form", explode=True)),
    ]
    assert arguments[4].schema_ == {"type": "string", "minLength": 1, "examples": ["cats"]}
    assert [d.message for d in diagnostics.warnings] == ["style 'matrix' is not allowed in query"]


def test_operation_parameters_override_path_parameters_of_the_same_name_and_location(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    parameters:
      - {name: limit, in: query, schema: {type: integer}}
      - {name: limit, in: header, schema: {type: integer}}
    get:
      parameters: [{name: limit, in: query, schema: {type: string}}]
      responses: {"200": {description: ok}}
"""
    api, _ = compile_ir(tmp_path, text)

    assert [(a.name, a.location, a.schema_) for a in api.operations[0].arguments] == [
        ("limit", Location.QUERY, {"type": "string", "minLength": 1}),
        ("limit", Location.HEADER, {"type": "integer"}),
    ]


SWAGGER = """
swagger: "2.0"
info: {title: t, version: "1"}
consumes: [application/json]
paths:
  /pets:
    get:
      parameters:
        - {name: tags, in: query, type: array, items: {type: string}, collectionFormat: csv}
        - {name: ids, in: query, type: array, items: {type: integer}, collectionFormat: multi}
        - {name: codes, in: query, type: array, items: {type: string}, collectionFormat: pipes}
        - {name: limit, in: query, type: integer, minimum: 1, maximum: 100, default: 20}
      responses: {"200": {description: ok}}
    post:
      parameters:
        - {name: body, in: body, required: true, schema: {type: object, properties: {name: {type: string}}}}
      responses: {"201": {description: ok}}
  /pets/{id}/photo:
    post:
      consumes: [multipart/form-data]
      parameters:
        - {name: id, in: path, required: true, type: integer, format: int64}
        - {name: file, in: formData, type: file, required: true}
        - {name: caption, in: formData, type: string, description: A caption}
        - {name: labels, in: formData, type: array, items: {type: string}}
      responses: {"200": {description: ok}}
"""


def test_swagger_2_collection_formats_map_to_openapi_3_styles(tmp_path: Path) -> None:
    api, _ = compile_ir(tmp_path, SWAGGER)

    arguments = api.operations[0].arguments
    assert [(a.name, a.serialization) for a in arguments] == [
        ("tags", Serialization(style="form", explode=False)),
        ("ids", Serialization(style="form", explode=True)),
        ("codes", Serialization(style="pipeDelimited", explode=False)),
        ("limit", Serialization(style="form", explode=True)),
    ]
    assert arguments[3].schema_ == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}


def test_a_swagger_2_body_parameter_is_the_request_body(tmp_path: Path) -> None:
    api, _ = compile_ir(tmp_path, SWAGGER)

    post = api.operations[1]
    assert post.arguments == ()
    assert post.call.body == Body(
        media_type="application/json",
        schema={"type": "object", "properties": {"name": {"type": "string"}}},
        required=True,
        pointer="/paths/~1pets/post/parameters/0",
    )


def test_swagger_2_form_data_with_a_file_is_a_multipart_body(tmp_path: Path) -> None:
    api, _ = compile_ir(tmp_path, SWAGGER)

    upload = api.operations[2]
    assert [(a.name, a.location) for a in upload.arguments] == [("id", Location.PATH)]
    assert upload.call.body == Body(
        media_type="multipart/form-data",
        schema={
            "type": "object",
            "properties": {
                "file": {"type": "string", "format": "binary"},
                "caption": {"type": "string", "description": "A caption"},
                "labels": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["file"],
        },
        required=True,
        encoding={"labels": Encoding(style="form", explode=False)},
        pointer="/paths/~1pets~1{id}~1photo/post/parameters",
    )


def test_string_path_parameters_cannot_be_empty_and_keep_a_larger_min_length(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a/{name}/{code}/{maybe}/{n}/{any}:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
        - {name: code, in: path, required: true, schema: {type: string, minLength: 3}}
        - {name: maybe, in: path, required: true, schema: {type: string, nullable: true}}
        - {name: n, in: path, required: true, schema: {type: integer}}
        - {name: any, in: path, required: true, schema: {}}
      responses: {"200": {description: ok}}
"""
    api, _ = compile_ir(tmp_path, text)

    assert [a.schema_ for a in api.operations[0].arguments] == [
        {"type": "string", "minLength": 1},
        {"type": "string", "minLength": 3},
        {"type": ["string", "null"], "minLength": 1},
        {"type": "integer"},
        # untyped (a $ref to a string or a list, say): whatever it is, not empty, not [""]
        {"minLength": 1, "minItems": 1, "minProperties": 1, "contains": {"not": {"const": ""}}},
    ]


def test_query_strings_and_required_header_and_cookie_strings_cannot_be_empty_unless_allow_empty_value(
    tmp_path: Path,
) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /s:
    get:
      parameters:
        - {name: q, in: query, required: true, schema: {type: string}}
        - {name: flag, in: query, required: true, allowEmptyValue: true, schema: {type: string}}
        - {name: opt, in: query, schema: {type: string}}
        - {name: X-Key, in: header, required: true, schema: {type: string}}
        - {name: sid, in: cookie, required: true, schema: {type: string}}
        - {name: where, in: query, required: true, content: {application/json: {schema: {type: string}}}}
        - {name: X-Opt, in: header, schema: {type: string}}
        - {name: mode, in: query, schema: {type: string, enum: ["", fast]}}
      responses: {"200": {description: ok}}
"""
    api, _ = compile_ir(tmp_path, text)

    assert [(a.name, a.schema_.get("minLength")) for a in api.operations[0].arguments] == [
        ("q", 1),
        ("flag", None),
        ("opt", 1),  # left out, not sent as `?opt=`
        ("X-Key", 1),
        ("sid", 1),
        ("where", None),
        ("X-Opt", None),  # allowEmptyValue is about query parameters only
        ("mode", None),  # the author listed "" as a value
    ]


def test_required_arrays_and_objects_need_an_item_or_a_property_that_can_be_sent(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /s:
    get:
      parameters:
        - {name: tags, in: query, required: true, schema: {type: array, items: {type: string}}}
        - {name: ids, in: query, required: true, explode: false, schema: {type: array, minItems: 2, items: {}}}
        - {name: filter, in: query, required: true, style: deepObject, schema: {type: object}}
        - {name: either, in: query, required: true, schema: {type: [string, array], items: {}}}
        - {name: more, in: query, schema: {type: array, items: {}}}
        - {name: pipes, in: query, style: pipeDelimited, explode: false, schema: {type: array, items: {}}}
      responses: {"200": {description: ok}}
"""
    api, _ = compile_ir(tmp_path, text)

    minima = [
        {k: v for k, v in a.schema_.items() if k in {"minLength", "minItems", "minProperties"}}
        for a in api.operations[0].arguments
    ]
    # An optional exploded list may be empty (it is left out); an optional `a|b` list would be sent as `?pipes=`.
    assert minima == [
        {"minItems": 1},
        {"minItems": 2},
        {"minProperties": 1},
        {"minLength": 1, "minItems": 1},
        {},
        {"minItems": 1},
    ]
    assert api.operations[0].arguments[0].schema_["items"] == {"type": "string", "minLength": 1}
    assert api.operations[0].arguments[1].schema_["items"] == {"minLength": 1, "minItems": 1, "minProperties": 1}


def test_items_of_a_required_list_cannot_be_empty_either(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a/{ids}:
    get:
      parameters:
        - {name: ids, in: path, required: true, schema: {type: array, items: {type: string}}}
      responses: {"200": {description: ok}}
"""
    api, _ = compile_ir(tmp_path, text)

    assert api.operations[0].arguments[0].schema_ == {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": 1,
    }


def test_swagger_2_required_query_strings_cannot_be_empty_unless_allow_empty_value(tmp_path: Path) -> None:
    text = """
swagger: "2.0"
info: {title: t, version: "1"}
paths:
  /s/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, type: string}
        - {name: q, in: query, required: true, type: string}
        - {name: flag, in: query, required: true, allowEmptyValue: true, type: string}
      responses: {"200": {description: ok}}
"""
    api, _ = compile_ir(tmp_path, text)

    assert [(a.name, a.schema_) for a in api.operations[0].arguments] == [
        ("id", {"type": "string", "minLength": 1}),
        ("q", {"type": "string", "minLength": 1}),
        ("flag", {"type": "string"}),
    ]


def test_swagger_2_operation_consumes_wins_over_the_global_one_for_body_and_form_data(tmp_path: Path) -> None:
    text = """
swagger: "2.0"
info: {title: t, version: "1"}
consumes: [application/json]
paths:
  /raw:
    post:
      consumes: [application/octet-stream]
      parameters:
        - {name: data, in: body, schema: {type: string, format: binary}}
      responses: {"200": {description: ok}}
  /json:
    post:
      parameters:
        - {name: data, in: body, schema: {type: object}}
      responses: {"200": {description: ok}}
  /form:
    post:
      consumes: [application/x-www-form-urlencoded]
      parameters:
        - {name: name, in: formData, type: string}
      responses: {"200": {description: ok}}
"""
    api, _ = compile_ir(tmp_path, text)

    assert [op.call.body.media_type for op in api.operations if op.call.body is not None] == [
        "application/octet-stream",
        "application/json",
        "application/x-www-form-urlencoded",
    ]


def test_a_swagger_2_content_type_header_that_contradicts_consumes_is_reported(tmp_path: Path) -> None:
    text = """
swagger: "2.0"
info: {title: t, version: "1"}
paths:
  /build:
    post:
      consumes: [application/octet-stream]
      parameters:
        - {name: input, in: body, schema: {type: string, format: binary}}
        - {name: Content-type, in: header, type: string, enum: [application/x-tar]}
      responses: {"200": {description: ok}}
"""
    api, diagnostics = compile_ir(tmp_path, text)

    assert api.operations[0].call.body is not None
    assert api.operations[0].call.body.media_type == "application/octet-stream"
    assert [d.message for d in diagnostics.warnings] == [
        "header parameter 'Content-type' allows only application/x-tar but consumes says application/octet-stream"
    ]


def test_a_header_parameter_admits_only_the_text_a_header_can_carry(tmp_path: Path) -> None:
    api, _ = compile_ir(
        tmp_path,
        """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /x:
    get:
      parameters:
        - {name: X-Trace, in: header, schema: {type: string}}
        - {name: X-Mode, in: header, schema: {type: string, enum: [a, b]}}
      responses: {"204": {description: ok}}
""",
    )
    trace, mode = api.operations[0].arguments
    jsonschema.validate("trace-1\tok", trace.schema_)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("caf\u00e9", trace.schema_)
    assert "pattern" not in mode.schema_
