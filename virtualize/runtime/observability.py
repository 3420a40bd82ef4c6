"""One structured log line per tool call, and the Prometheus metrics served on ``/metrics``.

The log line is JSON on the ``virtualize.calls`` logger, written once the answer is sent:

    {"event": "tool_call", "server": "petstore", "tool": "getPet", "status": 404,
     "category": "not_found", "latency_ms": 1.84, "attempts": 1, "request_id": "5f0c…"}

It is built from a fixed set of fields, so argument values and credentials cannot reach it.
``category`` is ``"ok"`` for a success, else the normalized failure category.

Metrics live in a registry of their own (not the process-global one), so several routers in
one process (tests, benchmarks) never share counters.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

call_logger = logging.getLogger("virtualize.calls")
_JSON = json.JSONEncoder()

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(slots=True)  # not frozen: built per call (see outcomes.JsonValue)
class CallEvent:
    server: str
    tool: str
    category: str  # "ok" or a failure category
    status: int | str | None
    seconds: float
    request_id: str
    attempts: int = 0

    def line(self) -> str:
        """The fields as one compact JSON object. Written out rather than encoded from a dict,
        which took three times the instructions; each string still goes through the encoder."""
        text = _JSON.encode
        status = self.status if type(self.status) is int else text(self.status)
        return (
            f'{{"event":"tool_call","server":{text(self.server)},"tool":{text(self.tool)},"status":{status},'
            f'"category":{text(self.category)},"latency_ms":{round(self.seconds * 1000, 3)!r},'
            f'"attempts":{self.attempts:d},"request_id":{text(self.request_id)}}}'
        )


class Metrics:
    """Calls, errors by category and latency per virtual server; tools loaded per server."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._calls = Counter(
            "virtualize_tool_calls", "Tool calls handled, by server.", ["server"], registry=self.registry
        )
        self._errors = Counter(
            "virtualize_tool_errors",
            "Tool calls that ended in a normalized error, by server and category.",
            ["server", "category"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "virtualize_tool_call_seconds",
            "Tool call latency through the gateway (validation, credentials, upstream), by server.",
            ["server"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[str, tuple[Any, Any]] = {}
        self._tools = Gauge("virtualize_tools_loaded", "Tools loaded, by server.", ["server"], registry=self.registry)

    def loaded(self, server: str, tools: int) -> None:
        self._tools.labels(server).set(tools)

    def record(self, event: CallEvent) -> None:
        # Label children are looked up once and kept: ``labels()`` takes a lock on every call.
        children = self._children.get(event.server)
        if children is None:
            children = self._children[event.server] = (
                self._calls.labels(event.server),
                self._latency.labels(event.server),
            )
        children[0].inc()
        children[1].observe(event.seconds)
        if event.category != "ok":
            self._errors.labels(event.server, event.category).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def log_call(event: CallEvent) -> None:
    """Log the call's line just after the answer goes out, not before it.

    Writing to stderr is a system call, and a pipe read by another process (a log collector)
    wakes that process: profiled under load, this was the largest cost a call adds that is
    ours. ``call_soon`` runs it on the next turn of the event loop, which is after the handler
    has returned and the SDK has written the response (nothing between them suspends); the
    line is still written, in order, whatever happens to the client.
    """
    if not call_logger.isEnabledFor(logging.INFO):
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no asyncio loop (another anyio backend, or a plain call): write it now
        _write_line(event)
        return
    loop.call_soon(_write_line, event)


def _write_line(event: CallEvent) -> None:
    # ``call_logger.info`` would first walk the stack for the caller's file and line, which the
    # line's format never shows; the record names this module and function instead (line 0),
    # and goes through the logger's filters and handlers exactly as ``info`` sends it.
    record = call_logger.makeRecord(call_logger.name, logging.INFO, __file__, 0, event.line(), (), None, "log_call")
    call_logger.handle(record)
