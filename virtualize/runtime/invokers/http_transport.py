"""The wire under the HTTP and GraphQL invokers: a pool per upstream, and the two types they speak.

An invoker hands its pool an ``Outgoing`` request (method, percent-encoded URL, headers, body)
and reads an ``Answer`` (status, case-insensitive headers, a bounded read of the decoded body).
Which pool carries it is decided here, once per invoker:

- HTTP/1.1 (the default) goes through aiohttp's connection pool and C parser. Measured on the
  demo upstream (``bench/serve.py``), httpcore spends about 1.5 ms of CPU per request, most of it
  in anyio cancel scopes and a readability probe of the socket around every operation; aiohttp
  spends about 0.5 ms for the same request. That difference was a third of the gateway's CPU
  per call. No httpx object is built on this path either: wrapping each aiohttp exchange in an
  ``httpx.Request`` and ``httpx.Response`` (the URL parsed and written out again, the headers
  copied twice) made the gateway's call handler execute 45% more instructions (valgrind: 1.27 M
  per call against 0.88 M without).
- HTTP/2 (``http2 = true``) goes through httpx (httpcore), which negotiates it over TLS (ALPN);
  aiohttp has no HTTP/2 client. Tests inject any httpx transport (``httpx.MockTransport``) the same way.

``AiohttpPool`` sends exactly the request it is given: the URL as encoded (no requoting), the
headers in their order and case, no header of aiohttp's own except a ``Content-Length: 0`` it
adds to a body-less request whose method is not GET, HEAD, OPTIONS or TRACE, and no cookie jar,
proxy or ``.netrc`` from the environment. Both pools decode ``Content-Encoding`` and raise
``httpx`` exceptions, so the invokers see one HTTP client whichever pool is below.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import anyio
import httpx
from aiohttp.http_exceptions import ContentEncodingError
from yarl import URL

from virtualize import __version__

if TYPE_CHECKING:
    from virtualize.runtime.invokers import InvokerSettings

USER_AGENT = f"virtualize/{__version__}"
# A user name or password in an upstream URL would be sent by one pool (aiohttp, as Basic) and not
# by the other (httpcore), and would sit in configuration as plain text: it is refused instead.
USERINFO_HINT = "give credentials through the auth map's sources (environment or files) instead."

MAX_CONNECTIONS = 200
KEEPALIVE_SECONDS = 5.0  # httpx's default keep-alive expiry
# aiohttp's default of 8,190 bytes per header line refuses answers h11 and browsers read (a long Link or CSP).
MAX_HEADER_LINE = 65_536
MAX_HEADERS = 1_000  # aiohttp refuses answers with more than 128 header lines by default
# aiohttp adds these when a request lacks them; a request from the invokers never should get them.
_NOT_OURS = frozenset({"Accept", "Accept-Encoding", "Content-Type", "User-Agent"})


@dataclass(slots=True)  # not frozen: built per call (see outcomes.JsonValue)
class Outgoing:
    """One upstream request. ``url`` is absolute and percent-encoded: it is sent as it is."""

    method: str
    url: str
    headers: Sequence[tuple[str, str]] = ()
    content: bytes | None = None


class Answer(Protocol):
    """An upstream's answer, its body not yet read. ``headers`` look names up in any case."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    async def read(self, limit: int) -> tuple[bytes, bool]:
        """At most ``limit`` bytes of the decoded body, and whether there was more."""
        ...

    async def aclose(self) -> None:
        """Give the connection back (or close it, when the body was not read to its end).

        Completes even when the call's deadline has fired: the connection must not be lost."""
        ...


class Pool(Protocol):
    async def send(self, request: Outgoing) -> Answer:
        """Raises ``httpx.HTTPError`` when no answer arrives."""
        ...

    async def aclose(self) -> None: ...


def upstream_pool(settings: InvokerSettings) -> Pool:
    """The pool for one virtual server's upstream (the caller closes it; an injected transport stays open)."""
    if settings.http_transport is not None:
        return HttpxPool(settings.http_transport, settings, owned=False)
    if settings.http2:
        limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS // 2)
        transport = httpx.AsyncHTTPTransport(http2=True, verify=settings.tls_verify(), trust_env=False, limits=limits)
        return HttpxPool(transport, settings, owned=True)
    return AiohttpPool(settings)


async def _bounded(chunks: AsyncIterable[bytes], limit: int) -> tuple[bytes, bool]:
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(parts)[:limit], True
    return b"".join(parts), False


# -- HTTP/2 and injected transports: httpx -------------------------------------------------------


class HttpxPool:
    """An httpx transport: httpcore for HTTP/2, or the one a test injects."""

    def __init__(self, transport: httpx.AsyncBaseTransport, settings: InvokerSettings, *, owned: bool) -> None:
        self.transport = transport
        self._owned = owned
        timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout)
        self._extensions: dict[str, Any] = {"timeout": timeout.as_dict()}

    async def send(self, request: Outgoing) -> Answer:
        # UTF-8, as aiohttp writes them (httpx would refuse a value that is not ASCII).
        headers = [(name.encode(), value.encode()) for name, value in request.headers]
        try:
            built = httpx.Request(
                request.method,
                request.url,
                headers=headers,
                content=request.content,
                extensions=self._extensions,
            )
        except httpx.InvalidURL as exc:
            raise httpx.LocalProtocolError(type(exc).__name__) from exc
        return _HttpxAnswer(await self.transport.handle_async_request(built))

    async def aclose(self) -> None:
        if self._owned:
            await self.transport.aclose()


class _HttpxAnswer:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers

    async def read(self, limit: int) -> tuple[bytes, bool]:
        return await _bounded(self._response.aiter_bytes(), limit)

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await self._response.aclose()


