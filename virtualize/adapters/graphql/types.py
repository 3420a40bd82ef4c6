"""GraphQL types → JSON Schema 2020-12, for tool arguments (input types) and results (output types).

Input rules follow the GraphQL spec's input coercion (October 2021, §3.5 Scalars, §3.9 Enums,
§3.10 Input Objects, §3.11 List "Input Coercion", §3.12 Non-Null) so that every value the schema
accepts the server accepts too:

- ``Int`` is an integer within 32 bits; ``Float`` a number; ``ID`` a string or an integer (the
  spec coerces integers to ID strings); ``String`` and ``Boolean`` as themselves.
- Enums are their value names, described with each value's description; deprecated values are
  left out of inputs (and kept in results, where a server may still return them).
- Input objects are ``$defs`` entries with ``additionalProperties: false``, so recursive inputs
  are plain references; ``@oneOf`` input objects take exactly one property.
- A list accepts a single value too (§3.11: a non-list input is coerced to a list of one).
- A nullable position accepts ``null``; a non-null one does not.
- Custom scalars are never untyped: a string with the scalar's description and ``@specifiedBy``
  URL, unless the scalar map (built-in names, then the user's ``--scalar``) says otherwise.

Result schemas describe and never enforce (see ARCHITECTURE "A tool"): no ``required``, open
objects, null allowed where the schema allows it, and custom scalars accept any JSON value.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
    is_specified_scalar_type,
    value_from_ast_untyped,
)

from virtualize.ir import JsonSchema

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

_ANY_JSON: list[str] = ["string", "number", "boolean", "object", "array"]

# Well-known custom scalars, as the community scalar libraries (graphql-scalars, Hot Chocolate,
# graphene) define them. A user's ``--scalar`` entry replaces any of these.
BUILTIN_SCALARS: dict[str, JsonSchema] = {
    "BigInt": {"type": ["integer", "string"], "pattern": "^-?[0-9]+$"},
    "Date": {"type": "string", "format": "date"},
    "DateTime": {"type": "string", "format": "date-time"},
    "JSON": {"type": list(_ANY_JSON)},  # null only where the position is nullable
    "JSONObject": {"type": "object"},
    "Long": {"type": ["integer", "string"], "pattern": "^-?[0-9]+$"},
    "UUID": {"type": "string", "format": "uuid"},
}


def _nullable(schema: JsonSchema) -> JsonSchema:
    """``schema`` that also accepts null, without a top-level ``anyOf`` when a type list will do."""
    kind = schema.get("type")
    if "$ref" in schema or "anyOf" in schema or kind is None:
        if "anyOf" in schema and len(schema) == 1:
            if {"type": "null"} in schema["anyOf"]:
                return schema
            return {"anyOf": [*schema["anyOf"], {"type": "null"}]}
        if kind is None and "$ref" not in schema:
            return schema  # already accepts anything
        return {"anyOf": [schema, {"type": "null"}]}
    kinds = [kind] if isinstance(kind, str) else list(kind)
    if "null" in kinds:
        return schema
    result = {**schema, "type": [*kinds, "null"]}
    if "enum" in schema:
        result["enum"] = [*schema["enum"], None]
    return result


def describe_scalar(scalar: GraphQLScalarType) -> str:
    parts = [scalar.description.strip()] if scalar.description else []
    if scalar.specified_by_url:
        parts.append(f"Specified by {scalar.specified_by_url}.")
    text = " ".join(parts)
    return text or f"GraphQL scalar {scalar.name}."


def default_json(value: GraphQLArgument | GraphQLInputField) -> tuple[bool, Any]:
    """The JSON form of an argument's or input field's default, and whether it has one."""
    default = value.default
    if default is None:
        return False, None
    if default.literal is not None:
        return True, value_from_ast_untyped(default.literal)
    if default.value is Undefined:
        return False, None
    return True, default.value


class InputSchemas:
    """Converts input types, collecting every input object it meets as a ``$defs`` entry."""

    def __init__(self, scalars: dict[str, JsonSchema]) -> None:
        self._scalars = {**BUILTIN_SCALARS, **scalars}
        self.defs: dict[str, JsonSchema] = {}

    def argument(self, value: GraphQLArgument | GraphQLInputField, *, describe: bool = True) -> tuple[JsonSchema, bool]:
        """The schema of one argument or input field, and whether it is required.

        Required only when non-null and without a default (§3.6.1 "Required Arguments").
        ``describe=False`` leaves the description out (a tool argument carries it itself).
        """
        schema = dict(self.of(value.type))
        has_default, default = default_json(value)
        if has_default:
            # 2020-12 allows keywords beside "$ref", so a default sits next to the reference.
            schema["default"] = default
        if value.description and describe:
            schema = self._describe(schema, value.description.strip())
        if value.deprecation_reason:
            schema["deprecated"] = True
        return schema, isinstance(value.type, GraphQLNonNull) and not has_default

    @staticmethod
    def _describe(schema: JsonSchema, description: str) -> JsonSchema:
        if "description" in schema:
            return {**schema, "description": f"{description}\n\n{schema['description']}"}
        return {**schema, "description": description}

    def of(self, type_: GraphQLInputType) -> JsonSchema:
        if isinstance(type_, GraphQLNonNull):
            return self._non_null(type_.of_type)
        return _nullable(self._non_null(type_))

    def _non_null(self, type_: GraphQLInputType) -> JsonSchema:
        if isinstance(type_, GraphQLList):
            item = self.of(type_.of_type)
            # §3.11 input coercion: a single value stands for a list of one (null stays null).
            return {"anyOf": [{"type": "array", "items": item}, _strip_null(item)]}
        if isinstance(type_, GraphQLInputObjectType):
            self._define(type_)
            return {"$ref": f"#/$defs/{type_.name}"}
        if isinstance(type_, GraphQLEnumType):
            return enum_schema(type_, include_deprecated=False)
        if isinstance(type_, GraphQLScalarType):
            return self.scalar(type_)
        raise TypeError(f"not an input type: {type_}")  # GraphQL schemas are validated before this

    def scalar(self, scalar: GraphQLScalarType) -> JsonSchema:
        name = scalar.name
        if name == "Int":
            return {"type": "integer", "minimum": INT32_MIN, "maximum": INT32_MAX}
        if name == "Float":
            return {"type": "number"}
        if name == "String":
            return {"type": "string"}
        if name == "Boolean":
            return {"type": "boolean"}
        if name == "ID":
            return {"type": ["string", "integer"], "description": "An ID; integers are sent as strings."}
        mapped = self._scalars.get(name)
        schema = dict(mapped) if mapped is not None else {"type": "string"}
        schema.setdefault("description", describe_scalar(scalar))
        return schema

    def _define(self, type_: GraphQLInputObjectType) -> None:
        if type_.name in self.defs:
            return
        self.defs[type_.name] = {}  # placed first, so that a recursive reference finds it
        properties: dict[str, JsonSchema] = {}
        required: list[str] = []
        for name, field in type_.fields.items():
            field_schema, is_required = self.argument(field)
            properties[name] = field_schema
            if is_required:
                required.append(name)
        schema: JsonSchema = {"type": "object", "properties": properties, "additionalProperties": False}
        if type_.description:
            schema["description"] = type_.description.strip()
        if type_.is_one_of:
            # @oneOf (GraphQL spec RFC, graphql-js 16.9+): exactly one field, and it is not null.
            schema["minProperties"] = 1
            schema["maxProperties"] = 1
            schema["properties"] = {name: _strip_null(prop) for name, prop in properties.items()}
        elif required:
            schema["required"] = required
        self.defs[type_.name] = schema


def _strip_null(schema: JsonSchema) -> JsonSchema:
    """``schema`` without its null alternative (for @oneOf members and single-value list items)."""
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind:
        stripped = {**schema, "type": [k for k in kind if k != "null"]}
        if len(stripped["type"]) == 1:
            stripped["type"] = stripped["type"][0]
        if "enum" in schema:
            stripped["enum"] = [v for v in schema["enum"] if v is not None]
        return stripped
    if "anyOf" in schema:
        rest = [s for s in schema["anyOf"] if s != {"type": "null"}]
        if len(rest) != len(schema["anyOf"]):
            others = {k: v for k, v in schema.items() if k != "anyOf"}
            return {**rest[0], **others} if len(rest) == 1 else {**others, "anyOf": rest}
    return schema


def enum_schema(type_: GraphQLEnumType, *, include_deprecated: bool) -> JsonSchema:
    """An enum as its value names; each value's description goes into the schema's description."""
    names: list[str] = []
    notes: list[str] = []
    for name, value in type_.values.items():
        if value.deprecation_reason is not None and not include_deprecated:
            continue
        names.append(name)
        if value.description:
            notes.append(f"{name}: {' '.join(value.description.split())}")
    schema: JsonSchema = {"type": "string", "enum": names}
    lines = [type_.description.strip()] if type_.description else []
    lines.extend(f"- {note}" for note in notes)
    if lines:
        schema["description"] = "\n".join(lines)
    return schema


def output_leaf(type_: GraphQLNamedType, scalars: dict[str, JsonSchema]) -> JsonSchema:
    """The result schema of a scalar or enum: describing, never rejecting what a server sends."""
    if isinstance(type_, GraphQLEnumType):
        return enum_schema(type_, include_deprecated=True)
    assert isinstance(type_, GraphQLScalarType)  # callers pass leaf types only
    if is_specified_scalar_type(type_):
        return {
            "Int": {"type": "integer"},
            "Float": {"type": "number"},
            "String": {"type": "string"},
            "Boolean": {"type": "boolean"},
            "ID": {"type": "string"},
        }[type_.name]
    mapped = scalars.get(type_.name)
    if mapped is not None:
        return {**mapped, "description": mapped.get("description", describe_scalar(type_))}
    return {"type": list(_ANY_JSON), "description": describe_scalar(type_)}


def output_nullable(schema: JsonSchema) -> JsonSchema:
    return _nullable(schema)
