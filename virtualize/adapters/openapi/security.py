"""Security Scheme Objects and Security Requirements → ``ir.SecurityScheme`` / ``ir.SecurityUse``.

Kinds (OpenAPI 3.x §4.8.27, Swagger 2.0 §"Security Definitions Object"):
- ``apiKey`` in header, query or cookie → ``api_key``; HTTP ``bearer``/``basic`` (2.0 ``basic``);
- OAuth2 with a client-credentials flow (2.0 ``flow: application``) → ``oauth2_client_credentials``
  with its token URL and scopes: the runtime can fetch the token itself;
- every other OAuth2 flow and OpenID Connect → ``oauth2_token``: the user supplies a token;
- anything else (``mutualTLS``, HTTP ``digest``/``negotiate``...) cannot be supplied by the runtime:
  a warning, and requirements that need it are dropped.

Requirements: an operation's ``security`` replaces the document's (``[]`` removes it). Each
requirement is one alternative; an empty one (``{}``) means "no credentials" and is moved to the
end, because the runtime takes the first alternative it can satisfy and an empty one always is.
When every alternative needs a scheme that cannot be supplied, the operation is left out.
"""

from __future__ import annotations

from typing import Any

from virtualize.adapters.openapi.context import Context, SkipOperation, as_dict, text
from virtualize.adapters.openapi.load import Documents, Located, child
from virtualize.ir import SchemeKind, SecurityScheme, SecurityUse

_API_KEY_PLACES = ("header", "query", "cookie")


def schemes(documents: Documents, root: dict[str, Any], swagger: bool) -> dict[str, SecurityScheme]:
    """The usable schemes declared by the document, by name; unusable ones are reported."""
    if swagger:
        owner = Located(root, documents.entry, "")
        key = "securityDefinitions"
    else:
        owner = Located(as_dict(root.get("components")), documents.entry, "/components")
        key = "securitySchemes"
    declared = owner.node.get(key)
    if declared is None:
        return {}
    at = Located(declared, owner.file, child(owner.pointer, key))
    if not isinstance(declared, dict):
        documents.warning(at.file, at.pointer, f"{key} must be an object", hint="no security scheme was read")
        return {}
    found: dict[str, SecurityScheme] = {}
    for raw_name, value in declared.items():
        name = str(raw_name)
        place = documents.follow(Located(value, at.file, child(at.pointer, name)))
        if place is None:
            continue
        scheme = _scheme(documents, name, place)
        if scheme is not None:
            found[name] = scheme
    return found


def _scheme(documents: Documents, name: str, place: Located) -> SecurityScheme | None:
    node = place.node
    if not isinstance(node, dict):
        documents.warning(place.file, place.pointer, f"security scheme {name!r} is not an object")
        return None
    kind = node.get("type")
    description = text(node.get("description"))
    pointer = place.pointer
    if kind == "apiKey":
        where, parameter = node.get("in"), node.get("name")
        if where not in _API_KEY_PLACES or not isinstance(parameter, str) or not parameter:
            documents.warning(
                place.file, pointer, f"apiKey scheme {name!r} needs `in` (header, query or cookie) and `name`",
                hint="operations that require it are left out",
            )  # fmt: skip
            return None
        return SecurityScheme(
            name=name, kind=SchemeKind.API_KEY, in_=where, parameter=parameter, description=description, pointer=pointer
        )
    if kind == "basic" or (kind == "http" and str(node.get("scheme", "")).lower() == "basic"):
        return SecurityScheme(name=name, kind=SchemeKind.HTTP_BASIC, description=description, pointer=pointer)
    if kind == "http" and str(node.get("scheme", "")).lower() == "bearer":
        return SecurityScheme(name=name, kind=SchemeKind.HTTP_BEARER, description=description, pointer=pointer)
    if kind == "oauth2":
        return _oauth2(name, node, description, pointer)
    if kind == "openIdConnect":
        return SecurityScheme(name=name, kind=SchemeKind.OAUTH2_TOKEN, description=description, pointer=pointer)
    shown = f"http {node.get('scheme')!r}" if kind == "http" else repr(kind)
    documents.warning(
        place.file, pointer, f"security scheme {name!r} of type {shown} is not supported",
        hint="virtualize supplies apiKey, http bearer/basic, OAuth2 and OpenID Connect credentials; "
        "operations that can only use this scheme are left out",
    )  # fmt: skip
    return None


