"""Auth translation, end to end: each scheme of an auth map, read from the environment or a file,
arrives at a real upstream on 127.0.0.1 where the scheme says; OAuth2 tokens are fetched, cached
and refreshed once; a missing credential is named and nothing is sent."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio
import pytest
from mcp import Client, types

from tests.support import manifests
from tests.support.upstream import RecordingUpstream
from virtualize.manifest.model import (
    AuthMap,
    AuthScheme,
    HttpBinding,
    Manifest,
    SecurityUse,
)
from virtualize.runtime.credentials import CredentialStore
from virtualize.runtime.invokers import InvokerSettings
from virtualize.runtime.invokers.http import create_invoker
from virtualize.runtime.router import Router, VirtualServer

pytestmark = pytest.mark.anyio
SECRET = "s3cr3t-value-42"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def running_upstream() -> Iterator[RecordingUpstream]:
    with RecordingUpstream() as running:
        yield running


@pytest.fixture
def upstream(running_upstream: RecordingUpstream) -> RecordingUpstream:
    running_upstream.requests.clear()  # one upstream per module (it takes 0.5 s to stop), fresh records per test
    running_upstream.reply("GET", "/v1/pets", json=[{"id": 1}])
    running_upstream.reply("GET", "/v1/health", json={"status": "ok"})
    return running_upstream


def manifest(scheme: AuthScheme | None, token_url: str = "") -> Manifest:
    schemes = {} if scheme is None else {"auth": scheme.model_copy(update={"token_url": token_url or None})}
    security = ((SecurityUse(scheme="auth"),),) if scheme is not None else ()
    bindings = {
        "listPets": HttpBinding(method="GET", path="/pets", security=security, operation="GET /pets"),
        "getHealth": HttpBinding(method="GET", path="/health", operation="GET /health"),
    }
    tools = [manifests.tool(name) for name in sorted(bindings)]
    return manifests.manifest(tools, bindings, auth=AuthMap(schemes=schemes))


@asynccontextmanager
async def gateway(upstream: RecordingUpstream, pets: Manifest, environ: dict[str, str]) -> AsyncIterator[Client]:
    settings = InvokerSettings(base_url=upstream.url + "/v1", retries=0, timeout=10.0)
    store = CredentialStore("pets", pets.auth, environ=environ)
    router = Router([VirtualServer(pets, {"http": create_invoker(pets, settings)}, store, settings)])
    try:
        with anyio.fail_after(10):
            async with Client(router.mcp_server()) as client:
                yield client
    finally:
        await router.aclose()


async def call_once(
    upstream: RecordingUpstream, scheme: AuthScheme | None, environ: dict[str, str]
) -> types.CallToolResult:
    async with gateway(upstream, manifest(scheme), environ) as client:
        return await client.call_tool("listPets", {})


def api_key(where: str, name: str) -> AuthScheme:
    return AuthScheme(kind="api_key", in_=where, parameter=name, sources={"value": "PETS_API_KEY"})  # type: ignore[arg-type]


async def test_an_api_key_in_a_header(upstream: RecordingUpstream) -> None:
    result = await call_once(upstream, api_key("header", "X-API-Key"), {"PETS_API_KEY": SECRET})
    assert not result.is_error
    assert upstream.requests[0].headers["x-api-key"] == SECRET


async def test_an_api_key_in_the_query(upstream: RecordingUpstream) -> None:
    await call_once(upstream, api_key("query", "api_key"), {"PETS_API_KEY": SECRET})
    assert upstream.requests[0].query == f"api_key={SECRET}"


async def test_an_api_key_in_a_cookie(upstream: RecordingUpstream) -> None:
    await call_once(upstream, api_key("cookie", "sid"), {"PETS_API_KEY": SECRET})
    assert upstream.requests[0].cookies == {"sid": SECRET}


async def test_a_credential_read_from_the_file_named_by_the_file_variable(
    upstream: RecordingUpstream, tmp_path: Path
) -> None:
    secret_file = tmp_path / "api-key"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    await call_once(upstream, api_key("header", "X-API-Key"), {"PETS_API_KEY_FILE": str(secret_file)})
    assert upstream.requests[0].headers["x-api-key"] == SECRET


async def test_http_bearer(upstream: RecordingUpstream) -> None:
    bearer = AuthScheme(kind="http_bearer", sources={"token": "PETS_TOKEN"})
    await call_once(upstream, bearer, {"PETS_TOKEN": SECRET})
    assert upstream.requests[0].headers["authorization"] == f"Bearer {SECRET}"


async def test_http_basic(upstream: RecordingUpstream) -> None:
    basic = AuthScheme(kind="http_basic", sources={"username": "PETS_USER", "password": "PETS_PASSWORD"})
    await call_once(upstream, basic, {"PETS_USER": "ann", "PETS_PASSWORD": SECRET})
    expected = base64.b64encode(f"ann:{SECRET}".encode()).decode()
    assert upstream.requests[0].headers["authorization"] == f"Basic {expected}"


CLIENT_CREDENTIALS = AuthScheme(
    kind="oauth2_client_credentials",
    scopes=("pets:read",),
    sources={"client_id": "PETS_CLIENT_ID", "client_secret": "PETS_CLIENT_SECRET"},
)
OAUTH_ENV = {"PETS_CLIENT_ID": "app", "PETS_CLIENT_SECRET": SECRET}


async def test_oauth2_client_credentials_fetch_a_token_once_and_send_it(upstream: RecordingUpstream) -> None:
    upstream.reply("POST", "/oauth/token", json={"access_token": "tok-A", "token_type": "Bearer", "expires_in": 3600})
    pets = manifest(CLIENT_CREDENTIALS, token_url=upstream.url + "/oauth/token")
    async with gateway(upstream, pets, OAUTH_ENV) as client:
        for _ in range(3):
            result = await client.call_tool("listPets", {})
            assert not result.is_error
    token_request, *calls = upstream.requests
    assert (token_request.method, token_request.path) == ("POST", "/oauth/token")
    assert token_request.headers["authorization"] == "Basic " + base64.b64encode(f"app:{SECRET}".encode()).decode()
    assert parse_qs(token_request.body.decode()) == {"grant_type": ["client_credentials"], "scope": ["pets:read"]}
    assert [(c.path, c.headers["authorization"]) for c in calls] == [("/v1/pets", "Bearer tok-A")] * 3


async def test_an_upstream_401_refreshes_the_token_once_then_reports_unauthorized(upstream: RecordingUpstream) -> None:
    upstream.reply("POST", "/oauth/token", json={"access_token": "tok-B", "expires_in": 3600})
    upstream.reply("GET", "/v1/pets", status=401, json={"title": "token revoked"})
    pets = manifest(CLIENT_CREDENTIALS, token_url=upstream.url + "/oauth/token")
    async with gateway(upstream, pets, OAUTH_ENV) as client:
        result = await client.call_tool("listPets", {})
    assert [r.path for r in upstream.requests] == ["/oauth/token", "/v1/pets", "/oauth/token", "/v1/pets"]
    assert result.is_error and result.structured_content is not None
    error = result.structured_content["error"]
    assert (error["category"], error["status"]) == ("unauthorized", 401)
    assert SECRET not in str(result.model_dump())


async def test_a_missing_credential_is_named_and_nothing_is_sent(upstream: RecordingUpstream) -> None:
    result = await call_once(upstream, api_key("header", "X-API-Key"), {"UNRELATED": SECRET})
    assert result.is_error and result.structured_content is not None
    error: dict[str, Any] = result.structured_content["error"]
    assert error["category"] == "unauthorized"
    assert "PETS_API_KEY or PETS_API_KEY_FILE" in error["message"]
    assert upstream.requests == []


async def test_a_tool_without_security_sends_no_credential(upstream: RecordingUpstream) -> None:
    async with gateway(upstream, manifest(api_key("header", "X-API-Key")), {"PETS_API_KEY": SECRET}) as client:
        result = await client.call_tool("getHealth", {})
    assert not result.is_error
    assert "x-api-key" not in upstream.requests[0].headers
