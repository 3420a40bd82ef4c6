"""OAuth2 client credentials through a real `virtualize serve` process: the token is fetched once,
sent as a bearer, refreshed once on a 401, and its client secret read from a file the serve
configuration names."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import parse_qs

import anyio
import pytest

from tests.support.mcp_client import http_client, served
from tests.support.upstream import RecordingUpstream
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SPEC = """
openapi: 3.0.3
info: {title: vault, version: "1"}
servers: [{url: "http://localhost:9/api"}]
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: "TOKEN_URL", scopes: {"pets:read": read pets}}}
paths:
  /pets:
    get:
      operationId: listPets
      security: [{oauth: ["pets:read"]}]
      responses: {"200": {description: ok, content: {application/json: {schema: {type: array}}}}}
"""
CLIENT_SECRET = "cl1ent-s3cret-from-a-file"


async def test_client_credentials_are_fetched_once_refreshed_once_and_the_secret_read_from_a_named_file(
    tmp_path: Path,
) -> None:
    with RecordingUpstream() as upstream:
        spec = tmp_path / "vault.yaml"
        spec.write_text(SPEC.replace("TOKEN_URL", upstream.url + "/oauth/token"), encoding="utf-8")
        folder = compile_spec(spec, BuildOptions(output=tmp_path / "out")).write(tmp_path / "out")
        sources = json.loads((folder / "auth.json").read_text(encoding="utf-8"))["schemes"]["oauth"]["sources"]
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "oauth").write_text(CLIENT_SECRET + "\n", encoding="utf-8")
        config = tmp_path / "serve.toml"
        config.write_text(
            '[servers.vault.credentials.oauth]\nclient_secret = {file = "secrets/oauth"}\n', encoding="utf-8"
        )
        # The variable the map names for the secret is set too: the file the configuration names wins.
        env = {sources["client_id"]: "app", sources["client_secret"]: "not-this-one"}
        upstream.reply("POST", "/oauth/token", json={"access_token": "tok-1", "expires_in": 3600})
        upstream.reply("GET", "/api/pets", json=[{"id": 1}])
        with served(
            [folder], upstreams={"vault": upstream.url + "/api"}, env=env, args=["--config", str(config)]
        ) as gateway:
            async with http_client(gateway.url("vault")) as client:
                with anyio.fail_after(30):
                    first = await client.call_tool("listPets", {})
                    second = await client.call_tool("listPets", {})
                    fetched = list(upstream.requests)
                    upstream.requests.clear()
                    upstream.reply("POST", "/oauth/token", json={"access_token": "tok-2", "expires_in": 3600})
                    upstream.reply("GET", "/api/pets", status=401, json={"title": "token revoked"})
                    refused = await client.call_tool("listPets", {})
            log = "\n".join(gateway.log_lines())

    assert not first.is_error and not second.is_error
    token_request, *calls = fetched
    assert (token_request.method, token_request.path) == ("POST", "/oauth/token")
    basic = base64.b64encode(f"app:{CLIENT_SECRET}".encode()).decode()
    assert token_request.headers["authorization"] == f"Basic {basic}"
    assert parse_qs(token_request.body.decode()) == {"grant_type": ["client_credentials"], "scope": ["pets:read"]}
    assert [(c.path, c.headers["authorization"]) for c in calls] == [("/api/pets", "Bearer tok-1")] * 2

    assert [(r.path, r.headers.get("authorization")) for r in upstream.requests] == [
        ("/api/pets", "Bearer tok-1"),
        ("/oauth/token", f"Basic {basic}"),
        ("/api/pets", "Bearer tok-2"),
    ]
    assert refused.is_error and refused.meta is not None  # the envelope is in _meta: the tool has an outputSchema
    assert (refused.meta["dev.virtualize/error"]["category"], refused.meta["dev.virtualize/error"]["status"]) == (
        "unauthorized",
        401,
    )
    assert CLIENT_SECRET not in log and "tok-1" not in log and "tok-2" not in log
