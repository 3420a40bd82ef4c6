"""Two reference servers that do the least a gateway can do, for bench/serve.py's floor rows.

    .venv/bin/python bench/floor_servers.py hop|sdk UPSTREAM_URL API_KEY [PORT]    (prints its URL on stderr)

Each answers a ``tools/call`` POST by making the same upstream GET as the gateway's ``getPet``,
with aiohttp, on uvicorn and uvloop as ``virtualize serve`` runs them:

- ``hop``: a bare ASGI app that parses the JSON-RPC body and answers a JSON-RPC result by hand,
  so its added latency is the cost of one more HTTP hop and nothing else;
- ``sdk``: the official ``mcp`` SDK's low-level server with the gateway's session manager settings
  (2026-07-28 sessionless path, JSON answers, stateless) and no router in front of it, with a tool
  handler that only makes the GET: the least a server built on the SDK, as the gateway must be,
  can add. No argument validation, credentials, error mapping, result shaping, log line or metrics.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import aiohttp
import anyio
import uvicorn
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager

from virtualize.runtime.transports import bind, uvicorn_config

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class Upstream:
    def __init__(self, url: str, key: str) -> None:
        self.url = f"{url}/pets/1"
        self.headers = {"X-API-Key": key}
        self.session: aiohttp.ClientSession | None = None

    async def get_pet(self) -> Any:
        if self.session is None:
            self.session = aiohttp.ClientSession()
        async with self.session.get(self.url, headers=self.headers) as response:
            return await response.json()


def hop_app(upstream: Upstream) -> App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["method"] != "POST":
            await send({"type": "http.response.start", "status": 405, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request = json.loads(body)
        pet = await upstream.get_pet()
        result = {"content": [{"type": "text", "text": json.dumps(pet)}], "structuredContent": pet, "isError": False}
        answer = json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


def sdk_app(upstream: Upstream) -> App:
    async def call_tool(_: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        pet = await upstream.get_pet()
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(pet))], structured_content=pet
        )

    async def list_tools(_: Any, __: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(name="getPet", input_schema=SCHEMA)])

    server: Server[Any] = Server(
        "floor", on_call_tool=call_tool, on_list_tools=list_tools, get_tool_input_schema=lambda _: SCHEMA
    )
    # As the gateway does when no OpenTelemetry SDK is installed: a span nothing records is pure cost.
    server.middleware = [m for m in server.middleware if type(m).__name__ != "OpenTelemetryMiddleware"]
    manager = StreamableHTTPSessionManager(app=server, json_response=True, stateless=True)

    endpoint = StreamableHTTPASGIApp(manager)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:  # no router in front: one endpoint
        if scope["type"] != "lifespan":
            await endpoint(scope, receive, send)
            return
        await receive()
        async with manager.run():
            await send({"type": "lifespan.startup.complete"})
            await receive()
        await send({"type": "lifespan.shutdown.complete"})

    return app


SCHEMA = {"type": "object", "properties": {"petId": {"type": "integer"}}, "required": ["petId"]}


async def main() -> None:
    kind, url, key = sys.argv[1:4]
    port = int(sys.argv[4]) if len(sys.argv) > 4 else 0  # bench/instructions.py names one
    upstream = Upstream(url, key)
    app = hop_app(upstream) if kind == "hop" else sdk_app(upstream)
    sock = bind("127.0.0.1", port)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}/servers/petstore/mcp", file=sys.stderr, flush=True)
    await uvicorn.Server(uvicorn_config(app)).serve(sockets=[sock])


if __name__ == "__main__":
    anyio.run(main, backend_options={"use_uvloop": True})
