"""The options virtualize reads from descriptors: idempotency, deprecation, and two custom options
from googleapis, ``google.api.http`` (google/api/annotations.proto) and
``google.api.field_behavior`` (google/api/field_behavior.proto).

Custom options arrive as extensions of descriptor.proto's option messages. Whether protobuf
knows them depends on what else the process imported, so they are read from the serialized
options with a private copy of descriptor.proto, in which they are always unknown fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, unknown_fields

HTTP_RULE = 72295728  # extend google.protobuf.MethodOptions { HttpRule http = 72295728; }
FIELD_BEHAVIOR = 1052  # extend google.protobuf.FieldOptions { repeated FieldBehavior field_behavior = 1052; }
_FIELD_BEHAVIORS = {
    1: "OPTIONAL",
    2: "REQUIRED",
    3: "OUTPUT_ONLY",
    4: "INPUT_ONLY",
    5: "IMMUTABLE",
    6: "UNORDERED_LIST",
    7: "NON_EMPTY_DEFAULT",
    8: "IDENTIFIER",
}
_VARINT, _LENGTH_DELIMITED = 0, 2


@dataclass(frozen=True)
class MethodOptions:
    idempotency: str  # IDEMPOTENCY_UNKNOWN, NO_SIDE_EFFECTS or IDEMPOTENT
    deprecated: bool
    http_rule: dict[str, Any] | None


def method_options(raw: bytes, pool: descriptor_pool.DescriptorPool) -> MethodOptions:
    options = descriptor_pb2.MethodOptions.FromString(raw)
    level = descriptor_pb2.MethodOptions.IdempotencyLevel.Name(options.idempotency_level)
    rule: dict[str, Any] | None = None
    for field in _unknown(raw, "google.protobuf.MethodOptions"):
        if field.field_number == HTTP_RULE and field.wire_type == _LENGTH_DELIMITED:
            rule = _http_rule(field.data, pool)
    return MethodOptions(idempotency=level, deprecated=options.deprecated, http_rule=rule)


def field_behaviors(raw: bytes) -> frozenset[str]:
    """The ``google.api.field_behavior`` values of a field (packed or not)."""
    numbers: list[int] = []
    for field in _unknown(raw, "google.protobuf.FieldOptions"):
        if field.field_number != FIELD_BEHAVIOR:
            continue
        if field.wire_type == _VARINT:
            numbers.append(field.data)
        elif field.wire_type == _LENGTH_DELIMITED:
            numbers.extend(_varints(field.data))
    return frozenset(_FIELD_BEHAVIORS.get(number, str(number)) for number in numbers)


def _http_rule(data: bytes, pool: descriptor_pool.DescriptorPool) -> dict[str, Any] | None:
    """The rule as its proto3 JSON form, e.g. ``{"get": "/v1/{name=shelves/*}"}``."""
    try:
        descriptor = pool.FindMessageTypeByName("google.api.HttpRule")
    except KeyError:
        return None  # the option is set but google/api/http.proto is not in the set
    rule = message_factory.GetMessageClass(descriptor).FromString(data)
    result: dict[str, Any] = json_format.MessageToDict(rule, descriptor_pool=pool)
    return result


@cache
def _options_class(name: str) -> Any:
    pool = descriptor_pool.DescriptorPool()
    file = descriptor_pb2.FileDescriptorProto()
    descriptor_pb2.DESCRIPTOR.CopyToProto(file)
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def _unknown(raw: bytes, options_name: str) -> list[Any]:
    if not raw:
        return []
    return list(unknown_fields.UnknownFieldSet(_options_class(options_name).FromString(raw)))


def _varints(data: bytes) -> list[int]:
    values: list[int] = []
    value = shift = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            values.append(value)
            value = shift = 0
    return values
