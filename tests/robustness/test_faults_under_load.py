"""32 concurrent MCP clients against one gateway while the upstream misbehaves on purpose.

The upstream (a raw asyncio HTTP/1.1 server, so that it can reset connections and cut bodies
short) picks its behaviour from the pet id it is asked for, ``id % 5``: 0 answers the pet, 1 a
500, 2 resets the connection, 3 promises 200 bytes and sends 20, 4 answers after the gateway's
timeout. Every call's id is unique, so each answer can be matched to its request. Asserted:
every call gets exactly one answer, the right one (the pet it asked for, or the category its
fault deserves), the gateway keeps serving, and its RSS after several rounds stays near the RSS
after the first (a generous bound: this detects leaks, it does not measure).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.conftest import REPO
from tests.support.mcp_client import http_client, served

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

PETSTORE = REPO / "generated" / "petstore"
CLIENTS = 32
CALLS_PER_CLIENT = 5
ROUNDS = 3  # the first is the warm-up whose RSS is the baseline
RSS_GROWTH_LIMIT_MIB = 60
TIMEOUT_SECONDS = 2.5  # the gateway's per-call timeout: generous, so that only the slow fault meets it
SLOW_SECONDS = 5.0
LOAD_FAULTS = (0, 1, 2, 3, 4)
EXPECTED = {
    0: {"ok"},
    1: {"upstream_error"},
    2: {"unavailable"},
    3: {"unavailable", "invalid_response"},
    4: {"timeout"},
}


class FaultyUpstream:
    """HTTP/1.1 on 127.0.0.1 whose answer to ``GET /v1/pets/{id}`` depends on ``id % 5``."""

    def __init__(self) -> None:
        self.requests: Counter[int] = Counter()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._connection, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
                path = request_line.split(" ")[1]
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                if not await self._answer(path, writer):
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def _answer(self, path: str, writer: asyncio.StreamWriter) -> bool:
        """Write the answer; False when the connection must end (a fault)."""
        pet_id = int(path.rsplit("/", 1)[-1])
        self.requests[pet_id] += 1
        fault = pet_id % 5
        if fault == 2:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST
            writer.transport.abort()
            return False
        if fault == 3:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
            writer.write(json.dumps({"id": pet_id, "name": "cut"}).encode()[:20])
            await writer.drain()
            return False
        if fault == 4:
            await asyncio.sleep(SLOW_SECONDS)
        status, body = (
            (500, b'{"title": "boom"}')
            if fault == 1
            else (200, json.dumps({"id": pet_id, "name": f"pet{pet_id}"}).encode())
        )
        kind = b"application/problem+json" if fault == 1 else b"application/json"
        writer.write(
            b"HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s" % (status, kind, len(body), body)
        )
        await writer.drain()
        return True

    def __enter__(self) -> FaultyUpstream:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _outcome(result: Any) -> tuple[str, Any]:
    if not result.is_error:
        return "ok", (result.structured_content or {}).get("id")
    structured = result.structured_content if isinstance(result.structured_content, dict) else {}
    error = structured.get("error") or (result.meta or {}).get("dev.virtualize/error") or {}
    return str(error.get("category")), error.get("tool")


async def _round(url: str, ids: Iterator[int], answers: dict[int, list[tuple[str, Any]]]) -> None:
    async def one_client() -> None:
        async with http_client(url) as client:
            for _ in range(CALLS_PER_CLIENT):
                pet_id = next(ids)
                result = await client.call_tool("getPet", {"petId": pet_id})
                answers.setdefault(pet_id, []).append(_outcome(result))

    with anyio.fail_after(120):
        async with anyio.create_task_group() as group:
            for _ in range(CLIENTS):
                group.start_soon(one_client)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
async def test_thirty_two_clients_get_one_right_answer_each_while_the_upstream_fails(tmp_path: Path) -> None:
    config = tmp_path / "serve.toml"
    config.write_text(f"[defaults]\ntimeout = {TIMEOUT_SECONDS}\nretries = 1\n", encoding="utf-8")
    ids = (n for n in itertools.count(1000) if n % 5 in LOAD_FAULTS)
    answers: dict[int, list[tuple[str, Any]]] = {}
    with (
        FaultyUpstream() as upstream,
        served(
            [PETSTORE],
            upstreams={"petstore": upstream.url + "/v1"},
            env={"PETSTORE_API_KEY": "load-test-key"},
            args=["--config", str(config)],
        ) as gateway,
    ):
        rss: list[float] = []
        for _ in range(ROUNDS):
            await _round(gateway.url("petstore"), ids, answers)
            rss.append(_rss_mib(gateway.process.pid))
        assert gateway.process.poll() is None  # still serving
        log = gateway.log_lines()

    issued = [n for n in range(1000, next(ids)) if n % 5 in LOAD_FAULTS]
    assert sorted(answers) == issued  # none lost
    wrong = {}
    for pet_id in issued:
        [(category, detail)] = answers[pet_id]  # exactly one answer
        if category not in EXPECTED[pet_id % 5] or (category == "ok" and detail != pet_id):
            wrong[pet_id] = (category, detail)
    assert wrong == {}, dict(itertools.islice(wrong.items(), 20))
    assert not [line for line in log if "Traceback" in line or '"internal_error"' in line][:5]
    assert rss[-1] - rss[0] < RSS_GROWTH_LIMIT_MIB, rss


async def test_a_body_cut_short_by_the_upstream_is_unavailable_not_an_internal_error() -> None:
    with (
        FaultyUpstream() as upstream,
        served(
            [PETSTORE], upstreams={"petstore": upstream.url + "/v1"}, env={"PETSTORE_API_KEY": "load-test-key"}
        ) as gateway,
    ):
        async with http_client(gateway.url("petstore")) as client:
            with anyio.fail_after(30):
                result = await client.call_tool("getPet", {"petId": 3})
    assert _outcome(result)[0] in EXPECTED[3]
