"""Classification of manifest changes, compared as whole lists of `Change` values."""

from __future__ import annotations

from typing import Any

from tests.support import manifests
from virtualize.manifest.model import (
    ArgumentBinding,
    AuthMap,
    AuthScheme,
    HttpBinding,
    Manifest,
    SecurityUse,
    ServerUrl,
    Tool,
    ToolAnnotations,
)
from virtualize.review import Change, diff_manifests, render_markdown, render_text

LIST_PETS_INPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "limit": {"type": "integer", "maximum": 100, "description": "How many pets."},
        "status": {"type": "string", "enum": ["available", "pending", "sold"]},
    },
}
PET_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "tag": {"type": "string"}},
}


def tool(name: str, *, schema: dict[str, Any] | None = None, **fields: Any) -> Tool:
    return Tool.model_validate(
        {"name": name, "description": f"{name} does things.", "inputSchema": schema or {"type": "object"}, **fields}
    )


def binding(operation: str, method: str = "GET", path: str = "/pets", **fields: Any) -> HttpBinding:
    return HttpBinding(
        operation=operation, method=method, path=path, servers=(ServerUrl(url="https://api.example.com"),), **fields
    )


def manifest(tools: list[Tool], bindings: dict[str, HttpBinding], auth: AuthMap | None = None) -> Manifest:
    return manifests.manifest(tools, bindings, auth=auth, source="specs/pets.yaml")


def pets(**changes: Any) -> Manifest:
    """A two-tool server; keyword arguments replace one part of it."""
    list_pets = changes.get("list_pets", tool("list_pets", schema=LIST_PETS_INPUT, outputSchema=PET_OUTPUT))
    get_pet = changes.get(
        "get_pet",
        tool(
            "get_pet",
            schema={"type": "object", "properties": {"pet_id": {"type": "integer"}}, "required": ["pet_id"]},
            annotations=ToolAnnotations(read_only_hint=True),
        ),
    )
    bindings = {
        "list_pets": changes.get("list_pets_binding", binding("GET /pets")),
        get_pet.name: changes.get(
            "get_pet_binding",
            binding(
                "GET /pets/{petId}",
                path="/pets/{petId}",
                arguments=(ArgumentBinding(argument="pet_id", location="path", name="petId", required=True),),
            ),
        ),
    }
    return manifest([list_pets, get_pet], bindings, changes.get("auth"))


def with_input(schema: dict[str, Any]) -> Manifest:
    return pets(list_pets=tool("list_pets", schema=schema, outputSchema=PET_OUTPUT))


def changes_between(old: Manifest, new: Manifest) -> list[Change]:
    return list(diff_manifests(old, new).changes)


def test_identical_manifests_have_no_changes():
    assert changes_between(pets(), pets()) == []


def test_a_removed_tool_is_breaking_and_an_added_tool_additive():
    old = pets()
    new = manifest(
        [old.tools[0], tool("create_pet")],
        {"list_pets": binding("GET /pets"), "create_pet": binding("POST /pets", method="POST")},
    )
    assert changes_between(old, new) == [
        Change("additive", "tool-added", "create_pet", "tools", "", "tool added"),
        Change("breaking", "tool-removed", "get_pet", "tools", "", "tool removed"),
    ]


def test_a_tool_bound_to_the_same_operation_under_a_new_name_is_a_breaking_rename():
    old = pets()
    renamed = old.tools[1].model_copy(update={"name": "show_pet"})
    new = manifest(
        [old.tools[0], renamed], {"list_pets": binding("GET /pets"), "show_pet": old.bindings.tools["get_pet"]}
    )
    assert changes_between(old, new) == [
        Change(
            "breaking",
            "tool-renamed",
            "show_pet",
            "tools",
            "/name",
            "renamed from `get_pet` (same operation `GET /pets/{petId}`); agents calling `get_pet` get an "
            "unknown-tool error",
        )
    ]


