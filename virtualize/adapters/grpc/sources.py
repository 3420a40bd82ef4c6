"""Obtain a ``FileDescriptorSet`` from a .proto file, a binary descriptor set, or server reflection.

Whatever the source, the result is a self-contained set: every file the services need, in
dependency order, with the well-known types filled in from protobuf's own copies when the source
left them out. ``roots`` names the files whose services become tools: the compiled .proto, the
files no other file of a descriptor set imports, or the files holding the services a server lists.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import (  # the well-known types register themselves in the default pool
    any_pb2,  # noqa: F401
    api_pb2,  # noqa: F401
    descriptor_pb2,
    descriptor_pool,
    duration_pb2,  # noqa: F401
    empty_pb2,  # noqa: F401
    field_mask_pb2,  # noqa: F401
    source_context_pb2,  # noqa: F401
    struct_pb2,  # noqa: F401
    timestamp_pb2,  # noqa: F401
    type_pb2,  # noqa: F401
    wrappers_pb2,  # noqa: F401
)
from google.protobuf.message import DecodeError
from google.rpc import status_pb2

from virtualize.diagnostics import Diagnostics

# protoc's default (gcc-like) error format: "file:line:column: message"
_PROTOC_ERROR = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<column>\d+): (?P<message>.*)$")
_REFLECTION_TIMEOUT = 10.0  # seconds for each reflection exchange
# Reflection services describe the server, not the API it serves.
_REFLECTION_SERVICES = ("grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection")


@dataclass(frozen=True)
class DescriptorSource:
    files: descriptor_pb2.FileDescriptorSet
    roots: tuple[str, ...]  # names of files whose services become tools
    services: tuple[str, ...] | None = None  # when set (reflection), only these services


def load_proto(path: Path, include_paths: tuple[Path, ...], diagnostics: Diagnostics) -> DescriptorSource | None:
    """Compile ``path`` with protoc (grpcio-tools, in process) into a descriptor set with source info.

    Include paths work as protoc's ``-I``; without any, the file's own folder is the root. The
    well-known types (``google/protobuf/*.proto``) come from grpcio-tools and need no include.
    """
    from grpc_tools import protoc  # noqa: PLC0415 - the [grpc] extra is imported only when used

    roots = [root.resolve() for root in include_paths] or [path.resolve().parent]
    absolute = path.resolve()
    relative = next((absolute.relative_to(root) for root in roots if absolute.is_relative_to(root)), None)
    if relative is None:
        roots.append(absolute.parent)
        relative = Path(absolute.name)
    well_known = Path(protoc.__file__).parent / "_proto"
    # googleapis-common-protos ships google/api, google/rpc and google/type next to its modules:
    # common imports resolve without -I, and a copy under the user's include paths wins.
    googleapis = Path(status_pb2.__file__).parents[2]
    with tempfile.TemporaryDirectory(prefix="virtualize-protoc-") as scratch:
        output = Path(scratch) / "set.binpb"
        arguments = [
            "protoc",
            *(f"--proto_path={root}" for root in roots),
            f"--proto_path={well_known}",
            f"--proto_path={googleapis}",
            "--include_imports",
            "--include_source_info",
            f"--descriptor_set_out={output}",
            relative.as_posix(),
        ]
        with _captured_stderr() as captured:
            status = protoc.main(arguments)
        if status != 0 or not output.is_file():
            _report_protoc_errors(path, captured.read(), roots, diagnostics)
            return None
        files = descriptor_pb2.FileDescriptorSet.FromString(output.read_bytes())
    return DescriptorSource(files=files, roots=(relative.as_posix(),))


def load_descriptor_set(path: Path, diagnostics: Diagnostics) -> DescriptorSource | None:
    """Read a binary ``FileDescriptorSet`` (``protoc --descriptor_set_out``, ``buf build -o``)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        diagnostics.error(str(path), f"cannot read the descriptor set: {error.strerror}")
        return None
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(data)
    except DecodeError:
        files = None
    if files is None or not files.file or any(not file.name for file in files.file):
        diagnostics.error(
            str(path),
            "not a binary FileDescriptorSet",
            hint="make one with `protoc --include_imports --include_source_info --descriptor_set_out=FILE`"
            " or `buf build -o FILE.binpb`",
        )
        return None
    imported = {dependency for file in files.file for dependency in file.dependency}
    roots = tuple(file.name for file in files.file if file.name not in imported)
    return DescriptorSource(files=files, roots=roots)


def load_reflection(target: str, *, tls: bool, diagnostics: Diagnostics) -> DescriptorSource | None:
    """Ask a live server for its services and their files (grpc.reflection.v1alpha, which every
    gRPC implementation serves; Go and Java servers serve v1 as well, with the same messages)."""
    import grpc  # noqa: PLC0415
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # noqa: PLC0415

    where = f"reflection {target}"
    channel = grpc.secure_channel(target, grpc.ssl_channel_credentials()) if tls else grpc.insecure_channel(target)
    try:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)

        def ask(**request: Any) -> Any:
            responses = stub.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=_REFLECTION_TIMEOUT
            )
            response = next(iter(responses))
            if response.HasField("error_response"):
                raise LookupError(response.error_response.error_message or "not found")
            return response

        try:
            listed = ask(list_services="").list_services_response.service
            services = tuple(sorted(s.name for s in listed if s.name not in _REFLECTION_SERVICES))
            found: dict[str, descriptor_pb2.FileDescriptorProto] = {}

            def keep(response: Any) -> list[str]:
                names = []
                for blob in response.file_descriptor_response.file_descriptor_proto:
                    file = descriptor_pb2.FileDescriptorProto.FromString(blob)
                    found.setdefault(file.name, file)
                    names.append(file.name)
                return names

            roots = [keep(ask(file_containing_symbol=service))[0] for service in services]
            asked: set[str] = set()
            while missing := [name for name in _missing_dependencies(found) if _well_known(name) is None]:
                for name in missing:
                    if name in asked:
                        raise LookupError(f"the server did not send {name}")
                    asked.add(name)
                    keep(ask(file_by_filename=name))
        except grpc.RpcError as error:
            code = error.code()
            hint = (
                "start the server with reflection enabled (grpc_reflection / reflection.Register)"
                if code is grpc.StatusCode.UNIMPLEMENTED
                else "check the address, and --tls for a server that needs TLS"
            )
            diagnostics.error(where, f"server reflection failed: {code.name}: {error.details()}", hint=hint)
            return None
        except LookupError as error:
            diagnostics.error(where, f"server reflection failed: {error}")
            return None
    finally:
        channel.close()
    if not services:
        diagnostics.error(where, "the server lists no services besides reflection")
        return None
    files = descriptor_pb2.FileDescriptorSet(file=list(found.values()))
    return DescriptorSource(files=files, roots=tuple(dict.fromkeys(roots)), services=services)


def complete(
    files: descriptor_pb2.FileDescriptorSet, where: str, diagnostics: Diagnostics
) -> list[descriptor_pb2.FileDescriptorProto] | None:
    """The set's files in dependency order, with missing well-known types added from protobuf."""
    by_name = {file.name: file for file in files.file}
    ordered: list[descriptor_pb2.FileDescriptorProto] = []
    placed: set[str] = set()
    unresolved: list[str] = []

    def place(name: str, chain: tuple[str, ...]) -> None:
        if name in placed or name in chain:
            return
        file = by_name.get(name)
        if file is None:
            file = _well_known(name)
            if file is None:
                unresolved.append(f"{name} (imported by {chain[-1]})" if chain else name)
                return
            by_name[name] = file
        for dependency in file.dependency:
            place(dependency, (*chain, name))
        placed.add(name)
        ordered.append(file)

    for file in files.file:
        place(file.name, ())
    if unresolved:
        diagnostics.error(
            where,
            "the descriptor set lacks imported files: " + ", ".join(sorted(set(unresolved))),
            hint="rebuild it with `protoc --include_imports`",
        )
        return None
    return ordered


def _well_known(name: str) -> descriptor_pb2.FileDescriptorProto | None:
    if not name.startswith("google/protobuf/"):
        return None
    # The default pool holds every file protobuf ships generated code for (imported above).
    with contextlib.suppress(KeyError):
        found = descriptor_pool.Default().FindFileByName(name)
        proto = descriptor_pb2.FileDescriptorProto()
        found.CopyToProto(proto)
        return proto
    return None


def _missing_dependencies(found: dict[str, descriptor_pb2.FileDescriptorProto]) -> list[str]:
    return sorted({d for file in found.values() for d in file.dependency if d not in found})


def _report_protoc_errors(path: Path, output: str, roots: list[Path], diagnostics: Diagnostics) -> None:
    reported = False
    for line in output.splitlines():
        match = _PROTOC_ERROR.match(line.strip())
        if match is None:
            continue
        file = _locate(match["file"], roots)
        message = match["message"]
        hint = ""
        if "not found" in message or "File not found" in message:
            hint = "add the folder that holds the import with -I/--proto-path (as with protoc)"
        diagnostics.error(file, message, line=int(match["line"]), hint=hint)
        reported = True
    if not reported:
        text = " ".join(output.split()) or "protoc failed"
        hint = "add the folder that holds each import with -I/--proto-path (as with protoc)"
        diagnostics.error(str(path), text, hint=hint if "not found" in text.lower() else "")


def _locate(name: str, roots: list[Path]) -> str:
    """The file a protoc message names, as a path the user can open."""
    for root in roots:
        candidate = root / name
        if candidate.is_file():
            return str(candidate)
    return name


@contextlib.contextmanager
def _captured_stderr() -> Iterator[Any]:
    """protoc writes its errors to file descriptor 2 from C++; read them back from a temp file."""
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            buffer = _Captured()
            yield buffer
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            buffer.text = sink.read().decode("utf-8", "replace")


class _Captured:
    text = ""

    def read(self) -> str:
        return self.text
