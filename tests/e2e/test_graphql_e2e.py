"""GraphQL end to end: introspect a real GraphQL server (graphql-core behind Starlette on
127.0.0.1) with a header, build the manifest with the CLI, run `virtualize serve`, and call the
tools through the official mcp client; each test asserts what the agent got and what the
GraphQL server received."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import types
from typer.testing import CliRunner

from tests.support.graphql_upstream import Received, Upstream, library_root, library_schema, serve_graphql
from tests.support.mcp_client import Gateway, http_client, served
from virtualize.cli import app

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

TOKEN = "e2e-token-5f1c"


@dataclass
class Setup:
    upstream: Upstream
    gateway: Gateway
    folder: Path

    def since(self, start: int) -> list[Received]:
        return self.upstream.received[start:]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("graphql-e2e")
    runner = CliRunner()
    with serve_graphql(library_schema(), library_root(), require_headers={"authorization": f"Bearer {TOKEN}"}) as up:
        schema = root / "library.json"
        introspected = runner.invoke(
            app, ["introspect", up.url, "-o", str(schema), "--header", f"Authorization: Bearer {TOKEN}"]
        )
        assert introspected.exit_code == 0, introspected.output
        built = runner.invoke(
            app,
            [
                *("build", str(schema), "-o", str(root / "generated"), "--name", "library"),
                *("--endpoint", up.url, "--mutations", "--auth", "bearer"),
            ],
        )
        assert built.exit_code == 0, built.output
        folder = root / "generated" / "library"
        with served([folder], env={"LIBRARY_BEARER_TOKEN": TOKEN}) as gateway:
            yield Setup(up, gateway, folder)


def error_of(result: types.CallToolResult) -> dict[str, Any]:
    """The normalized error envelope (in ``_meta``: these tools declare an outputSchema)."""
    assert result.is_error
    assert result.meta is not None
    error: dict[str, Any] = result.meta["dev.virtualize/error"]
    return error


async def _call(setup: Setup, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
    async with http_client(setup.gateway.url("library")) as client:
        with anyio.fail_after(20):
            return await client.call_tool(tool, arguments)


def test_introspection_at_build_time_sent_the_header_and_the_manifest_keeps_no_secret(setup: Setup) -> None:
    introspection = setup.upstream.received[0]
    assert introspection.body["operationName"] == "IntrospectionQuery"
    assert introspection.headers["authorization"] == f"Bearer {TOKEN}"
    for path in setup.folder.iterdir():
        assert TOKEN not in path.read_text(encoding="utf-8")
    auth = json.loads((setup.folder / "auth.json").read_text(encoding="utf-8"))
    assert auth["schemes"]["bearer"]["sources"] == {"token": "LIBRARY_BEARER_TOKEN"}


async def test_the_tool_list_has_one_tool_per_query_field_and_enabled_mutation_and_no_subscription(
    setup: Setup,
) -> None:
    async with http_client(setup.gateway.url("library")) as client:
        with anyio.fail_after(20):
            listed = await client.list_tools()
    tools = {tool.name: tool for tool in listed.tools}

    assert sorted(tools) == ["addBook", "authors", "book", "books", "deleteBook", "echo", "node", "now", "search"]
    assert tools["deleteBook"].annotations is not None
    assert tools["deleteBook"].annotations.destructive_hint is True
    assert tools["book"].annotations is not None
    assert tools["book"].annotations.read_only_hint is True
    key = tools["book"].input_schema["$defs"]["BookKey"]
    assert (key["minProperties"], key["maxProperties"], key["additionalProperties"]) == (1, 1, False)
    assert tools["echo"].input_schema["required"] == ["ids"]
    assert tools["search"].output_schema is not None
    assert "__typename" in json.dumps(tools["search"].output_schema)


async def test_variables_of_every_kind_reach_the_server_coerced_and_absent_ones_are_not_sent(setup: Setup) -> None:
    start = len(setup.upstream.received)

    result = await _call(setup, "echo", {"ids": 7, "count": 3.0, "binding": None, "when": "2026-01-02T03:04:05Z"})

    assert not result.is_error, result.content
    [received] = setup.since(start)
    assert received.variables == {"ids": ["7"], "count": 3, "binding": None, "when": "2026-01-02T03:04:05Z"}
    assert type(received.variables["count"]) is int  # 3.0 went out as 3: strict servers refuse 3.0 for an Int
    assert received.headers["authorization"] == f"Bearer {TOKEN}"
    assert result.structured_content is not None
    assert json.loads(result.structured_content["echo"]) == {
        "binding": None,
        "count": 3,
        "ids": ["7"],
        "note": "none",  # the argument's default, applied by the server since nothing was sent
        "when": "2026-01-02T03:04:05Z",
    }


async def test_input_objects_recursive_inputs_and_oneof_inputs_round_trip(setup: Setup) -> None:
    start = len(setup.upstream.received)

    by_key = await _call(setup, "book", {"key": {"id": 11.0}})  # 11.0: a number with a zero fraction, nested
    listed = await _call(setup, "books", {"filter": {"title": "dis", "and": {"bindings": "PAPERBACK"}}, "first": 1})

    assert by_key.structured_content is not None
    assert by_key.structured_content["book"]["title"] == "Solaris"
    assert listed.structured_content is not None
    assert listed.structured_content["books"]["edges"][0]["node"]["title"] == "The Dispossessed"
    assert listed.structured_content["books"]["pageInfo"] == {"hasNextPage": False, "endCursor": "10"}
    first, second = setup.since(start)
    assert first.variables == {"key": {"id": 11}}  # nested ID: GraphQL input coercion reads it on the server
    assert type(first.variables["key"]["id"]) is int
    assert second.variables == {"filter": {"title": "dis", "and": {"bindings": "PAPERBACK"}}, "first": 1}


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("book", {"key": {"id": "1", "isbn": "x"}}),  # @oneOf: exactly one key
        ("book", {"key": {"id": None}}),  # @oneOf: and not null
        ("echo", {"ids": ["1"], "count": 2**31}),  # Int is 32-bit
        ("echo", {"ids": ["1"], "binding": "SCROLL"}),  # deprecated enum values are not offered
        ("books", {"filter": {"titel": "typo"}}),  # input objects are closed
    ],
)
async def test_arguments_graphql_would_reject_are_refused_before_the_server(
    setup: Setup, tool: str, arguments: dict[str, Any]
) -> None:
    start = len(setup.upstream.received)

    result = await _call(setup, tool, arguments)

    assert error_of(result)["category"] == "invalid_arguments"
    assert setup.since(start) == []


async def test_a_mutation_changes_the_server_and_its_errors_are_mapped(setup: Setup) -> None:
    start = len(setup.upstream.received)

    added = await _call(setup, "addBook", {"input": {"title": "Eden", "authorId": 2, "tags": "sf"}})
    refused = await _call(setup, "addBook", {"input": {"title": "Ghost", "authorId": "99"}})
    assert not added.is_error, added.content
    assert added.structured_content is not None
    new_id = added.structured_content["addBook"]["id"]
    deleted = await _call(setup, "deleteBook", {"id": new_id})
    missing = await _call(setup, "deleteBook", {"id": new_id})

    assert added.structured_content["addBook"]["binding"] == "PAPERBACK"
    received = setup.since(start)
    assert received[0].body["query"].startswith("mutation addBook(")
    assert received[0].variables == {"input": {"title": "Eden", "authorId": 2, "tags": "sf"}}
    error = error_of(refused)
    assert (error["category"], error["status"]) == ("invalid_arguments", "BAD_USER_INPUT")
    assert error["details"] == [
        {"message": "no such author", "path": "/addBook", "code": "BAD_USER_INPUT", "extensions": {"field": "authorId"}}
    ]
    assert deleted.structured_content == {"deleteBook": True}
    assert error_of(missing)["category"] == "not_found"


async def test_partial_data_of_a_query_comes_back_with_the_errors_and_their_paths(setup: Setup) -> None:
    result = await _call(setup, "search", {"text": "unknown author"})

    assert not result.is_error
    assert result.structured_content is not None
    assert result.structured_content["search"][0]["title"] == "Unknown Author"
    assert result.structured_content["search"][0]["author"] is None
    assert result.meta is not None
    assert result.meta["dev.virtualize/partial"] is True
    assert result.meta["dev.virtualize/errors"] == [
        {"message": "author not found", "path": "/search/0/author", "code": "NOT_FOUND"}
    ]
    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    assert any("/search/0/author" in text for text in texts)


async def test_unions_and_interfaces_come_back_with_their_typename(setup: Setup) -> None:
    found = await _call(setup, "search", {"text": "magazine"})
    node = await _call(setup, "node", {"id": 2})

    assert found.structured_content == {"search": [{"__typename": "Magazine", "issue": 7, "title": "Locus"}]}
    assert node.structured_content is not None
    assert node.structured_content["node"]["__typename"] == "Author"
    assert node.structured_content["node"]["name"] == "Stanisław Lem"