def test_argument_additions_removals_and_requiredness_are_classed_by_what_callers_must_send():
    schema = {
        "type": "object",
        "properties": {
            "limit": LIST_PETS_INPUT["properties"]["limit"],
            "owner": {"type": "string"},
            "page": {"type": "integer"},
        },
        "required": ["limit", "owner"],
    }
    where = "/inputSchema/properties/"
    assert changes_between(pets(), with_input(schema)) == [
        Change("breaking", "argument-made-required", "list_pets", "tools", where + "limit",
               "argument `limit` is now required"),
        Change("breaking", "required-argument-added", "list_pets", "tools", where + "owner",
               "required argument `owner` added"),
        Change("additive", "optional-argument-added", "list_pets", "tools", where + "page",
               "optional argument `page` added"),
        Change("breaking", "argument-removed", "list_pets", "tools", where + "status", "argument `status` removed"),
    ]  # fmt: skip


def test_types_enums_and_constraints_narrowed_are_breaking_and_widened_additive():
    schema = {
        "type": "object",
        "properties": {
            "limit": {"type": "number", "maximum": 50, "description": "How many pets."},
            "status": {"type": "string", "enum": ["available", "sold", "lost"]},
        },
    }
    where = "/inputSchema/properties/"
    assert changes_between(pets(), with_input(schema)) == [
        Change("additive", "type-widened", "list_pets", "tools", where + "limit",
               "argument type changed from integer to number (widened)"),
        Change("breaking", "constraint-tightened", "list_pets", "tools", where + "limit",
               "argument constraint tightened: maximum `100` -> `50`"),
        Change("breaking", "enum-value-removed", "list_pets", "tools", where + "status",
               'argument no longer accepts "pending"'),
        Change("additive", "enum-widened", "list_pets", "tools", where + "status", 'argument also accepts "lost"'),
    ]  # fmt: skip


def test_a_type_narrowed_or_changed_is_breaking():
    schema = {
        "type": "object",
        "properties": {
            "limit": {"type": "boolean", "maximum": 100, "description": "How many pets."},
            "status": {"type": "string", "enum": ["available", "pending", "sold"], "maxLength": 10},
        },
    }
    assert changes_between(pets(), with_input(schema)) == [
        Change("breaking", "type-changed", "list_pets", "tools", "/inputSchema/properties/limit",
               "argument type changed from integer to boolean"),
        Change("breaking", "constraint-tightened", "list_pets", "tools", "/inputSchema/properties/status",
               "argument constraint tightened: maxLength none -> `10`"),
    ]  # fmt: skip
    nullable = {"type": "object", "properties": {"owner": {"type": ["string", "null"]}}}
    narrowed = {**nullable, "properties": {"owner": {"type": "string"}}}
    assert changes_between(with_input(nullable), with_input(narrowed)) == [
        Change("breaking", "type-narrowed", "list_pets", "tools", "/inputSchema/properties/owner",
               "argument type changed from null|string to string (narrowed)"),
    ]  # fmt: skip


def test_nested_properties_are_compared_through_refs():
    def order(required: list[str], kinds: list[str]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"order": {"$ref": "#/$defs/Order"}},
            "$defs": {
                "Order": {
                    "type": "object",
                    "properties": {
                        "kind": {"type": "string", "enum": kinds},
                        "items": {"type": "array", "items": {"$ref": "#/$defs/Order"}},
                    },
                    "required": required,
                }
            },
        }

    old, new = with_input(order([], ["a", "b"])), with_input(order(["kind"], ["a"]))
    where = "/inputSchema/properties/order/properties/kind"
    assert changes_between(old, new) == [
        Change("breaking", "property-made-required", "list_pets", "tools", where, "property `kind` is now required"),
        Change("breaking", "enum-value-removed", "list_pets", "tools", where, 'property no longer accepts "b"'),
    ]


def test_output_fields_removed_are_breaking_and_added_additive():
    output = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}, "age": {}}}
    new = pets(list_pets=tool("list_pets", schema=LIST_PETS_INPUT, outputSchema=output))
    assert changes_between(pets(), new) == [
        Change("additive", "output-field-added", "list_pets", "tools", "/outputSchema/properties/age",
               "result field `age` added"),
        Change("breaking", "output-field-removed", "list_pets", "tools", "/outputSchema/properties/tag",
               "result field `tag` removed"),
    ]  # fmt: skip
    without = pets(list_pets=tool("list_pets", schema=LIST_PETS_INPUT))
    assert changes_between(pets(), without) == [
        Change("breaking", "output-schema-removed", "list_pets", "tools", "/outputSchema",
               "results no longer carry structured content (outputSchema removed)"),
    ]  # fmt: skip


