"""Security schemes declared on the command line (``--auth``) for descriptors that carry none.

GraphQL schemas and gRPC services say nothing about credentials, so a build declares them. Each
declaration is one scheme and every operation requires all of them (one upstream, one set of
credentials). What a declaration may say depends on the family (headers for GraphQL, metadata for
gRPC), so each family passes its own parser; reading and reporting are shared here.
"""

from __future__ import annotations

from collections.abc import Callable

from virtualize.diagnostics import Diagnostics
from virtualize.ir import SchemeKind, SecurityScheme


def declared_schemes(
    declarations: tuple[str, ...],
    where: str,
    diagnostics: Diagnostics,
    *,
    parse: Callable[[str], SecurityScheme | None],
    hint: str,
) -> dict[str, SecurityScheme]:
    """The schemes ``declarations`` name, keyed by scheme name; bad ones are reported and skipped."""
    schemes: dict[str, SecurityScheme] = {}
    for declaration in declarations:
        scheme = parse(declaration.strip())
        if scheme is None:
            diagnostics.error(where, f"unknown auth declaration {declaration!r}", hint=hint)
            continue
        schemes.setdefault(scheme.name, scheme)
    return schemes


def bearer_or_basic(declaration: str, where: str) -> SecurityScheme | None:
    """``bearer`` and ``basic``, which every family reads alike; ``where`` says where they travel."""
    lowered = declaration.lower()
    if lowered == "bearer":
        return SecurityScheme(name="bearer", kind=SchemeKind.HTTP_BEARER, description=f"Bearer token in {where}")
    if lowered == "basic":
        return SecurityScheme(name="basic", kind=SchemeKind.HTTP_BASIC, description=f"HTTP Basic in {where}")
    return None
