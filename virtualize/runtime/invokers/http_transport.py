"""The wire under the HTTP and GraphQL invokers: an ``httpx`` transport per upstream.

The invokers build ``httpx.Request``s and read ``httpx.Response``s; which connection pool carries
them is decided here, once per invoker:

- HTTP/1.1 (the default) goes through aiohttp's connection pool and C parser. Measured on the
  demo upstream (``bench/serve.py``), httpcore spends about 1.5 ms of CPU per request, most of it
  in anyio cancel scopes and a readability probe of the socket around every operation; aiohttp
  spends about 0.5 ms for the same request. That difference was a third of the gateway's CPU
  per call.
- HTTP/2 (``http2 = true``) goes through httpcore, which negotiates it over TLS (ALPN);
  aiohttp has no HTTP/2 client.

``AiohttpTransport`` sends exactly the request it is given: the URL as encoded (no requoting),
the headers in their order and case, no header of aiohttp's own except a ``Content-Length: 0``
it adds to a body-less request whose method is not GET, HEAD, OPTIONS or TRACE, and no cookie
jar, proxy or ``.netrc`` from the environment. It answers with an ``httpx.Response`` whose
body is streamed raw (httpx decodes ``Content-Encoding``), and raises ``httpx`` exceptions, so
the invokers see one HTTP client whichever pool is below.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

import aiohttp
import httpx
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


def upstream_transport(settings: InvokerSettings) -> httpx.AsyncBaseTransport:
    """A new pool for one virtual server's upstream (the caller closes it)."""
    if settings.http2:
        limits = httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS // 2)
        return httpx.AsyncHTTPTransport(http2=True, verify=settings.tls_verify(), trust_env=False, limits=limits)
    return AiohttpTransport(settings.tls_verify(http1_only=True))


class AiohttpTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over one aiohttp session, opened on first use (it belongs to the running loop)."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        self._tls = tls
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=MAX_CONNECTIONS, limit_per_host=0, keepalive_timeout=KEEPALIVE_SECONDS, ssl=self._tls
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
            max_line_size=MAX_HEADER_LINE,
            max_field_size=MAX_HEADER_LINE,
            max_headers=MAX_HEADERS,
        )
        # aiohttp re-sends a GET, PUT or DELETE once, unseen, when the connection drops; whether a
        # call is repeated is the invoker's decision (``retries``, counted in ``attempts``). There
        # is no public switch: aiohttp's own test client sets the same attribute, and
        # test_http_transport pins the behaviour.
        session._retry_connection = False
        self._session = session
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        timeout = request.extensions.get("timeout", {})
        # httpx holds header bytes encoded from str (ASCII or UTF-8), and aiohttp writes UTF-8. A
        # repeated name takes its first spelling: aiohttp keeps only the last of names that differ in case.
        spelling: dict[bytes, str] = {}
        headers = [
            (spelling.setdefault(name.lower(), name.decode()), value.decode()) for name, value in request.headers.raw
        ]
        try:
            answer = await session.request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=request.content or None,
                skip_auto_headers=_NOT_OURS,
                allow_redirects=False,
                # ``connect`` bounds the wait for a pooled connection, the DNS lookup and the TCP
                # and TLS handshakes together; ``sock_connect`` would leave the lookup unbounded.
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=timeout.get("connect"), sock_read=timeout.get("read")
                ),
            )
        except (aiohttp.ClientError, ValueError) as exc:
            raise _httpx_error(exc, request) from exc
        version = b"HTTP/%d.%d" % (answer.version.major, answer.version.minor) if answer.version else b"HTTP/1.1"
        extensions = {"http_version": version, "reason_phrase": (answer.reason or "").encode("latin-1", "replace")}
        return httpx.Response(
            answer.status,
            headers=list(answer.raw_headers),
            stream=_Body(answer, request),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


class _Body(httpx.AsyncByteStream):
    def __init__(self, answer: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._answer = answer
        self._request = request
        self._unwatch = _watch_for_a_broken_body(answer)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._answer.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc, self._request) from exc

    async def aclose(self) -> None:
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
    closed.add_done_callback(broke)

    def unwatch() -> None:
        closed.remove_done_callback(broke)

    return unwatch


def _nothing() -> None:
    pass


def _httpx_error(exc: Exception, request: httpx.Request) -> httpx.HTTPError:
    """The httpx exception ``transport_failure`` already understands; the text names the kind only,
    since aiohttp's may quote a header value."""
    kind = type(exc).__name__
    error: httpx.HTTPError
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = httpx.ConnectTimeout(kind, request=request)
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        error = httpx.ReadTimeout(kind, request=request)
    elif isinstance(exc, aiohttp.ClientConnectorError):  # refused, unresolvable, TLS handshake refused
        error = httpx.ConnectError(kind, request=request)
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        error = httpx.LocalProtocolError(kind, request=request)
    elif isinstance(exc, aiohttp.ClientError):  # closed, reset or unparsable after the request went out
        error = httpx.RemoteProtocolError(kind, request=request)
    else:  # a ValueError: aiohttp refused to write the request (a CR or LF in a header); nothing was sent
        error = httpx.LocalProtocolError(kind, request=request)
    return error
