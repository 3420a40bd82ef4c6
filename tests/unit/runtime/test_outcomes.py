"""Every outcome becomes one CallToolResult; the official client accepts each of them."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest
from mcp import Client, types
from mcp.server import Server, ServerRequestContext

from virtualize.runtime.outcomes import (
    ERROR_META_KEY,
    BinaryValue,
    EmptyValue,
    Failure,
    JsonValue,
    Outcome,
    OutputCheck,
    ResultShape,
    TextValue,
    to_result,
)

pytestmark = pytest.mark.anyio
PLAIN = ResultShape(tool="getPet")
TYPED = ResultShape(tool="getPet", has_output_schema=True)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def dumped(result: types.CallToolResult) -> dict[str, Any]:
    return result.model_dump(by_alias=True, exclude_none=True, mode="json")


def test_a_json_object_is_structured_content_plus_a_text_copy() -> None:
    result = to_result(JsonValue({"id": 1, "name": "Rex"}, status=200), TYPED)
    assert dumped(result) == {
        "content": [{"type": "text", "text": '{"id":1,"name":"Rex"}'}],
        "structuredContent": {"id": 1, "name": "Rex"},
        "isError": False,
        "resultType": "complete",
    }


def test_a_wrapped_result_goes_under_result() -> None:
    shape = ResultShape(tool="listPets", has_output_schema=True, wraps_result=True)
    assert to_result(JsonValue([{"id": 1}]), shape).structured_content == {"result": [{"id": 1}]}


def test_a_tool_without_output_schema_gets_text_only() -> None:
    result = to_result(JsonValue([1, 2]), PLAIN)
    assert result.structured_content is None
    assert result.content == [types.TextContent(type="text", text="[1,2]")]


def test_text_is_text_and_an_empty_answer_is_a_clear_success() -> None:
    assert to_result(TextValue("hello"), PLAIN).content == [types.TextContent(type="text", text="hello")]
    empty = to_result(EmptyValue(204), TYPED)
    assert empty.structured_content == {}
    assert empty.content == [
        types.TextContent(type="text", text="getPet succeeded (status 204); the upstream returned no content.")
    ]


def test_images_are_image_content_and_other_binary_an_embedded_blob() -> None:
    image = to_result(BinaryValue(b"\x89PNG", "image/png"), PLAIN)
    assert image.content == [
        types.ImageContent(type="image", data=base64.b64encode(b"\x89PNG").decode(), mime_type="image/png")
    ]
    pdf = to_result(BinaryValue(b"%PDF", "application/pdf"), PLAIN)
    [block] = pdf.content
    assert isinstance(block, types.EmbeddedResource)
    assert isinstance(block.resource, types.BlobResourceContents)
    assert (block.resource.blob, block.resource.mime_type) == (base64.b64encode(b"%PDF").decode(), "application/pdf")


def test_a_value_past_the_limit_is_cut_with_a_marker_that_says_so() -> None:
    shape = ResultShape(tool="listPets", has_output_schema=True, max_bytes=100)
    result = to_result(JsonValue(["x" * 50] * 10), shape)
    [block] = result.content
    assert isinstance(block, types.TextContent)
    assert block.text.endswith("[virtualize: response cut at 100 bytes of 531; ask for less (filters, paging)]")
    assert result.structured_content == {"truncated": True, "limit_bytes": 100, "total_bytes": 531}
    streamed = to_result(TextValue("y" * 100, truncated=True, total_bytes=52_428_800), shape)
    assert "cut at 100 bytes of 52428800" in streamed.content[0].text  # type: ignore[union-attr]


def test_a_failure_is_an_error_result_with_the_envelope() -> None:
    failure = Failure(
        "not_found",
        "The upstream found no such resource: pet 9.",
        status=404,
        upstream_message='{"title":"Not Found","detail":"pet 9"}',
    )
    result = to_result(failure, PLAIN)
    envelope = {
        "category": "not_found",
        "message": "The upstream found no such resource: pet 9.",
        "retryable": False,
        "status": 404,
        "upstream_message": '{"title":"Not Found","detail":"pet 9"}',
        "tool": "getPet",
    }
    assert result.is_error
    assert result.structured_content == {"error": envelope}
    assert result.meta == {ERROR_META_KEY: envelope}
    assert result.content == [
        types.TextContent(
            type="text",
            text="getPet failed: not_found (upstream status 404): The upstream found no such resource: pet 9.\n"
            'Upstream said: {"title":"Not Found","detail":"pet 9"}',
        )
    ]


def test_a_failing_tool_with_an_output_schema_keeps_the_envelope_out_of_structured_content() -> None:
    result = to_result(Failure("rate_limited", "Slow down.", status=429, retry_after=7.0), TYPED)
    assert result.is_error and result.structured_content is None
    assert result.meta is not None and result.meta[ERROR_META_KEY]["retry_after"] == 7.0
    assert "Retry after 7 s." in result.content[0].text  # type: ignore[union-attr]


def test_long_upstream_messages_are_trimmed_visibly() -> None:
    result = to_result(Failure("upstream_error", "It broke.", status=500, upstream_message="e" * 5000), PLAIN)
    kept = result.meta[ERROR_META_KEY]["upstream_message"]  # type: ignore[index]
    assert len(kept) < 2100 and kept.endswith("…[trimmed]")


OUTPUT_SCHEMA = {"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
OUTCOMES: dict[str, Outcome] = {
    "json": JsonValue({"id": 1, "name": "Rex"}),
    "drifted": JsonValue({"id": "one", "name": "Rex"}),  # the upstream broke its own schema
    "text": TextValue("plain"),
    "image": BinaryValue(b"\x89PNG", "image/png"),
    "blob": BinaryValue(b"%PDF", "application/pdf"),
    "empty": EmptyValue(204),
    "cut": TextValue('{"id": 1, "na', "application/json", truncated=True, total_bytes=10**8),
    "error": Failure("not_found", "No such pet.", status=404, upstream_message="gone"),
}


def _server() -> Server[Any]:
    async def list_tools(ctx: ServerRequestContext[Any], params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(name=name, input_schema={"type": "object"}, output_schema=OUTPUT_SCHEMA) for name in OUTCOMES
            ]
        )

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        shape = ResultShape(
            tool=params.name, has_output_schema=True, output_check=OutputCheck(OUTPUT_SCHEMA), max_bytes=1000
        )
        return to_result(OUTCOMES[params.name], shape)

    return Server("outcomes", on_list_tools=list_tools, on_call_tool=call_tool)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_official_client_accepts_every_outcome_of_a_tool_with_an_output_schema(mode: str) -> None:
    with anyio.fail_after(10):
        async with Client(_server(), mode=mode) as client:  # type: ignore[arg-type]
            for name, outcome in OUTCOMES.items():
                result = await client.call_tool(name, {})
                assert result.is_error == isinstance(outcome, Failure), name
    error = json.loads(json.dumps(result.meta))
    assert error[ERROR_META_KEY]["category"] == "not_found"


def test_an_answer_that_breaks_the_output_schema_arrives_as_text_with_a_note_that_says_where() -> None:
    shape = ResultShape(tool="getPet", has_output_schema=True, output_check=OutputCheck(OUTPUT_SCHEMA))
    assert to_result(JsonValue({"id": 1, "name": "Rex", "more": [1]}), shape).structured_content == {
        "id": 1,
        "name": "Rex",
        "more": [1],
    }
    result = dumped(to_result(JsonValue({"id": 1, "name": ["Rex"]}), shape))
    assert result["structuredContent"] == {}
    assert json.loads(result["content"][0]["text"]) == {"id": 1, "name": ["Rex"]}
    assert result["content"][1]["text"].startswith("Note: the upstream's answer does not match the output schema")
    assert result["_meta"]["dev.virtualize/output_mismatch"] == {
        "path": "/name",
        "message": '["Rex"] is not of type "string"',
    }
    assert "isError" not in result or result["isError"] is False


def test_a_body_whose_reading_stopped_early_says_its_size_is_a_lower_bound() -> None:
    result = to_result(TextValue("z" * 50, truncated=True), ResultShape(tool="t", max_bytes=20))
    assert result.content[0].text.endswith("cut at 20 bytes of more than 20; ask for less (filters, paging)]")  # type: ignore[union-attr]


def test_an_answer_nested_deeper_than_clients_read_is_text_only_and_still_a_result() -> None:
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(900):
        node["a"] = {}
        node = node["a"]
    result = to_result(JsonValue(deep), TYPED)
    # The SDK serializes what it is given; at 255 levels that failed as a JSON-RPC internal error.
    dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert dumped["structuredContent"] == {} and not result.is_error
    assert "nests deeper than 200 levels" in result.content[1].text  # type: ignore[union-attr]
    wide = {"items": [{"id": i, "tags": [{"n": i}]} for i in range(300)]}  # many brackets, shallow
    assert to_result(JsonValue(wide), TYPED).structured_content == wide