def test_descriptions_are_their_own_class():
    schema = {**LIST_PETS_INPUT, "properties": {**LIST_PETS_INPUT["properties"], "limit": {"type": "integer",
              "maximum": 100, "description": "At most this many."}}}  # fmt: skip
    new = pets(list_pets=tool("list_pets", schema=schema, outputSchema=PET_OUTPUT, description="Lists every pet."))
    assert changes_between(pets(), new) == [
        Change("description", "tool-description-changed", "list_pets", "tools", "/description",
               'description changed: "list_pets does things." -> "Lists every pet."'),
        Change("description", "description-changed", "list_pets", "tools",
               "/inputSchema/properties/limit/description",
               'argument description changed: "How many pets." -> "At most this many."'),
    ]  # fmt: skip


def test_an_annotation_turned_from_read_only_to_destructive_is_breaking():
    schema = {"type": "object", "properties": {"pet_id": {"type": "integer"}}, "required": ["pet_id"]}
    destructive = tool("get_pet", schema=schema, annotations=ToolAnnotations(read_only_hint=False))
    assert changes_between(pets(), pets(get_pet=destructive)) == [
        Change("breaking", "annotation-now-destructive", "get_pet", "tools", "/annotations",
               "was read-only, now destructive: clients that auto-approve safe tools will now ask, and agents told "
               "to avoid destructive tools will stop calling it"),
    ]  # fmt: skip
    idempotent = tool("get_pet", schema=schema, annotations=ToolAnnotations(read_only_hint=True, title="Get"))
    assert changes_between(pets(), pets(get_pet=idempotent)) == [
        Change("description", "annotation-title-changed", "get_pet", "tools", "/annotations/title",
               "annotation title changed from none to `Get`"),
    ]  # fmt: skip


def test_binding_changes_are_breaking_for_the_upstream_request():
    old_args = (ArgumentBinding(argument="pet_id", location="path", name="petId", required=True),)
    new_binding = HttpBinding(
        operation="GET /pets/{petId}",
        method="POST",
        path="/v2/pets/{id}",
        servers=(ServerUrl(url="https://api.example.org"),),
        arguments=(ArgumentBinding(argument="pet_id", location="path", name="id", required=True),),
    )
    assert old_args != new_binding.arguments
    suffix = "; the upstream request changes"
    assert changes_between(pets(), pets(get_pet_binding=new_binding)) == [
        Change("breaking", "binding-method-changed", "get_pet", "bindings", "/method",
               "HTTP method changed from GET to POST" + suffix),
        Change("breaking", "binding-path-changed", "get_pet", "bindings", "/path",
               "path changed from `/pets/{petId}` to `/v2/pets/{id}`" + suffix),
        Change("breaking", "binding-server-changed", "get_pet", "bindings", "/servers",
               "server changed from https://api.example.com to https://api.example.org (credentials go there too)"
               + suffix),
        Change("breaking", "binding-argument-changed", "get_pet", "bindings", "/arguments/0",
               "argument `pet_id` is sent differently (wire name `petId` -> `id`)" + suffix),
    ]  # fmt: skip


def test_an_added_auth_requirement_is_breaking_and_a_relaxed_one_additive():
    scheme = AuthScheme(kind="api_key", **{"in": "header"}, parameter="X-Key", sources={"value": "PETS_KEY"})
    auth = AuthMap(schemes={"key": scheme})
    secured = binding("GET /pets", security=((SecurityUse(scheme="key"),),))
    old, new = pets(auth=auth), pets(auth=auth, list_pets_binding=secured)
    assert changes_between(old, new) == [
        Change("breaking", "auth-requirement-added", "list_pets", "bindings", "/security",
               "authentication requirement changed from none to key; callers configured for the old requirement "
               "may be refused"),
    ]  # fmt: skip
    assert changes_between(new, old) == [
        Change("additive", "auth-requirement-relaxed", "list_pets", "bindings", "/security",
               "authentication requirement relaxed from key to none"),
    ]  # fmt: skip


