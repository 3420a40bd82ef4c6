"""Each serialization form, end to end: the official MCP client calls a tool of the in-memory
router, and a real upstream on 127.0.0.1 records exactly what arrived."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client, types

from tests.support import manifests
from tests.support.upstream import RecordingUpstream
from virtualize.manifest.model import (
    ArgumentBinding,
    HttpBinding,
    HttpBody,
    Manifest,
    Tool,
)
from virtualize.runtime.credentials import CredentialStore
from virtualize.runtime.invokers import InvokerSettings
from virtualize.runtime.invokers.http import create_invoker
from virtualize.runtime.router import Router, VirtualServer

pytestmark = pytest.mark.anyio
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff"
ANY: dict[str, Any] = {}
STRINGS = {"type": "array", "items": {"type": "string"}}
BASE64 = {"type": "string", "contentEncoding": "base64"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def arg(name: str, location: str, wire: str | None = None, **how: Any) -> ArgumentBinding:
    return ArgumentBinding(argument=name, location=location, name=wire or name, **how)  # type: ignore[arg-type]


def tool(
    name: str, method: str, path: str, args: list[tuple[ArgumentBinding, dict[str, Any]]], **extra: Any
) -> tuple[Tool, HttpBinding]:
    schema = {"type": "object", "properties": {a.argument: s for a, s in args}, "additionalProperties": False}
    output = extra.pop("output_schema", None)
    return (
        Tool(name=name, input_schema=schema, output_schema=output),
        HttpBinding(method=method, path=path, arguments=tuple(a for a, _ in args), operation=name, **extra),
    )


TOOLS = [
    tool(
        "search",
        "GET",
        "/pets/search",
        [
            (arg("limit", "query"), {"type": "integer"}),
            (arg("tags", "query", style="form", explode=False), STRINGS),
            (arg("expand", "query", style="form", explode=True), STRINGS),
            (arg("ids", "query", style="pipeDelimited", explode=False), STRINGS),
            (arg("words", "query", style="spaceDelimited", explode=False), STRINGS),
            (arg("filter", "query", style="deepObject", explode=True), {"type": "object"}),
            (arg("next", "query", allow_reserved=True), {"type": "string"}),
            (arg("where", "query", content_type="application/json"), {"type": "object"}),
            (arg("nick", "query"), {"type": ["string", "null"]}),
            (arg("requestId", "header", "X-Request-Id"), {"type": "string"}),
            (arg("session", "cookie"), {"type": "string"}),
        ],
    ),
    tool("getFile", "GET", "/files/{name}", [(arg("name", "path"), {"type": "string"})]),
    tool(
        "getCell",
        "GET",
        "/grid/{row}/{cell}",
        [
            (arg("row", "path", style="label", explode=False), STRINGS),
            (arg("cell", "path", style="matrix", explode=True), {"type": "object"}),
        ],
    ),
    tool(
        "createPet",
        "POST",
        "/pets",
        [
            (arg("name", "body_field"), {"type": "string"}),
            (arg("tag", "body_field"), {"type": ["string", "null"]}),
            (arg("owner", "body_field"), {"type": ["object", "null"]}),
        ],
        body=HttpBody(media_type="application/json", required=True),
        output_schema={"type": "object", "properties": {"id": {"type": "integer"}}},
    ),
    tool(
        "replaceTags",
        "PUT",
        "/pets/{petId}/tags",
        [(arg("petId", "path"), {"type": "integer"}), (arg("body", "body"), STRINGS)],
        body=HttpBody(media_type="application/json", required=True, argument="body"),
    ),
    tool(
        "login",
        "POST",
        "/login",
        [
            (arg("user", "body_field"), {"type": "string"}),
            (arg("scopes", "body_field", "scope", style="spaceDelimited", explode=False), STRINGS),
        ],
        body=HttpBody(media_type="application/x-www-form-urlencoded", required=True),
    ),
    tool(
        "uploadPhoto",
        "POST",
        "/pets/{petId}/photo",
        [
            (arg("petId", "path"), {"type": "integer"}),
            (arg("file", "body_field"), BASE64),
            (arg("caption", "body_field"), {"type": "string"}),
        ],
        body=HttpBody(media_type="multipart/form-data", required=True),
    ),
    tool(
        "putNote",
        "PUT",
        "/notes/1",
        [(arg("body", "body"), {"type": "string"})],
        body=HttpBody(media_type="text/plain", required=True, argument="body"),
    ),
    tool(
        "putBlob",
        "PUT",
        "/blobs/1",
        [(arg("body", "body"), BASE64)],
        body=HttpBody(media_type="application/octet-stream", required=True, argument="body"),
    ),
    tool("getPhoto", "GET", "/pets/{petId}/photo", [(arg("petId", "path"), {"type": "integer"})]),
]


def manifest() -> Manifest:
    tools = sorted((t for t, _ in TOOLS), key=lambda t: t.name)
    return manifests.manifest(tools, {t.name: b for t, b in TOOLS})


@pytest.fixture(scope="module")
def running_upstream() -> Iterator[RecordingUpstream]:
    with RecordingUpstream() as running:
        yield running


@pytest.fixture
def upstream(running_upstream: RecordingUpstream) -> RecordingUpstream:
    running_upstream.requests.clear()  # one upstream per module (it takes 0.5 s to stop), fresh records per test
    return running_upstream


@asynccontextmanager
async def gateway(upstream: RecordingUpstream) -> AsyncIterator[Client]:
    pets = manifest()
    settings = InvokerSettings(base_url=upstream.url + "/v1", retries=0, timeout=10.0)
    invoker = create_invoker(pets, settings)
    server = VirtualServer(pets, {"http": invoker}, CredentialStore("pets", pets.auth, environ={}), settings)
    router = Router([server])
    try:
        async with Client(router.mcp_server()) as client:
            yield client
    finally:
        await router.aclose()


async def call(upstream: RecordingUpstream, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    with anyio.fail_after(10):
        async with gateway(upstream) as client:
            return await client.call_tool(name, arguments)


async def test_every_query_style_header_and_cookie_arrive_as_openapi_writes_them(upstream: RecordingUpstream) -> None:
    upstream.reply("GET", "/v1/pets/search", json=[])
    arguments = {
        "limit": 5,
        "tags": ["a,b", "c"],
        "expand": ["owner", "friends"],
        "ids": ["1", "2"],
        "words": ["big", "dog"],
        "filter": {"status": "sold", "minAge": 2},
        "next": "/cursor:abc?x",
        "where": {"age": {"gt": 1}},
        "nick": None,
        "requestId": "req-1",
        "session": "s=1; x",
    }
    result = await call(upstream, "search", arguments)
    assert not result.is_error
    [request] = upstream.requests
    assert request.query == (
        "limit=5&tags=a%2Cb,c&expand=owner&expand=friends&ids=1%7C2&words=big%20dog"
        "&filter%5Bstatus%5D=sold&filter%5BminAge%5D=2&next=/cursor:abc?x"
        "&where=%7B%22age%22%3A%7B%22gt%22%3A1%7D%7D&nick="
    )
    assert request.headers["x-request-id"] == "req-1"
    assert request.headers["cookie"] == "session=s=1%3B%20x"


@pytest.mark.parametrize(
    ("name", "raw_path"),
    [
        ("../../admin", "/v1/files/..%2F..%2Fadmin"),
        ("a%2Fb", "/v1/files/a%252Fb"),
        ("@evil.example", "/v1/files/%40evil.example"),
        ("https://evil.example/x?y#z", "/v1/files/https%3A%2F%2Fevil.example%2Fx%3Fy%23z"),
    ],
)
async def test_path_values_stay_inside_their_segment(upstream: RecordingUpstream, name: str, raw_path: str) -> None:
    await call(upstream, "getFile", {"name": name})
    [request] = upstream.requests
    assert (request.path, request.query) == (raw_path, "")


async def test_a_dot_segment_path_value_is_refused_and_nothing_is_sent(upstream: RecordingUpstream) -> None:
    result = await call(upstream, "getFile", {"name": ".."})
    assert result.is_error and upstream.requests == []


async def test_label_and_matrix_path_styles(upstream: RecordingUpstream) -> None:
    await call(upstream, "getCell", {"row": ["a", "b"], "cell": {"x": 1, "y": 2}})
    assert upstream.requests[0].path == "/v1/grid/.a,b/;x=1;y=2"


async def test_a_json_body_keeps_null_and_leaves_out_what_was_not_given(upstream: RecordingUpstream) -> None:
    upstream.reply("POST", "/v1/pets", json={"id": 4, "name": "Rex"}, status=201)
    result = await call(upstream, "createPet", {"name": "Rex", "tag": None})
    [request] = upstream.requests
    assert request.body == b'{"name":"Rex","tag":null}'
    assert request.headers["content-type"] == "application/json"
    assert result.structured_content == {"id": 4, "name": "Rex"}


async def test_a_whole_array_body(upstream: RecordingUpstream) -> None:
    await call(upstream, "replaceTags", {"petId": 3, "body": ["a", "b"]})
    assert (upstream.requests[0].path, upstream.requests[0].body) == ("/v1/pets/3/tags", b'["a","b"]')


async def test_a_form_urlencoded_body(upstream: RecordingUpstream) -> None:
    await call(upstream, "login", {"user": "ann@example.com", "scopes": ["read", "write"]})
    [request] = upstream.requests
    assert request.body == b"user=ann%40example.com&scope=read%20write"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    "file",
    [base64.b64encode(PNG).decode(), "data:image/png;base64," + base64.b64encode(PNG).decode()],
    ids=["base64", "data-uri"],
)
async def test_a_multipart_file_arrives_as_its_bytes(upstream: RecordingUpstream, file: str) -> None:
    await call(upstream, "uploadPhoto", {"petId": 1, "file": file, "caption": "at the beach"})
    [request] = upstream.requests
    boundary = request.headers["content-type"].split("boundary=", 1)[1]
    media_type = "image/png" if file.startswith("data:") else "application/octet-stream"
    assert request.body == (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="file"\r\n'
        f"Content-Type: {media_type}\r\n\r\n".encode()
        + PNG
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nat the beach\r\n'
        f"--{boundary}--\r\n".encode()
    )


async def test_raw_text_and_binary_bodies(upstream: RecordingUpstream) -> None:
    await call(upstream, "putNote", {"body": "héllo\n"})
    await call(upstream, "putBlob", {"body": base64.b64encode(PNG).decode()})
    note, blob = upstream.requests
    assert (note.body, note.headers["content-type"]) == ("héllo\n".encode(), "text/plain")
    assert (blob.body, blob.headers["content-type"]) == (PNG, "application/octet-stream")


async def test_an_invalid_base64_file_is_refused_before_any_request(upstream: RecordingUpstream) -> None:
    result = await call(upstream, "putBlob", {"body": "not base64 at all!"})
    assert result.is_error and upstream.requests == []
    assert result.structured_content is not None
    assert result.structured_content["error"]["category"] == "invalid_arguments"
    assert result.structured_content["error"]["details"][0]["path"] == "/body"


async def test_an_image_answer_reaches_the_agent_as_image_content(upstream: RecordingUpstream) -> None:
    upstream.reply("GET", "/v1/pets/2/photo", body=PNG, headers={"Content-Type": "image/png"})
    result = await call(upstream, "getPhoto", {"petId": 2})
    assert result.content == [
        types.ImageContent(type="image", data=base64.b64encode(PNG).decode(), mime_type="image/png")
    ]


async def test_a_problem_json_error_keeps_the_upstreams_words(upstream: RecordingUpstream) -> None:
    problem = {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no pet 9"}
    upstream.reply(
        "GET",
        "/v1/pets/9/photo",
        status=404,
        body=json.dumps(problem),
        headers={"Content-Type": "application/problem+json"},
    )
    result = await call(upstream, "getPhoto", {"petId": 9})
    assert result.is_error and result.structured_content is not None
    error = result.structured_content["error"]
    assert (error["category"], error["status"], error["retryable"]) == ("not_found", 404, False)
    assert error["message"] == "The upstream found no such resource: no pet 9."
    assert json.loads(error["upstream_message"]) == problem
