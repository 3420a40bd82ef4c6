"""Checks on ``inputSchema`` against the schema dialect a client accepts (see ``profiles``).

Only input schemas are judged: they are what a model API receives as function parameters.
Every subschema is visited once, with its JSON pointer and nesting depth; findings of one kind
in one tool are reported once, at the first place, with a count of the others, so a large API
gives a readable report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from virtualize.lint.profiles import Profile
from virtualize.review.changes import pointer_token

# Keywords whose value is one subschema, a list of them, or a map of name -> subschema.
_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties")  # fmt: skip
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_MAP = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
# Keywords that carry a schema of their own without being a type (references, alternatives).
_TYPED_OTHERWISE = ("$ref", "anyOf", "oneOf", "allOf", "enum", "const", "not", "type")


@dataclass(frozen=True, slots=True)
class Place:
    pointer: str
    schema: dict[str, Any]
    depth: int  # object nesting: the root object is depth 1
    is_property: bool  # a property's schema (its own type is expected)


def walk(schema: Any, pointer: str = "/inputSchema") -> Iterator[Place]:
    """Every subschema of ``schema`` (dicts only), parents before children."""
    stack: list[tuple[Any, str, int, bool]] = [(schema, pointer, 0, False)]
    while stack:
        node, at, depth, is_property = stack.pop()
        if not isinstance(node, dict):
            continue
        is_object = node.get("type") == "object" or "properties" in node
        depth = depth + 1 if is_object else depth
        yield Place(at, node, depth, is_property)
        children = [(node[key], f"{at}/{key}", depth, False) for key in _ONE if isinstance(node.get(key), dict)]
        for key in _LIST:
            if isinstance(node.get(key), list):
                children.extend((item, f"{at}/{key}/{i}", depth, False) for i, item in enumerate(node[key]))
        for key in _MAP:
            if isinstance(node.get(key), dict):
                members = node[key].items()
                definitions = key in ("$defs", "definitions")
                # $defs are reached from their references; they nest at the depth they are used,
                # which this walk cannot know, so they restart at 0 (the reference counts them).
                children.extend(
                    (value, f"{at}/{key}/{pointer_token(name)}", 0 if definitions else depth, key == "properties")
                    for name, value in members
                )
        stack.extend(reversed(children))


@dataclass
class _Tally:
    """First place and count of each (rule, what) found in one tool."""

    first: dict[tuple[str, str], str] = field(default_factory=dict)
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, rule: str, what: str, pointer: str) -> None:
        key = (rule, what)
        self.first.setdefault(key, pointer)
        self.counts[key] = self.counts.get(key, 0) + 1

    def findings(self) -> Iterator[tuple[str, str, str]]:
        for (rule, what), pointer in sorted(self.first.items(), key=lambda item: (item[1], item[0])):
            count = self.counts[(rule, what)]
            more = f" (and {count - 1} more place{'s' if count > 2 else ''})" if count > 1 else ""
            yield rule, pointer, f"{what}{more}"


def schema_problems(schema: Any, profile: Profile) -> Iterator[tuple[str, str, str]]:
    """(rule id, pointer, message) for each way ``schema`` breaks ``profile``'s dialect."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        yield "VZ301", "/inputSchema", f"{profile.title}: inputSchema must have type 'object'"
    if profile.rejects_top_level_combinators and isinstance(schema, dict):
        for keyword in ("anyOf", "oneOf", "allOf"):
            if keyword in schema:
                message = f"{profile.title} refuses {keyword} at the root of inputSchema"
                yield "VZ302", f"/inputSchema/{keyword}", message
    tally = _Tally()
    properties = 0
    enum_values = 0
    deepest = 0
    for place in walk(schema):
        node, at = place.schema, place.pointer
        deepest = max(deepest, place.depth)
        properties += len(node.get("properties") or {})
        enum_values += len(node.get("enum") or ()) if isinstance(node.get("enum"), list) else 0
        _keywords(node, at, profile, tally)
        _objects(node, at, profile, tally)
        fmt = node.get("format")
        if profile.allowed_formats is not None and isinstance(fmt, str) and fmt not in profile.allowed_formats:
            tally.add("VZ306", f"{profile.title} does not support format '{node['format']}'", f"{at}/format")
        if profile.rejects_type_arrays and isinstance(node.get("type"), list):
            tally.add("VZ309", f"{profile.title} takes one type, not a list ({node['type']})", f"{at}/type")
        if profile.checks_untyped and place.is_property and not any(k in node for k in _TYPED_OTHERWISE):
            tally.add("VZ308", f"{profile.title}: a property schema has no type", at)
    yield from tally.findings()
    limits = (
        (profile.max_properties, properties, "object properties"),
        (profile.max_depth, deepest, "levels of object nesting"),
        (profile.max_enum_values, enum_values, "enum values"),
    )
    for limit, actual, what in limits:
        if limit is not None and actual > limit:
            message = f"{profile.title} allows at most {limit:,} {what}; this schema has {actual:,}"
            yield "VZ307", "/inputSchema", message


def _keywords(node: dict[str, Any], at: str, profile: Profile, tally: _Tally) -> None:
    if profile.allowed_keywords is None:
        return
    for keyword in node:
        if keyword not in profile.allowed_keywords and not keyword.startswith("x-"):
            message = f"{profile.title} does not support the keyword '{keyword}'"
            tally.add("VZ303", message, f"{at}/{pointer_token(keyword)}")


def _objects(node: dict[str, Any], at: str, profile: Profile, tally: _Tally) -> None:
    if not (node.get("type") == "object" or "properties" in node):
        return
    declared = node.get("properties") or {}
    if profile.all_required and isinstance(declared, dict):
        missing = [name for name in declared if name not in (node.get("required") or ())]
        if missing:
            what = f"{profile.title} needs every property in 'required' (express optional ones as nullable)"
            tally.add("VZ304", what, f"{at}/required")
    if profile.closed_objects and node.get("additionalProperties") is not False:
        tally.add("VZ305", f"{profile.title} needs 'additionalProperties: false' on every object", at)


def property_names(schema: Any) -> Iterator[tuple[str, str]]:
    """(pointer, name) of every declared property, at any depth."""
    for place in walk(schema):
        declared = place.schema.get("properties")
        if isinstance(declared, dict):
            for name in declared:
                yield f"{place.pointer}/properties/{pointer_token(name)}", name
