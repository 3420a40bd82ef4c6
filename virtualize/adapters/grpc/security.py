"""Security schemes declared at build time: .proto files and descriptor sets carry none.

Each ``--auth`` declaration is one scheme, and every method requires all of them (one target,
one set of credentials). They travel as request metadata (gRPC over HTTP/2, "Requests"):

    bearer              authorization: Bearer <token>
    basic               authorization: Basic <username:password>
    metadata:KEY        an API key in metadata KEY (``header:KEY`` is read the same way)
"""

from __future__ import annotations

import re

from virtualize.adapters import declared_auth
from virtualize.diagnostics import Diagnostics
from virtualize.ir import SchemeKind, SecurityScheme

# gRPC metadata keys: lower-case ASCII letters, digits, "_", "-", "."; "-bin" keys carry bytes.
_KEY = re.compile(r"^[0-9a-z_.-]+$")
_RESERVED = ("grpc-", ":")


def declared_schemes(declarations: tuple[str, ...], where: str, diagnostics: Diagnostics) -> dict[str, SecurityScheme]:
    """The schemes ``declarations`` name, keyed by scheme name; bad ones are reported and skipped."""
    hint = "use bearer, basic or metadata:KEY (a lower-case metadata key, not grpc-* or *-bin)"
    return declared_auth.declared_schemes(declarations, where, diagnostics, parse=_scheme, hint=hint)


def _scheme(declaration: str) -> SecurityScheme | None:
    common = declared_auth.bearer_or_basic(declaration, "authorization metadata")
    if common is not None:
        return common
    lowered = declaration.lower()
    place, _, key = lowered.partition(":")
    if place not in ("metadata", "header") or not _KEY.match(key) or key.startswith(_RESERVED) or key.endswith("-bin"):
        return None
    return SecurityScheme(
        name="api_key_" + re.sub(r"[^0-9a-z]+", "_", key).strip("_"),
        kind=SchemeKind.GRPC_METADATA,
        parameter=key,
        description=f"API key in metadata {key}",
    )
