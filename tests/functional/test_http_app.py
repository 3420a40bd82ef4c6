"""The Streamable HTTP app in process: readiness follows the MCP layer, and a 2026-07-28
``tools/call`` is answered without the SDK re-listing tools to check its ``Mcp-Param`` headers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from mcp import types
from mcp.server import ServerRequestContext
from starlette.routing import Match, Route

from tests.support.petstore import API_KEY, KEY_VARIABLE, petstore_manifest
from tests.support.upstream import RecordingUpstream
from virtualize.runtime.access import Access
from virtualize.runtime.credentials import CredentialStore
from virtualize.runtime.invokers import InvokerSettings
from virtualize.runtime.invokers.http import create_invoker
from virtualize.runtime.router import Router, VirtualServer
from virtualize.runtime.transports import http_app, mcp_path_params

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


def _list(cursor: str) -> tuple[dict[str, Any], dict[str, str]]:
    body, headers = _call("unused", {})
    params = {"cursor": cursor, "_meta": body["params"]["_meta"]}
    return {**body, "method": "tools/list", "params": params}, {**headers, "Mcp-Method": "tools/list"}


@pytest.mark.parametrize("cursor", ["\u00b2", "9" * 5000, "abc", "-1", "7"])
async def test_a_cursor_that_is_no_page_number_is_invalid_params_not_an_internal_error(
    upstream: RecordingUpstream, cursor: str
) -> None:
    app = http_app(_router(upstream), Access())
    body, headers = _list(cursor)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1") as client,
        app.router.lifespan_context(app),
    ):
        answer = await client.post("/mcp", json=body, headers={k: v for k, v in headers.items() if k != "Mcp-Name"})
    assert answer.json()["error"]["code"] == -32602  # "²" and 5,000 digits were -32603 with a traceback


@pytest.mark.parametrize("origin", ["http://localhost", "http://127.0.0.1", "https://localhost:8443", "http://[::1]"])
async def test_a_page_served_from_this_machine_may_call(upstream: RecordingUpstream, origin: str) -> None:
    app = http_app(_router(upstream), Access())
    body, headers = _list("1")
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1") as client,
        app.router.lifespan_context(app),
    ):
        answer = await client.post("/mcp", json=body, headers={**headers, "Origin": origin})
    assert answer.status_code != 403


async def test_readiness_metrics_and_health_refuse_a_foreign_host_or_origin_on_loopback(
    upstream: RecordingUpstream,
) -> None:
    app = http_app(_router(upstream), Access())
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1") as client,
        app.router.lifespan_context(app),
    ):
        rebound = [
            await client.get(path, headers={"Host": "evil.example"}) for path in ("/readyz", "/metrics", "/healthz")
        ]
        lured = await client.get("/readyz", headers={"Origin": "http://evil.example"})
        local = await client.get("/readyz", headers={"Origin": "http://localhost:3000"})
    assert [r.status_code for r in rebound] == [421, 421, 421]
    assert "petstore" not in rebound[0].text
    assert lured.status_code == 403
    assert local.status_code == 200


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
async def test_an_mcp_endpoint_answers_only_post(upstream: RecordingUpstream, method: str) -> None:
    app = http_app(_router(upstream), Access())
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://127.0.0.1") as client,
        app.router.lifespan_context(app),
    ):
        # A legacy GET (no version header) got an event stream that stayed open and silent forever.
        with anyio.fail_after(10):
            answer = await client.request(method, "/servers/petstore/mcp", headers={"Accept": "text/event-stream"})
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST")


@pytest.mark.parametrize(
    "path",
    [
        "/mcp",
        "/servers/petstore/mcp",
        "/servers/a b/mcp",
        "/servers//mcp",
        "/servers/mcp",
        "/servers/a/b/mcp",
        "/mcp/",
        "/servers/petstore/mcp/",
        "/mcpx",
        "/x/mcp",
        "/servers/petstore",
    ],
)
def test_the_fast_path_takes_exactly_the_paths_the_mcp_routes_match(path: str) -> None:
    # GatewayApp hands these to the endpoint without Starlette's routing: it must agree with it.
    routes = [Route("/mcp", _nothing, methods=["POST"]), Route("/servers/{server}/mcp", _nothing, methods=["POST"])]
    scope = {"type": "http", "method": "POST", "path": path, "root_path": ""}
    matched = [child for route in routes for match, child in [route.matches(scope)] if match is Match.FULL]
    assert mcp_path_params(path) == (matched[0]["path_params"] if matched else None)


async def _nothing(_: object) -> None:
    raise AssertionError("never called")
