"""The gRPC adapter: .proto files, binary descriptor sets or server reflection → ``ir.Api``.

    sources.py      a FileDescriptorSet from protoc (grpcio-tools, in process), a file, or reflection
    elements.py     every named element with its comment, line and raw options
    options.py      idempotency, deprecation, google.api.http and google.api.field_behavior
    messages.py     message descriptors → JSON Schema (proto3 JSON mapping)
    operations.py   service methods → ir.Operation (unary and all three streaming kinds)
    security.py     ``--auth`` declarations → metadata security schemes
    assemble.py     the steps above, in order

grpcio, grpcio-tools and protobuf are the ``virtualize[grpc]`` extra: nothing here imports them
until a gRPC descriptor is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from virtualize.adapters import AdapterOptions
    from virtualize.diagnostics import Diagnostics
    from virtualize.ir import Api

__all__ = ["load"]


def load(path: Path, options: AdapterOptions, diagnostics: Diagnostics) -> Api | None:
    """Read ``path`` (a .proto file or a binary FileDescriptorSet), or, with ``options.reflect``,
    ask that server; return the Api, or None when errors (already reported) prevent one."""
    try:
        from virtualize.adapters.grpc.assemble import assemble_api  # noqa: PLC0415
    except ImportError as error:
        diagnostics.error(
            options.reflect or str(path),
            f"gRPC support is not installed ({error.name or error})",
            hint="pip install 'virtualize[grpc]'",
        )
        return None
    return assemble_api(path, options, diagnostics)
