"""OpenAPI schema dialects → JSON Schema 2020-12 with only local ``#/$defs/<name>`` references.

Every ``$ref`` to a schema, in any file, becomes a ``$defs`` entry of the ``Api`` (one per
target, so references from many files to one schema share it) and the reference is rewritten to
``#/$defs/<name>``. Recursive schemas therefore stay references; nothing is inlined.

Dialect rules (OpenAPI 3.0.3 §4.7.24, Swagger 2.0 "Schema Object", OpenAPI 3.1 §4.8.24):
- 3.0 ``nullable: true`` and 2.0 ``x-nullable: true`` add ``"null"`` to ``type`` (and ``null``
  to ``enum``); next to ``$ref`` or a combinator they become ``anyOf: [..., {"type": "null"}]``;
- draft-4 boolean ``exclusiveMinimum``/``exclusiveMaximum`` take the numeric 2020-12 form;
- ``example`` becomes ``examples: [example]``; 2.0 ``type: file`` a binary string;
- in 3.0 and 2.0 a Reference Object "cannot be extended": constraints next to ``$ref`` (Xero's
  ``{$ref: Amount, type: number}``) are ignored as those versions say, so the schema stays
  satisfiable; annotations and ``nullable`` next to it are kept (3.1 applies every sibling);
- OpenAPI-only keywords (``discriminator``, ``xml``, ``externalDocs``, ``x-*``) and keywords that
  would break local references (``$id``, ``$schema``, nested ``$defs``) are dropped;
- values the 2020-12 metaschema would reject (``minLength: "3"``, a ``pattern`` that is not a
  regular expression) are dropped with a warning, so every emitted schema is a valid one.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Literal

from virtualize.adapters.openapi.load import Documents, Located, child
from virtualize.ir import JsonSchema

Dialect = Literal["2.0", "3.0", "3.1"]

_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
_SCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = (
    "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else",
    "unevaluatedItems", "unevaluatedProperties", "contentSchema",
)  # fmt: skip
_NUMBERS = ("minimum", "maximum", "multipleOf")
_COUNTS = (
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minContains",
    "maxContains",
)
_STRINGS = ("title", "description", "format", "contentMediaType", "contentEncoding", "$comment")
_BOOLEANS = ("readOnly", "writeOnly", "deprecated", "uniqueItems")
_ANY = ("default", "const")
# Annotations stay on the outside when a nullable schema is wrapped in anyOf.
_ANNOTATIONS = ("title", "description", "default", "examples", "readOnly", "writeOnly", "deprecated")
_DROPPED_SILENTLY = frozenset({
    "discriminator", "xml", "externalDocs", "$schema", "$id", "$anchor", "$dynamicAnchor", "$defs",
    "definitions", "$vocabulary", "collectionFormat", "nullable", "x-nullable", "example", "examples",
    "exclusiveMinimum", "exclusiveMaximum", "items", "additionalItems", "required", "type", "enum", "$ref",
    "pattern", "dependencies", "dependentRequired", "$dynamicRef",
})  # fmt: skip
# OpenAPI 3.0.3 §4.4 / 3.1 §4.4 "Data Types": int32 and int64 are signed 32/64-bit integers, float
# an IEEE 754 single; validators that check formats (Prism) refuse values outside, and an upstream
# storing them overflows, so the schema must say so.
_FLOAT_MAX = 3.4028234663852886e38
_FORMAT_RANGES: dict[str, tuple[float, float]] = {
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "float": (-_FLOAT_MAX, _FLOAT_MAX),
}
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# Literal nesting (not through $ref) deeper than this is cut: no real schema comes close, and the
# passes, the validators and the JSON writer all recurse over schemas.
MAX_SCHEMA_DEPTH = 64


class BrokenSchema(Exception):
    """A schema uses a ``$ref`` (directly or through shared schemas) that cannot be resolved."""


class NotJson(Exception):
    """A value (``default``, ``enum``...) that JSON cannot hold: a YAML set, bytes, NaN, too deep."""


def plain_json(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON can hold it (YAML mapping keys become strings); raises ``NotJson``."""
    if depth > MAX_SCHEMA_DEPTH:
        raise NotJson
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJson
        return value
    if isinstance(value, list):
        return [plain_json(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): plain_json(v, depth + 1) for k, v in value.items()}
    raise NotJson


