"""`virtualize serve --stdio`, as a desktop client starts it: both protocol eras."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from tests.support.mcp_client import stdio_client
from tests.support.petstore import API_KEY, KEY_VARIABLE, petstore_manifest, write_manifest
from tests.support.upstream import RecordingUpstream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_stdio_client_lists_and_calls_the_single_server_under_its_own_names(
    petstore: Path, upstream: RecordingUpstream, mode: str
) -> None:
    upstream.reply("GET", "/v1/pets/3", json={"id": 3, "name": "Stdio"})
    async with stdio_client(
        [petstore / "petstore"], upstreams={"petstore": upstream.url + "/v1"}, env={KEY_VARIABLE: API_KEY}, mode=mode
    ) as client:
        with anyio.fail_after(30):
            listed = await client.list_tools()
            result = await client.call_tool("getPet", {"petId": 3})
        assert client.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert [t.name for t in listed.tools] == [t.name for t in petstore_manifest().tools]
    assert result.structured_content == {"id": 3, "name": "Stdio"}
    [request] = upstream.requests
    assert (request.path, request.headers["x-api-key"]) == ("/v1/pets/3", API_KEY)


async def test_stdio_with_several_servers_serves_the_aggregate(tmp_path: Path, upstream: RecordingUpstream) -> None:
    write_manifest(petstore_manifest("alpha"), tmp_path / "alpha")
    write_manifest(petstore_manifest("beta"), tmp_path / "beta")
    async with stdio_client([tmp_path / "alpha", tmp_path / "beta"]) as client:
        with anyio.fail_after(30):
            names = [t.name for t in (await client.list_tools()).tools]
    assert names[0] == "alpha_createPet"
    assert "beta_searchPets" in names
    assert len(names) == 12
