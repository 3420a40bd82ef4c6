"""gRPC wire changes: a field or enum value that keeps its name but not its number or type.

The tool schemas name fields by their JSON names, so renumbering ``message = 1`` to
``message = 5`` changes no schema an agent sees, yet every message the runtime encodes from the
manifest's descriptors stops meaning what the upstream reads. Such a change is breaking. Fields
added or removed are the schema comparison's to report; this compares only what both sides have,
in the messages and enums a tool's request and response reach.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from virtualize.manifest.model import GrpcBinding
from virtualize.review.changes import Change

_WHERE = "/descriptors"


@dataclass(frozen=True, slots=True)
class _Field:
    number: int
    kind: int  # FieldDescriptorProto.Type
    label: int  # optional, required, repeated
    type_name: str  # ".pkg.Message" for messages and enums, else ""


# message or enum full name (no leading dot) -> its fields, or its values by name
_Layout = dict[str, dict[str, _Field] | dict[str, int]]


def wire_changes(
    old: GrpcBinding, new: GrpcBinding, old_set: str | None, new_set: str | None, tool: str
) -> Iterator[Change]:
    if old_set == new_set:
        return
    try:
        before, after = _layout(old_set), _layout(new_set)
    except ImportError:  # protobuf comes with the grpc extra
        message = "the gRPC message descriptors changed (install virtualize[grpc] to see which fields)"
        yield Change("breaking", "binding-descriptors-changed", tool, "bindings", _WHERE, message)
        return
    seen: set[str] = set()
    todo = [t for t in {old.input_type, old.output_type} if t in {new.input_type, new.output_type}]
    while todo:
        name = todo.pop()
        if name in seen or name not in before or name not in after:
            continue
        seen.add(name)
        a, b = before[name], after[name]
        for member in sorted(a.keys() & b.keys()):
            x, y = a[member], b[member]
            if isinstance(x, _Field) and isinstance(y, _Field):
                if (x.number, x.kind, x.label) != (y.number, y.kind, y.label) or x.type_name != y.type_name:
                    yield _change(tool, f"field `{member}` of `{name}`", _show(x), _show(y))
                elif x.type_name:
                    todo.append(x.type_name.lstrip("."))
            elif x != y:
                yield _change(tool, f"value `{member}` of enum `{name}`", f"number {x}", f"number {y}")


def _change(tool: str, what: str, before: str, after: str) -> Change:
    message = f"{what} changed on the wire from {before} to {after}; messages encoded from the manifest change"
    return Change("breaking", "binding-wire-changed", tool, "bindings", _WHERE, message)


def _show(field: _Field) -> str:
    from google.protobuf.descriptor_pb2 import FieldDescriptorProto  # noqa: PLC0415 -- the grpc extra

    kind = FieldDescriptorProto.Type.Name(field.kind).removeprefix("TYPE_").lower()
    label = "repeated " if field.label == FieldDescriptorProto.LABEL_REPEATED else ""
    return f"number {field.number} ({label}{field.type_name.lstrip('.') or kind})"


@functools.lru_cache(maxsize=4)  # one set per manifest side, parsed once for all its tools
def _layout(encoded: str | None) -> _Layout:
    from google.protobuf.descriptor_pb2 import FileDescriptorSet  # noqa: PLC0415 -- the grpc extra
    from google.protobuf.message import DecodeError  # noqa: PLC0415

    layout: _Layout = {}
    if not encoded:
        return layout
    try:
        files = FileDescriptorSet.FromString(base64.b64decode(encoded)).file
    except (binascii.Error, ValueError, DecodeError):  # a hand-edited manifest: nothing to compare
        return layout
    for file in files:
        prefix = f"{file.package}." if file.package else ""
        _enums(layout, prefix, file.enum_type)
        _messages(layout, prefix, file.message_type)
    return layout


def _messages(layout: _Layout, prefix: str, messages: Any) -> None:
    for message in messages:
        name = prefix + message.name
        layout[name] = {f.name: _Field(f.number, f.type, f.label, f.type_name) for f in message.field}
        _enums(layout, f"{name}.", message.enum_type)
        _messages(layout, f"{name}.", message.nested_type)


def _enums(layout: _Layout, prefix: str, enums: Any) -> None:
    for enum in enums:
        layout[prefix + enum.name] = {value.name: value.number for value in enum.value}
