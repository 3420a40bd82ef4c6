"""The call line: one JSON object from a fixed set of fields, whatever the values hold."""

from __future__ import annotations

import json

import pytest

from virtualize.runtime.observability import CallEvent


@pytest.mark.parametrize("status", [200, "DEADLINE_EXCEEDED", 'a "quoted" code\n', None])
@pytest.mark.parametrize("name", ["getPet", 'we"ird\\name', "zoë✓", "\u2028"])
def test_the_call_line_is_one_json_object_with_the_events_fields(status: int | str | None, name: str) -> None:
    event = CallEvent(
        server=name, tool=name, category="ok", status=status, seconds=0.0012345, request_id="r-1", attempts=2
    )
    line = event.line()
    assert "\n" not in line and line.isascii()
    assert json.loads(line) == {
        "event": "tool_call",
        "server": name,
        "tool": name,
        "status": status,
        "category": "ok",
        "latency_ms": 1.234,
        "attempts": 2,
        "request_id": "r-1",
    }
