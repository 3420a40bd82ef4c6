"""TLS upstreams, end to end: `virtualize serve` over stdio, driven by the official client, calls
a real HTTPS server on 127.0.0.1 (Hypercorn) whose certificate comes from a private CA. The CA
is trusted only through the serve configuration's ``ca_file``; HTTP/2 is used when configured."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config
from mcp import types

from tests.support import manifests
from tests.support.mcp_client import stdio_client
from tests.support.prism import free_port
from virtualize.manifest.write import manifest_files, write_folder

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def https_upstream(folder: Path) -> AsyncIterator[tuple[str, list[str], trustme.CA]]:
    """An HTTPS server answering every request with JSON; yields its URL, the HTTP versions it
    saw, and the CA that signed its certificate."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append(scope["http_version"])
        body = json.dumps({"id": 7, "path": scope["path"]}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    config = Config()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(folder / "cert.pem"), str(folder / "key.pem")
    config.accesslog = config.errorlog = None
    stop = anyio.Event()
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
        await anyio.sleep(0.5)
        try:
            yield f"https://127.0.0.1:{port}/v1", seen, ca
        finally:
            stop.set()


def served_manifest(folder: Path) -> Path:
    manifest = manifests.manifest([manifests.tool("getPet", "Gets a pet.")], manifests.get("/pets/7", server=None))
    write_folder(folder / "pets", manifest_files(manifest))
    return folder / "pets"


async def call_through_gateway(folder: Path, url: str, ca: trustme.CA | None, *, http2: bool) -> types.CallToolResult:
    """``getPet`` through ``virtualize serve --stdio`` with a serve file that trusts ``ca`` (if any)."""
    lines = ["[defaults]", f"http2 = {str(http2).lower()}"]
    if ca is not None:
        ca.cert_pem.write_to_path(str(folder / "ca.pem"))
        lines.append('ca_file = "ca.pem"')  # relative to the configuration file
    config = folder / "serve.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with anyio.fail_after(60):
        async with stdio_client(
            [served_manifest(folder)], upstreams={"pets": url}, flags=["--config", str(config)]
        ) as client:
            return await client.call_tool("getPet", {})


@pytest.mark.parametrize(("http2", "version"), [(True, "2"), (False, "1.1")])
async def test_a_tls_upstream_signed_by_the_configured_ca_is_called_over_the_configured_http_version(
    tmp_path: Path, http2: bool, version: str
) -> None:
    async with https_upstream(tmp_path) as (url, seen, ca):
        result = await call_through_gateway(tmp_path, url, ca, http2=http2)
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == {"id": 7, "path": "/v1/pets/7"}  # type: ignore[union-attr]
    assert seen == [version]


@pytest.mark.parametrize("http2", [True, False])
async def test_a_tls_upstream_whose_ca_is_not_trusted_is_unavailable_and_never_answers(
    tmp_path: Path, http2: bool
) -> None:
    async with https_upstream(tmp_path) as (url, seen, _):
        result = await call_through_gateway(tmp_path, url, None, http2=http2)
    assert result.is_error
    assert result.meta is not None
    assert result.meta["dev.virtualize/error"]["category"] == "unavailable"
    assert seen == []
