"""The router through the official mcp client, in process: names, pages, the per-call guard."""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, MCPError

from tests.support.petstore import petstore_manifest
from virtualize.errors import ManifestError
from virtualize.manifest.model import AuthScheme, Manifest, Tool
from virtualize.runtime.credentials import CredentialStore
from virtualize.runtime.invokers import Invocation, InvokerSettings
from virtualize.runtime.invokers.http import create_invoker
from virtualize.runtime.outcomes import Failure, JsonValue, Outcome
from virtualize.runtime.router import NAME_LIMIT, Router, VirtualServer, aggregate_names, paginate

pytestmark = pytest.mark.anyio


class Echo:
    """An invoker that answers with what it was asked (the HTTP invoker has its own tests)."""

    def __init__(self) -> None:
        self.calls: list[Invocation] = []

    async def invoke(self, call: Invocation) -> Outcome:
        self.calls.append(call)
        return JsonValue({"tool": call.tool, "arguments": dict(call.arguments)})

    async def aclose(self) -> None:
        pass


class Broken(Echo):
    async def invoke(self, call: Invocation) -> Outcome:
        raise ZeroDivisionError("a bug")


def _server(manifest: Manifest, invoker: Echo | None = None) -> VirtualServer:
    return VirtualServer(
        manifest,
        {"http": invoker or Echo()},
        CredentialStore(manifest.name, manifest.auth, environ={"PETSTORE_API_KEY": "k"}),
        InvokerSettings(),
    )


def _router(*servers: VirtualServer) -> Router:
    return Router(list(servers))


def test_aggregate_names_are_the_server_name_an_underscore_and_the_tool_name() -> None:
    assert aggregate_names([("petstore", "getPet"), ("zoo", "getPet")]) == {
        ("petstore", "getPet"): "petstore_getPet",
        ("zoo", "getPet"): "zoo_getPet",
    }


def test_aggregate_names_that_would_collide_get_distinct_digests_whatever_the_order() -> None:
    pairs = [("a_b", "c"), ("a", "b_c")]
    names = aggregate_names(pairs)
    assert names == aggregate_names(list(reversed(pairs)))
    assert len(set(names.values())) == 2
    assert all(name.startswith("a_b_c_") and len(name) == 14 for name in names.values())


def test_aggregate_names_stay_within_64_characters() -> None:
    long_tool = "x" * 64
    names = aggregate_names([("server", long_tool), ("server", long_tool[:-1])])
    assert all(len(name) <= NAME_LIMIT for name in names.values())
    assert len(set(names.values())) == 2


def test_pages_keep_the_order_and_stay_under_the_budget() -> None:
    tools: Sequence[Any] = [(f"t{i}", 40) for i in range(10)]
    pages = paginate(tools, budget=100)
    assert [len(page) for page in pages] == [2, 2, 2, 2, 2]
    assert [tool for page in pages for tool in page] == [f"t{i}" for i in range(10)]
    assert paginate([], budget=100) == [[]]


def test_a_tool_larger_than_the_budget_gets_a_page_of_its_own() -> None:
    assert paginate([("small", 10), ("huge", 500), ("small2", 10)], budget=100) == [["small"], ["huge"], ["small2"]]


def _many_tools(count: int, description_bytes: int) -> Manifest:
    base = petstore_manifest()
    template = base.tools[3]  # getPet
    binding = base.bindings.tools["getPet"]
    tools = tuple(
        template.model_copy(update={"name": f"op{i:04d}", "description": "d" * description_bytes}) for i in range(count)
    )
    return base.model_copy(
        update={
            "tools": tools,
            "bindings": base.bindings.model_copy(update={"tools": {t.name: binding for t in tools}}),
        }
    )


async def test_a_tool_list_over_a_mebibyte_is_paginated_and_the_cursors_walk_it_in_order() -> None:
    router = _router(_server(_many_tools(300, 5000)))
    names: list[str] = []
    cursor = None
    pages = 0
    async with Client(router.mcp_server()) as client:
        while True:
            page = await client.list_tools(cursor=cursor)
            size = sum(len(t.model_dump_json(by_alias=True, exclude_none=True)) for t in page.tools)
            assert size < 1024 * 1024
            names += [t.name for t in page.tools]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
    assert pages == 2
    assert names == [f"op{i:04d}" for i in range(300)]


async def test_an_invalid_cursor_is_a_protocol_error() -> None:
    async with Client(_router(_server(petstore_manifest())).mcp_server()) as client:
        with pytest.raises(MCPError) as raised:
            await client.list_tools(cursor="7")
    assert raised.value.code == -32602


