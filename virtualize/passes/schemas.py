"""JSON Schema views of the API's schemas, as a request or as a result sees them.

The IR holds one set of shared schemas (``Api.defs``). A tool's ``inputSchema`` and its
``outputSchema`` are separate documents, each with its own ``$defs``, so a def can be shown in
two variants under its own name without renaming: the *request view* (read-only properties
removed, OpenAPI 3.1 §4.8.24.1 ``readOnly``) in input schemas and the *result view* (write-only
properties removed, validation-only keywords dropped, objects open) in output schemas. Both read
``oneOf`` as ``anyOf`` (see ``_transform``). A result
schema describes; it does not enforce (ARCHITECTURE, "A tool"): the official client refuses a
whole result that breaks its schema, and real APIs send less than their specs promise.

Views are computed once per def and mode and shared by every tool; each tool gets only the defs
reachable from its own schema. Descriptions inside schemas are cleaned and bounded here too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from enum import Enum
from itertools import chain
from typing import Any

from virtualize.ir import JsonSchema
from virtualize.passes.text import bound, clean

DEFS_PREFIX = "#/$defs/"
_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs")
_SINGLE = (
    "additionalProperties",
    "items",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
# Keywords that only constrain values; a result schema keeps what describes them.
_VALIDATION_ONLY = frozenset(
    {
        "required",
        "dependentRequired",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minContains",
        "maxContains",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minProperties",
        "maxProperties",
    }
)
SCHEMA_DESCRIPTION_LIMIT = 1000


class Mode(Enum):
    REQUEST = "request"
    RESULT = "result"


def def_name(ref: str) -> str | None:
    """The def a local ``#/$defs/<name>[/...]`` reference points into (RFC 6901 unescaped)."""
    if not ref.startswith(DEFS_PREFIX):
        return None
    first = ref[len(DEFS_PREFIX) :].split("/", 1)[0]
    return first.replace("~1", "/").replace("~0", "~")


def size_of(schema: Any) -> int:
    """Bytes of the compact JSON an MCP client receives for ``schema``."""
    return len(json.dumps(schema, separators=(",", ":"), ensure_ascii=False).encode())


_MAP_KEYS = frozenset(_MAPS)
_SUBSCHEMA_KEYS = frozenset((*_SINGLE, *_LISTS))


def refs_in(schema: Any, found: list[str]) -> list[str]:
    """Every ``$ref`` in schema positions of ``schema``, in walk order (not inside enum/default).

    Hot on large APIs (every tool's schema is walked): it loops over a node's own keys once
    instead of probing for each keyword.
    """
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref":
                if isinstance(value, str):
                    found.append(value)
            elif key in _MAP_KEYS:
                if isinstance(value, dict):
                    for child in value.values():
                        refs_in(child, found)
            elif key in _SUBSCHEMA_KEYS:
                if isinstance(value, dict):
                    refs_in(value, found)
                elif isinstance(value, list):  # a combinator, or a pre-2020-12 tuple "items"
                    for child in value:
                        refs_in(child, found)
    return found


def map_schema(node: Any, leaf: Any) -> Any:
    """A copy of ``node`` where every subschema ``s`` for which ``leaf(s)`` is not None is
    replaced by that value (schema positions only)."""
    if not isinstance(node, dict):
        return node
    replaced = leaf(node)
    if replaced is not None:
        return replaced
    out: JsonSchema = {}
    for key, value in node.items():
        if key in _MAPS and isinstance(value, dict):
            out[key] = {k: map_schema(v, leaf) for k, v in value.items()}
        elif key in _SINGLE and isinstance(value, dict | list):
            out[key] = map_schema(value, leaf) if isinstance(value, dict) else [map_schema(v, leaf) for v in value]
        elif key in _LISTS and isinstance(value, list):
            out[key] = [map_schema(v, leaf) for v in value]
        else:
            out[key] = value
    return out


