"""The caller's own bearer token through a real `virtualize serve` process: forwarded upstream only
for the scheme the serve configuration marks ``forward_caller``, never for another scheme of the
same server, reported as unauthorized when the caller sent none, and never logged."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import pytest

from tests.support.mcp_client import http_client, served
from tests.support.upstream import RecordingUpstream
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SPEC = """
openapi: 3.0.3
info: {title: desk, version: "1"}
servers: [{url: "http://localhost:9/api"}]
components:
  securitySchemes:
    user: {type: http, scheme: bearer}
    app: {type: apiKey, in: header, name: X-App-Key}
paths:
  /me:
    get:
      operationId: whoAmI
      security: [{user: []}]
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object}}}}}
  /status:
    get:
      operationId: status
      security: [{app: []}]
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object}}}}}
"""
CALLER_TOKEN = "callers-own-t0ken"
APP_KEY = "app-k3y-from-env"


async def test_only_the_scheme_marked_forward_caller_receives_the_callers_token(tmp_path: Path) -> None:
    spec = tmp_path / "desk.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    folder = compile_spec(spec, BuildOptions(output=tmp_path / "out")).write(tmp_path / "out")
    config = tmp_path / "serve.toml"
    config.write_text("[servers.desk.credentials.user]\nforward_caller = true\n", encoding="utf-8")
    with RecordingUpstream() as upstream:
        upstream.reply("GET", "/api/me", json={"name": "ada"})
        upstream.reply("GET", "/api/status", json={"up": True})
        sources = json.loads((folder / "auth.json").read_text(encoding="utf-8"))["schemes"]["app"]["sources"]
        env = {sources["value"]: APP_KEY}
        with served([folder], upstreams={"desk": upstream.url + "/api"}, env=env, args=["--config", str(config)]) as gw:
            with anyio.fail_after(30):
                async with http_client(gw.url("desk"), headers={"Authorization": f"Bearer {CALLER_TOKEN}"}) as client:
                    me = await client.call_tool("whoAmI", {})
                    status = await client.call_tool("status", {})
                async with http_client(gw.url("desk")) as anonymous:
                    refused = await anonymous.call_tool("whoAmI", {})
            log = "\n".join(gw.log_lines())

    assert me.structured_content == {"name": "ada"} and status.structured_content == {"up": True}
    forwarded, other = upstream.requests
    assert (forwarded.path, forwarded.headers["authorization"]) == ("/api/me", f"Bearer {CALLER_TOKEN}")
    assert other.path == "/api/status" and other.headers["x-app-key"] == APP_KEY
    assert "authorization" not in other.headers  # the other scheme of the same server gets nothing of the caller's
    assert refused.is_error and refused.meta is not None
    error = refused.meta["dev.virtualize/error"]
    assert error["category"] == "unauthorized" and "the caller sent no bearer token" in error["message"]
    assert len(upstream.requests) == 2  # the refused call never left the gateway
    assert CALLER_TOKEN not in log and APP_KEY not in log
