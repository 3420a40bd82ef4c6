"""The three schema dialects become JSON Schema 2020-12 with only local ``#/$defs`` references."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from virtualize.adapters import AdapterOptions
from virtualize.adapters.openapi import load
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, JsonSchema


def compile_ir(tmp_path: Path, document: dict[str, Any]) -> tuple[Api, Diagnostics]:
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    diagnostics = Diagnostics()
    api = load(path, AdapterOptions(), diagnostics)
    assert api is not None, [d.render() for d in diagnostics.items]
    return api, diagnostics


def body_schema_3(
    tmp_path: Path, schema: Any, version: str = "3.0.3", **components: Any
) -> tuple[JsonSchema, Api, Diagnostics]:
    """The request body schema of the one operation of a document holding ``schema``."""
    document = {
        "openapi": version,
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": schema}}},
                    "responses": {"204": {"description": "done"}},
                }
            }
        },
        "components": {"schemas": components},
    }
    api, diagnostics = compile_ir(tmp_path, document)
    body = api.operations[0].call.body
    assert body is not None
    return body.schema_, api, diagnostics


def test_openapi_3_0_nullable_adds_null_to_the_type_and_the_enum(tmp_path: Path) -> None:
    schema, _, _ = body_schema_3(tmp_path, {"type": "string", "enum": ["a", "b"], "nullable": True})

    assert schema == {"type": ["string", "null"], "enum": ["a", "b", None]}


def test_nullable_next_to_a_ref_becomes_any_of_the_ref_or_null(tmp_path: Path) -> None:
    schema, _, _ = body_schema_3(
        tmp_path,
        {"type": "object", "properties": {"owner": {"$ref": "#/components/schemas/Owner", "nullable": True}}},
        Owner={"type": "object"},
    )

    assert schema["properties"]["owner"] == {"anyOf": [{"$ref": "#/$defs/Owner"}, {"type": "null"}]}


def test_draft4_boolean_exclusive_bounds_take_the_numeric_form(tmp_path: Path) -> None:
    schema, _, _ = body_schema_3(
        tmp_path, {"type": "number", "minimum": 1, "exclusiveMinimum": True, "maximum": 9, "exclusiveMaximum": False}
    )

    assert schema == {"type": "number", "exclusiveMinimum": 1, "maximum": 9}


def test_example_becomes_examples_and_openapi_only_keywords_are_dropped(tmp_path: Path) -> None:
    schema, _, _ = body_schema_3(
        tmp_path,
        {"type": "string", "example": "rex", "xml": {"name": "n"}, "x-internal": True, "discriminator": {}},
    )

    assert schema == {"type": "string", "examples": ["rex"]}


def test_openapi_3_1_type_arrays_and_examples_pass_through(tmp_path: Path) -> None:
    schema, _, _ = body_schema_3(tmp_path, {"type": ["string", "null"], "examples": ["a"]}, version="3.1.0")

    assert schema == {"type": ["string", "null"], "examples": ["a"]}


def test_recursive_schemas_stay_references_into_defs(tmp_path: Path) -> None:
    pet = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "friends": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}},
        },
    }
    schema, api, _ = body_schema_3(tmp_path, {"$ref": "#/components/schemas/Pet"}, Pet=pet)

    assert schema == {"$ref": "#/$defs/Pet"}
    assert api.defs == {
        "Pet": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "friends": {"type": "array", "items": {"$ref": "#/$defs/Pet"}}},
        }
    }


def test_values_the_metaschema_rejects_are_dropped_with_a_warning(tmp_path: Path) -> None:
    schema, _, diagnostics = body_schema_3(
        tmp_path,
        {
            "type": "object",
            "minProperties": "3",
            "allOf": [],
            "properties": {"code": {"type": "string", "pattern": "(unclosed"}},
            "patternProperties": {"[": {}},
        },
    )

    assert schema == {"type": "object", "properties": {"code": {"type": "string"}}, "patternProperties": {}}
    Draft202012Validator.check_schema(schema)
    pointer = "/paths/~1things/post/requestBody/content/application~1json/schema"
    assert [d.pointer for d in diagnostics.warnings] == [
        f"{pointer}/minProperties",
        f"{pointer}/allOf",
        f"{pointer}/properties/code/pattern",
        f"{pointer}/patternProperties/[",
    ]


def test_a_property_marked_required_true_swagger_style_is_required(tmp_path: Path) -> None:
    schema, _, _ = body_schema_3(
        tmp_path, {"type": "object", "properties": {"id": {"type": "string", "required": True}}}
    )

    assert schema == {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}


def test_swagger_2_file_type_and_x_nullable_take_their_2020_12_meaning(tmp_path: Path) -> None:
    document = {
        "swagger": "2.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things": {
                "post": {
                    "parameters": [
                        {"in": "body", "name": "body", "schema": {"$ref": "#/definitions/Thing"}},
                    ],
                    "responses": {"200": {"description": "ok", "schema": {"type": "file"}}},
                }
            }
        },
        "definitions": {"Thing": {"type": "object", "properties": {"tag": {"type": "string", "x-nullable": True}}}},
    }
    api, _ = compile_ir(tmp_path, document)

    assert api.defs == {"Thing": {"type": "object", "properties": {"tag": {"type": ["string", "null"]}}}}
    assert api.operations[0].call.responses[0].schema_ is None  # a file is bytes, not JSON


def test_a_schema_nested_past_the_limit_is_cut_with_a_warning_instead_of_overflowing(tmp_path: Path) -> None:
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(500):
        deep = {"type": "array", "items": deep}
    schema, _, diagnostics = body_schema_3(tmp_path, deep)

    depth = 0
    while "items" in schema:
        schema, depth = schema["items"], depth + 1
    assert depth < 100
    assert schema == {}
    assert [d.message for d in diagnostics.warnings] == ["the schema nests more than 64 levels deep"]


def test_int32_int64_and_float_formats_bound_the_value_unless_a_tighter_bound_is_set(tmp_path: Path) -> None:
    schema, _, _ = body_schema_3(
        tmp_path,
        {
            "type": "object",
            "properties": {
                "small": {"type": "integer", "format": "int32"},
                "big": {"type": "integer", "format": "int64"},
                "limit": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 100},
                "loose": {"type": "integer", "format": "int32", "minimum": -1e12},
                "positive": {"type": "integer", "format": "int64", "exclusiveMinimum": 0},
                "ratio": {"type": "number", "format": "float"},
                "precise": {"type": "number", "format": "double"},
            },
        },
    )

    assert schema["properties"] == {
        "small": {"type": "integer", "format": "int32", "minimum": -2147483648, "maximum": 2147483647},
        "big": {
            "type": "integer",
            "format": "int64",
            "minimum": -9223372036854775808,
            "maximum": 9223372036854775807,
        },
        "limit": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 100},
        "loose": {"type": "integer", "format": "int32", "minimum": -2147483648, "maximum": 2147483647},
        "positive": {"type": "integer", "format": "int64", "exclusiveMinimum": 0, "maximum": 9223372036854775807},
        "ratio": {
            "type": "number",
            "format": "float",
            "minimum": -3.4028234663852886e38,
            "maximum": 3.4028234663852886e38,
        },
        "precise": {"type": "number", "format": "double"},
    }


def test_a_discriminator_makes_each_alternative_carry_its_selecting_value(tmp_path: Path) -> None:
    method = {"type": "object", "properties": {"method": {"type": "string"}}, "required": ["method"]}
    schema, _, _ = body_schema_3(
        tmp_path,
        {
            "oneOf": [
                {"$ref": "#/components/schemas/Password"},
                {"$ref": "#/components/schemas/Oidc"},
                {"$ref": "#/components/schemas/Code"},
                {"type": "object"},  # inline: no name to select it by, left as it is
            ],
            "discriminator": {
                "propertyName": "method",
                "mapping": {"password": "#/components/schemas/Password", "oidc": "Oidc", "sso": "Oidc"},
            },
        },
        Password=method,
        Oidc=method,
        Code=method,
    )

    def selector(ref: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"$ref": f"#/$defs/{ref}", "properties": {"method": value}, "required": ["method"]}

    assert schema["oneOf"] == [
        selector("Password", {"const": "password"}),
        selector("Oidc", {"enum": ["oidc", "sso"]}),
        {"$ref": "#/$defs/Code"},  # not in the mapping: its own schema says what selects it
        {"type": "object"},
    ]


@pytest.mark.parametrize(("version", "kept"), [("3.0.3", {}), ("3.1.0", {"type": "number"})])
def test_constraints_next_to_a_ref_count_only_where_the_version_says_so(
    tmp_path: Path, version: str, kept: dict[str, Any]
) -> None:
    amount = {"type": "object", "properties": {"value": {"type": "number"}}}
    schema, _, _ = body_schema_3(
        tmp_path,
        {
            "type": "object",
            "properties": {"rate": {"$ref": "#/components/schemas/Amount", "type": "number", "description": "d"}},
        },
        version,
        Amount=amount,
    )

    assert schema["properties"]["rate"] == {"$ref": "#/$defs/Amount", "description": "d", **kept}


def test_a_discriminated_base_accepts_each_subtype_with_its_own_fields(tmp_path: Path) -> None:
    from virtualize.compiler import compile_spec  # noqa: PLC0415
    from virtualize.config import BuildOptions  # noqa: PLC0415
    from virtualize.runtime.arguments import ArgumentCheck  # noqa: PLC0415
    from virtualize.runtime.outcomes import Failure  # noqa: PLC0415

    spec = Path(__file__).parents[3] / "golden" / "cases" / "discriminator-subtypes" / "input.yaml"
    tools = {t.name: t for t in compile_spec(spec, BuildOptions(output=tmp_path / "out")).manifest.tools}
    add_pet, add_shape = ArgumentCheck(tools["addPet"].input_schema), ArgumentCheck(tools["addShape"].input_schema)

    cat = {"petType": "cat", "name": "Tom", "huntingSkill": "lazy"}  # a Cat's own field, refused before
    assert add_pet.check({"body": cat}) == {"body": cat}
    assert add_pet.check({"body": {"petType": "dog", "packSize": 3}}) == {"body": {"petType": "dog", "packSize": 3}}
    assert isinstance(add_pet.check({"body": {"petType": "cat", "huntingSkill": "sleepy"}}), Failure)  # Cat's enum
    assert isinstance(add_pet.check({"body": {"petType": "cow"}}), Failure)  # not a value the mapping names
    # one (implicit) subtype: the reference is to it, so its fields are arguments of their own
    assert add_shape.check({"kind": "Circle", "radius": 2}) == {"kind": "Circle", "radius": 2}