async def test_a_call_gets_validated_arguments_with_pinned_values_merged() -> None:
    manifest = petstore_manifest()
    pinned = manifest.bindings.tools["listPets"].model_copy(update={"fixed": {"status": "sold"}})
    manifest = manifest.model_copy(
        update={
            "bindings": manifest.bindings.model_copy(update={"tools": {**manifest.bindings.tools, "listPets": pinned}})
        }
    )
    echo = Echo()
    async with Client(_router(_server(manifest, echo)).mcp_server()) as client:
        result = await client.call_tool("listPets", {"limit": 3})
    assert not result.is_error
    [call] = echo.calls
    assert (call.server, call.tool, dict(call.arguments)) == ("petstore", "listPets", {"limit": 3, "status": "sold"})
    assert [(c.name, c.placement) for c in call.credentials] == [("X-API-Key", "header")]


async def test_invalid_arguments_never_reach_the_invoker() -> None:
    echo = Echo()
    async with Client(_router(_server(petstore_manifest(), echo)).mcp_server()) as client:
        result = await client.call_tool("getPet", {"petId": "seven"})
    assert result.is_error
    assert result.meta is not None
    assert result.meta["dev.virtualize/error"]["details"][0]["path"] == "/petId"
    assert echo.calls == []


async def test_a_bug_becomes_an_internal_error_result_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    router = _router(_server(petstore_manifest(), Broken()))
    async with Client(router.mcp_server()) as client:
        first = await client.call_tool("getPet", {"petId": 1})
        second = await client.call_tool("getPet", {"petId": 2})
    for result in (first, second):
        assert result.is_error
        assert result.meta is not None
        assert result.meta["dev.virtualize/error"]["category"] == "internal_error"
    assert "a bug" not in first.content[0].text  # the exception text stays in the server log
    assert any("ZeroDivisionError" in (r.exc_text or "") for r in caplog.records)


async def test_an_unknown_tool_is_a_protocol_error() -> None:
    async with Client(_router(_server(petstore_manifest())).mcp_server()) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("nope", {})
    assert raised.value.code == -32602


def _with_header_annotation(manifest: Manifest) -> Manifest:
    """The manifest with getPet's ``petId`` annotated for an ``Mcp-Param-Pet-Id`` header."""
    tools = list(manifest.tools)
    schema = json.loads(json.dumps(tools[3].input_schema))
    schema["properties"]["petId"]["x-mcp-header"] = "Pet-Id"
    tools[3] = tools[3].model_copy(update={"input_schema": schema})
    return manifest.model_copy(update={"tools": tuple(tools)})


def test_input_schemas_with_header_annotations_are_looked_up_by_name_and_ambiguous_names_answer_none() -> None:
    router = _router(_server(_with_header_annotation(petstore_manifest("a"))), _server(petstore_manifest("b")))
    annotated = _with_header_annotation(petstore_manifest()).tools[3].input_schema
    assert router.tool_input_schema("a_getPet") == annotated
    assert router.tool_input_schema("getPet") is None  # both servers have one
    solo = _router(_server(_with_header_annotation(petstore_manifest())))
    assert solo.tool_input_schema("getPet") == annotated


def test_a_schema_without_header_annotations_is_not_handed_to_the_sdk_to_walk_on_every_call() -> None:
    router = _router(_server(petstore_manifest()))
    assert router.tool_input_schema("getPet") is None


def test_two_manifests_with_the_same_server_name_are_refused() -> None:
    with pytest.raises(ManifestError):
        _router(_server(petstore_manifest()), _server(petstore_manifest()))


def test_a_tool_without_a_binding_is_refused_at_load() -> None:
    manifest = petstore_manifest()
    extra = Tool(name="orphan", inputSchema={"type": "object"})
    with pytest.raises(ManifestError) as raised:
        _router(_server(manifest.model_copy(update={"tools": (*manifest.tools, extra)})))
    assert "orphan" in raised.value.message


def _with_client_credentials(manifest: Manifest) -> Manifest:
    """The manifest with its API key scheme replaced by OAuth2 client credentials (ID, SECRET)."""
    scheme = AuthScheme(
        kind="oauth2_client_credentials",
        token_url="https://auth.example/token",
        sources={"client_id": "ID", "client_secret": "SECRET"},
    )
    return manifest.model_copy(update={"auth": manifest.auth.model_copy(update={"schemes": {"api_key": scheme}})})


