"""The aiohttp pool against a raw socket server: the bytes it sends, what it answers, how it fails."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import socket
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest

from tests.support import manifests
from virtualize.manifest.model import ArgumentBinding, HttpBinding, HttpBody
from virtualize.runtime.invokers import Invocation, InvokerSettings
from virtualize.runtime.invokers.http import create_invoker
from virtualize.runtime.invokers.http_transport import AiohttpPool, Answer, HttpxPool, Outgoing, Pool, upstream_pool
from virtualize.runtime.outcomes import JsonValue

pytestmark = pytest.mark.anyio

Reply = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiohttp runs on asyncio only, as `virtualize serve` does


class Server:
    """Records each request's head and body as raw bytes, and counts connections."""

    def __init__(self, reply: Reply | bytes) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.connections = 0
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                self.requests.append(head + await reader.readexactly(length))
                if isinstance(self.reply, bytes):
                    writer.write(self.reply)
                    await writer.drain()
                else:
                    await self.reply(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@asynccontextmanager
async def serving(reply: Reply | bytes) -> AsyncIterator[Server]:
    server = Server(reply)
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()


async def exchange(pool: Pool, request: Outgoing) -> tuple[Answer, bytes]:
    answer = await pool.send(request)
    try:
        body, cut = await answer.read(10_000_000)
        assert not cut
        return answer, body
    finally:
        await answer.aclose()


async def test_the_request_on_the_wire_is_the_request_given_byte_for_byte() -> None:
    async with serving(OK) as server:
        transport = upstream_pool(InvokerSettings())
        request = Outgoing(
            "POST",
            server.url("/v1/pets/a%2Fb%7E%20c?q=%2F%20&tag=x&tag=y"),
            [("X-Mixed-Case", "One"), ("x-mixed-case", "two"), ("Accept", "application/json")],
            b'{"a":1}',
        )
        await exchange(transport, request)
        await transport.aclose()
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/pets/a%2Fb%7E%20c?q=%2F%20&tag=x&tag=y HTTP/1.1"  # no requoting
    assert lines[1:] == [
        f"Host: 127.0.0.1:{server.port}".encode(),
        b"X-Mixed-Case: One",
        b"X-Mixed-Case: two",  # a repeated name keeps both values, in the first one's spelling
        b"Accept: application/json",
        b"Content-Length: 7",
    ]  # no Content-Type, User-Agent or Accept-Encoding of aiohttp's own
    assert body == b'{"a":1}'


async def test_a_get_carries_no_length_and_utf8_header_values_keep_their_bytes() -> None:
    async with serving(OK) as server:
        transport = upstream_pool(InvokerSettings())
        await exchange(transport, Outgoing("GET", server.url("/x"), [("X-Name", "Zoë")]))
        await transport.aclose()
    lines = server.requests[0].split(b"\r\n")
    assert "X-Name: Zoë".encode() in lines
    assert not any(line.lower().startswith(b"content-length") for line in lines)


async def test_the_answer_reads_headers_in_any_case_and_its_encoded_body_is_decoded() -> None:
    packed = gzip.compress(b'{"ok":true}')
    answer = (
        b"HTTP/1.1 201 Created\r\nX-B: 2\r\nX-A: 1\r\nX-A: 3\r\nContent-Encoding: gzip\r\n"
        + b"X-Long: "
        + b"v" * 20_000
        + b"\r\nContent-Length: %d\r\n\r\n" % len(packed)
        + packed
    )
    async with serving(answer) as server:
        transport = upstream_pool(InvokerSettings())
        response, body = await exchange(transport, Outgoing("GET", server.url()))
        await transport.aclose()
    assert response.status == 201
    assert [response.headers["x-b"], response.headers["X-A"]] == ["2", "1"]
    assert len(response.headers["x-long"]) == 20_000  # past aiohttp's default limit of 8,190 per line
    assert body == b'{"ok":true}'


def encoded(encoding: bytes, body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n%s" % (encoding, len(body), body)


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # ids are given, and gzip's timestamp pinned, because xdist workers must collect the same test names
        pytest.param(encoded(b"gzip", gzip.compress(b"zipped", mtime=0)), b"zipped", id="gzip"),
        pytest.param(encoded(b"deflate", zlib.compress(b"zlib-wrapped")), b"zlib-wrapped", id="zlib-deflate"),
        # what some servers send for deflate
        pytest.param(encoded(b"deflate", raw_deflate(b"raw deflate")), b"raw deflate", id="raw-deflate"),
        pytest.param(encoded(b"identity", b"plain"), b"plain", id="identity"),
        pytest.param(CHUNKED, b"abcde", id="chunked"),
        pytest.param(encoded(b"gzip", b"\x1f\x8b\x08 this is not gzip"), httpx.DecodingError, id="bad-gzip"),
    ],
)
async def test_both_pools_read_an_answer_alike(answer: bytes, expected: bytes | type[Exception]) -> None:
    """The aiohttp pool and an httpx transport over the same HTTP/1.1 answer: one body, or one error."""
    async with serving(answer) as server:
        for pool in (
            AiohttpPool(InvokerSettings()),
            HttpxPool(httpx.AsyncHTTPTransport(), InvokerSettings(), owned=True),
        ):
            if isinstance(expected, bytes):
                _, body = await exchange(pool, Outgoing("GET", server.url()))
                assert body == expected, pool
            else:
                with pytest.raises(expected):
                    await exchange(pool, Outgoing("GET", server.url()))
            await pool.aclose()