def _oauth2(name: str, node: dict[str, Any], description: str, pointer: str) -> SecurityScheme:
    if "flows" in node:  # OpenAPI 3.x OAuth Flows Object
        flows = {str(k): as_dict(v) for k, v in as_dict(node.get("flows")).items()}
        client = flows.get("clientCredentials")
    else:  # Swagger 2.0: one flow per scheme
        flows = {str(node.get("flow")): node}
        client = node if node.get("flow") == "application" else None
    token_url = text(client.get("tokenUrl")) if client is not None else ""
    if client is not None and token_url:
        return SecurityScheme(
            name=name,
            kind=SchemeKind.OAUTH2_CLIENT_CREDENTIALS,
            token_url=token_url,
            scopes=_scopes(client),
            description=description,
            pointer=pointer,
        )
    scopes = dict.fromkeys(scope for flow in flows.values() for scope in _scopes(flow))
    return SecurityScheme(
        name=name, kind=SchemeKind.OAUTH2_TOKEN, scopes=tuple(scopes), description=description, pointer=pointer
    )


def _scopes(flow: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(scope) for scope in as_dict(flow.get("scopes")))


def requirements(ctx: Context, operation: Located) -> tuple[tuple[SecurityUse, ...], ...]:
    """The operation's security alternatives (see the module docstring)."""
    declared = ctx.schemes
    if "security" in operation.node:
        place = Located(operation.node["security"], operation.file, child(operation.pointer, "security"))
    elif "security" in ctx.root:
        place = Located(ctx.root["security"], ctx.entry, "/security")
    else:
        return ()
    if not isinstance(place.node, list):
        raise SkipOperation("its security requirements are not a list", place)
    alternatives: list[tuple[SecurityUse, ...]] = []
    optional = False
    unusable: list[str] = []
    for index, requirement in enumerate(place.node):
        at = Located(requirement, place.file, child(place.pointer, index))
        if not isinstance(requirement, dict):
            raise SkipOperation("a security requirement is not an object", at)
        if not requirement:
            optional = True
            continue
        uses = []
        for raw_name, scopes in requirement.items():
            name = str(raw_name)
            if name not in declared:
                unusable.append(name)
                _report_unknown(ctx, at, name)
                break
            listed = scopes if isinstance(scopes, list) else []
            uses.append(SecurityUse(scheme=name, scopes=tuple(str(s) for s in listed)))
        else:
            alternative = tuple(uses)
            if alternative not in alternatives:
                alternatives.append(alternative)
    if not alternatives and unusable and not optional:
        raise SkipOperation(f"it requires security scheme {unusable[0]!r}, which virtualize cannot supply", place)
    if optional and alternatives:
        alternatives.append(())
    return tuple(alternatives)


def _report_unknown(ctx: Context, at: Located, name: str) -> None:
    """A name that no usable scheme has: undeclared (a spec error) or unsupported (warned already)."""
    swagger = ctx.dialect == "2.0"
    section = "securityDefinitions" if swagger else "components.securitySchemes"
    if name in _declared_names(ctx, swagger):
        return
    ctx.documents.warning(
        at.file, child(at.pointer, name), f"security requirement names {name!r}, which {section} does not declare",
        hint=f"declare it under {section}, or fix the name",
    )  # fmt: skip


def _declared_names(ctx: Context, swagger: bool) -> dict[str, Any]:
    if swagger:
        return as_dict(ctx.root.get("securityDefinitions"))
    return as_dict(as_dict(ctx.root.get("components")).get("securitySchemes"))