class SchemaViews:
    """Request and result views of an API's schemas, cached per def."""

    def __init__(self, defs: dict[str, JsonSchema], *, description_limit: int = SCHEMA_DESCRIPTION_LIMIT) -> None:
        self._defs = defs
        self._description_limit = description_limit
        # Caches per mode, then per def name (views are shared by every tool of the API).
        self._views: dict[Mode, dict[str, JsonSchema]] = {mode: {} for mode in Mode}
        self._direct: dict[Mode, dict[str, tuple[str, ...]]] = {mode: {} for mode in Mode}
        self._closures: dict[Mode, dict[str, tuple[str, ...]]] = {mode: {} for mode in Mode}
        self._sizes: dict[Mode, dict[str, int]] = {mode: {} for mode in Mode}
        self._descriptions: dict[str, str] = {}
        self.truncated_descriptions = 0
        self.unresolved: set[str] = set()  # references to nothing in Api.defs

    # -- one schema ---------------------------------------------------------------------------

    def view(self, schema: JsonSchema, mode: Mode) -> JsonSchema:
        result = self._transform(schema, mode)
        assert isinstance(result, dict)
        return result

    def describe(self, text: str) -> str:
        """A description cleaned and bounded (cached: specs repeat the same text a lot)."""
        done = self._descriptions.get(text)
        if done is None:
            done, cut = bound(clean(text), self._description_limit)
            self.truncated_descriptions += cut
            self._descriptions[text] = done
        return done

    def _hidden(self, prop: Any, mode: Mode) -> bool:
        flag = "readOnly" if mode is Mode.REQUEST else "writeOnly"
        if not isinstance(prop, dict):
            return False
        if prop.get(flag) is True:
            return True
        ref = prop.get("$ref")
        if isinstance(ref, str):
            name = def_name(ref)
            target = self._defs.get(name) if name is not None else None
            return isinstance(target, dict) and target.get(flag) is True
        return False

    def _transform(self, node: Any, mode: Mode) -> Any:
        if not isinstance(node, dict):
            return node
        out: JsonSchema = {}
        hidden: list[str] = []
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                props: JsonSchema = {}
                for name, prop in value.items():
                    if self._hidden(prop, mode):
                        hidden.append(name)
                    else:
                        props[name] = self._transform(prop, mode)
                out[key] = props
            elif key in _MAPS and isinstance(value, dict):
                out[key] = {k: self._transform(v, mode) for k, v in value.items()}
            elif key in _SINGLE and isinstance(value, dict):
                out[key] = self._transform(value, mode)
            elif (key in _SINGLE and isinstance(value, list)) or (key in _LISTS and isinstance(value, list)):
                out[key] = [self._transform(v, mode) for v in value]
            elif key == "description" and isinstance(value, str):
                out[key] = self.describe(value)
            elif key == "$ref" and isinstance(value, str):
                name = def_name(value)
                if name is None or name not in self._defs:
                    self.unresolved.add(value)
                out[key] = value
            elif mode is Mode.RESULT and key in _VALIDATION_ONLY:
                continue
            else:
                out[key] = value
        if hidden and isinstance(out.get("required"), list):
            required = [r for r in out["required"] if r not in hidden]
            if required:
                out["required"] = required
            else:
                del out["required"]
        if mode is Mode.RESULT:
            for closing in ("additionalProperties", "unevaluatedProperties"):
                if out.get(closing) is False:
                    del out[closing]
        if isinstance(out.get("oneOf"), list):
            # oneOf demands exactly one matching branch. Open objects (what OpenAPI schemas mostly
            # are, and every relaxed result) match several at once, so oneOf would refuse every
            # argument or result that fits two: `{radius}` and `{side}` both accept {"radius": 2}.
            # anyOf keeps the choice, lets the upstream pick, and is what more model clients read.
            # A discriminated oneOf loses nothing: its branches carry exclusive `const` selectors.
            branches = out.pop("oneOf")
            if "anyOf" in out:
                out["allOf"] = [*out.get("allOf", []), {"anyOf": branches}]
            else:
                out["anyOf"] = branches
        return out

    # -- shared defs --------------------------------------------------------------------------

    def def_view(self, name: str, mode: Mode) -> JsonSchema:
        views = self._views[mode]
        view = views.get(name)
        if view is None:
            view = views[name] = self.view(self._defs.get(name, {}), mode)
        return view

    def def_size(self, name: str, mode: Mode) -> int:
        sizes = self._sizes[mode]
        size = sizes.get(name)
        if size is None:
            size = sizes[name] = size_of(self.def_view(name, mode)) + len(name) + 4
        return size

    def _direct_refs(self, name: str, mode: Mode) -> tuple[str, ...]:
        direct = self._direct[mode]
        refs = direct.get(name)
        if refs is None:
            refs = direct[name] = self._names(refs_in(self.def_view(name, mode), []))
        return refs

    def _closure(self, name: str, mode: Mode) -> tuple[str, ...]:
        """``name`` and every def it reaches, nearest first (breadth-first), computed once."""
        closures = self._closures[mode]
        closure = closures.get(name)
        if closure is None:
            order = [name]
            seen = {name}
            index = 0
            while index < len(order):
                for ref in self._direct_refs(order[index], mode):
                    if ref not in seen:
                        seen.add(ref)
                        order.append(ref)
                index += 1
            closure = closures[name] = tuple(order)
        return closure

    def _names(self, refs: list[str]) -> tuple[str, ...]:
        names = (def_name(ref) for ref in refs)
        return tuple(dict.fromkeys(n for n in names if n is not None and n in self._defs))

    def reachable(self, roots: Iterable[Any], mode: Mode) -> list[str]:
        """Defs reachable from ``roots`` (already views) in a stable order: each def the roots
        name, followed by what it reaches, nearest first. Large APIs reach hundreds of defs per
        tool, so each def's closure is computed once and the union is taken at C speed."""
        found: list[str] = []
        for root in roots:
            refs_in(root, found)
        closures = (self._closure(name, mode) for name in self._names(found))
        return list(dict.fromkeys(chain.from_iterable(closures)))

    def resolve(self, schema: JsonSchema, mode: Mode) -> JsonSchema:
        """Follow a schema that is only a reference to the def it names (a view of it)."""
        seen: set[str] = set()
        while set(schema) <= {"$ref", "description"} and isinstance(schema.get("$ref"), str):
            name = def_name(schema["$ref"])
            if name is None or name not in self._defs or name in seen:
                break
            seen.add(name)
            schema = self.def_view(name, mode)
        return schema

    def document(self, root: JsonSchema, mode: Mode, names: list[str] | None = None) -> JsonSchema:
        """``root`` with the defs it reaches (``names``, if known) under ``$defs``: self-contained."""
        if names is None:
            names = self.reachable([root], mode)
        if not names:
            return root
        return {**root, "$defs": {name: self.def_view(name, mode) for name in names}}

    def _nearest(self, root: JsonSchema, mode: Mode) -> Iterator[str]:
        """Defs reachable from ``root``, breadth-first (nearest first), lazily: a bounded
        document stops after a few defs, where the full closure can hold hundreds."""
        order = list(self._names(refs_in(root, [])))
        seen = set(order)
        index = 0
        while index < len(order):
            yield order[index]
            for ref in self._direct_refs(order[index], mode):
                if ref not in seen:
                    seen.add(ref)
                    order.append(ref)
            index += 1

    def bounded_document(self, root: JsonSchema, mode: Mode, limit: int) -> tuple[JsonSchema, bool]:
        """Like ``document`` but at most about ``limit`` bytes: the defs farthest from the root
        are replaced by a described empty schema, then nesting is cut if the root alone is too
        big. Returns the schema and whether anything was trimmed."""
        size = size_of(root)
        kept: list[str] = []
        for name in self._nearest(root, mode):
            size += self.def_size(name, mode)
            if size > limit:
                break
            kept.append(name)
        if size <= limit:
            return self.document(root, mode, kept), False
        keep = set(kept)

        def trim_ref(node: JsonSchema) -> JsonSchema | None:
            name = def_name(node["$ref"]) if isinstance(node.get("$ref"), str) else None
            if name is not None and name in self._defs and name not in keep:
                return {"description": f"{name} (trimmed: the full schema is too large for a tool list)"}
            return None

        def trimmed(name: str) -> JsonSchema:
            view = self.def_view(name, mode)
            return view if keep.issuperset(self._direct_refs(name, mode)) else map_schema(view, trim_ref)

        root = map_schema(root, trim_ref)
        defs = {name: trimmed(name) for name in kept}
        depth = 6
        while size_of(root) > limit and depth > 0:
            root = _cut_depth(root, depth)
            depth -= 1
        reachable = _reachable_within(root, defs)
        if reachable:
            root = {**root, "$defs": {name: defs[name] for name in reachable}}
        return root, True


_TRIMMED = {"description": "(trimmed: nested too deeply for a tool list)"}


def _cut_depth(node: Any, depth: int) -> Any:
    if not isinstance(node, dict):
        return node
    if depth == 0:
        return dict(_TRIMMED)
    out: JsonSchema = {}
    for key, value in node.items():
        if key in _MAPS and isinstance(value, dict):
            out[key] = {k: _cut_depth(v, depth - 1) for k, v in value.items()}
        elif key in (*_SINGLE, *_LISTS) and isinstance(value, dict):
            out[key] = _cut_depth(value, depth - 1)
        elif key in (*_SINGLE, *_LISTS) and isinstance(value, list):
            out[key] = [_cut_depth(v, depth - 1) for v in value]
        else:
            out[key] = value
    return out


def _reachable_within(root: JsonSchema, defs: dict[str, JsonSchema]) -> list[str]:
    order: list[str] = []
    pending = refs_in(root, [])
    while pending:
        name = def_name(pending.pop(0))
        if name is not None and name in defs and name not in order:
            order.append(name)
            pending.extend(refs_in(defs[name], []))
    return order
