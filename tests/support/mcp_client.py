"""The official ``mcp`` client, connected to a real ``virtualize serve`` process.

    with served(["generated/petstore"], upstreams={"petstore": upstream.url}) as gateway:
        async with http_client(gateway.url("petstore")) as client:          # 2026-07-28
            await client.call_tool("getPet", {"petId": 1})
        async with http_client(gateway.url(), mode="legacy") as client:    # 2025-11-25 handshake
            ...
        gateway.log_lines()                                                  # what it wrote to stderr

    async with stdio_client(["generated/petstore"], env={...}) as client:    # `virtualize serve --stdio`
        ...

``served`` starts ``python -m virtualize serve --port 0`` and waits (bounded) for the line it
announces once the MCP layer runs; a thread drains stderr so the process never blocks on a full
pipe, and keeps the lines for assertions.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from virtualize.runtime.credentials import process_environment

REPO = Path(__file__).resolve().parents[2]
_ANNOUNCE = re.compile(r"on http://(?P<host>[^\s/]+)/mcp")
START_TIMEOUT = 30.0


@dataclass
class Gateway:
    process: subprocess.Popen[bytes]
    base: str = ""
    lines: list[str] = field(default_factory=list)
    announced: threading.Event = field(default_factory=threading.Event)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def url(self, server: str | None = None) -> str:
        return f"{self.base}/servers/{server}/mcp" if server else f"{self.base}/mcp"

    def log_lines(self) -> list[str]:
        return list(self.lines)

    def call_lines(
        self, request_id: str | None = None, at_least: int = 0, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """The structured per-call log lines (of one request id), waiting (bounded) for ``at_least``.

        The gateway writes a call's line just after it answers (off the response path), and this
        process reads stderr in a thread: waiting here keeps an assertion from racing both.
        """
        with self._changed:
            self._changed.wait_for(lambda: len(self._call_lines(request_id)) >= at_least, timeout)
        return self._call_lines(request_id)

    def _call_lines(self, request_id: str | None) -> list[dict[str, Any]]:
        found = []
        for line in self.log_lines():
            if line.startswith("{"):
                data = json.loads(line)
                if data.get("event") == "tool_call" and request_id in (None, data.get("request_id")):
                    found.append(data)
        return found

    def _drain(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
            match = _ANNOUNCE.search(line)
            if match and not self.announced.is_set():
                self.base = f"http://{match['host']}"
                self.announced.set()
        self.announced.set()  # the process ended: wake the waiter, which then sees no base
        with self._changed:
            self._changed.notify_all()


def serve_command(directories: Sequence[str | Path], *extra: str) -> list[str]:
    return [sys.executable, "-m", "virtualize", "serve", *map(str, directories), *extra]


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in process_environment().items() if not k.startswith("PETSTORE")}
    env.update(extra or {})
    return env


@contextlib.contextmanager
def served(
    directories: Sequence[str | Path],
    *,
    upstreams: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Iterator[Gateway]:
    """A running ``virtualize serve`` on a free port (a plain context manager, so module fixtures can share it)."""
    flags = [f"--upstream={name}={url}" for name, url in (upstreams or {}).items()]
    command = serve_command(directories, "--port", "0", *flags, *args)
    process = subprocess.Popen(command, stderr=subprocess.PIPE, env=environment(env), cwd=REPO)
    gateway = Gateway(process)
    drain = threading.Thread(target=gateway._drain, daemon=True)
    drain.start()
    try:
        gateway.announced.wait(START_TIMEOUT)
        if not gateway.base:
            raise RuntimeError("virtualize serve did not start:\n" + "\n".join(gateway.lines))
        yield gateway
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        drain.join(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


@contextlib.asynccontextmanager
async def http_client(
    url: str, *, mode: str = "auto", headers: Mapping[str, str] | None = None
) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers=dict(headers or {}), timeout=httpx2.Timeout(60.0)) as http:
        client = Client(streamable_http_client(url, http_client=http), mode=mode)  # type: ignore[arg-type]
        async with client:
            yield client


@contextlib.asynccontextmanager
async def stdio_client(
    directories: Sequence[str | Path],
    *,
    upstreams: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    mode: str = "auto",
    flags: Sequence[str] = (),
) -> AsyncIterator[Client]:
    upstream_flags = [f"--upstream={name}={url}" for name, url in (upstreams or {}).items()]
    command = serve_command(directories, "--stdio", *upstream_flags, *flags)
    params = StdioServerParameters(command=command[0], args=command[1:], env=environment(env), cwd=str(REPO))
    async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
        yield client
