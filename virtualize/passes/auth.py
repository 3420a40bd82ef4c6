"""The auth-translation map: for each upstream security scheme the kept tools use, where the
credential goes and where it is read from at run time.

Sources are environment variables named from the server and scheme names, so they are
predictable without reading the manifest: non-alphanumerics become ``_``, upper case, then a role
suffix (``petstore`` + ``api_key`` -> ``PETSTORE_API_KEY``; a bearer scheme ``..._TOKEN``; basic
``..._USERNAME``/``..._PASSWORD``; OAuth2 client credentials ``..._CLIENT_ID``/``..._CLIENT_SECRET``).
Configuration may rename a source, never give a value.
"""

from __future__ import annotations

import re

from virtualize import ir
from virtualize.manifest.model import AuthMap, AuthScheme
from virtualize.passes.state import Build, Draft

ROLES: dict[ir.SchemeKind, tuple[str, ...]] = {
    ir.SchemeKind.API_KEY: ("value",),
    ir.SchemeKind.HTTP_BEARER: ("token",),
    ir.SchemeKind.HTTP_BASIC: ("username", "password"),
    ir.SchemeKind.OAUTH2_CLIENT_CREDENTIALS: ("client_id", "client_secret"),
    ir.SchemeKind.OAUTH2_TOKEN: ("token",),
    ir.SchemeKind.GRPC_METADATA: ("value",),
}
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]+")


def env_name(server: str, scheme: str, role: str) -> str:
    """The default environment variable for one credential role of a scheme."""
    suffix = "" if role == "value" else role
    name = _NOT_ALNUM.sub("_", "_".join(p for p in (server, scheme, suffix) if p)).strip("_").upper()
    return name if name and not name[0].isdigit() else f"_{name}"


def auth_map(build: Build, drafts: tuple[Draft, ...]) -> AuthMap:
    where = build.target.config_file or build.target.source_file
    used = sorted({use.scheme for d in drafts for alternative in d.operation.security for use in alternative})
    for name in sorted(set(build.config.auth) - set(build.api.security_schemes)):
        build.diagnostics.error(
            where,
            f"auth.{name}: the API declares no security scheme {name!r}",
            hint=f"its schemes are: {', '.join(sorted(build.api.security_schemes)) or '(none)'}",
        )
    schemes: dict[str, AuthScheme] = {}
    for name in used:
        scheme = build.api.security_schemes.get(name)
        if scheme is None:
            build.diagnostics.error(build.target.source_file, f"security requirement names unknown scheme {name!r}")
            continue
        roles = ROLES[scheme.kind]
        override = build.config.auth.get(name)
        sources = {role: env_name(build.target.name, name, role) for role in roles}
        if override is not None:
            for role in sorted(set(override.sources) - set(roles)):
                build.diagnostics.error(
                    where, f"auth.{name}.sources.{role}: a {scheme.kind} scheme has roles {', '.join(roles)}"
                )
            sources.update({role: source for role, source in override.sources.items() if role in roles})
        schemes[name] = AuthScheme(
            kind=scheme.kind.value,
            in_=scheme.in_,
            parameter=scheme.parameter,
            token_url=scheme.token_url,
            scopes=scheme.scopes,
            sources=sources,
            forward_caller=override.forward_caller if override is not None else False,
            description=build.views.describe(scheme.description) if scheme.description else "",
        )
    return AuthMap(schemes=schemes)
