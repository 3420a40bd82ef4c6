"""Gateway access: client keys, the servers each may use, and what never travels upstream."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mcp import MCPError

from tests.support.mcp_client import REPO, Gateway, environment, http_client, serve_command, served
from tests.support.petstore import API_KEY, KEY_VARIABLE, petstore_manifest, write_manifest
from tests.support.upstream import RecordingUpstream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

CI_KEY = "ci-client-key-0123456789"
ADMIN_KEY = "admin-client-key-9876543210"


@pytest.fixture(scope="module")
def upstream_server() -> Iterator[RecordingUpstream]:
    with RecordingUpstream() as server:
        server.reply("GET", "/v1/pets/1", json={"id": 1, "name": "One"})
        yield server


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("access") / "generated"
    write_manifest(petstore_manifest("petstore"), root / "petstore")
    write_manifest(petstore_manifest("zoo"), root / "zoo")
    return root


@pytest.fixture(scope="module")
def gateway(generated: Path, upstream_server: RecordingUpstream) -> Iterator[Gateway]:
    config = generated.parent / "serve.toml"
    admin_digest = hashlib.sha256(ADMIN_KEY.encode()).hexdigest()
    config.write_text(
        f'[[clients]]\nname = "ci"\nkey_env = "CI_CLIENT_KEY"\nservers = ["petstore"]\n\n'
        f'[[clients]]\nname = "admin"\nkey_sha256 = "{admin_digest}"\n',
        encoding="utf-8",
    )
    url = upstream_server.url + "/v1"
    with served(
        [generated],
        upstreams={"petstore": url, "zoo": url},
        env={KEY_VARIABLE: API_KEY, "CI_CLIENT_KEY": CI_KEY},
        args=["--config", str(config)],
    ) as running:
        yield running


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_request_without_a_client_key_gets_401(gateway: Gateway) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(gateway.url(), json={})
        wrong = await http.post(gateway.url("petstore"), json={}, headers=_bearer("guess"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_sees_only_the_tools_of_the_servers_it_may_use(gateway: Gateway, mode: str) -> None:
    async with http_client(gateway.url(), headers=_bearer(CI_KEY), mode=mode) as client:
        ci_names = [t.name for t in (await client.list_tools()).tools]
    async with http_client(gateway.url(), headers={"X-API-Key": ADMIN_KEY}, mode=mode) as client:
        admin_names = [t.name for t in (await client.list_tools()).tools]
    assert ci_names and all(name.startswith("petstore_") for name in ci_names)
    assert len(admin_names) == 2 * len(ci_names)


async def test_a_tool_of_a_server_the_client_may_not_use_is_refused_as_unknown(gateway: Gateway) -> None:
    async with http_client(gateway.url(), headers=_bearer(CI_KEY)) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("zoo_getPet", {"petId": 1})
    assert raised.value.code == -32602


async def test_the_endpoint_of_a_server_the_client_may_not_use_answers_403(gateway: Gateway) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(gateway.url("zoo"), json={}, headers=_bearer(CI_KEY))
    assert response.status_code == 403


async def test_the_client_key_is_never_forwarded_upstream(gateway: Gateway, upstream_server: RecordingUpstream) -> None:
    upstream_server.requests.clear()
    async with http_client(gateway.url("petstore"), headers=_bearer(CI_KEY)) as client:
        result = await client.call_tool("getPet", {"petId": 1})
    assert result.structured_content == {"id": 1, "name": "One"}
    [request] = upstream_server.requests
    assert "authorization" not in request.headers
    assert request.headers["x-api-key"] == API_KEY
    assert CI_KEY not in "\n".join(gateway.log_lines())


def test_serving_a_public_address_without_client_keys_is_refused(generated: Path) -> None:
    completed = subprocess.run(
        serve_command([generated], "--host", "0.0.0.0", "--port", "0"),
        capture_output=True,
        env=environment(),
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert b"refusing to serve on 0.0.0.0 without client credentials" in completed.stderr
    assert b"--allow-anonymous" in completed.stderr
