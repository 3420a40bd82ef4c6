"""The Streamable HTTP app in process: readiness follows the MCP layer, and a 2026-07-28
``tools/call`` is answered without the SDK re-listing tools to check its ``Mcp-Param`` headers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import types
from mcp.server import ServerRequestContext

from tests.support.petstore import API_KEY, KEY_VARIABLE, petstore_manifest
from tests.support.upstream import RecordingUpstream
from virtualize.runtime.access import Access
from virtualize.runtime.credentials import CredentialStore
from virtualize.runtime.invokers import InvokerSettings
from virtualize.runtime.invokers.http import create_invoker
from virtualize.runtime.router import Router, VirtualServer
from virtualize.runtime.transports import http_app

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def upstream() -> Iterator[RecordingUpstream]:
    with RecordingUpstream() as running:
        yield running


def _router(upstream: RecordingUpstream) -> Router:
    pets = petstore_manifest()
    settings = InvokerSettings(base_url=upstream.url + "/v1", retries=0)
    store = CredentialStore(pets.name, pets.auth, environ={KEY_VARIABLE: API_KEY})
    return Router([VirtualServer(pets, {"http": create_invoker(pets, settings)}, store, settings)])


def _call(name: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": meta},
    }
    headers = {
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
        "Accept": "application/json, text/event-stream",
    }
    return body, headers


async def test_readiness_is_503_until_the_mcp_layer_runs_and_again_once_it_stops(upstream: RecordingUpstream) -> None:
    app = http_app(_router(upstream), Access())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1") as client:
        before = await client.get("/readyz")
        async with app.router.lifespan_context(app):
            running = await client.get("/readyz")
            health = await client.get("/healthz")
        after = await client.get("/readyz")
    assert (before.status_code, before.json()["status"]) == (503, "starting")
    assert (running.status_code, running.json()) == (200, {"status": "ready", "servers": {"petstore": 6}})
    assert health.status_code == 200
    assert after.status_code == 503


async def test_a_modern_tool_call_never_runs_the_tool_list_handler(upstream: RecordingUpstream) -> None:
    # Without the router's schema lookup the SDK runs tools/list once per call with arguments.
    upstream.reply("GET", "/v1/pets/7", json={"id": 7, "name": "Rex"})
    router = _router(upstream)
    lists: list[object] = []
    listing = router.list_tools

    async def counted(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        lists.append(params)
        return await listing(ctx, params)

    router.list_tools = counted  # type: ignore[method-assign]
    app = http_app(router, Access())
    body, headers = _call("getPet", {"petId": 7})
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1") as client,
        app.router.lifespan_context(app),
    ):
        answer = await client.post("/servers/petstore/mcp", json=body, headers=headers)
        listed = await client.post(
            "/servers/petstore/mcp",
            json={**body, "method": "tools/list", "params": {"_meta": body["params"]["_meta"]}},
            headers={**headers, "Mcp-Method": "tools/list", "Mcp-Name": ""},
        )
    assert answer.status_code == 200
    assert answer.json()["result"]["structuredContent"] == {"id": 7, "name": "Rex"}
    assert listed.status_code == 200 and len(listed.json()["result"]["tools"]) == 6
    assert len(lists) == 1  # the explicit tools/list, and nothing for the call
