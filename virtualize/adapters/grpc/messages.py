"""Message descriptors to JSON Schema 2020-12, following the proto3 JSON mapping.

The mapping is protobuf's ("ProtoJSON", https://protobuf.dev/programming-guides/json/), which
is also what the runtime speaks through ``json_format``:

- fields by ``json_name`` (lowerCamelCase); the original name is accepted on input too, so an
  optional field whose original name differs is listed under both;
- int32/uint32 families as integers with 32-bit bounds; int64/uint64 families as decimal strings
  (numbers accepted); float/double as numbers or "NaN", "Infinity", "-Infinity"; bytes as
  base64 strings; enums by value name; repeated fields as arrays; maps as objects;
- messages as closed objects under ``$defs`` (so recursion needs nothing special); ``oneof``
  members as optional fields (the runtime rejects two members at once); proto3 ``optional`` is
  not required; required only from ``google.api.field_behavior = REQUIRED`` (or proto2
  ``required``); OUTPUT_ONLY fields are ``readOnly`` and INPUT_ONLY ones ``writeOnly``;
- well-known types by their special JSON forms (§ "JSON mapping" table).
"""

from __future__ import annotations

import copy

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from virtualize.adapters.grpc.elements import Element
from virtualize.adapters.grpc.options import field_behaviors
from virtualize.ir import JsonSchema

_INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
# A number is accepted as well as the string form: models write 5, the mapping writes "5".
_INT64 = {"type": ["string", "integer"], "pattern": "^-?[0-9]+$"}
_UINT64 = {"type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 0}
_FLOAT = {"type": ["number", "string"], "pattern": "^(NaN|-?Infinity)$"}
_BYTES = {"type": "string", "contentEncoding": "base64"}

_SCALARS: dict[int, JsonSchema] = {
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
    FieldDescriptor.TYPE_FLOAT: _FLOAT,
    FieldDescriptor.TYPE_DOUBLE: _FLOAT,
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: _BYTES,
}


def _nullable(schema: JsonSchema) -> JsonSchema:
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*types, "null"]}


_ANY_JSON = {"type": ["object", "array", "string", "number", "boolean", "null"]}
WELL_KNOWN: dict[str, JsonSchema] = {
    "google.protobuf.Timestamp": {
        "type": "string",
        "format": "date-time",
        "description": "RFC 3339 date-time, e.g. 1972-01-01T10:00:20.021Z",
    },
    "google.protobuf.Duration": {
        "type": "string",
        "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$",
        "description": 'seconds with up to 9 fractional digits and an "s" suffix, e.g. "1.5s"',
    },
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {**_ANY_JSON},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": 'comma-separated lowerCamelCase field paths, e.g. "displayName,address.city"',
    },
    "google.protobuf.Any": {
        "type": "object",
        "properties": {
            "@type": {"type": "string", "description": 'type URL, e.g. "type.googleapis.com/package.Message"'}
        },
        "required": ["@type"],
        "description": "a message of the type named by @type, with that message's fields beside @type",
    },
    "google.protobuf.Empty": {"type": "object", "properties": {}, "additionalProperties": False},
    "google.protobuf.DoubleValue": _nullable(_FLOAT),
    "google.protobuf.FloatValue": _nullable(_FLOAT),
    "google.protobuf.Int64Value": _nullable(_INT64),
    "google.protobuf.UInt64Value": _nullable(_UINT64),
    "google.protobuf.Int32Value": _nullable(_INT32),
    "google.protobuf.UInt32Value": _nullable(_UINT32),
    "google.protobuf.BoolValue": {"type": ["boolean", "null"]},
    "google.protobuf.StringValue": {"type": ["string", "null"]},
    "google.protobuf.BytesValue": _nullable(_BYTES),
}
_NULL_VALUE = "google.protobuf.NullValue"


