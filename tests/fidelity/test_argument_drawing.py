"""How the fidelity sweep turns a tool's inputSchema into something hypothesis-jsonschema can draw."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator

from tests.fidelity import sweep
from tests.fidelity.sweep import bounded_inline, generate_arguments, inline_refs


def shared_definitions(levels: int) -> dict[str, Any]:
    """Each level holds the next one twice, optionally: inlined, it doubles per level (a DAG made a tree)."""
    defs: dict[str, Any] = {f"L{levels}": {"type": "object", "properties": {"leaf": {"type": "string"}}}}
    for level in range(levels - 1, -1, -1):
        below = {"$ref": f"#/$defs/L{level + 1}"}
        defs[f"L{level}"] = {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "integer"}, "left": below, "right": below},
        }
    return {
        "type": "object",
        "required": ["body"],
        "properties": {"body": {"$ref": "#/$defs/L0"}},
        "$defs": defs,
    }


def test_recursion_is_unrolled_then_cut() -> None:
    schema = {
        "type": "object",
        "properties": {"node": {"$ref": "#/$defs/Node"}},
        "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
    }

    inlined = inline_refs(schema, depth=2)

    assert inlined["properties"]["node"]["properties"]["next"]["properties"]["next"] is False


def test_annotations_are_dropped_but_data_and_properties_so_named_are_kept() -> None:
    schema = {
        "type": "object",
        "description": "dropped",
        "properties": {
            "description": {"type": "string", "title": "dropped too"},
            "kind": {"const": {"description": "a value, not an annotation"}},
        },
        "dependentRequired": {"examples": ["kind"]},
    }

    inlined = inline_refs(schema)

    assert inlined == {
        "type": "object",
        "properties": {
            "description": {"type": "string"},
            "kind": {"const": {"description": "a value, not an annotation"}},
        },
        "dependentRequired": {"examples": ["kind"]},
    }


def test_an_inlining_over_budget_cuts_optional_refs_below_a_nesting_but_keeps_required_ones(
    monkeypatch: Any,
) -> None:
    schema = shared_definitions(12)  # 2^12 copies of the deepest level if inlined whole
    monkeypatch.setattr(sweep, "INLINE_BUDGET", 200)

    inlined = bounded_inline(schema)

    assert len(json.dumps(inlined)) < 20_000
    body = inlined["properties"]["body"]
    assert body["required"] == ["id"]
    assert isinstance(body["properties"]["left"], dict)  # the first levels stay whole
    Draft202012Validator(inlined).validate({"body": {"id": 1}})


def test_arguments_are_drawn_from_a_schema_too_large_to_inline_whole() -> None:
    drawn = generate_arguments(shared_definitions(30), random_draws=1)

    assert drawn
    for arguments in drawn:
        Draft202012Validator(shared_definitions(30)).validate(arguments)
