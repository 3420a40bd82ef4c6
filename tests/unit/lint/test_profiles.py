"""Each client profile rejects what that client rejects, and only asked-for profiles judge."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import manifests
from virtualize.lint import Settings, lint_manifest
from virtualize.manifest.model import Manifest

GOOD: dict[str, Any] = {
    "type": "object",
    "properties": {"limit": {"type": "integer", "description": "How many."}},
    "required": ["limit"],
    "additionalProperties": False,
}


def manifest(*tools: tuple[str, dict[str, Any]], server: str = "pets", description: str = "Does a thing.") -> Manifest:
    built = [manifests.tool(name, description, schema) for name, schema in tools]
    return manifests.manifest(built, manifests.get("/x", "https://api.x.example"), name=server)


def rules(m: Manifest, *profiles: str, **settings: Any) -> list[tuple[str, str, str]]:
    """The profile rules found (VZ2xx names and sizes, VZ3xx schema dialects)."""
    found = lint_manifest(m, Settings(profiles=profiles, **settings))
    return [(f.rule, f.tool, f.pointer) for f in found if not f.rule.startswith("VZ1")]


def test_no_schema_satisfies_both_openai_strict_and_gemini():
    # Strict mode demands additionalProperties: false on every object; Gemini's Schema has no
    # such field and refuses the request when it is there. Target one or the other.
    assert rules(manifest(("list_pets", GOOD)), "default", "claude", "openai", "openai-strict", "cursor") == []
    assert rules(manifest(("list_pets", GOOD)), "gemini") == [
        ("VZ303", "list_pets", "/inputSchema/additionalProperties"),
    ]


def test_claude_rejects_names_outside_its_pattern_and_top_level_combinators():
    schema = {"type": "object", "anyOf": [{"required": ["a"]}], "properties": {"a b": {"type": "string"}}}
    found = rules(manifest(("list.pets", schema)), "claude")
    assert found == [
        ("VZ201", "list.pets", "/name"),
        ("VZ206", "list.pets", "/inputSchema/properties/a b"),
        ("VZ302", "list.pets", "/inputSchema/anyOf"),
    ]


def test_openai_caps_description_length_and_tool_count():
    tools = [(f"tool_{i}", GOOD) for i in range(129)]
    settings = Settings(profiles=("openai",), token_budget=10**6)
    found = lint_manifest(manifest(*tools, description="x" * 1025), settings)
    assert {(f.rule, f.message) for f in found if f.tool == "tool_0" or not f.tool} == {
        ("VZ203", "OpenAI accepts descriptions of at most 1,024 characters; this one has 1,025"),
        ("VZ204", "OpenAI loads at most 128 tools; this server has 129"),
    }


def test_openai_strict_needs_closed_objects_every_property_required_and_known_keywords():
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "when": {"type": "string", "format": "uri-reference"},
            "tags": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
        },
        "required": ["name"],
    }
    assert rules(manifest(("create_pet", schema)), "openai-strict") == [
        ("VZ305", "create_pet", "/inputSchema"),
        ("VZ303", "create_pet", "/inputSchema/properties/name/minLength"),
        ("VZ306", "create_pet", "/inputSchema/properties/when/format"),
        ("VZ304", "create_pet", "/inputSchema/required"),
    ]
    (closed,) = [f for f in lint_manifest(manifest(("create_pet", schema)), Settings(profiles=("openai-strict",)))
                 if f.rule == "VZ305"]  # fmt: skip
    assert closed.message == (
        "OpenAI strict mode needs 'additionalProperties: false' on every object (and 1 more place)"
    )


def test_openai_strict_limits_nesting_depth():
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(11):
        schema = {"type": "object", "properties": {"x": schema}, "required": ["x"], "additionalProperties": False}
    assert ("VZ307", "deep", "/inputSchema") in rules(manifest(("deep", schema)), "openai-strict")


def test_gemini_rejects_type_arrays_references_and_its_own_name_rules():
    schema = {
        "type": "object",
        "properties": {
            "owner": {"type": ["string", "null"]},
            "pet": {"$ref": "#/$defs/Pet"},
            "x-y": {"type": "string"},
        },
        "$defs": {"Pet": {"type": "object"}},
    }
    found = rules(manifest(("1pets", schema)), "gemini")
    assert found == [
        ("VZ201", "1pets", "/name"),
        ("VZ206", "1pets", "/inputSchema/properties/x-y"),
        ("VZ303", "1pets", "/inputSchema/$defs"),
        ("VZ309", "1pets", "/inputSchema/properties/owner/type"),
        ("VZ303", "1pets", "/inputSchema/properties/pet/$ref"),
    ]


def test_cursor_counts_the_server_name_and_caps_the_tool_count():
    long_name = "n" * 50
    found = lint_manifest(manifest((long_name, GOOD), server="petstore-api"), Settings(profiles=("cursor",)))
    assert [(f.rule, f.message) for f in found] == [
        ("VZ202", f"Cursor: the server and tool names together (`petstore-api` + `{long_name}`) are 63 characters, "
                  "over 60 (Cursor counts both)"),
    ]  # fmt: skip
    assert rules(manifest((long_name, GOOD)), "cursor", server_name="p") == []
    many = manifest(*[(f"t{i}", GOOD) for i in range(41)])
    assert rules(many, "cursor") == [("VZ204", "", "")]


def test_the_default_profile_holds_every_client_to_the_shared_limits():
    schema = {"type": "object", "oneOf": [{"type": "object"}], "properties": {"free": {}}}
    assert rules(manifest(("t" * 65, schema)), "default") == [
        ("VZ201", "t" * 65, "/name"),
        ("VZ202", "t" * 65, "/name"),
        ("VZ202", "t" * 65, "/name"),
        ("VZ302", "t" * 65, "/inputSchema/oneOf"),
        ("VZ308", "t" * 65, "/inputSchema/properties/free"),
    ]


def test_an_input_schema_that_is_not_an_object_is_refused_by_every_profile():
    assert rules(manifest(("t", {"type": "array"})), "claude") == [("VZ301", "t", "/inputSchema")]


def test_the_token_budget_is_a_server_wide_warning():
    found = lint_manifest(manifest(("t", GOOD)), Settings(profiles=("claude",), token_budget=10))
    assert [(f.rule, f.level, f.tool) for f in found] == [("VZ205", "warning", "")]


@pytest.mark.parametrize("profile", ["default", "claude", "openai", "openai-strict", "gemini", "cursor"])
def test_every_profile_accepts_a_tool_written_for_it(profile):
    schema = {k: v for k, v in GOOD.items() if k != "additionalProperties"} if profile == "gemini" else GOOD
    assert rules(manifest(("ping", schema)), profile) == []