def test_auth_map_changes_are_server_wide():
    scheme = AuthScheme(kind="api_key", **{"in": "header"}, parameter="X-Key", sources={"value": "PETS_KEY"})
    moved = scheme.model_copy(update={"in_": "query", "sources": {"value": "PETS_API_KEY"}})
    old = pets(auth=AuthMap(schemes={"key": scheme}))
    new = pets(auth=AuthMap(schemes={"key": moved, "oauth": scheme}))
    assert changes_between(old, new) == [
        Change("breaking", "auth-scheme-changed", "", "auth", "/schemes/key/in",
               "auth scheme `key`: in changed from `header` to `query`"),
        Change("breaking", "credential-source-changed", "", "auth", "/schemes/key/sources",
               'auth scheme `key` reads its credential from `{"value": "PETS_API_KEY"}` instead of '
               '`{"value": "PETS_KEY"}`; deployments must set the new source'),
        Change("additive", "auth-scheme-added", "", "auth", "/schemes/oauth", "auth scheme `oauth` added"),
    ]  # fmt: skip


def test_fail_on_decides_by_class():
    diff = diff_manifests(pets(), with_input({**LIST_PETS_INPUT, "description": "x"}))
    assert [c.kind for c in diff.changes] == ["description"]
    assert (diff.fails("none"), diff.fails("breaking"), diff.fails("any")) == (False, False, True)


def test_reports_escape_invisible_characters_and_table_pipes():
    poisoned = tool("list_pets", schema=LIST_PETS_INPUT, outputSchema=PET_OUTPUT, description="Lists\u200b | pets")
    diff = diff_manifests(pets(), pets(list_pets=poisoned), old_label="main", new_label="HEAD")
    markdown = render_markdown([diff])
    assert "\u200b" not in markdown
    assert '"Lists\\u200b \\| pets"' in markdown
    assert "#### Descriptions (1)" in markdown
    assert (
        render_text([diff]).splitlines()[0] == "pets: main -> HEAD: 0 breaking, 1 description, 0 additive, 0 cosmetic"
    )


def test_a_report_without_changes_says_so():
    markdown = render_markdown([diff_manifests(pets(), pets())])
    assert "No changes" in markdown


def test_changes_inside_alternatives_are_found_through_their_refs_and_reordering_is_none():
    def pets_input(cat_required: list[str], order: tuple[str, str] = ("Cat", "Dog")) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"pet": {"anyOf": [{"$ref": f"#/$defs/{name}"} for name in order]}},
            "$defs": {
                "Cat": {"type": "object", "properties": {"lives": {"type": "integer"}}, "required": cat_required},
                "Dog": {"type": "object", "properties": {"bark": {"type": "string"}}},
            },
        }

    old = with_input(pets_input([]))
    where = "/inputSchema/properties/pet/anyOf/0/properties/lives"
    assert changes_between(old, with_input(pets_input(["lives"]))) == [
        Change("breaking", "property-made-required", "list_pets", "tools", where, "property `lives` is now required")
    ]  # the anyOf text is the same: it used to report nothing
    assert changes_between(old, with_input(pets_input([], ("Dog", "Cat")))) == []


def test_two_uses_of_one_ref_with_different_siblings_are_compared_apart():
    def names(first: int, last: int) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "first": {"$ref": "#/$defs/Name", "maxLength": first},
                "last": {"$ref": "#/$defs/Name", "maxLength": last},
            },
            "$defs": {"Name": {"type": "string"}},
        }

    found = [(c.kind, c.code, c.where) for c in changes_between(with_input(names(50, 50)), with_input(names(60, 3)))]
    assert found == [
        ("additive", "constraint-loosened", "/inputSchema/properties/first"),
        ("breaking", "constraint-tightened", "/inputSchema/properties/last"),
    ]


def test_a_map_whose_values_become_typed_is_narrowed():
    def meta(values: Any) -> dict[str, Any]:
        return {"type": "object", "properties": {"meta": {"type": "object", "additionalProperties": values}}}

    [change] = changes_between(with_input(meta(True)), with_input(meta({"type": "integer"})))
    assert (change.kind, change.code, change.where) == (
        "breaking",
        "type-narrowed",
        "/inputSchema/properties/meta/additionalProperties",
    )


def test_a_result_field_that_loses_its_enum_is_breaking():
    def output(status: dict[str, Any]) -> Manifest:
        schema = {"type": "object", "properties": {"status": status}}
        return pets(list_pets=tool("list_pets", schema=LIST_PETS_INPUT, outputSchema=schema))

    [change] = changes_between(output({"type": "string", "enum": ["a", "b"]}), output({"type": "string"}))
    assert (change.kind, change.code) == ("breaking", "enum-removed")  # it may now return anything