async def test_both_pools_send_a_header_value_beyond_ascii_as_utf8() -> None:
    async with serving(OK) as server:
        for pool in (
            AiohttpPool(InvokerSettings()),
            HttpxPool(httpx.AsyncHTTPTransport(), InvokerSettings(), owned=True),
        ):
            await exchange(pool, Outgoing("GET", server.url(), [("X-Name", "Zoë")]))
            await pool.aclose()
    assert ["X-Name: Zoë".encode() in request.split(b"\r\n") for request in server.requests] == [True, True]


async def test_a_connection_is_reused_after_a_whole_body_and_closed_after_a_partial_one() -> None:
    big = b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n" + b"x" * 1_000_000
    async with serving(big) as server:
        transport = upstream_pool(InvokerSettings())
        for _ in range(3):
            await exchange(transport, Outgoing("GET", server.url()))
        assert server.connections == 1
        response = await transport.send(Outgoing("GET", server.url()))
        assert await response.read(1000) == (b"x" * 1000, True)  # stop early, as past max_response_bytes
        await response.aclose()
        await exchange(transport, Outgoing("GET", server.url()))
        await transport.aclose()
    assert server.connections == 2


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def cut_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly part")
    await writer.drain()
    writer.close()


async def bad_chunk_later(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(0.1)  # the head is read alone, then the body breaks
    writer.write(b"5\r\nhello\r\nZZ\r\nxx\r\n0\r\n\r\n")
    await writer.drain()


async def brotli_unasked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Accept-Encoding says gzip, deflate: br is neither asked for nor decodable here.
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-encoding: br\r\ncontent-length: 4\r\n\r\n\x00\x01xx")
    await writer.drain()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"this is not HTTP\r\n\r\n")
    await writer.drain()


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the client gives up and closes


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (close_at_once, httpx.RemoteProtocolError),
        (cut_body, httpx.RemoteProtocolError),
        (garbage, httpx.RemoteProtocolError),
        (brotli_unasked, httpx.DecodingError),  # was RemoteProtocolError: "closed before answering"
        (bad_chunk_later, httpx.RemoteProtocolError),
        (hang, httpx.ReadTimeout),
    ],
)
async def test_an_upstream_fault_is_the_httpx_error_the_invokers_map(reply: Reply, error: type[Exception]) -> None:
    async with serving(reply) as server:
        transport = upstream_pool(InvokerSettings(timeout=0.3, connect_timeout=1))
        request = Outgoing("GET", server.url())
        with pytest.raises(error), anyio.fail_after(3):
            await exchange(transport, request)
        await transport.aclose()


async def test_a_malformed_chunk_fails_the_body_at_once_not_at_the_deadline() -> None:
    async with serving(bad_chunk_later) as server:
        transport = upstream_pool(InvokerSettings(timeout=30, connect_timeout=1))
        request = Outgoing("GET", server.url())
        with pytest.raises(httpx.RemoteProtocolError), anyio.fail_after(5):
            await exchange(transport, request)
        await transport.aclose()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_a_dropped_connection_is_not_retried_behind_the_invokers_back(method: str) -> None:
    async with serving(close_at_once) as server:
        transport = upstream_pool(InvokerSettings())
        with pytest.raises(httpx.RemoteProtocolError):
            await exchange(transport, Outgoing(method, server.url(), content=b"x" if method == "PUT" else None))
        await transport.aclose()
    assert len(server.requests) == 1  # aiohttp would send it again once on its own


async def test_a_slow_name_lookup_is_bounded_by_the_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never(*args: object, **kwargs: object) -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", never)
    transport = upstream_pool(InvokerSettings(timeout=30, connect_timeout=0.3))
    request = Outgoing("GET", "http://slow-dns.example/")
    with pytest.raises(httpx.ConnectTimeout), anyio.fail_after(5):
        await exchange(transport, request)
    await transport.aclose()


