"""`virtualize serve` over Streamable HTTP, driven by the official mcp client, against a recording upstream.

One gateway process per module serves three copies of the petstore: ``petstore`` (its key set),
``zoo`` (its key variable unset) and ``down`` (its upstream a closed port). Each test asserts what
the agent received and what the upstream recorded.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
from mcp import MCPError

from tests.support.mcp_client import Gateway, http_client, served
from tests.support.petstore import API_KEY, KEY_VARIABLE, petstore_manifest, write_manifest
from tests.support.upstream import RecordingUpstream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SECRET_ARGUMENT = "cookie-value-never-logged"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def upstream_server() -> Iterator[RecordingUpstream]:
    with RecordingUpstream() as server:
        yield server


@pytest.fixture
def upstream(upstream_server: RecordingUpstream) -> RecordingUpstream:
    upstream_server.requests.clear()
    return upstream_server


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, upstream_server: RecordingUpstream) -> Iterator[Gateway]:
    root = tmp_path_factory.mktemp("serve")
    write_manifest(petstore_manifest("petstore"), root / "generated" / "petstore")
    zoo = petstore_manifest("zoo")
    zoo_auth = zoo.auth.model_copy(
        update={
            "schemes": {"api_key": zoo.auth.schemes["api_key"].model_copy(update={"sources": {"value": "ZOO_KEY"}})}
        }
    )
    write_manifest(zoo.model_copy(update={"auth": zoo_auth}), root / "generated" / "zoo")
    write_manifest(petstore_manifest("down"), root / "generated" / "down")
    config = root / "serve.toml"
    config.write_text("[defaults]\ntimeout = 2.0\nretries = 0\n", encoding="utf-8")
    upstreams = {
        "petstore": upstream_server.url + "/v1",
        "zoo": upstream_server.url + "/v1",
        "down": f"http://127.0.0.1:{_closed_port()}/v1",
    }
    with served(
        [root / "generated"], upstreams=upstreams, env={KEY_VARIABLE: API_KEY}, args=["--config", str(config)]
    ) as running:
        yield running


def _error(result: Any) -> dict[str, Any]:
    """The normalized error envelope (in ``_meta``: these tools declare an outputSchema)."""
    assert result.is_error
    return dict(result.meta["dev.virtualize/error"])


async def _call(gateway: Gateway, tool: str, arguments: dict[str, Any], server: str = "petstore") -> Any:
    async with http_client(gateway.url(server)) as client:
        with anyio.fail_after(30):
            return await client.call_tool(tool, arguments)


async def test_each_server_endpoint_lists_its_manifest_tools_in_manifest_order(gateway: Gateway) -> None:
    async with http_client(gateway.url("petstore")) as client:
        assert client.protocol_version == "2026-07-28"  # the client falls back to a handshake if discovery fails
        listed = await client.list_tools()
    assert [t.name for t in listed.tools] == [t.name for t in petstore_manifest().tools]
    assert listed.next_cursor is None
    assert listed.tools[3].input_schema == petstore_manifest().tools[3].input_schema


async def test_the_aggregate_endpoint_names_tools_server_underscore_tool(gateway: Gateway) -> None:
    async with http_client(gateway.url()) as client:
        listed = await client.list_tools()
    names = [t.name for t in listed.tools]
    assert names[:2] == ["down_createPet", "down_deletePet"]
    assert "petstore_getPet" in names
    assert "zoo_searchPets" in names
    assert len(names) == 18


async def test_a_call_reaches_the_upstream_with_the_api_key_and_returns_structured_content(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("GET", "/v1/pets/7", json={"id": 7, "name": "Rex"})
    result = await _call(gateway, "getPet", {"petId": 7})
    assert not result.is_error
    assert result.structured_content == {"id": 7, "name": "Rex"}
    assert json.loads(result.content[0].text) == {"id": 7, "name": "Rex"}
    [request] = upstream.requests
    assert (request.method, request.path, request.query) == ("GET", "/v1/pets/7", "")
    assert request.headers["x-api-key"] == API_KEY


async def test_the_aggregate_endpoint_calls_the_prefixed_tool_on_its_server(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("GET", "/v1/pets/8", json={"id": 8, "name": "Ada"})
    result = await _call(gateway, "petstore_getPet", {"petId": 8}, server="")
    assert result.structured_content == {"id": 8, "name": "Ada"}
    assert [r.path for r in upstream.requests] == ["/v1/pets/8"]


async def test_a_legacy_handshake_client_lists_and_calls_on_the_same_endpoint(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("GET", "/v1/pets/9", json={"id": 9, "name": "Old"})
    async with http_client(gateway.url("petstore"), mode="legacy") as client:
        assert client.protocol_version == "2025-11-25"
        listed = await client.list_tools()
        result = await client.call_tool("getPet", {"petId": 9})
    assert len(listed.tools) == 6
    assert result.structured_content == {"id": 9, "name": "Old"}


async def test_query_styles_headers_and_cookies_reach_the_upstream_serialized(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("GET", "/v1/pets", json=[{"id": 1, "name": "a"}])
    upstream.reply("GET", "/v1/pets/search", json=[])
    listed = await _call(gateway, "listPets", {"limit": 5, "tags": ["cat", "dog"], "status": "sold"})
    await _call(
        gateway,
        "searchPets",
        {"filter": {"status": "sold", "minAge": 2}, "session": "abc", "X-Request-Id": "r-1"},
    )
    assert listed.structured_content == {"result": [{"id": 1, "name": "a"}]}
    pets, search = upstream.requests
    assert pets.query == "limit=5&tags=cat,dog&status=sold"
    assert search.query == "filter%5Bstatus%5D=sold&filter%5BminAge%5D=2"
    assert search.cookies == {"session": "abc"}
    assert search.headers["x-request-id"] == "r-1"


async def test_a_json_body_keeps_an_explicit_null_apart_from_an_omitted_field(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("POST", "/v1/pets", status=201, json={"id": 4, "name": "Nul", "tag": None})
    await _call(gateway, "createPet", {"name": "Nul", "tag": None})
    await _call(gateway, "createPet", {"name": "Omit"})
    first, second = upstream.requests
    assert first.json() == {"name": "Nul", "tag": None}
    assert second.json() == {"name": "Omit"}
    assert first.headers["content-type"].startswith("application/json")


async def test_bad_arguments_are_refused_naming_the_field_and_nothing_is_sent(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    result = await _call(gateway, "listPets", {"limit": 500, "status": "lost"})
    error = _error(result)
    assert result.is_error
    assert error["category"] == "invalid_arguments"
    assert [d["path"] for d in error["details"]] == ["/limit", "/status"]
    assert "/limit" in result.content[0].text
    assert upstream.requests == []


async def test_a_missing_required_argument_is_reported_at_its_own_path(gateway: Gateway) -> None:
    result = await _call(gateway, "getPet", {})
    assert _error(result)["details"][0]["path"] == "/petId"


async def test_an_unknown_tool_is_a_protocol_error_not_a_result(gateway: Gateway) -> None:
    async with http_client(gateway.url("petstore")) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("noSuchTool", {})
        assert (await client.call_tool("getPet", {})).is_error  # and the endpoint keeps serving
    assert raised.value.code == -32602
    assert "noSuchTool" in raised.value.message


@pytest.mark.parametrize(
    ("status", "category", "retryable"),
    [
        (400, "invalid_arguments", False),
        (401, "unauthorized", False),
        (403, "forbidden", False),
        (404, "not_found", False),
        (409, "conflict", False),
        (422, "invalid_arguments", False),
        (500, "upstream_error", True),
        (503, "upstream_error", True),
    ],
)
async def test_each_upstream_error_status_becomes_its_normalized_category(
    gateway: Gateway, upstream: RecordingUpstream, status: int, category: str, retryable: bool
) -> None:
    problem = {"title": "Nope", "status": status, "detail": f"detail of {status}"}
    upstream.reply(
        "GET", f"/v1/pets/{status}", status=status, json=problem, headers={"Content-Type": "application/problem+json"}
    )
    result = await _call(gateway, "getPet", {"petId": status})
    error = _error(result)
    assert result.is_error
    assert (error["category"], error["status"], error["retryable"], error["tool"]) == (
        category,
        status,
        retryable,
        "getPet",
    )
    assert f"detail of {status}" in error["upstream_message"]


async def test_rate_limiting_reports_when_to_retry(gateway: Gateway, upstream: RecordingUpstream) -> None:
    upstream.reply("GET", "/v1/pets/429", status=429, json={"message": "slow down"}, headers={"Retry-After": "7"})
    result = await _call(gateway, "getPet", {"petId": 429})
    error = _error(result)
    assert (error["category"], error["retry_after"], error["retryable"]) == ("rate_limited", 7.0, True)


async def test_an_upstream_that_hangs_becomes_a_timeout(gateway: Gateway, upstream: RecordingUpstream) -> None:
    upstream.reply("GET", "/v1/pets/1001", fault="hang")
    result = await _call(gateway, "getPet", {"petId": 1001})
    assert _error(result)["category"] == "timeout"
    assert [r.path for r in upstream.requests] == ["/v1/pets/1001"]


async def test_a_client_that_cancels_stops_the_upstream_call_and_the_gateway_serves_on(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("GET", "/v1/pets/1003", fault="hang")
    async with http_client(gateway.url("petstore"), headers={"X-Request-Id": "cancel-me"}) as client:
        with anyio.move_on_after(0.5) as waited:  # well inside the serve timeout (2 s)
            await client.call_tool("getPet", {"petId": 1003})
    assert waited.cancelled_caught

    # Closing the response stream is how a 2026-07-28 client cancels: the work stops, not at the
    # deadline as a timeout, and the call is still counted and logged.
    [line] = gateway.call_lines(request_id="cancel-me", at_least=1)
    assert line["category"] == "cancelled"
    assert [r.path for r in upstream.requests][-1] == "/v1/pets/1003"
    upstream.reply("GET", "/v1/pets/1", json={"id": 1, "name": "One"})
    assert (await _call(gateway, "getPet", {"petId": 1})).structured_content == {"id": 1, "name": "One"}


async def test_a_lone_surrogate_in_upstream_json_reaches_the_client_as_a_replacement_character(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    # Python reads "\ud800" and writes it back; the official client's strict reader refused the
    # whole answer ("unexpected end of hex escape") and the call raised.
    upstream.reply(
        "GET", "/v1/pets/1004", body=b'{"id": 1004, "name": "Rex\\ud800"}', headers={"Content-Type": "application/json"}
    )
    result = await _call(gateway, "getPet", {"petId": 1004})
    assert result.structured_content == {"id": 1004, "name": "Rex\ufffd"}


async def test_an_upstream_that_closes_the_connection_becomes_unavailable(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("GET", "/v1/pets/1002", fault="close")
    result = await _call(gateway, "getPet", {"petId": 1002})
    assert _error(result)["category"] == "unavailable"


async def test_an_unreachable_upstream_becomes_unavailable(gateway: Gateway) -> None:
    result = await _call(gateway, "getPet", {"petId": 1}, server="down")
    error = _error(result)
    assert (error["category"], error["status"], error["retryable"]) == ("unavailable", None, True)


async def test_invalid_json_from_the_upstream_becomes_invalid_response(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("GET", "/v1/pets/1003", fault="invalid_json")
    result = await _call(gateway, "getPet", {"petId": 1003})
    assert _error(result)["category"] == "invalid_response"


async def test_a_50_mb_answer_is_cut_at_the_limit_with_a_marker_that_says_so(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("GET", "/v1/pets/1004", fault="huge")
    result = await _call(gateway, "getPet", {"petId": 1004})
    assert not result.is_error
    assert result.structured_content["truncated"] is True
    assert "response cut at 1000000 bytes" in result.content[0].text
    assert len(result.content[0].text) < 1_100_000


async def test_an_empty_204_is_a_clear_success(gateway: Gateway, upstream: RecordingUpstream) -> None:
    upstream.reply("DELETE", "/v1/pets/5", status=204)
    result = await _call(gateway, "deletePet", {"petId": 5})
    assert not result.is_error
    assert "succeeded" in result.content[0].text
    assert [r.method for r in upstream.requests] == ["DELETE"]


async def test_a_missing_upstream_credential_is_unauthorized_naming_the_variable(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    result = await _call(gateway, "getPet", {"petId": 1}, server="zoo")
    error = _error(result)
    assert error["category"] == "unauthorized"
    assert "ZOO_KEY" in error["message"]
    assert upstream.requests == []
    assert any("server zoo: missing upstream credential" in line for line in gateway.log_lines())


async def test_tools_without_security_need_no_credential(gateway: Gateway, upstream: RecordingUpstream) -> None:
    upstream.reply("GET", "/v1/health", json={"status": "ok"})
    result = await _call(gateway, "getHealth", {}, server="zoo")
    assert result.structured_content == {"status": "ok"}
    assert "x-api-key" not in upstream.requests[0].headers


async def test_every_call_writes_one_log_line_without_argument_values_or_secrets(
    gateway: Gateway, upstream: RecordingUpstream
) -> None:
    upstream.reply("GET", "/v1/pets/search", json=[])
    async with http_client(gateway.url("petstore"), headers={"X-Request-Id": "log-line-test"}) as client:
        await client.call_tool("searchPets", {"session": SECRET_ARGUMENT, "X-Request-Id": "trace-me"})
        await client.call_tool("getPet", {"petId": "not a number"})
    lines = gateway.call_lines(request_id="log-line-test", at_least=2)
    assert [(line["server"], line["tool"], line["category"]) for line in lines] == [
        ("petstore", "searchPets", "ok"),
        ("petstore", "getPet", "invalid_arguments"),
    ]
    assert lines[0]["status"] == 200
    assert lines[0]["latency_ms"] >= 0
    text = "\n".join(gateway.log_lines())
    assert SECRET_ARGUMENT not in text
    assert API_KEY not in text


async def test_health_readiness_and_metrics_are_served(gateway: Gateway, upstream: RecordingUpstream) -> None:
    upstream.reply("GET", "/v1/pets/404", status=404, json={"detail": "gone"})
    await _call(gateway, "getPet", {"petId": 404})
    async with httpx.AsyncClient(base_url=gateway.base) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
        metrics = (await http.get("/metrics")).text
    assert health.json() == {"status": "ok"}
    assert ready.json() == {"status": "ready", "servers": {"down": 6, "petstore": 6, "zoo": 6}}
    assert 'virtualize_tool_errors_total{category="not_found",server="petstore"}' in metrics
    assert 'virtualize_tool_calls_total{server="petstore"}' in metrics
    assert 'virtualize_tool_call_seconds_bucket{le="0.001",server="petstore"}' in metrics
    assert 'virtualize_tools_loaded{server="zoo"} 6.0' in metrics


async def test_endpoints_answer_on_their_exact_path_without_redirects(gateway: Gateway) -> None:
    async with httpx.AsyncClient(base_url=gateway.base, follow_redirects=False) as http:
        exact = await http.post("/mcp", json={})
        slash = await http.post("/mcp/", json={})
        unknown = await http.post("/servers/nope/mcp", json={})
    assert exact.status_code == 400  # the MCP layer itself answered (a bad JSON-RPC message)
    assert slash.status_code == 404
    assert unknown.status_code == 404
