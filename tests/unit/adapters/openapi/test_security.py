"""Security schemes → what credential goes where; requirements → the operation's alternatives."""

from __future__ import annotations

from pathlib import Path

from virtualize.adapters import AdapterOptions
from virtualize.adapters.openapi import load
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, SchemeKind, SecurityScheme, SecurityUse


def compile_ir(tmp_path: Path, text: str) -> tuple[Api, Diagnostics]:
    path = tmp_path / "openapi.yaml"
    path.write_text(text, encoding="utf-8")
    diagnostics = Diagnostics()
    api = load(path, AdapterOptions(), diagnostics)
    assert api is not None, [d.render() for d in diagnostics.items]
    return api, diagnostics


SCHEMES_3 = """
openapi: 3.1.0
info: {title: t, version: "1"}
security: [{key: []}]
paths:
  /open:
    get: {security: [], responses: {"200": {description: ok}}}
  /default:
    get: {responses: {"200": {description: ok}}}
  /either:
    get:
      security: [{}, {oauth: [read, write], key: []}, {bearer: []}]
      responses: {"200": {description: ok}}
  /mtls:
    get: {security: [{mtls: []}], responses: {"200": {description: ok}}}
components:
  securitySchemes:
    key: {type: apiKey, in: cookie, name: sid, description: Session cookie}
    bearer: {type: http, scheme: Bearer}
    basic: {type: http, scheme: basic}
    oauth:
      type: oauth2
      flows:
        authorizationCode:
          authorizationUrl: https://auth.example.com/authorize
          tokenUrl: https://auth.example.com/token
          scopes: {admin: everything}
        clientCredentials:
          tokenUrl: https://auth.example.com/token
          scopes: {read: read things, write: write things}
    implicit:
      type: oauth2
      flows: {implicit: {authorizationUrl: https://a.example.com, scopes: {read: r}}}
    oidc: {type: openIdConnect, openIdConnectUrl: https://a.example.com/.well-known/openid-configuration}
    mtls: {type: mutualTLS}
"""


def test_every_supported_scheme_kind_is_read(tmp_path: Path) -> None:
    api, _ = compile_ir(tmp_path, SCHEMES_3)

    pointer = "/components/securitySchemes"
    assert api.security_schemes == {
        "key": SecurityScheme(
            name="key",
            kind=SchemeKind.API_KEY,
            in_="cookie",
            parameter="sid",
            description="Session cookie",
            pointer=f"{pointer}/key",
        ),
        "bearer": SecurityScheme(name="bearer", kind=SchemeKind.HTTP_BEARER, pointer=f"{pointer}/bearer"),
        "basic": SecurityScheme(name="basic", kind=SchemeKind.HTTP_BASIC, pointer=f"{pointer}/basic"),
        "oauth": SecurityScheme(
            name="oauth",
            kind=SchemeKind.OAUTH2_CLIENT_CREDENTIALS,
            token_url="https://auth.example.com/token",
            scopes=("read", "write"),
            pointer=f"{pointer}/oauth",
        ),
        "implicit": SecurityScheme(
            name="implicit", kind=SchemeKind.OAUTH2_TOKEN, scopes=("read",), pointer=f"{pointer}/implicit"
        ),
        "oidc": SecurityScheme(name="oidc", kind=SchemeKind.OAUTH2_TOKEN, pointer=f"{pointer}/oidc"),
    }


def test_requirements_are_alternatives_with_no_credentials_tried_last(tmp_path: Path) -> None:
    api, diagnostics = compile_ir(tmp_path, SCHEMES_3)

    security = {op.key: op.security for op in api.operations}
    assert security == {
        "GET /open": (),
        "GET /default": ((SecurityUse(scheme="key"),),),
        "GET /either": (
            (SecurityUse(scheme="oauth", scopes=("read", "write")), SecurityUse(scheme="key")),
            (SecurityUse(scheme="bearer"),),
            (),
        ),
    }
    assert [(d.pointer, d.message) for d in diagnostics.warnings] == [
        ("/components/securitySchemes/mtls", "security scheme 'mtls' of type 'mutualTLS' is not supported"),
        (
            "/paths/~1mtls/get/security",
            "operation GET /mtls is left out: it requires security scheme 'mtls', which virtualize cannot supply",
        ),
    ]


def test_swagger_2_security_definitions_map_to_the_same_kinds(tmp_path: Path) -> None:
    text = """
swagger: "2.0"
info: {title: t, version: "1"}
securityDefinitions:
  basic: {type: basic}
  key: {type: apiKey, in: query, name: api_key}
  app: {type: oauth2, flow: application, tokenUrl: https://a.example.com/token, scopes: {read: r}}
  implicit: {type: oauth2, flow: implicit, authorizationUrl: https://a.example.com/auth, scopes: {write: w}}
security: [{app: [read]}]
paths:
  /a:
    get: {responses: {"200": {description: ok}}}
"""
    api, _ = compile_ir(tmp_path, text)

    kinds = {name: (s.kind, s.in_, s.parameter, s.token_url, s.scopes) for name, s in api.security_schemes.items()}
    assert kinds == {
        "basic": (SchemeKind.HTTP_BASIC, None, None, None, ()),
        "key": (SchemeKind.API_KEY, "query", "api_key", None, ()),
        "app": (SchemeKind.OAUTH2_CLIENT_CREDENTIALS, None, None, "https://a.example.com/token", ("read",)),
        "implicit": (SchemeKind.OAUTH2_TOKEN, None, None, None, ("write",)),
    }
    assert api.operations[0].security == ((SecurityUse(scheme="app", scopes=("read",)),),)


def test_an_undeclared_scheme_in_one_alternative_leaves_the_others(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    get:
      security: [{typo: []}, {key: []}]
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Key}
"""
    api, diagnostics = compile_ir(tmp_path, text)

    assert api.operations[0].security == ((SecurityUse(scheme="key"),),)
    assert [(d.pointer, d.message) for d in diagnostics.warnings] == [
        (
            "/paths/~1a/get/security/0/typo",
            "security requirement names 'typo', which components.securitySchemes does not declare",
        )
    ]
