"""The aiohttp transport against a raw socket server: the bytes it sends, what it answers, how it fails."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest

from virtualize.runtime.invokers import InvokerSettings
from virtualize.runtime.invokers.http_transport import AiohttpTransport, upstream_transport

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


async def exchange(transport: httpx.AsyncBaseTransport, request: httpx.Request) -> tuple[httpx.Response, bytes]:
    response = await transport.handle_async_request(request)
    try:
        return response, await response.aread()
    finally:
        await response.aclose()


async def test_the_request_on_the_wire_is_the_request_given_byte_for_byte() -> None:
    async with serving(OK) as server:
        transport = upstream_transport(InvokerSettings())
        request = httpx.Request(
            "POST",
            server.url("/v1/pets/a%2Fb%7E%20c?q=%2F%20&tag=x&tag=y"),
            headers=[("X-Mixed-Case", "One"), ("x-mixed-case", "two"), ("Accept", "application/json")],
            content=b'{"a":1}',
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
        transport = upstream_transport(InvokerSettings())
        await exchange(transport, httpx.Request("GET", server.url("/x"), headers={"X-Name": "Zoë".encode()}))
        await transport.aclose()
    lines = server.requests[0].split(b"\r\n")
    assert "X-Name: Zoë".encode() in lines
    assert not any(line.lower().startswith(b"content-length") for line in lines)


async def test_the_answer_keeps_its_headers_in_order_and_its_encoded_body_is_decoded_by_httpx() -> None:
    packed = gzip.compress(b'{"ok":true}')
    answer = (
        b"HTTP/1.1 201 Created\r\nX-B: 2\r\nX-A: 1\r\nX-A: 3\r\nContent-Encoding: gzip\r\n"
        + b"X-Long: "
        + b"v" * 20_000
        + b"\r\nContent-Length: %d\r\n\r\n" % len(packed)
        + packed
    )
    async with serving(answer) as server:
        transport = upstream_transport(InvokerSettings())
        response, body = await exchange(transport, httpx.Request("GET", server.url()))
        await transport.aclose()
    assert response.status_code == 201
    assert response.reason_phrase == "Created"
    assert response.extensions["http_version"] == b"HTTP/1.1"
    assert [k for k, _ in response.headers.raw][:3] == [b"X-B", b"X-A", b"X-A"]
    assert response.headers.get_list("x-a") == ["1", "3"]
    assert len(response.headers["x-long"]) == 20_000  # past aiohttp's default limit of 8,190 per line
    assert body == b'{"ok":true}'


async def test_a_connection_is_reused_after_a_whole_body_and_closed_after_a_partial_one() -> None:
    big = b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n" + b"x" * 1_000_000
    async with serving(big) as server:
        transport = upstream_transport(InvokerSettings())
        for _ in range(3):
            await exchange(transport, httpx.Request("GET", server.url()))
        assert server.connections == 1
        response = await transport.handle_async_request(httpx.Request("GET", server.url()))
        async for _ in response.aiter_raw():
            break  # stop early, as the invoker does past max_response_bytes
        await response.aclose()
        await exchange(transport, httpx.Request("GET", server.url()))
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
        (bad_chunk_later, httpx.RemoteProtocolError),
        (hang, httpx.ReadTimeout),
    ],
)
async def test_an_upstream_fault_is_the_httpx_error_the_invokers_map(reply: Reply, error: type[Exception]) -> None:
    async with serving(reply) as server:
        transport = upstream_transport(InvokerSettings())
        request = httpx.Request("GET", server.url(), extensions={"timeout": {"read": 0.3, "connect": 1, "pool": 1}})
        with pytest.raises(error), anyio.fail_after(3):
            await exchange(transport, request)
        await transport.aclose()


async def test_a_malformed_chunk_fails_the_body_at_once_not_at_the_deadline() -> None:
    async with serving(bad_chunk_later) as server:
        transport = upstream_transport(InvokerSettings())
        request = httpx.Request("GET", server.url(), extensions={"timeout": {"read": 30, "connect": 1, "pool": 1}})
        with pytest.raises(httpx.RemoteProtocolError), anyio.fail_after(5):
            await exchange(transport, request)
        await transport.aclose()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_a_dropped_connection_is_not_retried_behind_the_invokers_back(method: str) -> None:
    async with serving(close_at_once) as server:
        transport = upstream_transport(InvokerSettings())
        with pytest.raises(httpx.RemoteProtocolError):
            await exchange(transport, httpx.Request(method, server.url(), content=b"x" if method == "PUT" else None))
        await transport.aclose()
    assert len(server.requests) == 1  # aiohttp would send it again once on its own


async def test_a_slow_name_lookup_is_bounded_by_the_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async def never(*args: object, **kwargs: object) -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", never)
    transport = upstream_transport(InvokerSettings())
    request = httpx.Request("GET", "http://slow-dns.example/", extensions={"timeout": {"connect": 0.3, "read": 30}})
    with pytest.raises(httpx.ConnectTimeout), anyio.fail_after(5):
        await exchange(transport, request)
    await transport.aclose()


async def test_an_answer_with_many_header_lines_is_read() -> None:
    many = b"".join(b"X-Item-%d: %d\r\n" % (i, i) for i in range(300))
    async with serving(b"HTTP/1.1 200 OK\r\n" + many + b"content-length: 2\r\n\r\n{}") as server:
        transport = upstream_transport(InvokerSettings())
        response, body = await exchange(transport, httpx.Request("GET", server.url()))
        await transport.aclose()
    assert response.headers["x-item-299"] == "299"
    assert body == b"{}"


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with serving(OK) as server:
        url = server.url()
    transport = upstream_transport(InvokerSettings())
    with pytest.raises(httpx.ConnectError):
        await exchange(transport, httpx.Request("GET", url))
    await transport.aclose()


async def test_a_header_that_would_split_the_request_is_refused_unsent_and_unquoted() -> None:
    async with serving(OK) as server:
        transport = upstream_transport(InvokerSettings())
        request = httpx.Request("GET", server.url(), headers={"X-Token": "secret\r\nX-Injected: 1"})
        with pytest.raises(httpx.LocalProtocolError) as refused:
            await exchange(transport, request)
        await transport.aclose()
    assert server.requests == []
    assert "secret" not in str(refused.value)


def test_http2_is_served_by_httpcore_and_http1_by_aiohttp() -> None:
    assert isinstance(upstream_transport(InvokerSettings()), AiohttpTransport)
    assert isinstance(upstream_transport(InvokerSettings(http2=True)), httpx.AsyncHTTPTransport)
