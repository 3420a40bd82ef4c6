"""``./run demo``: build the example specs, serve them against the demo upstream, call a tool.

What it does, printing each step:

1. ``virtualize build`` (reads ./virtualize.toml: specs/ -> generated/);
2. starts the demo petstore upstream (``virtualize.demo.upstream``) on 127.0.0.1, on a free port;
3. starts ``virtualize serve generated/`` on 127.0.0.1, with every petstore manifest pointed at that
   upstream and the demo key in ``PETSTORE_API_KEY``;
4. connects the official MCP client to ``/servers/petstore/mcp``, lists the tools, and calls
   ``listPets`` then ``createPet`` and ``getPet``.

``--serve`` keeps the gateway running afterwards (Ctrl-C stops it) for your own MCP client.
Exit status 0 when every step worked.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import uvicorn
from mcp import Client

from virtualize.demo.upstream import DEMO_KEY, create_app
from virtualize.runtime.credentials import process_environment

PETSTORES = ("petstore", "petstore-3-1", "petstore-split", "petstore-swagger2")
START_TIMEOUT = 60.0


def _step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP: asyncio sets NODELAY
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextlib.contextmanager
def demo_upstream() -> Iterator[str]:
    """The petstore upstream in a thread of this process; yields its base URL."""
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(create_app(DEMO_KEY), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def gateway(generated: Path, upstream: str, port: int) -> Iterator[str]:
    """``virtualize serve`` as its own process; yields its base URL once it announces it serves."""
    names = [name for name in PETSTORES if (generated / name).is_dir()]
    command = [sys.executable, "-m", "virtualize", "serve", str(generated), "--port", str(port)]
    command += [f"--upstream={name}={upstream}" for name in names]
    env = {**process_environment(), "PETSTORE_API_KEY": DEMO_KEY, "PETSTORE_SPLIT_API_KEY": DEMO_KEY}
    print("PETSTORE_API_KEY=*** " + " ".join(command[1:]).replace(sys.executable, "python"), flush=True)
    process = subprocess.Popen(command, stderr=subprocess.PIPE, env=env, text=True)
    found: list[str] = []
    announced = threading.Event()

    def relay() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            sys.stderr.write("    [serve] " + line)
            if " on http://" in line and not found:
                found.append(line.split(" on ", 1)[1].split("/mcp", 1)[0])
                announced.set()
        announced.set()

    threading.Thread(target=relay, daemon=True).start()
    try:
        announced.wait(START_TIMEOUT)
        if not found:
            raise SystemExit("virtualize serve did not start (its output is above)")
        yield found[0]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def exercise(url: str) -> None:
    async with Client(url) as client:
        print(f"connected with protocol {client.protocol_version}")
        tools = (await client.list_tools()).tools
        print(f"tools/list: {len(tools)} tools: {', '.join(t.name for t in tools)}")
        for name, arguments in (
            ("listPets", {"limit": 2, "status": "available"}),
            ("createPet", {"name": "Demo", "tag": "robot", "status": "available"}),
        ):
            result = await client.call_tool(name, arguments)
            print(f"tools/call {name} {json.dumps(arguments)}\n  -> isError={result.is_error}")
            print("     " + result.content[0].text[:300] if result.content else "")  # type: ignore[union-attr]
            if result.is_error:
                raise SystemExit(f"{name} failed")
        created = result.structured_content or {}
        fetched = await client.call_tool("getPet", {"petId": created.get("id", 1)})
        print(f"tools/call getPet {{'petId': {created.get('id', 1)}}}\n  -> {fetched.structured_content}")
        if fetched.is_error:
            raise SystemExit("getPet failed")


def main() -> None:
    parser = argparse.ArgumentParser(prog="./run demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help="keep serving after the demo call")
    parser.add_argument("--port", type=int, default=0, help="gateway port (default: a free one)")
    options = parser.parse_args()
    # A terminated demo still stops the gateway it started (the context managers' cleanup runs).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    _step("virtualize build   (specs/ -> generated/, as ./virtualize.toml lists)")
    built = subprocess.run([sys.executable, "-m", "virtualize", "build"], check=False)
    if built.returncode != 0:
        raise SystemExit(built.returncode)
    generated = Path("generated")

    _step("demo upstream      (the petstore API, in memory)")
    with demo_upstream() as upstream:
        print(f"listening on {upstream}")
        _step("virtualize serve   (every manifest in generated/)")
        with gateway(generated, upstream, options.port) as base:
            url = f"{base}/servers/petstore/mcp"
            _step(f"official MCP client -> {url}")
            anyio.run(exercise, url)
            _step("the demo call succeeded")
            if options.serve:
                print(f"serving: {base}/mcp (all servers) and {base}/servers/<name>/mcp; Ctrl-C stops")
                with contextlib.suppress(KeyboardInterrupt):
                    threading.Event().wait()


if __name__ == "__main__":
    main()