# -- HTTP/1.1: aiohttp ---------------------------------------------------------------------------


class AiohttpPool:
    """HTTP/1.1 over one aiohttp session, opened on first use (it belongs to the running loop)."""

    def __init__(self, settings: InvokerSettings) -> None:
        self._tls = settings.tls_verify(http1_only=True)
        # ``connect`` bounds the wait for a pooled connection, the DNS lookup and the TCP and TLS
        # handshakes together; ``sock_connect`` would leave the lookup unbounded.
        self._timeout = aiohttp.ClientTimeout(total=None, connect=settings.connect_timeout, sock_read=settings.timeout)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=MAX_CONNECTIONS, limit_per_host=0, keepalive_timeout=KEEPALIVE_SECONDS, ssl=self._tls
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            timeout=self._timeout,
            max_line_size=MAX_HEADER_LINE,
            max_field_size=MAX_HEADER_LINE,
            max_headers=MAX_HEADERS,
            skip_auto_headers=_NOT_OURS,  # here, not per request: aiohttp would rebuild the set each time
        )
        # aiohttp re-sends a GET, PUT or DELETE once, unseen, when the connection drops; whether a
        # call is repeated is the invoker's decision (``retries``, counted in ``attempts``). There
        # is no public switch: aiohttp's own test client sets the same attribute, and
        # test_http_transport pins the behaviour.
        session._retry_connection = False
        self._session = session
        return session

    async def send(self, request: Outgoing) -> Answer:
        session = self._session or self._open()
        # aiohttp keeps only the last of names that differ in case: a repeated name takes its first spelling.
        spelling: dict[str, str] = {}
        headers = [(spelling.setdefault(name.lower(), name), value) for name, value in request.headers]
        try:
            answer = await session.request(
                request.method,
                URL(request.url, encoded=True),
                headers=headers,
                data=request.content or None,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, ValueError) as exc:
            raise _httpx_error(exc) from exc
        return _AiohttpAnswer(answer)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class _AiohttpAnswer:
    def __init__(self, answer: aiohttp.ClientResponse) -> None:
        self._answer = answer
        self.status = answer.status
        self.headers: Mapping[str, str] = answer.headers
        self._unwatch = _watch_for_a_broken_body(answer)

    async def read(self, limit: int) -> tuple[bytes, bool]:
        content = self._answer.content
        try:
            if content.is_eof():  # the whole body has arrived (a small answer, usually): no reading loop
                data = content.read_nowait()
                return data[:limit], len(data) > limit
            return await _bounded(content.iter_any(), limit)
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc) from exc

    async def aclose(self) -> None:
        # Nothing here waits, so nothing can be cancelled: no shield (a scope per call) needed.
        self._unwatch()
        # A body not read to its end closes the connection instead of returning it to the pool.
        self._answer.release()


def _watch_for_a_broken_body(answer: aiohttp.ClientResponse) -> Callable[[], None]:
    """Make the body fail when its connection closes before the body's end.

    aiohttp's C parser, meeting a malformed chunk after the head, closes the connection without
    telling the body's reader, which then waits for the call's deadline (its read timeout cannot
    reach the reader either). Returns the undo, since a kept-alive connection outlives the answer.
    """
    content = answer.content
    connection = answer.connection
    if connection is None or connection.protocol is None:  # released: the body is already complete
        return _nothing

    def broke(_: object = None) -> None:
        if not content.is_eof():
            content.set_exception(aiohttp.ClientPayloadError("the connection closed before the body ended"))

    closed = connection.protocol.closed
    if closed is None:  # the connection was lost before anyone asked
        broke()
        return _nothing
    if closed not in _WATCHED:  # once per connection: a kept-alive one carries many answers
        _WATCHED.add(closed)
        closed.add_done_callback(_seen)
    closed.add_done_callback(broke)

    def unwatch() -> None:
        closed.remove_done_callback(broke)

    return unwatch


def _nothing() -> None:
    pass


#: The connections' "closed" futures the watch created: aiohttp makes one only when asked, and
#: nothing else awaits it, so its exception must be marked seen, or asyncio logs "Future exception
#: was never retrieved" with a traceback whenever an upstream resets a connection.
_WATCHED: weakref.WeakSet[asyncio.Future[None]] = weakref.WeakSet()


def _seen(closed: asyncio.Future[None]) -> None:
    if not closed.cancelled():
        closed.exception()


def _caused_by_encoding(exc: BaseException | None) -> bool:
    # aiohttp wraps its parser's error once or twice (ClientPayloadError, or ClientResponseError
    # when the head names an encoding it cannot decode at all).
    for _ in range(3):
        if exc is None:
            return False
        if isinstance(exc, ContentEncodingError):
            return True
        exc = exc.__cause__
    return False


def _httpx_error(exc: Exception) -> httpx.HTTPError:
    """The httpx exception ``transport_failure`` understands; the text names the kind only, since
    aiohttp's may quote a header value."""
    kind = type(exc).__name__
    error: httpx.HTTPError
    if _caused_by_encoding(exc):  # a body that is not the Content-Encoding it says, or br/zstd unasked
        error = httpx.DecodingError(kind)
    elif isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = httpx.ConnectTimeout(kind)
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        error = httpx.ReadTimeout(kind)
    elif isinstance(exc, aiohttp.ClientConnectorError):  # refused, unresolvable, TLS handshake refused
        error = httpx.ConnectError(kind)
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        error = httpx.LocalProtocolError(kind)
    elif isinstance(exc, aiohttp.ClientError):  # closed, reset or unparsable after the request went out
        error = httpx.RemoteProtocolError(kind)
    else:  # a ValueError: aiohttp refused to write the request (a CR or LF in a header); nothing was sent
        error = httpx.LocalProtocolError(kind)
    return error
