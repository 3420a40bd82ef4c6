"""Benchmark of `virtualize serve`, reported in one run.

    .venv/bin/python bench/serve.py [--calls 2000] [--seconds 3] [--rounds 5] [--no-fastmcp] [--latency-only]

Measures, against the demo petstore upstream (``virtualize.demo.upstream``, its own process):

- per-call latency p50/p99 of ``getPet`` through the gateway (a raw 2026-07-28 ``tools/call`` POST,
  no MCP client library) against a direct GET of the same upstream URL, once with httpx and once
  with aiohttp: the difference of the medians is what the gateway adds, and the aiohttp column
  counts the least of the client's own cost in it; the gateway process's CPU time per call is
  what the gateway itself spends;
- the same latency for two floor servers that only make the upstream GET (``bench/floor_servers.py``):
  a bare ASGI app (one more HTTP hop) and the ``mcp`` SDK's low-level server (the least a server
  built on the SDK adds);
- calls per second with 1, 8 and 32 concurrent clients (aiohttp on uvloop), through the gateway and
  through FastMCP's OpenAPI server on the same spec and upstream (run from ``.venv-bench``, created
  with fastmcp on first use by ``bench/fastmcp_env.py``; never in .venv), and their ratio;
- cold start (process start to the first tools/list answer) and resident memory after loading the
  largest compiled corpus spec (Stripe, 468 tools, compiled to a temporary folder first), also as
  memory per tool above the petstore gateway's.

Every server runs for the whole measurement, and the calls and seconds are split into rounds
that take turns (direct, gateway, floors; virtualize and FastMCP, alternating who goes first):
this machine's noise comes in bursts of seconds, and taking turns lets every side meet the same
bursts instead of one side meeting a burst alone. Numbers are from one machine at one moment:
compare the ratios, not the absolutes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Any

import aiohttp
import anyio
import httpx
from fastmcp_env import bench_python

REPO = Path(__file__).resolve().parents[1]
STRIPE = REPO.parent / "shared" / "corpus" / "openapi" / "huge" / "stripe" / "spec3.yaml"
KEY = "bench-key"
MODERN = "2026-07-28"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


@contextmanager
def process(
    command: list[str], env: dict[str, str] | None = None, stderr: IO[str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    """``command`` running while in the block; its stderr is a pipe unless ``stderr`` is given."""
    target = subprocess.PIPE if stderr is None else stderr
    proc = subprocess.Popen(command, stderr=target, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


ANNOUNCED = re.compile(r"on (http://[^\s/]+)/mcp")


def _announced(proc: subprocess.Popen[str], timeout: float = 120.0) -> str:
    """The base URL ``virtualize serve`` announces; stderr keeps being drained."""
    found: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            match = ANNOUNCED.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    ready.wait(timeout)
    if not found:
        raise SystemExit("virtualize serve did not start")
    return found[0]


def _announced_in(log: Path, proc: subprocess.Popen[str], timeout: float = 120.0) -> str:
    """The base URL ``virtualize serve`` announces in its log file.

    The measured gateway logs to a file, not to a pipe this process drains: a draining thread
    here would wake for every call's log line and take the GIL from the client while it times
    calls (a log collector in production is another process)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        match = ANNOUNCED.search(log.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
        time.sleep(0.05)
    raise SystemExit(f"virtualize serve did not start: {log.read_text(encoding='utf-8')[-2000:]}")


def _env() -> dict[str, str]:
    from virtualize.runtime.credentials import process_environment  # noqa: PLC0415 -- the one door to the environment

    return {**process_environment(), "PETSTORE_API_KEY": KEY}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``): noise-proof, unlike latency."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- raw MCP over HTTP (2026-07-28: no handshake, one POST per call) --------------------------------


def _call_request(tool: str, arguments: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
    }
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": tool,
            "arguments": arguments,
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientCapabilities": {},
            },
        },
    }
    return headers, body


# The aiohttp side (latency's second column, and all throughput load): one request, built once.
LEAN_HEADERS = {**_call_request("getPet", {"petId": 1})[0], "Content-Type": "application/json"}
LEAN_PAYLOAD = json.dumps(_call_request("getPet", {"petId": 1})[1]).encode()
UVLOOP = {"use_uvloop": True}


