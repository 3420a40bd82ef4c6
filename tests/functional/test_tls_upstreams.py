"""TLS upstreams, end to end: `virtualize serve` over stdio, driven by the official client, calls
a real HTTPS server on 127.0.0.1 (Hypercorn) whose certificate comes from a private CA. The CA
is trusted only through the serve configuration's ``ca_file``, for the API and for its OAuth2
token endpoint alike; HTTP/2 is used when configured."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
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
from virtualize.manifest.model import AuthMap, AuthScheme, SecurityUse
from virtualize.manifest.write import manifest_files, write_folder
from virtualize.runtime.invokers import InvokerSettings
from virtualize.runtime.invokers.http_transport import Outgoing, upstream_pool

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
        if scope["path"] == "/token":
            body = json.dumps({"access_token": "tok-tls", "token_type": "Bearer", "expires_in": 3600}).encode()
        else:
            seen.append(scope["http_version"])
            authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
            # Whether the token arrived, not the token: the gateway takes a credential it sent out of
            # any answer that quotes it back.
            body = json.dumps({"id": 7, "path": scope["path"], "bearer": authorization == "Bearer tok-tls"}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    config = Config()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.certfile, config.keyfile = str(folder / "cert.pem"), str(folder / "key.pem")
    config.accesslog = config.errorlog = None
    # In a thread with its own loop: Hypercorn's connection teardown lets an SSLError escape
    # (APPLICATION_DATA_AFTER_CLOSE_NOTIFY, uncaught in hypercorn/asyncio/tcp_server.py `_close`)
    # when a client's TLS close crosses its own, and in the test's loop that fails the test.
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    server = threading.Thread(target=loop.run_until_complete, args=(serve(app, config, shutdown_trigger=stop.wait),))  # type: ignore[arg-type]
    server.start()
    try:
        for _ in range(200):
            if _listening(port):
                break
            await anyio.sleep(0.05)
        yield f"https://127.0.0.1:{port}/v1", seen, ca
    finally:
        loop.call_soon_threadsafe(stop.set)
        await anyio.to_thread.run_sync(server.join, 10)
        loop.close()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def served_manifest(folder: Path, token_url: str | None) -> Path:
    """``getPet``, authenticated by OAuth2 client credentials when a ``token_url`` is given."""
    tool = manifests.tool("getPet", "Gets a pet.")
    if token_url is None:
        manifest = manifests.manifest([tool], manifests.get("/pets/7", server=None))
    else:
        sources = {"client_id": "PETS_CLIENT_ID", "client_secret": "PETS_CLIENT_SECRET"}
        scheme = AuthScheme(kind="oauth2_client_credentials", token_url=token_url, sources=sources)
        binding = manifests.get("/pets/7", server=None, security=((SecurityUse(scheme="oauth"),),))
        manifest = manifests.manifest([tool], binding, auth=AuthMap(schemes={"oauth": scheme}))
    write_folder(folder / "pets", manifest_files(manifest))
    return folder / "pets"


async def call_through_gateway(
    folder: Path, url: str, ca: trustme.CA | None, *, http2: bool, token_url: str | None = None
) -> types.CallToolResult:
    """``getPet`` through ``virtualize serve --stdio`` with a serve file that trusts ``ca`` (if any)."""
    lines = ["[defaults]", f"http2 = {str(http2).lower()}"]
    if ca is not None:
        ca.cert_pem.write_to_path(str(folder / "ca.pem"))
        lines.append('ca_file = "ca.pem"')  # relative to the configuration file
    config = folder / "serve.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with anyio.fail_after(60):
        async with stdio_client(
            [served_manifest(folder, token_url)],
            upstreams={"pets": url},
            env={"PETS_CLIENT_ID": "app", "PETS_CLIENT_SECRET": "not-a-real-secret"},
            flags=["--config", str(config)],
        ) as client:
            return await client.call_tool("getPet", {})


@pytest.mark.parametrize(("http2", "version"), [(True, "2"), (False, "1.1")])
async def test_a_tls_upstream_signed_by_the_configured_ca_is_called_over_the_configured_http_version(
    tmp_path: Path, http2: bool, version: str
) -> None:
    async with https_upstream(tmp_path) as (url, seen, ca):
        result = await call_through_gateway(tmp_path, url, ca, http2=http2)
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text) == {"id": 7, "path": "/v1/pets/7", "bearer": False}  # type: ignore[union-attr]
    assert seen == [version]


async def test_an_oauth2_token_endpoint_signed_by_the_configured_ca_is_trusted_too(tmp_path: Path) -> None:
    async with https_upstream(tmp_path) as (url, seen, ca):
        result = await call_through_gateway(
            tmp_path, url, ca, http2=False, token_url=url.removesuffix("/v1") + "/token"
        )
    assert not result.is_error, result.content
    assert json.loads(result.content[0].text)["bearer"] is True  # type: ignore[union-attr]
    assert seen == ["1.1"]


@pytest.mark.parametrize("http2", [True, False])
async def test_a_tls_upstream_whose_ca_is_not_trusted_is_unavailable_and_never_answers(
    tmp_path: Path, http2: bool
) -> None:
    async with https_upstream(tmp_path) as (url, seen, _):
        result = await call_through_gateway(tmp_path, url, None, http2=http2)
    assert result.is_error
    assert result.meta is not None
    error = result.meta["dev.virtualize/error"]
    assert error["category"] == "unavailable"
    assert not error["retryable"] and "certificate is not trusted" in error["message"]  # was: may succeed if retried
    assert seen == []


async def test_http1_and_http2_pools_trusting_one_ca_file_each_keep_their_version(tmp_path: Path) -> None:
    # httpcore sets ALPN on the context it is given before each connection; a context shared with
    # aiohttp would then offer h2 on HTTP/1.1 connections, and the h2 upstream would take it.
    async with https_upstream(tmp_path) as (url, seen, ca):
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        for http2 in (True, False, True, False):
            pool = upstream_pool(InvokerSettings(ca_file=str(tmp_path / "ca.pem"), http2=http2))
            answer = await pool.send(Outgoing("GET", url + "/pets/7"))
            await answer.read(1_000_000)
            await answer.aclose()
            await pool.aclose()
    assert seen == ["2", "1.1", "2", "1.1"]