@functools.cache
def _is_regex(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError):
        return False
    return True


def def_name(text: str) -> str:
    """A ``$defs`` key safe to write in a JSON pointer and a URI (OpenAPI component name charset)."""
    return _NAME_UNSAFE.sub("_", text).strip("_") or "schema"


class SchemaConverter:
    """Converts schemas of one API, collecting the shared ones into ``defs``."""

    def __init__(self, documents: Documents, dialect: Dialect) -> None:
        self._documents = documents
        self._dialect = dialect
        self.defs: dict[str, JsonSchema] = {}
        self._names: dict[tuple[str, str], str] = {}
        self._taken: set[str] = set()
        self._pending: list[tuple[str, Located]] = []
        self._depth = 0
        # What the schema being converted refers to, and whether one of its $refs is broken: a
        # schema that reaches a broken one, however indirectly, cannot be compiled faithfully.
        self._refs: set[str] = set()
        self._broken = False
        self._edges: dict[str, set[str]] = {}
        self._broken_defs: set[str] = set()
        # Set while converting the items of an ``allOf``: there a ``$ref`` to a polymorphic base
        # is the base itself (``Cat: allOf: [Pet, ...]``), not "any of Pet's subtypes".
        self._in_all_of = False
        self._subtypes: dict[tuple[str, str], list[tuple[str | None, str]]] = {}

    def reserve(self, place: Located, name: str) -> None:
        """Give the component at ``place`` its own name, whatever order references reach it in.

        A component that only refers to a schema in another file (``Pet: {$ref: Pet.yaml}``)
        lends its name to that schema, where every reference to it ends.
        """
        if _is_bare_ref(place.node):
            followed = self._documents.follow(place)
            place = followed if followed is not None else place
        name = def_name(name)
        if (place.file, place.pointer) not in self._names and name not in self._taken:
            self._names[place.file, place.pointer] = name
            self._taken.add(name)

    def convert(self, place: Located) -> JsonSchema:
        """The 2020-12 form of the schema at ``place``; referenced schemas land in ``defs``.

        Raises ``BrokenSchema`` when the schema reaches a ``$ref`` that cannot be resolved.
        """
        result, refs, broken = self._unit(place)
        while self._pending:
            name, target = self._pending.pop()
            converted, self._edges[name], def_broken = self._unit(target)
            self.defs[name] = converted
            if def_broken:
                self._broken_defs.add(name)
        if broken or (self._broken_defs and self._reaches_broken(refs)):
            raise BrokenSchema
        return result

    def _unit(self, place: Located) -> tuple[JsonSchema, set[str], bool]:
        """One top-level schema or def: its conversion, the defs it names, whether a $ref broke."""
        self._refs, self._broken = set(), False
        converted = self._schema(place)
        schema = converted if isinstance(converted, dict) else {} if converted else {"not": {}}
        return schema, self._refs, self._broken

    def _reaches_broken(self, refs: set[str]) -> bool:
        seen: set[str] = set()
        stack = list(refs)
        while stack:
            name = stack.pop()
            if name in self._broken_defs:
                return True
            if name not in seen:
                seen.add(name)
                stack.extend(self._edges.get(name, ()))
        return False

    # -- references ----------------------------------------------------------------------------

    def _ref(self, place: Located) -> str | None:
        """``#/$defs/<name>`` for the ``$ref`` held by ``place``; None when it is broken (reported)."""
        target = self._documents.target(place.node["$ref"], place)
        if target is not None and _is_bare_ref(target.node):
            # a reference to a reference: share the def of the schema at the end of the chain
            target = self._documents.follow(target)
        if target is None:
            self._broken = True
            return None
        key = (target.file, target.pointer)
        name = self._names.get(key)
        if name is None:
            name = self._new_name(target)
            self._names[key] = name
            self._taken.add(name)
        if name not in self.defs:
            self.defs[name] = {}  # a placeholder until converted: a recursive reference ends here
            self._pending.append((name, target))
        self._refs.add(name)
        return f"#/$defs/{name}"

    def _polymorphic(self, place: Located) -> list[JsonSchema] | None:
        """A reference to a base schema whose ``discriminator`` selects subtypes (OpenAPI 3.1
        §4.8.25, "allOf" inheritance: ``Cat: allOf: [Pet, ...]``): its value may be any subtype, so
        the reference becomes ``anyOf`` them, each carrying its discriminator value when the mapping
        names it. Read as the base alone, a Cat's own fields would be refused. None for any other
        reference (a base with ``oneOf``/``anyOf`` says its alternatives itself)."""
        target = self._documents.target(place.node["$ref"], place)
        if target is not None and _is_bare_ref(target.node):
            target = self._documents.follow(target)
        node = target.node if target is not None else None
        if target is None or not isinstance(node, dict) or "oneOf" in node or "anyOf" in node:
            return None
        discriminator = node.get("discriminator")
        if isinstance(discriminator, str):  # Swagger 2.0: the property name alone
            discriminator = {"propertyName": discriminator}
        if not isinstance(discriminator, dict) or not isinstance(discriminator.get("propertyName"), str):
            return None
        key = (target.file, target.pointer)
        if key not in self._subtypes:
            self._subtypes[key] = self._find_subtypes(target, discriminator)
        alternatives: list[JsonSchema] = []
        for value, ref in self._subtypes[key]:
            site = Located({"$ref": ref}, target.file, child(target.pointer, "discriminator"))
            if self._documents.target(ref, site) is None:
                continue  # reported there; the other subtypes still stand
            name = self._ref(site)
            if name is None:
                continue
            branch: JsonSchema = {"$ref": name}
            if value is not None:
                selector = discriminator["propertyName"]
                branch.update({"properties": {selector: {"const": value}}, "required": [selector]})
            alternatives.append(branch)
        return alternatives or None

    def _find_subtypes(self, base: Located, discriminator: dict[str, Any]) -> list[tuple[str | None, str]]:
        """(discriminator value or None, $ref) of each subtype: the mapping's, else every schema of
        the base's document whose ``allOf`` names the base (the implicit mapping)."""
        holder = base.pointer.rsplit("/", 1)[0]  # /components/schemas, /definitions
        located = self._documents.target(f"#{holder}", base)
        schemas = located.node if located is not None and isinstance(located.node, dict) else {}
        own = f"#{base.pointer}"
        mapping = discriminator.get("mapping")
        found: list[tuple[str | None, str]] = []
        if isinstance(mapping, dict) and mapping:
            for value, ref in mapping.items():
                if isinstance(ref, str) and ref:
                    # a schema's name (`pets.Cat` may be one), else a reference (`cat.yaml`, `#/...`)
                    found.append((str(value), child(f"#{holder}", ref) if ref in schemas else ref))
            # a mapping that names only the base itself says nothing about subtypes
            return [] if all(ref == own for _, ref in found) else found
        for name, schema in schemas.items():
            parts = schema.get("allOf") if isinstance(schema, dict) else None
            if isinstance(parts, list) and any(isinstance(p, dict) and p.get("$ref") == own for p in parts):
                found.append((None, child(f"#{holder}", name)))
        return found

    def _new_name(self, target: Located) -> str:
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in target.pointer.split("/")[1:]]
        stem = def_name(target.file.rsplit("/", 1)[-1].rsplit(".", 1)[0])
        if len(tokens) >= 2 and tokens[-2] in {"schemas", "definitions", "$defs"}:
            base = def_name(tokens[-1])
        elif not tokens:
            base = stem
        else:
            base = def_name("_".join(tokens[-3:]))
        candidates = [base]
        if target.file != self._documents.entry and stem != base:
            candidates.append(f"{stem}_{base}")
        for candidate in candidates:
            if candidate not in self._taken:
                return candidate
        number = 2
        while f"{candidates[-1]}_{number}" in self._taken:
            number += 1
        return f"{candidates[-1]}_{number}"

    # -- one schema ------------------------------------------------------------------------------

    def _warn(self, place: Located, key: str, message: str) -> None:
        self._documents.warning(place.file, child(place.pointer, key), message, hint="the keyword was left out")

    def _schema(self, place: Located) -> JsonSchema | bool:
        if self._depth >= MAX_SCHEMA_DEPTH:
            self._documents.warning(
                place.file, place.pointer, f"the schema nests more than {MAX_SCHEMA_DEPTH} levels deep",
                hint="what lies deeper was read as an empty schema (anything is accepted); use $ref",
            )  # fmt: skip
            return {}
        self._depth += 1
        try:
            return self._convert(place)
        finally:
            self._depth -= 1

    def _convert(self, place: Located) -> JsonSchema | bool:
        node = place.node
        if isinstance(node, bool):
            return node
        if not isinstance(node, dict):
            self._documents.warning(
                place.file, place.pointer, f"a schema must be an object, not {type(node).__name__}",
                hint="it was read as an empty schema (anything is accepted)",
            )  # fmt: skip
            return {}
        out: JsonSchema = {}
        in_all_of, self._in_all_of = self._in_all_of, False
        if "$ref" in node:
            ref = self._ref(place)
            alternatives = None if ref is None or in_all_of else self._polymorphic(place)
            if alternatives and len(alternatives) > 1:
                out["anyOf"] = alternatives
            elif alternatives:
                out.update(alternatives[0])  # one subtype: the reference is to it (and its selector)
            elif ref is not None:
                out["$ref"] = ref
            if self._dialect != "3.1":
                kept = {"$ref", "nullable", "x-nullable", "example", *_ANNOTATIONS}
                node = {k: v for k, v in node.items() if k in kept}
                place = Located(node, place.file, place.pointer)
        for raw_key, value in node.items():
            key = str(raw_key)
            if key.startswith("x-") or key in _DROPPED_SILENTLY:
                continue
            if key in _SCHEMA_MAPS:
                converted = self._schema_map(Located(value, place.file, child(place.pointer, key)))
                if converted is not None:
                    out[key] = converted
            elif key in _SCHEMA_ONE:
                out[key] = self._schema(Located(value, place.file, child(place.pointer, key)))
            elif key in _SCHEMA_LISTS:
                if isinstance(value, list) and value:
                    at = child(place.pointer, key)
                    converted_items: list[JsonSchema | bool] = []
                    for index, item in enumerate(value):
                        self._in_all_of = key == "allOf"
                        converted_items.append(self._schema(Located(item, place.file, child(at, index))))
                    self._in_all_of = False
                    out[key] = converted_items
                else:
                    self._warn(place, key, f"{key} must be a non-empty list of schemas")
            elif key in _NUMBERS:
                if _is_number(value) and (key != "multipleOf" or value > 0):
                    out[key] = value
                else:
                    self._warn(place, key, f"{key} must be a number, not {value!r}")
            elif key in _COUNTS:
                if _is_number(value) and value >= 0 and value == int(value):
                    out[key] = int(value)
                else:
                    self._warn(place, key, f"{key} must be a non-negative integer, not {value!r}")
            elif key in _STRINGS:
                if isinstance(value, str):
                    out[key] = value
                elif key != "description":
                    self._warn(place, key, f"{key} must be a string")
            elif key in _BOOLEANS:
                if isinstance(value, bool):
                    out[key] = value
            elif key in _ANY:
                self._plain(place, key, value, out)
            # everything else (unknown keywords, OpenAPI-only ones) is not JSON Schema: dropped
        # the keywords whose meaning changes between dialects, each looked at only when present
        if "type" in node:
            self._type(place, out)
        if "enum" in node:
            self._enum(place, out)
        if "pattern" in node:
            self._pattern(place, out)
        if "items" in node:
            self._items(place, out)
        if "required" in node or "properties" in node:
            self._required(place, out)
        if "dependencies" in node or "dependentRequired" in node:
            self._dependencies(place, out)
        if "example" in node or "examples" in node:
            self._examples(place, out)
        if "exclusiveMinimum" in node or "exclusiveMaximum" in node:
            self._exclusive_bounds(place, out)
        if out.get("format") in _FORMAT_RANGES:
            _format_range(out)
        if isinstance(node.get("discriminator"), dict) and ("oneOf" in out or "anyOf" in out):
            _discriminate(node, out)
        if node.get("$dynamicRef") is not None:
            self._warn(place, "$dynamicRef", "$dynamicRef is not supported")
        if node.get("nullable") is True or node.get("x-nullable") is True:
            out = _nullable(out)
        return out

    def _type(self, place: Located, out: JsonSchema) -> None:
        value = place.node.get("type")
        if value is None:
            return
        if value == "file":  # Swagger 2.0 §"Data Types": a file upload
            out["type"] = "string"
            out.setdefault("format", "binary")
            return
        names = value if isinstance(value, list) else [value]
        kept = list(dict.fromkeys(n for n in names if isinstance(n, str) and n in _TYPES))
        if len(kept) != len(names):
            self._warn(place, "type", f"unknown type {value!r}")
        if kept:
            out["type"] = kept[0] if isinstance(value, str) and len(kept) == 1 else kept

    def _enum(self, place: Located, out: JsonSchema) -> None:
        value = place.node.get("enum")
        if value is None:
            return
        if isinstance(value, list):
            self._plain(place, "enum", value, out)
        else:
            self._warn(place, "enum", "enum must be a list")

    def _pattern(self, place: Located, out: JsonSchema) -> None:
        value = place.node.get("pattern")
        if value is None:
            return
        if isinstance(value, str) and _is_regex(value):
            out["pattern"] = value
        else:
            self._warn(place, "pattern", f"pattern {value!r} is not a regular expression Python can check")

    def _items(self, place: Located, out: JsonSchema) -> None:
        node = place.node
        items = node.get("items")
        if isinstance(items, list):  # draft-4 tuple form
            pointer = child(place.pointer, "items")
            if items:  # 2020-12 wants at least one (an empty tuple constrains nothing)
                out["prefixItems"] = [
                    self._schema(Located(v, place.file, child(pointer, i))) for i, v in enumerate(items)
                ]
            if "additionalItems" in node:
                out["items"] = self._schema(
                    Located(node["additionalItems"], place.file, child(place.pointer, "additionalItems"))
                )
        elif items is not None:
            out["items"] = self._schema(Located(items, place.file, child(place.pointer, "items")))

    def _required(self, place: Located, out: JsonSchema) -> None:
        value = place.node.get("required")
        names: list[str] = []
        if isinstance(value, list):
            names = [str(n) for n in value if isinstance(n, str | int)]
        # ``required: true`` written on a property (a common Swagger mistake) means what it says
        properties = place.node.get("properties")
        if isinstance(properties, dict):
            names += [str(k) for k, v in properties.items() if isinstance(v, dict) and v.get("required") is True]
        if names:
            out["required"] = list(dict.fromkeys(names))

    def _dependencies(self, place: Located, out: JsonSchema) -> None:
        """Draft-4 ``dependencies`` and 2020-12 ``dependentRequired`` (2020-12 §6.5.4, §10.2.2.4)."""
        merged: dict[str, Any] = {}
        for key in ("dependencies", "dependentRequired"):
            value = place.node.get(key)
            if isinstance(value, dict):
                merged.update(value)
        required = {
            str(k): list(dict.fromkeys(v))
            for k, v in merged.items()
            if isinstance(v, list) and all(isinstance(n, str) for n in v)
        }
        if required:
            out["dependentRequired"] = required
        schemas = {k: v for k, v in merged.items() if isinstance(v, dict | bool)}
        if schemas:
            pointer = child(place.pointer, "dependencies")
            out.setdefault("dependentSchemas", {}).update(
                {str(k): self._schema(Located(v, place.file, child(pointer, k))) for k, v in schemas.items()}
            )

    def _examples(self, place: Located, out: JsonSchema) -> None:
        node = place.node
        examples = list(node["examples"]) if isinstance(node.get("examples"), list) else []
        if "example" in node and node["example"] not in examples:
            examples.insert(0, node["example"])
        if examples:
            self._plain(place, "examples", examples, out)

    def _plain(self, place: Located, key: str, value: Any, out: JsonSchema) -> None:
        try:
            out[key] = plain_json(value)
        except NotJson:
            self._warn(place, key, f"{key} holds a value JSON cannot represent")

    def _schema_map(self, at: Located) -> dict[str, JsonSchema | bool] | None:
        """``properties`` and the like; a map that is itself a ``$ref`` (seen in the wild) is followed."""
        if isinstance(at.node, dict) and "$ref" in at.node and len(at.node) == 1:
            followed = self._documents.follow(at)
            if followed is None:
                return None
            at = followed
        key = at.pointer.rsplit("/", 1)[-1]
        if not isinstance(at.node, dict):
            self._documents.warning(at.file, at.pointer, f"{key} must be an object", hint="the keyword was left out")
            return None
        converted: dict[str, JsonSchema | bool] = {}
        for name, value in at.node.items():
            if key == "patternProperties" and not _is_regex(str(name)):
                self._documents.warning(
                    at.file, child(at.pointer, name), f"{str(name)!r} is not a regular expression Python can check",
                    hint="the pattern was left out",
                )  # fmt: skip
                continue
            converted[str(name)] = self._schema(Located(value, at.file, child(at.pointer, name)))
        return converted

    def _exclusive_bounds(self, place: Located, out: JsonSchema) -> None:
        for key, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            value = place.node.get(key)
            if value is True and bound in out:  # draft-4 form: the bound itself is exclusive
                out[key] = out.pop(bound)
            elif _is_number(value):
                out[key] = value
            elif value is not None and not isinstance(value, bool):
                self._warn(place, key, f"{key} must be a number or a boolean")