def _list_request(cursor: str | None) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/list",
    }
    params: dict[str, Any] = {
        "_meta": {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
    }
    if cursor:
        params["cursor"] = cursor
    return headers, {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": params}


async def _mcp_call(http: httpx.AsyncClient, url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
    response = await http.post(url, json=body, headers=headers)
    data = response.json()
    if response.status_code != 200 or data.get("result", {}).get("isError"):
        raise SystemExit(f"call failed: {response.status_code} {response.text[:300]}")


async def latencies(url: str, calls: int, *, direct: bool) -> list[float]:
    """Sequential calls with httpx (the issue's yardstick: a direct httpx call)."""
    headers, body = _call_request("getPet", {"petId": 1})
    samples = []
    async with httpx.AsyncClient(timeout=30.0) as http:
        for i in range(calls + calls // 10):
            started = time.perf_counter()
            if direct:
                response = await http.get(url, headers={"X-API-Key": KEY})
                response.raise_for_status()
                response.json()
            else:
                await _mcp_call(http, url, headers, body)
            if i >= calls // 10:  # the first tenth warms pools and caches
                samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _lean_mcp_call(http: aiohttp.ClientSession, url: str) -> None:
    async with http.post(url, data=LEAN_PAYLOAD, headers=LEAN_HEADERS) as response:
        data = await response.json(content_type=None)
        if response.status != 200 or data.get("result", {}).get("isError"):
            raise SystemExit(f"call failed: {response.status} {str(data)[:300]}")


async def lean_latencies(url: str, calls: int, *, direct: bool) -> list[float]:
    """The same calls from aiohttp, whose own CPU per call is a fifth of httpx's. Both clients spend
    more on an MCP call (a JSON body each way) than on a bare GET, and that time lands in the
    difference although the gateway does not spend it: measured, 0.7-0.8 ms for httpx, 0.3 ms for
    aiohttp."""
    samples = []
    async with aiohttp.ClientSession() as http:
        for i in range(calls + calls // 10):
            started = time.perf_counter()
            if direct:
                async with http.get(url, headers={"X-API-Key": KEY}) as response:
                    response.raise_for_status()
                    await response.json()
            else:
                await _lean_mcp_call(http, url)
            if i >= calls // 10:
                samples.append((time.perf_counter() - started) * 1000)
    return samples


async def _window(http: aiohttp.ClientSession, url: str, clients: int, seconds: float) -> tuple[int, float]:
    """Calls answered, and the seconds taken, by ``clients`` concurrent callers for ``seconds``."""
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await _lean_mcp_call(http, url)
            done += 1

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(clients):
            group.start_soon(worker)
    return done, time.perf_counter() - started


async def rates(urls: dict[str, str], clients: int, seconds: float, rounds: int) -> dict[str, float]:
    """Calls per second of each server from ``clients`` concurrent callers, each waiting for its
    answer, over ``seconds`` split into ``rounds`` windows that alternate between the servers.

    The load comes from aiohttp, not httpx: on this kind of machine httpx spends 2-6 ms of CPU per
    call itself and, sharing two cores with the servers, it capped the faster server's figure."""
    done = dict.fromkeys(urls, 0)
    spent = dict.fromkeys(urls, 0.0)
    sessions = {name: aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) for name in urls}
    try:
        for name, url in urls.items():  # open every connection before counting
            await _window(sessions[name], url, clients, 0.2)
        for index in range(rounds):
            order = list(urls) if index % 2 == 0 else list(reversed(urls))
            for name in order:
                calls, elapsed = await _window(sessions[name], urls[name], clients, seconds / rounds)
                done[name] += calls
                spent[name] += elapsed
    finally:
        for session in sessions.values():
            await session.close()
    return {name: done[name] / spent[name] for name in urls}


async def first_list(url: str) -> tuple[float, int, int]:
    """(when the first page arrived, on ``time.perf_counter``; pages; tools) of a full tools/list walk."""
    first = 0.0
    pages = tools = 0
    cursor = None
    async with httpx.AsyncClient(timeout=60.0) as http:
        while True:
            headers, body = _list_request(cursor)
            response = await http.post(url, json=body, headers=headers)
            result = response.json()["result"]
            if not pages:
                first = time.perf_counter()
            pages += 1
            tools += len(result["tools"])
            cursor = result.get("nextCursor")
            if not cursor:
                return first, pages, tools


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


FLOORS = {"hop": "one more HTTP hop (bare ASGI app)", "sdk": "the MCP SDK's low-level server"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument(
        "--rounds", type=int, default=5, help="interleaved rounds that calls and seconds are split into"
    )
    parser.add_argument("--no-fastmcp", action="store_true")
    parser.add_argument("--latency-only", action="store_true", help="skip throughput and cold start")
    options = parser.parse_args()
    python = sys.executable
    upstream_port = _free_port()
    upstream = f"http://127.0.0.1:{upstream_port}/v1"
    rounds = max(1, options.rounds)
    with contextlib.ExitStack() as running:
        running.enter_context(
            process([python, "-m", "virtualize.demo.upstream", "--port", str(upstream_port), "--key", KEY])
        )
        _wait_http(f"{upstream}/health")
        serve = [python, "-m", "virtualize", "serve", str(REPO / "generated" / "petstore"), "--port", "0"]
        log = Path(running.enter_context(tempfile.TemporaryDirectory(prefix="virtualize-bench-"))) / "gateway.log"
        log_file = running.enter_context(log.open("w", encoding="utf-8"))
        gateway = running.enter_context(
            process([*serve, f"--upstream=petstore={upstream}"], env=_env(), stderr=log_file)
        )
        url = f"{_announced_in(log, gateway)}/servers/petstore/mcp"
        floors = {kind: running.enter_context(floor_server(python, kind, upstream)) for kind in FLOORS}
        servers = {"gateway": (url, gateway.pid), **floors}
        report = latency_report(f"{upstream}/pets/1", servers, log, max(1, options.calls // rounds), rounds)
        if options.latency_only:
            print("\n".join(report))
            return
        fastmcp = None if options.no_fastmcp else _fastmcp_python()
        urls = {"virtualize": url}
        if fastmcp is not None:
            port = _free_port()
            spec = str(REPO / "specs" / "petstore.yaml")
            command = [str(fastmcp), str(REPO / "bench" / "fastmcp_petstore.py"), spec, upstream, str(port), KEY]
            running.enter_context(process(command))
            urls["FastMCP"] = f"http://127.0.0.1:{port}/mcp"
            _wait_http(urls["FastMCP"])
        report.extend(throughput_report(urls, options.seconds, rounds))
        if fastmcp is None:
            why = "--no-fastmcp" if options.no_fastmcp else "installing it into .venv-bench failed (see above)"
            report.append(f"  (FastMCP not measured: {why})")
        baseline = (_rss_mib(gateway.pid), _tools_announced(log))
        report.append(f"gateway RSS with petstore loaded: {baseline[0]:.1f} MiB")
    report.extend(cold_start(python, baseline))
    print("\n".join(report))


def latency_report(
    direct_url: str, servers: dict[str, tuple[str, int]], log: Path, calls: int, rounds: int
) -> list[str]:
    """Sequential latency of the direct GET, the gateway and the floors, measured in ``rounds``
    interleaved rounds of ``calls`` each, so that all of them see the same moments of a noisy
    machine; the CPU per call of each server is its CPU time over the aiohttp calls it answered."""
    httpx_direct: list[float] = []
    httpx_gateway: list[float] = []
    lean: dict[str, list[float]] = {"direct": [], **{name: [] for name in servers}}
    cpu = dict.fromkeys(servers, 0.0)
    gateway_url = servers["gateway"][0]
    for _ in range(rounds):
        httpx_direct += anyio.run(lambda: latencies(direct_url, calls, direct=True))
        httpx_gateway += anyio.run(lambda: latencies(gateway_url, calls, direct=False))
        lean["direct"] += anyio.run(lambda: lean_latencies(direct_url, calls, direct=True), backend_options=UVLOOP)
        for name, (url, pid) in servers.items():
            before = _cpu_seconds(pid)
            lean[name] += anyio.run(partial(lean_latencies, url, calls, direct=False), backend_options=UVLOOP)
            cpu[name] += _cpu_seconds(pid) - before
    per_call = {name: seconds * 1000 / (rounds * (calls + calls // 10)) for name, seconds in cpu.items()}
    direct_p50 = statistics.median(lean["direct"])
    report = [f"latency (ms, {calls * rounds} sequential calls of getPet in {rounds} interleaved rounds)"]
    report.append("                        httpx client          aiohttp client")
    rows = (("direct GET", httpx_direct, lean["direct"]), ("through the gateway", httpx_gateway, lean["gateway"]))
    for label, left, right in rows:
        report.append(
            f"  {label:20s}  p50 {statistics.median(left):6.3f} p99 {_pct(left, 0.99):6.3f}"
            f"  p50 {statistics.median(right):6.3f} p99 {_pct(right, 0.99):6.3f}"
        )
    added = statistics.median(httpx_gateway) - statistics.median(httpx_direct)
    lean_added = statistics.median(lean["gateway"]) - direct_p50
    report.append(f"  added by the gateway  p50 {added:6.3f}             p50 {lean_added:6.3f}")
    lines = log.read_text(encoding="utf-8").splitlines()
    handler = [json.loads(line)["latency_ms"] for line in lines if '"tool_call"' in line]
    report.append(f"  inside virtualize's call handler  p50 {statistics.median(handler):7.3f}")
    report.append("    (validation, credentials, invoker with the upstream round trip, result; the rest of a")
    report.append("     call is the MCP SDK's request handling, HTTP and the client)")
    report.append(f"  gateway CPU per call (ms, user+system, aiohttp calls)  {per_call['gateway']:7.3f}")
    report.append("floors: servers that only make the same upstream GET (aiohttp client)")
    for kind, label in FLOORS.items():
        p50 = statistics.median(lean[kind])
        report.append(
            f"  {label:34s}  p50 {p50:6.3f}  added {p50 - direct_p50:6.3f}  CPU per call {per_call[kind]:6.3f}"
        )
    return report


def throughput_report(urls: dict[str, str], seconds: float, rounds: int) -> list[str]:
    report = [f"throughput (calls/s over {seconds:g} s each, in {rounds} alternating windows)"]
    for clients in (1, 8, 32):
        rate = anyio.run(rates, urls, clients, seconds, rounds, backend_options=UVLOOP)
        line = f"  {clients:2d} clients: virtualize {rate['virtualize']:8.1f}"
        if "FastMCP" in rate:
            line += f"  FastMCP {rate['FastMCP']:8.1f}  ratio {rate['virtualize'] / rate['FastMCP']:5.2f}x"
        report.append(line)
    return report


def _fastmcp_python() -> Path | None:
    try:
        return bench_python()
    except subprocess.CalledProcessError:
        return None


@contextmanager
def floor_server(python: str, kind: str, upstream: str) -> Iterator[tuple[str, int]]:
    """A floor server (bench/floor_servers.py) while in the block: its URL and process id."""
    command = [python, str(REPO / "bench" / "floor_servers.py"), kind, upstream, KEY]
    with process(command) as server:
        assert server.stderr is not None
        url = server.stderr.readline().strip()  # printed once listening: calls wait in the backlog
        threading.Thread(target=server.stderr.read, daemon=True).start()  # a full pipe would stall it
        yield url, server.pid


def _tools_announced(log: Path) -> int:
    lines = log.read_text(encoding="utf-8").splitlines()
    return next(int(m.group(1)) for line in lines if (m := re.search(r"(\d+) tool\(s\)", line)))


def cold_start(python: str, baseline: tuple[float, int]) -> list[str]:
    """Start-up on Stripe; memory per tool is the RSS above the petstore gateway's, per extra tool."""
    if not STRIPE.is_file():
        return ["cold start: the corpus (../shared/corpus) is missing"]
    folder = Path(tempfile.mkdtemp(prefix="virtualize-bench-"))
    try:
        subprocess.run(
            [python, "-m", "virtualize", "build", str(STRIPE), "-o", str(folder), "--name", "stripe"],
            check=True,
            capture_output=True,
        )
        started = time.perf_counter()
        with process([python, "-m", "virtualize", "serve", str(folder / "stripe"), "--port", "0"], env=_env()) as proc:
            base = _announced(proc)
            first_at, pages, tools = anyio.run(first_list, f"{base}/mcp")
            walked = time.perf_counter()
            rss = _rss_mib(proc.pid)
        return [
            "cold start on the largest corpus spec (Stripe)",
            f"  process start to first tools/list page: {first_at - started:.2f} s; "
            f"to the whole list: {walked - started:.2f} s ({tools} tools over {pages} pages under 1 MiB each)",
            f"  resident memory after loading and listing: {rss:.1f} MiB "
            f"(about {(rss - baseline[0]) * 1024 / (tools - baseline[1]):.0f} KiB per tool above the petstore gateway)",
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
