"""Hostile argument values never move a request to another host or out of the API's path prefix.

A small spec with a string path parameter, a header, a query parameter, a cookie and a JSON body
is compiled and served (``virtualize serve --stdio``) in front of a recording upstream mounted at
``/base``; a second recording upstream is the "attacker's" host that hostile values name. Each
value must be refused (``invalid_arguments``) or encoded; what the real upstream received is what
is asserted: same host, path under ``/base/files/`` with exactly one more segment that decodes to
the value sent, no injected header, cookie or query parameter, and nothing at the attacker's host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import anyio
import httpx2
import pytest

from tests.support.mcp_client import http_client, served, stdio_client
from tests.support.upstream import Recorded, RecordingUpstream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SPEC = """
openapi: 3.0.3
info: {title: hostile, version: "1"}
servers: [{url: "http://localhost:9/base"}]
paths:
  /files/{name}:
    get:
      operationId: getFile
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
        - {name: X-Trace, in: header, schema: {type: string}}
        - {name: q, in: query, schema: {type: string}}
        - {name: session, in: cookie, schema: {type: string}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
  /echo:
    post:
      operationId: echo
      requestBody:
        content: {application/json: {schema: {type: object, properties: {data: {}}}}}
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object}}}}
"""
TEN_MB = 10 * 1024 * 1024
DEPTH = 10_000


def _compile(tmp_path: Path) -> Path:
    from virtualize.compiler import compile_spec  # noqa: PLC0415
    from virtualize.config import BuildOptions  # noqa: PLC0415

    spec = tmp_path / "hostile.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    return compile_spec(spec, BuildOptions(output=tmp_path / "out")).write(tmp_path / "out")


def _category(result: Any) -> str:
    if not result.is_error:
        return "ok"
    structured = result.structured_content if isinstance(result.structured_content, dict) else {}
    error = structured.get("error") or (result.meta or {}).get("dev.virtualize/error") or {}
    return str(error.get("category"))


def _path_values(trap: str) -> list[str]:
    host = trap.removeprefix("http://")
    return [
        "../../etc/passwd",
        "..",
        ".",
        "a/../../b",
        "%2E%2E%2F%2E%2E%2Fadmin",
        "a%2Fb",
        "%252F",
        f"@{host}",
        f"x@{host}/y",
        f"{trap}/stolen",
        f"//{host}/stolen",
        "?admin=1",
        "#frag",
        "a b\tc",
        "line\r\nX-Injected: 1",
        "\u202e\u0000\uffff",
        "x" * 60_000,
    ]


def _assert_kept_in_prefix(request: Recorded, upstream: RecordingUpstream, value: str) -> None:
    host = upstream.url.removeprefix("http://")
    assert request.headers.get("host") == host
    assert request.path.startswith("/base/files/"), request.path[:200]
    segment = request.path.removeprefix("/base/files/")
    assert "/" not in segment, request.path[:200]
    assert segment not in {".", "..", ""}, request.path[:200]
    assert unquote(segment) == value, (segment[:200], value[:200])


async def test_hostile_path_values_are_encoded_into_one_segment_or_refused(tmp_path: Path) -> None:
    folder = _compile(tmp_path)
    with RecordingUpstream() as upstream, RecordingUpstream() as attacker:
        async with stdio_client([folder], upstreams={"hostile": upstream.url + "/base"}) as client:
            for value in _path_values(attacker.url):
                before = len(upstream.requests)
                with anyio.fail_after(60):
                    result = await client.call_tool("getFile", {"name": value})
                sent = upstream.requests[before:]
                category = _category(result)
                assert category != "internal_error", value[:100]
                if category == "invalid_arguments":
                    assert sent == [], value[:100]
                    continue
                assert len(sent) >= 1, (value[:100], category)
                for request in sent:
                    _assert_kept_in_prefix(request, upstream, value)
        assert attacker.requests == []


async def test_a_ten_megabyte_path_value_is_refused_as_invalid_arguments_not_an_internal_error(tmp_path: Path) -> None:
    folder = _compile(tmp_path)
    with RecordingUpstream() as upstream:
        async with stdio_client([folder], upstreams={"hostile": upstream.url + "/base"}) as client:
            with anyio.fail_after(60):
                result = await client.call_tool("getFile", {"name": "x" * TEN_MB})
        assert _category(result) == "invalid_arguments"
        assert upstream.requests == []


async def test_crlf_in_headers_cookies_and_queries_never_adds_a_header_cookie_or_parameter(tmp_path: Path) -> None:
    folder = _compile(tmp_path)
    injections = [
        "v\r\nX-Injected: 1",
        "v\nX-Injected: 1",
        "v\rX-Injected: 1",
        "v; admin=1",
        "v&admin=1#frag",
        "v\r\n\r\nGET /admin HTTP/1.1",
        "v\u0085X-Injected: 1",
    ]
    with RecordingUpstream() as upstream:
        async with stdio_client([folder], upstreams={"hostile": upstream.url + "/base"}) as client:
            for value in injections:
                for argument in ("X-Trace", "session", "q"):
                    before = len(upstream.requests)
                    with anyio.fail_after(30):
                        result = await client.call_tool("getFile", {"name": "ok", argument: value})
                    sent = upstream.requests[before:]
                    category = _category(result)
                    assert category != "internal_error", (argument, value)
                    if category == "invalid_arguments":
                        assert sent == [], (argument, value)
                        continue
                    for request in sent:
                        assert "x-injected" not in request.headers, (argument, value)
                        assert request.path == "/base/files/ok", request.path
                        assert set(request.cookies) <= {"session"}, request.cookies
                        assert set(parse_qs(request.query, keep_blank_values=True)) <= {"q"}, request.query
                        if argument == "q":
                            assert parse_qs(request.query)["q"] == [value]
        assert not any(r.path.startswith("/admin") for r in upstream.requests)


async def test_ten_megabyte_strings_and_ten_thousand_deep_nesting_are_answered_without_a_crash(tmp_path: Path) -> None:
    folder = _compile(tmp_path)
    deep: Any = "bottom"
    for _ in range(DEPTH):
        deep = [deep]
    with RecordingUpstream() as upstream:
        upstream.reply("POST", "/base/echo", json={"ok": True})
        upstream.reply("GET", "/base/files/ok", json={"ok": True})
        async with stdio_client([folder], upstreams={"hostile": upstream.url + "/base"}) as client:
            for arguments in ({"data": "x" * TEN_MB}, {"data": {"k" * TEN_MB: 1}}):
                with anyio.fail_after(120):
                    result = await client.call_tool("echo", arguments)
                assert _category(result) in {"ok", "invalid_arguments"}
            sent = len(upstream.requests)
            try:
                with anyio.fail_after(120):
                    result = await client.call_tool("echo", {"data": deep})
            except (RecursionError, ValueError):
                # The official client cannot serialize it ("Maximum serialization depth exceeded");
                # the raw-message test below sends it anyway.
                pass
            else:
                assert _category(result) in {"ok", "invalid_arguments"}
                for request in upstream.requests[sent:]:
                    assert request.path == "/base/echo"
            # Still serving, and a normal call still works after all that.
            with anyio.fail_after(30):
                result = await client.call_tool("getFile", {"name": "ok"})
            assert _category(result) == "ok"
        for request in upstream.requests:
            if request.path == "/base/echo" and len(request.body) > TEN_MB:
                assert json.loads(request.body)  # sent whole, as JSON


async def test_a_raw_message_nested_ten_thousand_deep_gets_an_answer_and_the_gateway_keeps_serving(
    tmp_path: Path,
) -> None:
    folder = _compile(tmp_path)
    nested = "[" * DEPTH + '"bottom"' + "]" * DEPTH
    message = (
        '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"data":'
        + nested
        + '},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
        '"io.modelcontextprotocol/clientCapabilities":{}}}}'
    )
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": "echo",
    }
    with RecordingUpstream() as upstream:
        upstream.reply("POST", "/base/echo", json={"ok": True})
        with served([folder], upstreams={"hostile": upstream.url + "/base"}) as gateway:
            async with httpx2.AsyncClient(timeout=60) as http:
                response = await http.post(gateway.url("hostile"), content=message.encode(), headers=headers)
                assert response.status_code < 500, response.text[:500]
                async with http_client(gateway.url("hostile")) as client:
                    with anyio.fail_after(30):
                        result = await client.call_tool("getFile", {"name": "ok"})
                    assert result is not None
            assert not any("Traceback" in line for line in gateway.log_lines())
        for request in upstream.requests:
            assert request.path.startswith("/base/")
