"""Transports: Streamable HTTP (Starlette + uvicorn) and stdio, both through the SDK, both dual-era.

HTTP routes (exact ``Route``s: a ``Mount`` would answer ``POST /mcp`` with a 307 to ``/mcp/``):

    POST /mcp                   the aggregate endpoint
    POST /servers/<name>/mcp    one virtual server
    GET  /healthz               the process is up
    GET  /readyz                manifests loaded and the MCP layer running (503 before, and while stopping)
    GET  /metrics               Prometheus text format

One ``StreamableHTTPSessionManager`` serves every MCP route. It routes by ``MCP-Protocol-Version``:
2026-07-28 requests take the SDK's sessionless path; handshake-era (2025-11-25 and older) ones
take the legacy path, run ``stateless`` because no tool here sends server-to-client requests (so
no session table to grow, and no session minted on one path can be replayed on another).
``json_response`` answers every request with one JSON body rather than an SSE stream.

A client cancels a 2026-07-28 request by closing its response stream. In JSON mode the SDK does
not watch for that (its SSE mode does, with a task group, a stream and two tasks per request:
about 0.3 ms of CPU per call, measured), so the gateway does it more cheaply: each MCP request
runs in a cancel scope, and the HTTP protocol cancels it when its connection is lost before the
answer is complete (``StopOnDisconnect`` and ``GatewayProtocol``). The upstream call stops with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import uvicorn
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from virtualize.runtime.access import Access, GatewayGuard, is_loopback
from virtualize.runtime.observability import METRICS_CONTENT_TYPE
from virtualize.runtime.router import Router

logger = logging.getLogger("virtualize.serve")

#: Where a request's ASGI scope holds the callable that stops its work (set by ``StopOnDisconnect``).
STOP_KEY = "virtualize.stop"

_LOCAL_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
_LOCAL_ORIGINS = [
    f"{scheme}://{host}{port}"
    for scheme in ("http", "https")
    for host in ("127.0.0.1", "localhost", "[::1]")
    for port in (":*", "")  # a page served on the default port sends its Origin without one
]


def _security(host: str) -> TransportSecuritySettings:
    """DNS-rebinding protection on loopback (a browser page must not reach a local gateway);
    behind a real address the client keys are the protection and Host is whatever the proxy says."""
    if is_loopback(host):
        return TransportSecuritySettings(allowed_hosts=_LOCAL_HOSTS, allowed_origins=_LOCAL_ORIGINS)
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


def http_app(router: Router, access: Access, *, host: str = "127.0.0.1", announce: str = "") -> GatewayApp:
    """The ASGI app. ``announce`` is logged once the MCP layer runs (tests wait for it)."""
    security = _security(host)
    manager = StreamableHTTPSessionManager(
        app=router.mcp_server(private_lists=access.enabled),
        json_response=True,
        stateless=True,
        security_settings=security,
    )
    endpoint = GatewayGuard(StopOnDisconnect(StreamableHTTPASGIApp(manager)), access, router.servers)
    ready = False

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        nonlocal ready
        try:
            async with manager.run():
                ready = True
                if announce:
                    logger.info(announce)
                yield
                ready = False
        finally:
            await router.aclose()

    guard = TransportSecurityMiddleware(security)

    async def healthz(request: Request) -> Response:
        return await guard.validate_request(request) or JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        # The servers and their tool counts are for local tools, not for a page a browser was lured to.
        refused = await guard.validate_request(request)
        if refused is not None:
            return refused
        servers = {name: len(router.endpoints[name].entries) for name in router.servers}
        body = {"status": "ready" if ready else "starting", "servers": servers}
        return JSONResponse(body, status_code=200 if ready and servers else 503)

    async def metrics(request: Request) -> Response:
        refused = await guard.validate_request(request)
        return refused or Response(router.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    app = GatewayApp(
        endpoint,
        routes=[
            # POST only: a legacy GET would open an event stream a stateless server never writes
            # to, and there is no session to DELETE (405, as the transport allows, says so).
            Route("/mcp", endpoint, methods=["POST"]),
            Route("/servers/{server}/mcp", endpoint, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False  # "/mcp/" is not an endpoint: a 404 says so, a redirect would hide it
    return app


class GatewayApp(Starlette):
    """Starlette, with a tool call's POST handed straight to its MCP endpoint.

    Starlette would pass it through two exception middlewares and match it against each route
    (about 2% of the gateway's instructions per call, measured with cachegrind); the routes
    stay for everything else, and answer a GET or a DELETE on an MCP path with 405.
    """

    def __init__(self, endpoint: ASGIApp, **options: Any) -> None:
        super().__init__(**options)
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            params = mcp_path_params(scope["path"])
            if params is not None:
                scope["path_params"] = params
                await self._endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def mcp_path_params(path: str) -> dict[str, str] | None:
    """The path parameters of an MCP route (``/mcp``, ``/servers/{server}/mcp``), else None."""
    if path == "/mcp":
        return {}
    if path.startswith("/servers/") and path.endswith("/mcp"):
        server = path[len("/servers/") : -len("/mcp")]
        if server and "/" not in server:
            return {"server": server}
    return None


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0 picks a free one: the announced URL says which)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP,
    # and with Nagle on every small JSON answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError:
        sock.close()
        raise
    sock.listen(1024)
    return sock


class StopOnDisconnect:
    """Runs each request in a cancel scope that ``GatewayProtocol`` cancels when the client leaves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with anyio.CancelScope() as cancel:
            scope[STOP_KEY] = cancel.cancel
            await self.app(scope, receive, send)


class _OneWriteTransport:
    """Sends an answer's status line and headers together with its body, in one write.

    uvicorn writes the head as soon as the app starts the answer and the body as a second write:
    two system calls and two wake-ups of the client for every tool call, which measured ~0.3 ms
    of gateway CPU per call here. A head that announces a ``content-length`` is held until the
    body's first bytes, or at the latest until the event loop's next turn (a HEAD answer has no
    body write at all); streamed heads (chunked) and ``100 Continue`` go out at once.
    """

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None

    def write(self, data: bytes) -> None:
        if self._head is None and data.startswith(b"HTTP/1.1 ") and b"\r\ncontent-length: " in data:
            self._head = data
            asyncio.get_running_loop().call_soon(self._flush)
            return
        if self._head is not None:
            data, self._head = self._head + data, None
        self._transport.write(data)

    def _flush(self) -> None:
        if self._head is not None:
            head, self._head = self._head, None
            if not self._transport.is_closing():
                self._transport.write(head)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # reading, flow control, peer info: the transport's own
        return getattr(self._transport, name)


class GatewayProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing each answer in one piece, and stopping a request's work
    when its connection is lost before the answer is complete (the bench's floor servers use it too)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_OneWriteTransport(transport))  # type: ignore[arg-type]

    def connection_lost(self, exc: Exception | None) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            stop = cycle.scope.get(STOP_KEY)
            if callable(stop):
                stop()
        super().connection_lost(exc)


async def serve_http(router: Router, access: Access, sock: socket.socket, host: str) -> None:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    announce = (
        f"serving {len(router.servers)} server(s), {router.tool_count} tool(s) on http://{shown}:{port}/mcp "
        f"(per server: /servers/<name>/mcp)"
    )
    app = http_app(router, access, host=host, announce=announce)
    await uvicorn.Server(uvicorn_config(app)).serve(sockets=[sock])


def uvicorn_config(app: Any) -> uvicorn.Config:
    """How the gateway runs an ASGI app (the bench's floor servers run theirs the same way)."""
    # No proxy-header rewriting: nothing here reads the client's address or scheme, and the
    # middleware would wrap every request for nothing.
    return uvicorn.Config(
        app,
        http=GatewayProtocol,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan="on",
        proxy_headers=False,
    )


async def serve_stdio(router: Router) -> None:
    server = router.mcp_server()
    try:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        await router.aclose()