class MessageSchemas:
    """Builds field and message schemas, collecting every message and enum under ``defs``."""

    def __init__(self, elements: dict[str, Element]) -> None:
        self.elements = elements
        self.defs: dict[str, JsonSchema] = {}

    def object_schema(self, message: Descriptor) -> JsonSchema:
        """The schema of ``message`` itself (a well-known type's JSON form, else a closed object)."""
        if message.full_name in WELL_KNOWN:
            return copy.deepcopy(WELL_KNOWN[message.full_name])
        properties: dict[str, JsonSchema] = {}
        required: list[str] = []
        for field in message.fields:
            schema = self.field_schema(field)
            properties[field.json_name] = schema
            if self.is_required(field):
                required.append(field.json_name)
            elif field.name != field.json_name:
                # The mapping accepts the original name on input; a required field keeps one
                # spelling, since "either name" would need an anyOf that strict clients refuse.
                properties.setdefault(field.name, {key: value for key, value in schema.items() if key != "description"})
        schema = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            schema["required"] = required
        comment = self._comment(message.full_name)
        if comment:
            schema["description"] = comment
        return schema

    def reference(self, message: Descriptor) -> JsonSchema:
        """A ``$ref`` to ``message`` under ``$defs`` (built on first use), or a well-known type inline."""
        if message.full_name in WELL_KNOWN:
            return copy.deepcopy(WELL_KNOWN[message.full_name])
        name = message.full_name
        if name not in self.defs:
            self.defs[name] = {}  # reserve first: a recursive field refers back to it
            self.defs[name] = self.object_schema(message)
        return {"$ref": f"#/$defs/{name}"}

    def field_schema(self, field: FieldDescriptor) -> JsonSchema:
        if _is_map(field):
            entry = field.message_type
            value = self._single(entry.fields_by_name["value"])
            schema: JsonSchema = {"type": "object", "additionalProperties": value}
        elif field.is_repeated:
            schema = {"type": "array", "items": self._single(field)}
        else:
            schema = self._single(field)
        schema = {**schema}
        description = self._field_description(field)
        if description:
            schema["description"] = description
        behaviors = field_behaviors(self._element(field.full_name).options)
        if "OUTPUT_ONLY" in behaviors:
            schema["readOnly"] = True
        elif "INPUT_ONLY" in behaviors:
            schema["writeOnly"] = True
        if field.GetOptions().deprecated:
            schema["deprecated"] = True
        return schema

    def is_required(self, field: FieldDescriptor) -> bool:
        if field.is_required:  # proto2 `required`, editions LEGACY_REQUIRED
            return True
        return "REQUIRED" in field_behaviors(self._element(field.full_name).options)

    def _single(self, field: FieldDescriptor) -> JsonSchema:
        if field.type in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
            return self.reference(field.message_type)
        if field.type == FieldDescriptor.TYPE_ENUM:
            return self._enum(field.enum_type)
        return dict(_SCALARS[field.type])

    def _enum(self, enum: EnumDescriptor) -> JsonSchema:
        if enum.full_name == _NULL_VALUE:
            return {"type": "null"}
        name = enum.full_name
        if name not in self.defs:
            schema: JsonSchema = {"type": "string", "enum": [value.name for value in enum.values]}
            lines = [self._comment(name)] if self._comment(name) else []
            documented = [
                f"- {value.name}: {' '.join(self._comment(f'{name}.{value.name}').split())}"
                for value in enum.values
                if self._comment(f"{name}.{value.name}")
            ]
            if documented:
                lines.append("\n".join(documented))
            if lines:
                schema["description"] = "\n\n".join(lines)
            self.defs[name] = schema
        return {"$ref": f"#/$defs/{name}"}

    def _field_description(self, field: FieldDescriptor) -> str:
        text = self._comment(field.full_name)
        if _is_map(field):
            key = field.message_type.fields_by_name["key"]
            if key.type != FieldDescriptor.TYPE_STRING:
                # Not propertyNames: several model providers refuse that keyword.
                note = f"Keys are {_KEY_NAMES.get(key.type, 'integers')} written as strings."
                text = f"{text}\n\n{note}" if text else note
        oneof = field.containing_oneof
        if oneof is not None and not self._element(field.full_name).proto3_optional:
            members = ", ".join(member.json_name for member in oneof.fields)
            note = f"One of `{oneof.name}`: set at most one of {members}."
            text = f"{text}\n\n{note}" if text else note
        return text

    def _comment(self, full_name: str) -> str:
        return self._element(full_name).comment

    def _element(self, full_name: str) -> Element:
        return self.elements.get(full_name) or _NO_ELEMENT


_NO_ELEMENT = Element(file="")
_KEY_NAMES = {
    FieldDescriptor.TYPE_BOOL: '"true" or "false"',
    FieldDescriptor.TYPE_UINT32: "unsigned integers",
    FieldDescriptor.TYPE_FIXED32: "unsigned integers",
    FieldDescriptor.TYPE_UINT64: "unsigned integers",
    FieldDescriptor.TYPE_FIXED64: "unsigned integers",
}


def _is_map(field: FieldDescriptor) -> bool:
    return bool(
        field.is_repeated and field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry
    )