def _format_range(out: JsonSchema) -> None:
    """Bound an int32/int64/float number to its range unless a bound at least as tight is already there."""
    low, high = _FORMAT_RANGES[out["format"]]
    if not any(_is_number(out.get(k)) and out[k] >= low for k in ("minimum", "exclusiveMinimum")):
        out["minimum"] = low
    if not any(_is_number(out.get(k)) and out[k] <= high for k in ("maximum", "exclusiveMaximum")):
        out["maximum"] = high


def _discriminate(node: dict[str, Any], out: JsonSchema) -> None:
    """Say in JSON Schema what an OpenAPI ``discriminator`` says (3.1 §4.8.25): each ``$ref``
    alternative named in ``mapping`` carries its ``propertyName`` value(s).

    Without it, alternatives that differ only by that value (Ory's registration methods, all
    ``method: string``) all match one body, so ``oneOf`` refuses every call; with it the choice is
    exclusive, and the model reads which value selects which shape. The implicit mapping (the
    schema's name) is not applied: specs commonly pair it with their own ``enum: [cat]`` for
    schema ``Cat``, and ``const: Cat`` beside that would make the alternative unsatisfiable.
    """
    discriminator = node["discriminator"]
    name = discriminator.get("propertyName")
    if not isinstance(name, str) or not name:
        return
    mapping = discriminator.get("mapping")
    mapping = mapping if isinstance(mapping, dict) else {}
    for key in ("oneOf", "anyOf"):
        declared, converted = node.get(key), out.get(key)
        if not isinstance(declared, list) or not isinstance(converted, list) or len(declared) != len(converted):
            continue
        for index, (branch, schema) in enumerate(zip(declared, converted, strict=True)):
            ref = branch.get("$ref") if isinstance(branch, dict) else None
            if not isinstance(ref, str) or not isinstance(schema, dict) or set(schema) - {"$ref", "description"}:
                continue
            values = [str(v) for v, target in mapping.items() if target == ref or target == ref.rsplit("/", 1)[-1]]
            if not values:
                continue
            selector = {"const": values[0]} if len(values) == 1 else {"enum": values}
            converted[index] = {**schema, "properties": {name: selector}, "required": [name]}


def _nullable(out: JsonSchema) -> JsonSchema:
    """Apply OpenAPI 3.0 ``nullable: true`` (3.0.3 §4.7.24.1) to a converted schema."""
    if "$ref" in out or any(k in out for k in ("allOf", "anyOf", "oneOf")):
        outer = {k: out.pop(k) for k in _ANNOTATIONS if k in out}
        return {**outer, "anyOf": [out, {"type": "null"}]}
    kind = out.get("type")
    if isinstance(kind, str) and kind != "null":
        out["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        out["type"] = [*kind, "null"]
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


def _is_bare_ref(node: Any) -> bool:
    return (
        isinstance(node, dict)
        and "$ref" in node
        and all(k in {"$ref", "description", "summary", "title"} or str(k).startswith("x-") for k in node)
    )


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)
