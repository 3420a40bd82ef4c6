"""Security schemes declared at build time, for GraphQL schemas, which carry none of their own.

Each ``--auth`` declaration is one scheme, and every operation requires all of them (one
endpoint, one set of credentials):

    bearer              Authorization: Bearer <token>
    basic               Authorization: Basic <username:password>
    header:NAME         an API key in header NAME
    query:NAME          an API key in query parameter NAME
    cookie:NAME         an API key in cookie NAME
"""

from __future__ import annotations

import re

from virtualize.adapters import declared_auth
from virtualize.diagnostics import Diagnostics
from virtualize.ir import SchemeKind, SecurityScheme

_PLACES = ("header", "query", "cookie")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 §5.6.2 token (header and cookie names)


def declared_schemes(declarations: tuple[str, ...], file: str, diagnostics: Diagnostics) -> dict[str, SecurityScheme]:
    """The schemes ``declarations`` name, keyed by scheme name; bad ones are reported and skipped."""
    hint = "use bearer, basic, header:NAME, query:NAME or cookie:NAME"
    return declared_auth.declared_schemes(declarations, file, diagnostics, parse=_scheme, hint=hint)


def _scheme(declaration: str) -> SecurityScheme | None:
    common = declared_auth.bearer_or_basic(declaration, "the Authorization header")
    if common is not None:
        return common
    place, _, parameter = declaration.partition(":")
    place = place.lower()
    if place not in _PLACES or not parameter or not _TOKEN.match(parameter):
        return None
    name = "api_key_" + re.sub(r"[^0-9A-Za-z]+", "_", parameter).strip("_").lower()
    return SecurityScheme.model_validate(
        {
            "name": name,
            "kind": SchemeKind.API_KEY,
            "in": place,
            "parameter": parameter,
            "description": f"API key in {place} {parameter} (declared with --auth)",
        }
    )
