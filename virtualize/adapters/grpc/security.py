"""Security schemes declared at build time: .proto files and descriptor sets carry none.

Each ``--auth`` declaration is one scheme, and every method requires all of them (one target,
one set of credentials). They travel as request metadata (gRPC over HTTP/2, "Requests"):

    bearer              authorization: Bearer <token>
    basic               authorization: Basic <username:password>
    metadata:KEY        an API key in metadata KEY (``header:KEY`` is read the same way)
"""

from __future__ import annotations

import re

from virtualize.diagnostics import Diagnostics
from virtualize.ir import SchemeKind, SecurityScheme

# gRPC metadata keys: lower-case ASCII letters, digits, "_", "-", "."; "-bin" keys carry bytes.
_KEY = re.compile(r"^[0-9a-z_.-]+$")
_RESERVED = ("grpc-", ":")


def declared_schemes(declarations: tuple[str, ...], where: str, diagnostics: Diagnostics) -> dict[str, SecurityScheme]:
    """The schemes ``declarations`` name, keyed by scheme name; bad ones are reported and skipped."""
    schemes: dict[str, SecurityScheme] = {}
    for declaration in declarations:
        scheme = _scheme(declaration.strip())
        if scheme is None:
            diagnostics.error(
                where,
                f"unknown auth declaration {declaration!r} for gRPC",
                hint="use bearer, basic or metadata:KEY (a lower-case metadata key, not grpc-* or *-bin)",
            )
            continue
        schemes.setdefault(scheme.name, scheme)
    return schemes


def _scheme(declaration: str) -> SecurityScheme | None:
    lowered = declaration.lower()
    if lowered == "bearer":
        return SecurityScheme(
            name="bearer", kind=SchemeKind.HTTP_BEARER, description="Bearer token in authorization metadata"
        )
    if lowered == "basic":
        return SecurityScheme(
            name="basic", kind=SchemeKind.HTTP_BASIC, description="HTTP Basic in authorization metadata"
        )
    place, _, key = lowered.partition(":")
    if place not in ("metadata", "header") or not _KEY.match(key) or key.startswith(_RESERVED) or key.endswith("-bin"):
        return None
    return SecurityScheme(
        name="api_key_" + re.sub(r"[^0-9a-z]+", "_", key).strip("_"),
        kind=SchemeKind.GRPC_METADATA,
        parameter=key,
        description=f"API key in metadata {key}",
    )