async def test_a_token_endpoint_that_never_answers_is_cut_by_the_calls_deadline() -> None:
    manifest = _with_client_credentials(petstore_manifest())

    async def never(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError

    echo = Echo()
    async with httpx.AsyncClient(transport=httpx.MockTransport(never)) as tokens:
        store = CredentialStore(manifest.name, manifest.auth, environ={"ID": "app", "SECRET": "s"}, token_client=tokens)
        server = VirtualServer(manifest, {"http": echo}, store, InvokerSettings(timeout=0.2))
        async with Client(_router(server).mcp_server()) as client:
            with anyio.fail_after(5):  # the token client's own 10 s timeout, or never, before
                result = await client.call_tool("getPet", {"petId": 1})
    assert result.is_error and result.meta is not None
    assert result.meta["dev.virtualize/error"]["category"] == "timeout"
    assert echo.calls == []


async def test_a_token_fetched_after_a_401_is_redacted_from_the_answer_too() -> None:
    manifest = _with_client_credentials(petstore_manifest())
    issued: list[str] = []

    def tokens(request: httpx.Request) -> httpx.Response:
        issued.append(f"access-token-{len(issued) + 1}")
        return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 3600})

    def upstream(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"]
        if sent == "Bearer access-token-1":
            return httpx.Response(401, json={"title": "token revoked"})
        return httpx.Response(200, json={"id": 1, "name": f"echo: {sent}"})  # an upstream that echoes

    settings = InvokerSettings(base_url="https://api.example/v1", http_transport=httpx.MockTransport(upstream))
    async with httpx.AsyncClient(transport=httpx.MockTransport(tokens)) as token_client:
        store = CredentialStore(
            manifest.name, manifest.auth, environ={"ID": "app", "SECRET": "s"}, token_client=token_client
        )
        server = VirtualServer(manifest, {"http": create_invoker(manifest, settings)}, store, settings)
        async with Client(_router(server).mcp_server()) as client:
            result = await client.call_tool("getPet", {"petId": 1})
    assert issued == ["access-token-1", "access-token-2"]
    assert not result.is_error
    assert "access-token-2" not in str(result.model_dump())
    assert result.structured_content == {"id": 1, "name": "echo: ***"}


class Answers(Echo):
    async def invoke(self, call: Invocation) -> Outcome:
        return JsonValue({"ok": True})


async def test_a_call_with_credentials_is_freed_when_answered_not_left_to_the_cycle_collector() -> None:
    router = _router(_server(petstore_manifest(), Answers()))
    async with Client(router.mcp_server()) as client:
        gc.collect()
        gc.disable()
        try:
            await client.call_tool("getPet", {"petId": 1})  # needs the API key: a refresh closure exists
            alive = [o for o in gc.get_objects() if isinstance(o, Invocation)]
        finally:
            gc.enable()
    assert alive == []  # its arguments and credentials went with it, by reference counting alone


class RefreshesThenFails(Echo):
    """An upstream that says 401; the invoker asks for fresh credentials once, as invokers do."""

    async def invoke(self, call: Invocation) -> Outcome:
        assert call.refresh_credentials is not None
        if await call.refresh_credentials() is None:
            return Failure("unauthorized", "The upstream did not accept the credentials.", status=401)
        return JsonValue({})


async def test_a_token_fetch_that_times_out_during_a_refresh_is_reported_as_the_timeout() -> None:
    manifest = _with_client_credentials(petstore_manifest())
    fetched: list[int] = []

    async def tokens(request: httpx.Request) -> httpx.Response:
        fetched.append(1)
        if len(fetched) > 1:  # the refresh's fetch hangs
            await anyio.sleep_forever()
        return httpx.Response(200, json={"access_token": "first-token", "expires_in": 3600})

    async with httpx.AsyncClient(transport=httpx.MockTransport(tokens)) as token_client:
        store = CredentialStore(
            manifest.name, manifest.auth, environ={"ID": "app", "SECRET": "s"}, token_client=token_client
        )
        server = VirtualServer(manifest, {"http": RefreshesThenFails()}, store, InvokerSettings(timeout=0.3))
        async with Client(_router(server).mcp_server()) as client:
            with anyio.fail_after(5):
                result = await client.call_tool("getPet", {"petId": 1})
    assert result.is_error and result.meta is not None
    assert result.meta["dev.virtualize/error"]["category"] == "timeout"  # was "unauthorized": the upstream's 401
