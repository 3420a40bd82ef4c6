"""GraphQL tools in memory: an SDL compiled with the compiler, served by the router to the official
mcp client (in-memory transport), calling a real GraphQL server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import anyio
import pytest
from mcp import Client

from tests.support.graphql_upstream import LIBRARY_SDL_PATH, Upstream, library_root, library_schema, serve_graphql
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.manifest.model import Manifest
from virtualize.runtime.credentials import CredentialStore
from virtualize.runtime.invokers import InvokerSettings
from virtualize.runtime.invokers.graphql import create_invoker
from virtualize.runtime.router import Router, VirtualServer

pytestmark = pytest.mark.anyio
TOKEN = "tools-token-77"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    spec = tmp_path_factory.mktemp("library") / "library.graphql"
    spec.write_text(LIBRARY_SDL_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    options = BuildOptions(
        adapter={"endpoint": "http://127.0.0.1:9/graphql", "mutations": ["deleteBook"], "auth": ["bearer"]}
    )
    return compile_spec(spec, options, project=spec.parent).manifest


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with serve_graphql(library_schema(), library_root(), require_headers={"authorization": f"Bearer {TOKEN}"}) as up:
        yield up


@asynccontextmanager
async def connected(manifest: Manifest, upstream: Upstream, environ: dict[str, str]) -> AsyncIterator[Client]:
    settings = InvokerSettings(base_url=upstream.url, retries=0, timeout=10.0)
    store = CredentialStore("library", manifest.auth, environ=environ)
    router = Router([VirtualServer(manifest, {"graphql": create_invoker(manifest, settings)}, store, settings)])
    try:
        with anyio.fail_after(10):
            async with Client(router.mcp_server()) as client:
                yield client
    finally:
        await router.aclose()


async def test_only_allowed_mutations_are_tools_and_schemas_reach_the_client_verbatim(
    manifest: Manifest, upstream: Upstream
) -> None:
    async with connected(manifest, upstream, {}) as client:
        listed = await client.list_tools()

    tools = {tool.name: tool for tool in listed.tools}
    assert "deleteBook" in tools
    assert "addBook" not in tools
    for tool in manifest.tools:
        assert tools[tool.name].input_schema == tool.input_schema
        assert tools[tool.name].output_schema == tool.output_schema


async def test_the_bearer_token_from_the_environment_reaches_the_graphql_server(
    manifest: Manifest, upstream: Upstream
) -> None:
    start = len(upstream.received)
    async with connected(manifest, upstream, {"LIBRARY_BEARER_TOKEN": TOKEN}) as client:
        result = await client.call_tool("authors", {"ids": 1})

    assert not result.is_error, result.content
    assert result.structured_content is not None
    assert [a["name"] for a in result.structured_content["authors"]] == ["Ursula K. Le Guin"]
    [received] = upstream.received[start:]
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
    assert received.variables == {"ids": ["1"]}


async def test_a_missing_credential_is_named_and_nothing_is_sent(manifest: Manifest, upstream: Upstream) -> None:
    start = len(upstream.received)
    async with connected(manifest, upstream, {}) as client:
        result = await client.call_tool("now", {})

    assert result.is_error
    assert result.meta is not None
    error = result.meta["dev.virtualize/error"]
    assert error["category"] == "unauthorized"
    assert "LIBRARY_BEARER_TOKEN" in error["message"]
    assert upstream.received[start:] == []


async def test_a_wrong_token_comes_back_as_unauthorized_from_the_server(manifest: Manifest, upstream: Upstream) -> None:
    async with connected(manifest, upstream, {"LIBRARY_BEARER_TOKEN": "wrong"}) as client:
        result = await client.call_tool("now", {})

    assert result.is_error
    assert result.meta is not None
    assert result.meta["dev.virtualize/error"]["status"] == "UNAUTHENTICATED"
    assert result.meta["dev.virtualize/error"]["category"] == "unauthorized"
