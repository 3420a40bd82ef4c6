"""Compare two JSON Schemas of one tool and class each difference by who it can hurt.

The direction matters. For ``inputSchema`` (what the agent sends) narrowing is breaking and
widening additive. For ``outputSchema`` (what the agent reads) a removed or widened field is
breaking and a narrowed one cosmetic: a result schema describes, it does not enforce
(ARCHITECTURE, "A tool"). Keywords this module does not reason about (``allOf``, ``not``,
``if`` ...) are breaking when they change in an input schema, because compatibility cannot be
shown.

Local ``$ref`` are followed into ``$defs``; a pair of schemas already compared is not compared
again, which stops recursive schemas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from virtualize.review.changes import Change, ChangeKind, pointer_token, quote, show

Side = Literal["input", "output"]

_LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_EXACT_CONSTRAINTS = ("pattern", "format", "multipleOf", "uniqueItems", "contentEncoding", "contentMediaType")
_DESCRIPTIVE = ("description", "title", "default", "deprecated")
_COSMETIC = ("examples", "example", "$comment", "readOnly", "writeOnly")
_HANDLED = frozenset(
    {
        "type",
        "nullable",
        "enum",
        "const",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "anyOf",
        "oneOf",
        "$ref",
        "$defs",
        "definitions",
        *_LOWER_BOUNDS,
        *_UPPER_BOUNDS,
        *_EXACT_CONSTRAINTS,
        *_DESCRIPTIVE,
        *_COSMETIC,
    }
)
_ALL_TYPES = frozenset({"string", "number", "integer", "boolean", "object", "array", "null"})
_MAX_REF_CHAIN = 32


def compare_schemas(tool: str, side: Side, old: Any, new: Any, where: str) -> Iterator[Change]:
    """Every change from ``old`` to ``new``, located under ``where`` (``/inputSchema`` ...)."""
    yield from _SchemaComparer(tool, side, old, new).compare(where)


@dataclass
class _SchemaComparer:
    tool: str
    side: Side
    old_root: Any
    new_root: Any
    _seen: set[tuple[str, str]] = field(default_factory=set)

    @property
    def _same_definitions(self) -> bool:
        def definitions(root: Any) -> Any:
            return (root.get("$defs"), root.get("definitions")) if isinstance(root, dict) else None

        return bool(definitions(self.old_root) == definitions(self.new_root))

    def compare(self, where: str) -> Iterator[Change]:
        yield from self._compare(self.old_root, self.new_root, where)

    # Each finding is worded for its audience: "argument" for a top-level input property,
    # "property" deeper in an input, "result field" anywhere in an output.
    def _noun(self, where: str) -> str:
        if self.side == "output":
            return "result field"
        top_level = where.count("/properties/") == 1 and where.startswith("/inputSchema/properties/")
        return "argument" if top_level else "property"

    def _change(self, kind: ChangeKind, code: str, where: str, message: str) -> Change:
        return Change(kind, code, self.tool, "tools", where, message)

    def _narrowing(self) -> ChangeKind:
        return "breaking" if self.side == "input" else "cosmetic"

    def _widening(self) -> ChangeKind:
        return "additive" if self.side == "input" else "breaking"

    def _resolve(self, schema: Any, root: Any) -> tuple[Any, str]:
        ref = ""
        # Follow a chain of local references; a reference elsewhere is compared as it stands.
        for _ in range(_MAX_REF_CHAIN):
            if not (isinstance(schema, dict) and isinstance(schema.get("$ref"), str)):
                break
            ref = schema["$ref"]
            target = _pointer_get(root, ref[1:]) if ref.startswith("#") else None
            if target is None:
                break
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if isinstance(target, dict) else target
        return schema, ref

    def _compare(self, old: Any, new: Any, where: str) -> Iterator[Change]:
        old, old_ref = self._resolve(old, self.old_root)
        new, new_ref = self._resolve(new, self.new_root)
        if old == new and (self._same_definitions or not _has_reference(old)):
            return  # equal text with references into changed $defs may still mean different schemas
        if old_ref or new_ref:
            # A recursive schema on one side only would otherwise be walked forever against the
            # same schema on the other side: key the pair by reference and content (the content
            # holds the reference's siblings: `{$ref: Name, maxLength: 50}` in two places may change
            # two ways).
            key = (old_ref + json.dumps(old, sort_keys=True), new_ref + json.dumps(new, sort_keys=True))
            if key in self._seen:
                return
            self._seen.add(key)
        old_s, new_s = _as_schema(old), _as_schema(new)
        what = self._noun(where)
        yield from self._types(old_s, new_s, where, what)
        yield from self._enums(old_s, new_s, where, what)
        yield from self._constraints(old_s, new_s, where, what)
        yield from self._objects(old_s, new_s, where)
        # Items are compared only between two arrays: a type change to or from array is reported
        # above, and its items compared against nothing would only repeat it.
        if ("items" in old_s or "items" in new_s) and "array" in _types(old_s) & _types(new_s):
            yield from self._compare(old_s.get("items", {}), new_s.get("items", {}), f"{where}/items")
        for keyword in ("anyOf", "oneOf"):
            yield from self._alternatives(keyword, old_s.get(keyword), new_s.get(keyword), where, what)
        yield from self._descriptive(old_s, new_s, where, what)
        unknown = sorted(k for k in old_s.keys() | new_s.keys() if k not in _HANDLED and not k.startswith("x-"))
        changed = [k for k in unknown if old_s.get(k) != new_s.get(k)]
        if changed:
            listed = ", ".join(f"`{k}`" for k in changed)
            yield self._change(self._narrowing(), "schema-changed", where, f"{what} schema changed in {listed}")

    def _types(self, old: dict[str, Any], new: dict[str, Any], where: str, what: str) -> Iterator[Change]:
        a, b = _types(old), _types(new)
        if a == b:
            return
        shown = f"type changed from {_show_types(a)} to {_show_types(b)}"
        if _covers(b, a):  # every value accepted before is still accepted
            yield self._change(self._widening(), "type-widened", where, f"{what} {shown} (widened)")
        elif _covers(a, b):
            yield self._change(self._narrowing(), "type-narrowed", where, f"{what} {shown} (narrowed)")
        else:
            yield self._change("breaking", "type-changed", where, f"{what} {shown}")

    def _enums(self, old: dict[str, Any], new: dict[str, Any], where: str, what: str) -> Iterator[Change]:
        a, b = _enum(old), _enum(new)
        if a == b:
            return
        if a is None and b is not None:
            yield self._change(self._narrowing(), "enum-added", where, f"{what} now restricted to {_values(b)}")
        elif a is not None and b is None:
            message = f"{what} no longer restricted to {_values(a)}"
            yield self._change(self._widening(), "enum-removed", where, message)
        elif a is not None and b is not None:
            gone = [v for v in a if v not in b]
            added = [v for v in b if v not in a]
            if gone:
                verb = "accepts" if self.side == "input" else "returns"
                message = f"{what} no longer {verb} {_values(gone)}"
                yield self._change(self._narrowing(), "enum-value-removed", where, message)
            if added:
                verb = "also accepts" if self.side == "input" else "may also return"
                yield self._change(self._widening(), "enum-widened", where, f"{what} {verb} {_values(added)}")

    def _constraints(self, old: dict[str, Any], new: dict[str, Any], where: str, what: str) -> Iterator[Change]:
        tightened: list[str] = []
        loosened: list[str] = []
        for keyword in (*_LOWER_BOUNDS, *_UPPER_BOUNDS, *_EXACT_CONSTRAINTS):
            a, b = old.get(keyword), new.get(keyword)
            if a == b:
                continue
            text = f"{keyword} {show(a)} -> {show(b)}"
            if a is None:
                tightened.append(text)
            elif b is None:
                loosened.append(text)
            elif keyword in _LOWER_BOUNDS and _is_number(a) and _is_number(b):
                (tightened if b > a else loosened).append(text)
            elif keyword in _UPPER_BOUNDS and _is_number(a) and _is_number(b):
                (tightened if b < a else loosened).append(text)
            else:
                tightened.append(text)  # a different pattern or format: neither contains the other
        if tightened:
            message = f"{what} constraint tightened: {'; '.join(tightened)}"
            yield self._change(self._narrowing(), "constraint-tightened", where, message)
        if loosened:
            kind: ChangeKind = "additive" if self.side == "input" else "cosmetic"
            yield self._change(kind, "constraint-loosened", where, f"{what} constraint loosened: {'; '.join(loosened)}")

    def _objects(self, old: dict[str, Any], new: dict[str, Any], where: str) -> Iterator[Change]:
        props_a, props_b = _members(old.get("properties")), _members(new.get("properties"))
        req_a, req_b = _names(old.get("required")), _names(new.get("required"))
        for prop in sorted(props_a.keys() | props_b.keys()):
            at = f"{where}/properties/{pointer_token(prop)}"
            if self.side == "output":
                yield from self._output_property(prop, props_a, props_b, prop in req_a and prop not in req_b, at)
            else:
                yield from self._input_property(prop, props_a, props_b, (prop in req_a, prop in req_b), at)
        closed_a = old.get("additionalProperties") is False
        closed_b = new.get("additionalProperties") is False
        if closed_a != closed_b and self.side == "input":
            kind: ChangeKind = "breaking" if closed_b else "additive"
            state = "no longer accepts" if closed_b else "now accepts"
            subject = "the tool" if where == "/inputSchema" else self._noun(where)
            at = f"{where}/additionalProperties"
            yield self._change(kind, "additional-properties-changed", at, f"{subject} {state} undeclared properties")
        elif not closed_a and not closed_b and old.get("additionalProperties") != new.get("additionalProperties"):
            # a map's values: absent or `true` is any value, so `true` -> `{type: integer}` narrows
            at = f"{where}/additionalProperties"
            yield from self._compare(
                _as_schema(old.get("additionalProperties")), _as_schema(new.get("additionalProperties")), at
            )

    def _output_property(
        self, prop: str, before: dict[str, Any], after: dict[str, Any], made_optional: bool, at: str
    ) -> Iterator[Change]:
        what = self._noun(at)
        if prop not in after:
            yield self._change("breaking", "output-field-removed", at, f"{what} `{prop}` removed")
        elif prop not in before:
            yield self._change("additive", "output-field-added", at, f"{what} `{prop}` added")
        else:
            if made_optional:
                yield self._change("breaking", "output-field-made-optional", at, f"{what} `{prop}` may now be absent")
            yield from self._compare(before[prop], after[prop], at)

    def _input_property(
        self, prop: str, before: dict[str, Any], after: dict[str, Any], required: tuple[bool, bool], at: str
    ) -> Iterator[Change]:
        what = self._noun(at)
        was_required, is_required = required
        if prop not in after:
            yield self._change("breaking", f"{what}-removed", at, f"{what} `{prop}` removed")
        elif prop not in before:
            if is_required:
                yield self._change("breaking", f"required-{what}-added", at, f"required {what} `{prop}` added")
            else:
                yield self._change("additive", f"optional-{what}-added", at, f"optional {what} `{prop}` added")
        else:
            if is_required and not was_required:
                yield self._change("breaking", f"{what}-made-required", at, f"{what} `{prop}` is now required")
            elif was_required and not is_required:
                yield self._change("additive", f"{what}-made-optional", at, f"{what} `{prop}` is now optional")
            yield from self._compare(before[prop], after[prop], at)

    def _alternatives(self, keyword: str, old: Any, new: Any, where: str, what: str) -> Iterator[Change]:
        """Alternatives gained or lost, and what changed inside each one both sides have.

        Equal text is not an equal schema: ``[{$ref: Cat}, {$ref: Dog}]`` is unchanged while Cat
        gains a required property, so alternatives are paired (those with the same text, then
        the rest in order when as many are left on each side) and each pair compared."""
        at = f"{where}/{keyword}"
        if not (isinstance(old, list) and old and isinstance(new, list) and new):
            if old != new:  # added, dropped, or not a list of schemas at all
                yield self._change(self._narrowing(), "schema-changed", at, f"{what} `{keyword}` changed")
            return
        texts = [json.dumps(x, sort_keys=True) for x in new]
        unmatched = list(range(len(new)))
        pairs: list[tuple[int, int]] = []
        lost: list[int] = []
        for index, item in enumerate(old):
            text = json.dumps(item, sort_keys=True)
            match = next((j for j in unmatched if texts[j] == text), None)
            if match is None:
                lost.append(index)
            else:
                unmatched.remove(match)
                pairs.append((index, match))
        if len(lost) == len(unmatched):  # the same number of alternatives, some changed in place
            pairs += zip(lost, unmatched, strict=True)
        elif not lost:
            message = f"{what} {keyword} gained {len(unmatched)} alternative(s)"
            yield self._change(self._widening(), "alternative-added", at, message)
        elif not unmatched:
            message = f"{what} {keyword} lost {len(lost)} alternative(s)"
            yield self._change(self._narrowing(), "alternative-removed", at, message)
        else:
            yield self._change(self._narrowing(), "schema-changed", at, f"{what} `{keyword}` changed")
        for i, j in sorted(pairs):
            yield from self._compare(old[i], new[j], f"{at}/{j}")

    def _descriptive(self, old: dict[str, Any], new: dict[str, Any], where: str, what: str) -> Iterator[Change]:
        for keyword in _DESCRIPTIVE:
            a, b = old.get(keyword), new.get(keyword)
            if a != b:
                text = f"{quote(a)} -> {quote(b)}" if keyword == "description" else f"{show(a)} -> {show(b)}"
                at = f"{where}/{keyword}"
                yield self._change("description", f"{keyword}-changed", at, f"{what} {keyword} changed: {text}")
        changed = [k for k in _COSMETIC if old.get(k) != new.get(k)]
        if changed:
            yield self._change("cosmetic", "schema-annotation-changed", where, f"{what} {', '.join(changed)} changed")


# A manifest is validated as JSON, not as JSON Schema: a hand-edited file may hold anything.
def _members(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(value: Any) -> set[str]:
    return {name for name in value if isinstance(name, str)} if isinstance(value, list) else set()


def _has_reference(schema: Any) -> bool:
    if isinstance(schema, dict):
        return "$ref" in schema or any(_has_reference(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_has_reference(v) for v in schema)
    return False


def _as_schema(schema: Any) -> dict[str, Any]:
    if schema is True or schema is None:
        return {}
    if schema is False:
        return {"not": {}}
    return schema if isinstance(schema, dict) else {}


def _types(schema: dict[str, Any]) -> frozenset[str]:
    declared = schema.get("type")
    if declared is None:
        types = _ALL_TYPES
    elif isinstance(declared, str):
        types = frozenset({declared})
    else:
        types = frozenset(t for t in declared if isinstance(t, str))
    if schema.get("nullable") is True:
        types |= {"null"}
    return types


def _covers(wide: frozenset[str], narrow: frozenset[str]) -> bool:
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _show_types(types: frozenset[str]) -> str:
    return "any" if types == _ALL_TYPES else "|".join(sorted(types))


def _enum(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    values = schema.get("enum")
    return list(values) if isinstance(values, list) else None


def _values(values: list[Any]) -> str:
    return ", ".join(json.dumps(v, ensure_ascii=False) for v in values)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _pointer_get(document: Any, pointer: str) -> Any:
    """The value at ``pointer`` (RFC 6901) in ``document``, or None."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        return None
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return None
    return node
