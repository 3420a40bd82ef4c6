"""gRPC end to end: build the every-type proto, `virtualize serve` it, call it with the official mcp client.

The upstream is a real grpc.aio server in this process on 127.0.0.1 (tests.support.grpc_upstream)
serving all four kinds of RPC, errors with google.rpc details, an API key in metadata, and
server reflection; the gateway is a real ``virtualize serve`` process over Streamable HTTP.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.support.grpc_upstream import (
    EVERY_TYPE_ECHO,
    EVERY_TYPE_PROTO,
    EVERY_TYPE_RECORD,
    GrpcUpstream,
    every_type_upstream,
)
from tests.support.mcp_client import http_client, served
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.manifest import read_manifest
from virtualize.runtime.outcomes import ERROR_META_KEY

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

API_KEY = "sesame"
SERVER = "everytype"
KEY_VARIABLE = "EVERYTYPE_API_KEY_X_API_KEY"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # grpc.aio runs on asyncio only


@pytest.fixture
async def upstream() -> AsyncIterator[GrpcUpstream]:
    async with every_type_upstream(api_key=API_KEY) as server:
        yield server


def error(result: Any) -> dict[str, Any]:
    """The normalized error envelope of a tool result (outcomes.ERROR_META_KEY)."""
    assert result.is_error
    return dict(result.meta[ERROR_META_KEY])


def build(upstream: GrpcUpstream, output: Path) -> Path:
    options = BuildOptions(name=SERVER, output=output, adapter={"target": upstream.address})
    compile_spec(EVERY_TYPE_PROTO, options).write(output)
    return output


async def test_every_kind_of_rpc_works_through_the_mcp_client(upstream: GrpcUpstream, tmp_path: Path) -> None:
    generated = build(upstream, tmp_path / "generated")
    with served([generated], env={KEY_VARIABLE: API_KEY}) as gateway:
        async with http_client(gateway.url(SERVER)) as client:
            with anyio.fail_after(30):
                tools = {tool.name: tool for tool in (await client.list_tools()).tools}
                got = await client.call_tool("EveryType_GetRecord", {"name": "records/1"})
                put = await client.call_tool("EveryType_PutRecord", EVERY_TYPE_RECORD)
                watched = await client.call_tool("EveryType_WatchRecords", {"name": "r"})
                uploaded = await client.call_tool("EveryType_UploadRecords", {"messages": [{"name": "a"}, {}]})
                synced = await client.call_tool("EveryType_SyncRecords", {"messages": [{"anInt32": 1}]})
                deleted = await client.call_tool("EveryType_DeleteRecord", {"name": "records/1"})

    assert sorted(tools) == [
        "EveryType_DeleteRecord",
        "EveryType_GetRecord",
        "EveryType_PutRecord",
        "EveryType_SyncRecords",
        "EveryType_UploadRecords",
        "EveryType_WatchRecords",
    ]
    assert tools["EveryType_GetRecord"].annotations is not None
    assert tools["EveryType_GetRecord"].annotations.read_only_hint is True
    assert not any(result.is_error for result in (got, put, watched, uploaded, synced, deleted))
    assert got.structured_content is not None
    assert got.structured_content["anInt64"] == "-4611686018427387904"
    assert got.structured_content["createTime"] == "2026-11-23T10:00:00.500Z"
    assert put.structured_content == EVERY_TYPE_ECHO  # every scalar and well-known type, both ways
    assert watched.structured_content is not None
    assert [m["name"] for m in watched.structured_content["messages"]] == [f"r/{i}" for i in range(5)]
    assert watched.structured_content["truncated"] is False
    assert uploaded.structured_content == {"result": "2"}
    assert synced.structured_content == {"messages": [{"anInt32": 1}], "truncated": False}
    assert deleted.structured_content == {}
    assert {m.get("x-api-key") for m in upstream.metadata} == {API_KEY}


async def test_upstream_errors_arrive_as_normalized_tool_errors(upstream: GrpcUpstream, tmp_path: Path) -> None:
    generated = build(upstream, tmp_path / "generated")
    with served([generated], env={KEY_VARIABLE: API_KEY}) as gateway:
        async with http_client(gateway.url(SERVER)) as client:
            with anyio.fail_after(30):
                invalid = await client.call_tool("EveryType_GetRecord", {"name": "records/invalid"})
                busy = await client.call_tool("EveryType_GetRecord", {"name": "records/busy"})
                missing = await client.call_tool("EveryType_GetRecord", {"name": "records/missing"})
                oneof = await client.call_tool("EveryType_PutRecord", {"userId": "a", "groupId": "1"})

    assert error(invalid) | {"message": ""} == {
        "category": "invalid_arguments",
        "message": "",
        "retryable": False,
        "status": "INVALID_ARGUMENT",
        "upstream_message": "bad read mask",
        "details": [{"path": "/readMask", "message": "unknown path"}],
        "tool": "EveryType_GetRecord",
    }
    assert (error(busy)["category"], error(busy)["retry_after"]) == ("rate_limited", 2.5)
    assert (error(missing)["category"], error(missing)["status"]) == ("not_found", "NOT_FOUND")
    assert error(oneof)["details"] == [{"path": "/", "message": "set at most one of userId, groupId (oneof owner)"}]


async def test_a_missing_api_key_is_refused_by_the_upstream(upstream: GrpcUpstream, tmp_path: Path) -> None:
    generated = build(upstream, tmp_path / "generated")
    with served([generated], env={KEY_VARIABLE: "wrong"}) as gateway:
        async with http_client(gateway.url(SERVER)) as client:
            with anyio.fail_after(30):
                result = await client.call_tool("EveryType_DeleteRecord", {"name": "records/1"})

    assert (error(result)["category"], error(result)["status"]) == ("unauthorized", "UNAUTHENTICATED")


async def test_the_configured_timeout_is_the_rpc_deadline(upstream: GrpcUpstream, tmp_path: Path) -> None:
    generated = build(upstream, tmp_path / "generated")
    serve_config = tmp_path / "serve.toml"
    serve_config.write_text("[defaults]\ntimeout = 0.5\n", encoding="utf-8")
    with served([generated], env={KEY_VARIABLE: API_KEY}, args=["--config", str(serve_config)]) as gateway:
        async with http_client(gateway.url(SERVER)) as client:
            with anyio.fail_after(30):
                result = await client.call_tool("EveryType_GetRecord", {"name": "records/slow"})
            await upstream.slow_cancelled.wait()  # the deadline ended the RPC upstream too

    assert error(result)["category"] == "timeout"


async def test_virtualize_build_reflect_serves_the_same_tools(upstream: GrpcUpstream, tmp_path: Path) -> None:
    output = tmp_path / "generated"
    command = [sys.executable, "-m", "virtualize", "build", "--reflect", upstream.address, "--name", SERVER]
    command += ["-o", str(output), "--auth", "metadata:x-api-key"]
    with anyio.fail_after(60):  # a process, so this event loop keeps serving the upstream meanwhile
        built = await anyio.run_process(command, cwd=tmp_path, check=False)
    from_proto = compile_spec(EVERY_TYPE_PROTO, BuildOptions(name=SERVER, adapter={"target": upstream.address}))
    with served([output], env={KEY_VARIABLE: API_KEY}) as gateway:
        async with http_client(gateway.url(SERVER)) as client:
            with anyio.fail_after(30):
                tools = (await client.list_tools()).tools
                got = await client.call_tool("EveryType_GetRecord", {"name": "records/1"})

    assert built.returncode == 0, built.stderr.decode()
    header = read_manifest(output / SERVER).manifest
    assert (header.source.path, header.source.format) == (f"grpc://{upstream.address}", "proto3")
    assert [tool.name for tool in tools] == [tool.name for tool in from_proto.manifest.tools]
    assert not got.is_error
    assert got.structured_content is not None
    assert got.structured_content["name"] == "records/1"
