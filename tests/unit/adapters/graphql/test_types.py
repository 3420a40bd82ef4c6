"""GraphQL input and output types → JSON Schema 2020-12 (the adapter's IR, before the passes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from virtualize.adapters import AdapterOptions
from virtualize.adapters.graphql import load
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, Operation


def compile_ir(tmp_path: Path, sdl: str, **options: Any) -> Api:
    path = tmp_path / "schema.graphql"
    path.write_text(sdl, encoding="utf-8")
    diagnostics = Diagnostics()
    api = load(path, AdapterOptions(endpoint="http://127.0.0.1/graphql", **options), diagnostics)
    assert api is not None, [d.render() for d in diagnostics.items]
    return api


def operation(api: Api, key: str) -> Operation:
    return next(op for op in api.operations if op.key == key)


def argument_schema(api: Api, key: str, name: str) -> tuple[dict[str, Any], bool]:
    argument = next(a for a in operation(api, key).arguments if a.name == name)
    return argument.schema_, argument.required


def validator(api: Api, schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "$defs": api.defs})


def test_an_argument_is_required_only_when_non_null_without_a_default(tmp_path: Path) -> None:
    api = compile_ir(tmp_path, "type Query { f(a: Int!, b: Int! = 3, c: Int, d: Int = 4): Int }")

    assert [argument_schema(api, "Query.f", n)[1] for n in "abcd"] == [True, False, False, False]
    assert argument_schema(api, "Query.f", "b")[0] == {
        "type": "integer",
        "minimum": -(2**31),
        "maximum": 2**31 - 1,
        "default": 3,
    }
    assert argument_schema(api, "Query.f", "d")[0]["default"] == 4
    assert argument_schema(api, "Query.f", "c")[0]["type"] == ["integer", "null"]


def test_a_non_null_argument_with_a_default_is_a_nullable_variable_so_absence_applies_the_default(
    tmp_path: Path,
) -> None:
    api = compile_ir(tmp_path, "type Query { f(b: Int! = 3): Int }")

    assert operation(api, "Query.f").call.document.startswith("query f($b: Int) {")  # type: ignore[union-attr]


def test_builtin_scalars_int_is_32_bit_float_a_number_and_id_a_string_or_integer(tmp_path: Path) -> None:
    api = compile_ir(tmp_path, "type Query { f(i: Int!, x: Float!, id: ID!, s: String!, b: Boolean!): Int }")
    schemas = {n: argument_schema(api, "Query.f", n)[0] for n in ("i", "x", "id", "s", "b")}

    assert schemas["i"] == {"type": "integer", "minimum": -2147483648, "maximum": 2147483647}
    assert schemas["x"] == {"type": "number"}
    assert schemas["id"]["type"] == ["string", "integer"]
    assert (schemas["s"], schemas["b"]) == ({"type": "string"}, {"type": "boolean"})
    assert not validator(api, schemas["i"]).is_valid(2**31)


def test_enums_are_names_with_descriptions_and_without_deprecated_values(tmp_path: Path) -> None:
    sdl = """
    "Colours."
    enum Colour { "Like blood." RED GREEN OLD @deprecated(reason: "gone") }
    type Query { paint(c: Colour!): Colour }
    """
    api = compile_ir(tmp_path, sdl)

    assert argument_schema(api, "Query.paint", "c")[0] == {
        "type": "string",
        "enum": ["RED", "GREEN"],
        "description": "Colours.\n- RED: Like blood.",
    }
    result = operation(api, "Query.paint").result
    assert result is not None
    assert result["properties"]["paint"]["enum"] == ["RED", "GREEN", "OLD", None]  # results keep what a server may send


def test_input_objects_are_closed_defs_and_recursive_ones_refer_to_themselves(tmp_path: Path) -> None:
    sdl = "input F { name: String! and: [F!] not: F } type Query { f(where: F): Int }"
    api = compile_ir(tmp_path, sdl)

    schema, required = argument_schema(api, "Query.f", "where")
    assert (schema, required) == ({"anyOf": [{"$ref": "#/$defs/F"}, {"type": "null"}]}, False)
    definition = api.defs["F"]
    assert definition["additionalProperties"] is False
    assert definition["required"] == ["name"]
    assert definition["properties"]["not"] == {"anyOf": [{"$ref": "#/$defs/F"}, {"type": "null"}]}
    check = validator(api, schema)
    assert check.is_valid({"name": "a", "and": [{"name": "b", "not": {"name": "c"}}]})
    assert not check.is_valid({"name": "a", "extra": 1})
    assert not check.is_valid({"and": []})


def test_a_list_accepts_a_single_value_as_graphql_input_coercion_does(tmp_path: Path) -> None:
    api = compile_ir(tmp_path, "type Query { f(ids: [ID!]!, tags: [String]): Int }")
    ids, _ = argument_schema(api, "Query.f", "ids")
    tags, _ = argument_schema(api, "Query.f", "tags")

    assert validator(api, ids).is_valid(["1", 2])
    assert validator(api, ids).is_valid(7)
    assert not validator(api, ids).is_valid(None)
    assert not validator(api, ids).is_valid([None])
    assert validator(api, tags).is_valid([None, "a"])
    assert validator(api, tags).is_valid("a")
    assert validator(api, tags).is_valid(None)


def test_a_oneof_input_takes_exactly_one_non_null_member(tmp_path: Path) -> None:
    api = compile_ir(tmp_path, "input K @oneOf { id: ID isbn: String } type Query { book(key: K!): Int }")
    check = validator(api, argument_schema(api, "Query.book", "key")[0])

    assert check.is_valid({"id": 1})
    assert check.is_valid({"isbn": "x"})
    assert not check.is_valid({})
    assert not check.is_valid({"id": "1", "isbn": "x"})
    assert not check.is_valid({"id": None})


def test_custom_scalars_are_described_strings_unless_the_scalar_map_says_otherwise(tmp_path: Path) -> None:
    sdl = """
    "Money in cents."
    scalar Money @specifiedBy(url: "https://example.test/money")
    scalar DateTime
    scalar Weird
    type Query { f(m: Money!, d: DateTime!, w: Weird!): Money }
    """
    plain = compile_ir(tmp_path, sdl)
    mapped = compile_ir(tmp_path, sdl, scalars={"Money": {"type": "integer", "minimum": 0}})

    assert argument_schema(plain, "Query.f", "m")[0] == {
        "type": "string",
        "description": "Money in cents. Specified by https://example.test/money.",
    }
    assert argument_schema(plain, "Query.f", "d")[0] == {
        "type": "string",
        "format": "date-time",
        "description": "GraphQL scalar DateTime.",
    }
    assert argument_schema(plain, "Query.f", "w")[0] == {"type": "string", "description": "GraphQL scalar Weird."}
    assert argument_schema(mapped, "Query.f", "m")[0] == {
        "type": "integer",
        "minimum": 0,
        "description": "Money in cents. Specified by https://example.test/money.",
    }
    result = mapped.operations[0].result
    assert result is not None
    assert result["properties"]["f"]["type"] == ["integer", "null"]


def test_result_schemas_are_keyed_by_response_names_and_allow_null_where_graphql_does(tmp_path: Path) -> None:
    sdl = "type Book { id: ID! title: String } type Query { book: Book! }"
    api = compile_ir(tmp_path, sdl)

    assert api.operations[0].result == {
        "type": "object",
        "properties": {
            "book": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "title": {"type": ["string", "null"]}},
            }
        },
    }


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_every_input_schema_is_valid_json_schema_2020_12(tmp_path: Path, depth: int) -> None:
    sdl = (Path(__file__).parents[3] / "golden" / "cases" / "graphql-every-kind" / "input.graphql").read_text(
        encoding="utf-8"
    )
    api = compile_ir(tmp_path, sdl, mutations=True, selection_depth=depth)

    for op in api.operations:
        for argument in op.arguments:
            jsonschema.Draft202012Validator.check_schema({**argument.schema_, "$defs": api.defs})
        assert op.result is not None
        jsonschema.Draft202012Validator.check_schema(op.result)


def test_a_non_null_json_scalar_accepts_any_value_but_null(tmp_path: Path) -> None:
    api = compile_ir(tmp_path, "scalar JSON type Query { f(a: JSON!, b: JSON): Int }")
    required = validator(api, argument_schema(api, "Query.f", "a")[0])
    optional = validator(api, argument_schema(api, "Query.f", "b")[0])

    assert all(required.is_valid(v) for v in ({"x": [1]}, [1], "s", 1.5, True))
    assert not required.is_valid(None)
    assert optional.is_valid(None)
