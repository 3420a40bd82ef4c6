"""Instructions executed per tool call, counted by cachegrind: a figure this machine's noise cannot move.

    .venv/bin/python bench/instructions.py [--calls 500] [--servers gateway,sdk,hop]

Each server runs under ``valgrind --tool=cachegrind --cache-sim=no`` twice against the demo
petstore upstream: once answering 50 ``getPet`` calls, once 50 + CALLS (each after 20 warm-up
calls). The difference of the two totals over CALLS is what one call costs: start-up, warm-up
and shutdown cancel out. Servers:

- ``gateway``: ``virtualize serve generated/petstore``, as bench/serve.py measures it;
- ``sdk`` and ``hop``: the floors of bench/floor_servers.py (the ``mcp`` SDK's low-level server
  whose tool only makes the upstream GET, and a bare ASGI app that only makes it).

Use it to compare two versions of the gateway (the commit messages quote it) or the gateway
with its floors. It needs valgrind (``apt install valgrind``) and takes about a minute per server.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import anyio
from serve import KEY, LEAN_HEADERS, LEAN_PAYLOAD, REPO, _env, _free_port, _wait_http, process

BASE_CALLS = 50
WARM_UP = 20


async def _calls(url: str, count: int) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(count):
            async with http.post(url, data=LEAN_PAYLOAD, headers=LEAN_HEADERS) as response:
                answer = await response.json(content_type=None)
                if response.status != 200 or answer.get("result", {}).get("isError"):
                    raise SystemExit(f"call failed: {response.status} {str(answer)[:300]}")


def _command(server: str, upstream: str, port: int) -> tuple[list[str], str]:
    python = sys.executable
    if server == "gateway":
        serve = [python, "-m", "virtualize", "serve", str(REPO / "generated" / "petstore"), "--port", str(port)]
        return [*serve, f"--upstream=petstore={upstream}"], f"http://127.0.0.1:{port}/servers/petstore/mcp"
    floors = REPO / "bench" / "floor_servers.py"
    return [python, str(floors), server, upstream, KEY, str(port)], f"http://127.0.0.1:{port}/servers/petstore/mcp"


def total_instructions(server: str, upstream: str, calls: int, folder: Path) -> int:
    """Instructions the server executes from start to exit, having answered ``calls`` calls."""
    port = _free_port()
    command, url = _command(server, upstream, port)
    out = folder / f"{server}.{calls}.cachegrind"
    valgrind = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        f"--cachegrind-out-file={out}",
        "--log-file=/dev/null",
    ]
    proc = subprocess.Popen([*valgrind, *command], env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_calls(url, proc)
        anyio.run(_calls, url, WARM_UP)
        anyio.run(_calls, url, calls)
        proc.send_signal(signal.SIGINT)  # a clean exit, so that cachegrind writes its counts
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    found = re.search(r"^summary:\s+(\d+)", out.read_text(encoding="utf-8"), re.MULTILINE)
    if found is None:
        raise SystemExit(f"cachegrind wrote no summary for {server}")
    return int(found.group(1))


def _wait_for_calls(url: str, proc: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{' '.join(map(str, proc.args))} exited with {proc.returncode}")  # type: ignore[arg-type]
        try:
            anyio.run(_calls, url, 1)
            return
        except (OSError, aiohttp.ClientError):
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--servers", default="gateway,sdk,hop")
    options = parser.parse_args()
    port = _free_port()
    upstream = f"http://127.0.0.1:{port}/v1"
    lines = [f"instructions per getPet call (cachegrind, {options.calls} calls after {BASE_CALLS})"]
    with (
        process([sys.executable, "-m", "virtualize.demo.upstream", "--port", str(port), "--key", KEY]),
        tempfile.TemporaryDirectory(prefix="virtualize-bench-") as temporary,
    ):
        _wait_http(f"{upstream}/health")
        for server in options.servers.split(","):
            few = total_instructions(server, upstream, BASE_CALLS, Path(temporary))
            many = total_instructions(server, upstream, BASE_CALLS + options.calls, Path(temporary))
            lines.append(f"  {server:8s} {(many - few) / options.calls:12,.0f}")
            print(lines[-1], file=sys.stderr, flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
