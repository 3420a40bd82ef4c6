"""The gRPC adapter's steps in order: descriptor set → pool → schemas → operations → ``ir.Api``."""

from __future__ import annotations

import base64
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor, ServiceDescriptor

from virtualize import ir
from virtualize.adapters import AdapterOptions
from virtualize.adapters.grpc.elements import index_elements
from virtualize.adapters.grpc.messages import MessageSchemas
from virtualize.adapters.grpc.operations import service_operations
from virtualize.adapters.grpc.security import declared_schemes
from virtualize.adapters.grpc.sources import (
    DescriptorSource,
    complete,
    load_descriptor_set,
    load_proto,
    load_reflection,
)
from virtualize.diagnostics import Diagnostics

_TLS_SCHEMES = {"grpcs://": True, "https://": True, "grpc://": False, "http://": False}


def assemble_api(path: Path, options: AdapterOptions, diagnostics: Diagnostics) -> ir.Api | None:
    where = f"reflection {options.reflect}" if options.reflect else str(path)
    reflect_target, reflect_tls = _address(options.reflect, options.tls) if options.reflect else ("", options.tls)
    source: DescriptorSource | None
    if options.reflect:
        source = load_reflection(reflect_target, tls=reflect_tls, diagnostics=diagnostics)
    elif path.suffix.lower() == ".proto":
        source = load_proto(path, options.include_paths, diagnostics)
    else:
        source = load_descriptor_set(path, diagnostics)
    if source is None:
        return None
    files = complete(source.files, where, diagnostics)
    if files is None:
        return None
    pool = descriptor_pool.DescriptorPool()
    try:
        for file in files:
            pool.Add(file)
    except (TypeError, ValueError) as error:
        diagnostics.error(where, f"the descriptors do not form a valid set: {error}")
        return None

    target, tls = _address(options.target or reflect_target, options.tls or reflect_tls)
    if not target:
        diagnostics.warning(
            where,
            "no upstream address: calls will fail until the manifest is rebuilt with one",
            hint="pass --target HOST:PORT (grpcs://HOST:PORT or --tls for TLS)",
        )
    schemes = declared_schemes(options.auth, where, diagnostics)
    security = (tuple(ir.SecurityUse(scheme=name) for name in schemes),) if schemes else ()

    elements = index_elements(files)
    schemas = MessageSchemas(elements)
    operations: list[ir.Operation] = []
    services: list[str] = []
    for file in files:
        if file.name not in source.roots:
            continue
        for service_proto in file.service:
            full_name = f"{file.package}.{service_proto.name}" if file.package else service_proto.name
            if source.services is not None and full_name not in source.services:
                continue
            services.append(full_name)
            service = pool.FindServiceByName(full_name)
            operations.extend(
                service_operations(service, pool=pool, schemas=schemas, target=target, tls=tls, security=security)
            )
    if not operations:
        diagnostics.error(
            where,
            "no service methods to turn into tools",
            hint="a .proto file given to build must declare a service (its imports' services are not used)",
        )
        return None
    descriptors = runtime_descriptors(files, [pool.FindServiceByName(name) for name in services])
    first = next(f for f in files if f.name in source.roots)
    root_elements = [elements.get(name) for name in services]
    description = next((e.comment for e in root_elements if e is not None and e.comment), "")
    return ir.Api(
        family="grpc",
        format=_format(first),
        title=services[0] if len(services) == 1 else (first.package or first.name),
        version=_version(first.package),
        description=description,
        operations=tuple(operations),
        security_schemes=schemes,
        defs=dict(sorted(schemas.defs.items())),
        descriptors=base64.b64encode(descriptors.SerializeToString(deterministic=True)).decode("ascii"),
    )


def _address(target: str | None, tls: bool) -> tuple[str, bool]:
    """``grpcs://host:port`` (or https) means TLS, ``grpc://`` (or http) plaintext, a bare address ``tls``."""
    if not target:
        return "", tls
    for prefix, secure in _TLS_SCHEMES.items():
        if target.startswith(prefix):
            return target.removeprefix(prefix).rstrip("/"), secure
    return target, tls


def runtime_descriptors(
    files: list[descriptor_pb2.FileDescriptorProto], services: list[ServiceDescriptor]
) -> descriptor_pb2.FileDescriptorSet:
    """The smallest set the runtime can rebuild the services' messages from.

    Only the services' files and the files their types need, transitively, are kept, without
    comments; imports of anything else (google/api/annotations.proto and, through it,
    descriptor.proto: options the runtime never reads) are dropped. Custom options stay in the
    kept files as unknown fields, which protobuf accepts without their definitions.
    """
    needed: set[str] = set()
    pending: list[FileDescriptor] = [service.file for service in services]
    while pending:
        file = pending.pop()
        if file.name in needed:
            continue
        needed.add(file.name)
        pending.extend(_files_used_by(file))
    kept = []
    for file in files:  # already in dependency order
        if file.name not in needed:
            continue
        copy = descriptor_pb2.FileDescriptorProto()
        copy.CopyFrom(file)
        copy.ClearField("source_code_info")
        positions = [index for index, name in enumerate(file.dependency) if name in needed]
        public = set(file.public_dependency)
        copy.ClearField("dependency")
        copy.ClearField("public_dependency")
        copy.ClearField("weak_dependency")
        for new_index, old_index in enumerate(positions):
            copy.dependency.append(file.dependency[old_index])
            if old_index in public:
                copy.public_dependency.append(new_index)
        kept.append(copy)
    return descriptor_pb2.FileDescriptorSet(file=kept)


def _files_used_by(file: FileDescriptor) -> list[FileDescriptor]:
    """The files holding the types of every field and extension ``file`` declares."""
    fields: list[FieldDescriptor] = list(file.extensions_by_name.values())
    messages: list[Descriptor] = list(file.message_types_by_name.values())
    while messages:
        message = messages.pop()
        fields.extend(message.fields)
        fields.extend(message.extensions)
        messages.extend(message.nested_types)
    kinds = [(f.message_type, f.enum_type, f.containing_type if f.is_extension else None) for f in fields]
    used = [kind.file for triple in kinds for kind in triple if kind is not None]
    # A type may be visible only through an import's `import public`: keep such imports.
    used.extend(dependency for dependency in file.dependencies if dependency.public_dependencies)
    return used


def _format(file: descriptor_pb2.FileDescriptorProto) -> str:
    if file.syntax == "editions":
        return f"protobuf editions {descriptor_pb2.Edition.Name(file.edition).removeprefix('EDITION_')}"
    return file.syntax or "proto2"


def _version(package: str) -> str:
    """The API version a package name carries by convention (AIP-185): ``google.pubsub.v1`` → v1."""
    last = package.rsplit(".", 1)[-1]
    return last if last[:1] == "v" and last[1:2].isdigit() else ""
