"""A real HTTP upstream on 127.0.0.1 that records every request and answers as told.

    with RecordingUpstream() as upstream:
        upstream.reply("GET", "/v1/pets/7", json={"id": 7}, status=200)
        upstream.reply("GET", "/v1/slow", fault="hang")
        ... point the gateway at upstream.url + "/v1" ...
        [request] = upstream.requests
        request.method, request.path, request.query, request.headers, request.cookies, request.body

Faults: ``hang`` (never answers until the upstream stops), ``close`` (drops the connection
without a response), ``invalid_json`` (``application/json`` that is not JSON), ``huge`` (a JSON
body of ``size`` bytes, 50 MB by default, streamed). Unmatched requests get 404 problem+json.

It is the standard library's threading HTTP server on port 0, in a daemon thread: a real socket
and a real HTTP/1.1 parser, nothing mocked.
"""

from __future__ import annotations

import json as jsonlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

Fault = Literal["hang", "close", "invalid_json", "huge"]
FIFTY_MB = 50 * 1024 * 1024


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # raw, still percent-encoded
    query: str  # raw query string, "" when absent
    headers: dict[str, str]  # lower-cased names (the last value of a repeated header)
    cookies: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None
    size: int = FIFTY_MB


class RecordingUpstream:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: dict[tuple[str, str], Reply] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: tests read ``requests``, not logs."""

            def _handle(self) -> None:
                upstream._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        body: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        fault: Fault | None = None,
        size: int = FIFTY_MB,
    ) -> None:
        """Answer ``method path`` (path without the query) like this from now on."""
        all_headers = dict(headers or {})
        if json is not None:
            data = jsonlib.dumps(json).encode("utf-8")
            all_headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode("utf-8")
            all_headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            data = body or b""
        self._replies[(method.upper(), path)] = Reply(status, data, all_headers, fault, size)

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path, _, query = handler.path.partition("?")
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(handler)
        cookies: dict[str, str] = {}
        for raw in handler.headers.get_all("Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            cookies.update({name: morsel.value for name, morsel in jar.items()})
        record = Recorded(
            method=handler.command,
            path=path,
            query=query,
            headers={k.lower(): v for k, v in handler.headers.items()},
            cookies=cookies,
            body=body,
        )
        with self._lock:
            self.requests.append(record)
        reply = self._replies.get((handler.command, path))
        if reply is None:
            reply = Reply(
                404,
                jsonlib.dumps({"title": "Not Found", "status": 404, "detail": f"no reply set for {path}"}).encode(),
                {"Content-Type": "application/problem+json"},
            )
        if reply.fault == "hang":
            self._stop.wait()
            handler.close_connection = True
            return
        if reply.fault == "close":
            handler.close_connection = True
            handler.connection.close()
            return
        if reply.fault == "invalid_json":
            reply = Reply(reply.status, b'{"id": 1, "name": ', {"Content-Type": "application/json"})
        if reply.fault == "huge":
            self._send_huge(handler, reply)
            return
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(reply.body)

    def _send_huge(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        chunk = b'"' + b"x" * (1024 * 1024 - 3) + b'",'
        count = max(reply.size // len(chunk), 1)
        total = 1 + count * len(chunk) + 3
        handler.send_response(reply.status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        try:
            handler.wfile.write(b"[")
            for _ in range(count):
                handler.wfile.write(chunk)
            handler.wfile.write(b"1]\n")
        except OSError:
            handler.close_connection = True  # the gateway stopped reading past its limit: expected

    def __enter__(self) -> RecordingUpstream:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _read_chunked(handler: BaseHTTPRequestHandler) -> bytes:
    data = b""
    while True:
        size = int(handler.rfile.readline().strip() or b"0", 16)
        if size == 0:
            handler.rfile.readline()
            return data
        data += handler.rfile.read(size)
        handler.rfile.readline()
