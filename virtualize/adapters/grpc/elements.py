"""Every named element of a set of proto files, with its comment, line and raw options.

Comments and lines come from each file's ``SourceCodeInfo``.

A location's ``path`` walks ``FileDescriptorProto`` by field numbers and indexes
(descriptor.proto, ``SourceCodeInfo.Location.path``): ``[4, i]`` is the i-th message,
``[4, i, 2, j]`` its j-th field, ``[4, i, 3, k]`` a nested message, ``[5, i]`` an enum,
``[6, i]`` a service and ``[6, i, 2, j]`` its j-th method. Descriptor sets built without
``--include_source_info`` (and most reflection answers) have none: everything is then "".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import descriptor_pb2

MESSAGE_TYPE = 4  # FileDescriptorProto.message_type
ENUM_TYPE = 5  # FileDescriptorProto.enum_type
SERVICE = 6  # FileDescriptorProto.service
MESSAGE_FIELD = 2  # DescriptorProto.field
NESTED_TYPE = 3  # DescriptorProto.nested_type
NESTED_ENUM = 4  # DescriptorProto.enum_type
ENUM_VALUE = 2  # EnumDescriptorProto.value
SERVICE_METHOD = 2  # ServiceDescriptorProto.method

Path = tuple[int, ...]


@dataclass(frozen=True)
class SourceInfo:
    file: str
    comments: dict[Path, str] = field(default_factory=dict)
    lines: dict[Path, int] = field(default_factory=dict)  # 1-based

    def comment(self, path: Path) -> str:
        return self.comments.get(path, "")

    def line(self, path: Path) -> int | None:
        return self.lines.get(path)


def source_info(file: descriptor_pb2.FileDescriptorProto) -> SourceInfo:
    comments: dict[Path, str] = {}
    lines: dict[Path, int] = {}
    for location in file.source_code_info.location:
        path = tuple(location.path)
        if location.span:
            lines.setdefault(path, location.span[0] + 1)
        text = "\n\n".join(
            part for part in (_clean(location.leading_comments), _clean(location.trailing_comments)) if part
        )
        if text:
            comments[path] = text
    return SourceInfo(file=file.name, comments=comments, lines=lines)


def _clean(comment: str) -> str:
    """Drop the one space after ``//`` that every line carries, keep paragraphs."""
    lines = [line[1:] if line.startswith(" ") else line for line in comment.splitlines()]
    return "\n".join(line.rstrip() for line in lines).strip()


@dataclass(frozen=True)
class Element:
    """A named element of a proto file: where it is declared and what it says about itself."""

    file: str
    comment: str = ""
    line: int | None = None
    options: bytes = b""  # the element's serialized options message, custom options included
    proto3_optional: bool = False  # a field declared `optional` in proto3 (its oneof is synthetic)


def index_elements(files: list[descriptor_pb2.FileDescriptorProto]) -> dict[str, Element]:
    """Every message, field, enum, service and method by full name (fields: ``pkg.Msg.field``)."""
    elements: dict[str, Element] = {}
    for file in files:
        elements.update(_file_elements(file))
    return elements


def _file_elements(file: descriptor_pb2.FileDescriptorProto) -> dict[str, Element]:
    elements: dict[str, Element] = {}
    info = source_info(file)
    prefix = f"{file.package}." if file.package else ""

    def add(name: str, path: Path, options: Any, *, proto3_optional: bool = False) -> None:
        elements[name] = Element(
            file=file.name,
            comment=info.comment(path),
            line=info.line(path),
            options=options.SerializeToString(deterministic=True),
            proto3_optional=proto3_optional,
        )

    def walk_enum(enum: descriptor_pb2.EnumDescriptorProto, scope: str, path: Path) -> None:
        name = scope + enum.name
        add(name, path, enum.options)
        for index, value in enumerate(enum.value):
            add(f"{name}.{value.name}", (*path, ENUM_VALUE, index), value.options)

    def walk_message(message: descriptor_pb2.DescriptorProto, scope: str, path: Path) -> None:
        name = scope + message.name
        add(name, path, message.options)
        for index, field_ in enumerate(message.field):
            add(
                f"{name}.{field_.name}",
                (*path, MESSAGE_FIELD, index),
                field_.options,
                proto3_optional=field_.proto3_optional,
            )
        for index, nested in enumerate(message.nested_type):
            walk_message(nested, f"{name}.", (*path, NESTED_TYPE, index))
        for index, enum in enumerate(message.enum_type):
            walk_enum(enum, f"{name}.", (*path, NESTED_ENUM, index))

    for index, message in enumerate(file.message_type):
        walk_message(message, prefix, (MESSAGE_TYPE, index))
    for index, enum in enumerate(file.enum_type):
        walk_enum(enum, prefix, (ENUM_TYPE, index))
    for index, service in enumerate(file.service):
        add(prefix + service.name, (SERVICE, index), service.options)
        for number, method in enumerate(service.method):
            add(f"{prefix}{service.name}.{method.name}", (SERVICE, index, SERVICE_METHOD, number), method.options)
    return elements
