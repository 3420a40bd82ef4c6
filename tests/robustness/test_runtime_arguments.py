"""Arbitrary JSON as tool arguments never breaks the gateway and never reaches the upstream unvalidated.

Hypothesis draws argument objects (biased towards each tool's own argument names, so that many
get past the first check and fail deeper) and the official client sends them to a real
``virtualize serve --stdio`` in front of a recording upstream. Every call must come back as a
tool result (never a protocol error, never ``internal_error``), every argument set the tool's
``inputSchema`` rejects must be answered ``invalid_arguments`` with no upstream request, and the
gateway must log no traceback.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.conftest import REPO
from tests.support.mcp_client import stdio_client
from tests.support.upstream import RecordingUpstream

PETSTORE = REPO / "generated" / "petstore"
KEY = "robustness-api-key-5f1c"
EXAMPLES_PER_TOOL = 25

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _argument_sets(names: list[str], count: int) -> list[dict[str, Any]]:
    """Arbitrary JSON objects, keyed mostly by the tool's own argument names."""
    keys = st.sampled_from(names) | st.text(max_size=12) if names else st.text(max_size=12)
    drawn: list[dict[str, Any]] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.dictionaries(keys, json_values, max_size=6))
    def collect(value: dict[str, Any]) -> None:
        drawn.append(value)

    collect()
    return drawn


def _error(result: Any) -> dict[str, Any]:
    structured = result.structured_content if isinstance(result.structured_content, dict) else {}
    error = structured.get("error") or (result.meta or {}).get("dev.virtualize/error") or {}
    return error if isinstance(error, dict) else {}


@pytest.mark.e2e
@pytest.mark.anyio
async def test_arbitrary_json_arguments_get_a_result_and_invalid_ones_never_reach_the_upstream() -> None:
    tools = json.loads((PETSTORE / "tools.json").read_text(encoding="utf-8"))
    checked = 0
    with RecordingUpstream() as upstream:
        async with stdio_client(
            [PETSTORE], upstreams={"petstore": upstream.url + "/v1"}, env={"PETSTORE_API_KEY": KEY}
        ) as client:
            for tool in tools:
                schema = tool["inputSchema"]
                validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
                names = sorted(schema.get("properties", {}))
                for arguments in _argument_sets(names, EXAMPLES_PER_TOOL):
                    before = len(upstream.requests)
                    with anyio.fail_after(30):
                        result = await client.call_tool(tool["name"], arguments)
                    sent = upstream.requests[before:]
                    category = _error(result).get("category") if result.is_error else "ok"
                    context = f"{tool['name']}({arguments!r:.300}) -> {category}"
                    assert category != "internal_error", context
                    if not validator.is_valid(arguments):
                        assert result.is_error, context
                        assert category == "invalid_arguments", context
                        assert sent == [], context
                        checked += 1
    assert checked > len(tools) * EXAMPLES_PER_TOOL // 2  # most arbitrary objects are invalid: they were checked


def test_argument_sets_are_mostly_invalid_for_a_tool_with_required_arguments() -> None:
    """The generator itself: without this the test above could pass by sending only valid arguments."""
    schema = {"type": "object", "properties": {"petId": {"type": "integer"}}, "required": ["petId"]}
    drawn = _argument_sets(["petId"], EXAMPLES_PER_TOOL)
    invalid = [a for a in drawn if not Draft202012Validator(schema).is_valid(a)]
    assert len(invalid) > EXAMPLES_PER_TOOL // 2
    assert any("petId" in a for a in drawn)