async def test_an_answer_with_many_header_lines_is_read() -> None:
    many = b"".join(b"X-Item-%d: %d\r\n" % (i, i) for i in range(300))
    async with serving(b"HTTP/1.1 200 OK\r\n" + many + b"content-length: 2\r\n\r\n{}") as server:
        transport = upstream_pool(InvokerSettings())
        response, body = await exchange(transport, Outgoing("GET", server.url()))
        await transport.aclose()
    assert response.headers["x-item-299"] == "299"
    assert body == b"{}"


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with serving(OK) as server:
        url = server.url()
    transport = upstream_pool(InvokerSettings())
    with pytest.raises(httpx.ConnectError):
        await exchange(transport, Outgoing("GET", url))
    await transport.aclose()


async def test_a_header_that_would_split_the_request_is_refused_unsent_and_unquoted() -> None:
    async with serving(OK) as server:
        transport = upstream_pool(InvokerSettings())
        request = Outgoing("GET", server.url(), [("X-Token", "secret\r\nX-Injected: 1")])
        with pytest.raises(httpx.LocalProtocolError) as refused:
            await exchange(transport, request)
        await transport.aclose()
    assert server.requests == []
    assert "secret" not in str(refused.value)


def test_http2_is_served_by_httpcore_and_http1_by_aiohttp() -> None:
    assert isinstance(upstream_pool(InvokerSettings()), AiohttpPool)
    http2 = upstream_pool(InvokerSettings(http2=True))
    assert isinstance(http2, HttpxPool) and isinstance(http2.transport, httpx.AsyncHTTPTransport)


async def test_the_invoker_follows_a_same_origin_303_over_this_pool_as_a_get_without_the_body() -> None:
    async def moved(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen = len(server.requests)
        writer.write(
            b"HTTP/1.1 303 See Other\r\nLocation: /v1/done?x=%2F\r\ncontent-length: 0\r\n\r\n" if seen == 1 else OK
        )
        await writer.drain()

    async with serving(moved) as server:
        bound = HttpBinding(
            method="POST",
            path="/orders",
            operation="POST /orders",
            arguments=(ArgumentBinding(argument="body", location="body", name="body"),),
            body=HttpBody(media_type="application/json"),
        )
        manifest = manifests.manifest([manifests.tool("op")], bound)
        invoker = create_invoker(manifest, InvokerSettings(base_url=server.url("/v1")))
        call = Invocation(server="s", tool="op", binding=bound, arguments={"body": {"a": 1}})
        outcome = await invoker.invoke(call)
        await invoker.aclose()
    assert outcome == JsonValue({}, status=200)
    first, second = (request.split(b"\r\n") for request in server.requests)
    assert first[0] == b"POST /v1/orders HTTP/1.1" and b"Content-Type: application/json" in first
    assert first[-1] == b'{"a":1}'
    assert second[0] == b"GET /v1/done?x=%2F HTTP/1.1"
    assert not any(line.lower().startswith((b"content-type", b"content-length")) for line in second)


@pytest.mark.parametrize("limit", [3, 10, 11, 1000])
async def test_a_body_that_arrived_whole_is_cut_at_the_limit_and_says_so(limit: int) -> None:
    ten = b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n0123456789"
    async with serving(ten) as server:
        for pool in (
            AiohttpPool(InvokerSettings()),
            HttpxPool(httpx.AsyncHTTPTransport(), InvokerSettings(), owned=True),
        ):
            response = await pool.send(Outgoing("GET", server.url()))
            await anyio.sleep(0.05)  # the body is in by now: aiohttp reads it without a loop
            assert await response.read(limit) == (b"0123456789"[:limit], limit < 10)
            await response.aclose()
            await pool.aclose()


async def reset_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n" + b"x" * 5000)
    await writer.drain()
    await asyncio.sleep(0.05)
    _reset(writer)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST, not FIN
    writer.transport.abort()


async def test_a_reset_connection_leaves_no_unretrieved_exception_behind() -> None:
    loop = asyncio.get_running_loop()
    reported: list[str] = []
    loop.set_exception_handler(lambda _, context: reported.append(context["message"]))
    try:
        async with serving(reset_mid_body) as server:
            pool = upstream_pool(InvokerSettings(timeout=2))
            with contextlib.suppress(httpx.RemoteProtocolError):
                await exchange(pool, Outgoing("GET", server.url()))
            await asyncio.sleep(0.2)  # the reset arrives
            await pool.aclose()
        gc.collect()  # asyncio reports an exception nobody retrieved when its future is collected
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert reported == []
