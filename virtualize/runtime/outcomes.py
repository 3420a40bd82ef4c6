"""Outcomes of a tool call, and the one place that turns them into MCP ``CallToolResult``s.

Every invoker (HTTP, GraphQL, gRPC) returns an ``Outcome``; it never builds MCP results and never
raises for an upstream failure. The router adds the failures it finds itself (bad arguments, a
missing credential, a bug caught by the per-call guard) and hands every outcome to ``to_result``.

Successes (MCP 2026-07-28 ``server/tools`` "Structured Content" / "Tool Result"):

    JsonValue(value)              structuredContent (under "result" when the tool ``wraps_result``)
                                  plus a text copy, as the spec asks for backward compatibility.
                                  ``partial=True`` + ``details`` for GraphQL data returned with errors.
    TextValue(text, media_type)   a text block.
    BinaryValue(data, media_type) image/* -> an image block; anything else -> an embedded resource (blob).
    EmptyValue(status)            a short success sentence (HTTP 204 and friends).

A tool that declares an ``outputSchema`` always gets ``structuredContent`` (the official client
refuses a result without it): ``{}`` for empty/text/binary results, ``{"truncated": ...}`` when the
value was cut. Result schemas are relaxed by the compiler (open objects, no ``required``), which
is what makes these shapes valid. An upstream whose answer breaks the schema its own description
declares (a list where it says object, an enum value added since) would make the client throw
the whole answer away; ``OutputCheck`` catches that first, and the answer then travels as text
only, with ``{}`` as ``structuredContent`` and a note that names where it broke the schema.

Failures: ``Failure(category, message, ...)`` -> ``isError: true`` with the envelope

    {"error": {"category", "message", "retryable", "status", "upstream_message",
               "retry_after"?, "details"?, "tool"}}

summarised in the text block (ARCHITECTURE "A normalized error"). The envelope always travels in
``_meta["dev.virtualize/error"]``, and also as ``structuredContent`` when the tool declares no
``outputSchema``. Not otherwise, on purpose: the Python SDK client skips output validation when
``isError`` is true, but the TypeScript SDK client (Inspector, many desktop clients) validates any
``structuredContent`` present, error or not, against the tool's ``outputSchema`` and throws
instead of showing the error. An error result without ``structuredContent`` passes both.
``status`` is the upstream's own code: an HTTP status (int), a GraphQL ``extensions.code`` or a
gRPC status name (str), or ``None`` when the upstream was never reached.

Size cap: a value whose text exceeds ``ResultShape.max_bytes`` is cut and the text ends with
``CUT_MARKER``; invokers should also stop *reading* an upstream body past the cap and report it
with ``truncated=True`` / ``total_bytes`` on a ``TextValue``/``BinaryValue``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema_rs
from mcp import types

Category = Literal[
    "invalid_arguments",
    "unauthorized",
    "forbidden",
    "not_found",
    "conflict",
    "rate_limited",
    "upstream_error",
    "invalid_response",
    "timeout",
    "unavailable",
    "unimplemented",
    "cancelled",
    "internal_error",
]

#: Whether a caller may retry the same call unchanged, by category (a ``Failure`` may override).
RETRYABLE: Mapping[Category, bool] = {
    "invalid_arguments": False,
    "unauthorized": False,
    "forbidden": False,
    "not_found": False,
    "conflict": False,
    "rate_limited": True,
    "upstream_error": True,
    "invalid_response": False,
    "timeout": True,
    "unavailable": True,
    "unimplemented": False,
    "cancelled": False,
    "internal_error": False,
}

#: Longest upstream message kept in an error envelope (characters).
UPSTREAM_MESSAGE_LIMIT = 2000
#: Default cap on a result's text (bytes of UTF-8); configurable per server (``max_response_bytes``).
DEFAULT_MAX_BYTES = 1_000_000
CUT_MARKER = "[virtualize: response cut at {limit} bytes of {total}; ask for less (filters, paging)]"


# Not frozen, as the success values are built on every call: a frozen dataclass sets each field
# through object.__setattr__, 2.5x the instructions of a plain one (cachegrind).
@dataclass(slots=True)
class JsonValue:
    """A JSON success. ``partial`` marks data that came with errors (GraphQL), listed in ``details``."""

    value: Any
    partial: bool = False
    details: tuple[Mapping[str, Any], ...] = ()
    status: int | str | None = None


@dataclass(slots=True)
class TextValue:
    """A text success (``text/*``, or a body that is not the JSON it claimed to be)."""

    text: str
    media_type: str = "text/plain"
    truncated: bool = False
    total_bytes: int | None = None  # size of the whole upstream body when known (for the marker)
    status: int | str | None = None


@dataclass(slots=True)
class BinaryValue:
    """A binary success. ``image/*`` becomes an image block, anything else an embedded blob."""

    data: bytes
    media_type: str = "application/octet-stream"
    truncated: bool = False
    total_bytes: int | None = None
    status: int | str | None = None


@dataclass(slots=True)
class EmptyValue:
    """A success without a body (HTTP 204, an empty gRPC message is a ``JsonValue({})``)."""

    status: int | str | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed call, in the normalized taxonomy (ARCHITECTURE "A normalized error").

    ``message`` is one short sentence for the model and must never contain a secret.
    ``upstream_message`` is the upstream's own error text/body (trimmed by ``to_result``).
    ``details`` holds structured items, e.g. ``{"path": "/filter/status", "message": ...}`` for
    argument violations, or GraphQL errors with their ``path``.
    """

    category: Category
    message: str
    status: int | str | None = None
    upstream_message: str | None = None
    retry_after: float | None = None
    details: tuple[Mapping[str, Any], ...] = ()
    retryable: bool | None = None  # None: the category's default (RETRYABLE)

    @property
    def is_retryable(self) -> bool:
        return RETRYABLE[self.category] if self.retryable is None else self.retryable


Success = JsonValue | TextValue | BinaryValue | EmptyValue
Outcome = Success | Failure


def pointer(parts: Iterable[str | int]) -> str:
    """A JSON pointer (RFC 6901); ``~`` and ``/`` in a part escape as the RFC says."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class OutputCheck:
    """A tool's ``outputSchema`` as a validator, compiled on the tool's first JSON answer (not at
    load: Stripe's 468 schemas would add to every cold start for tools never called)."""

    __slots__ = ("_schema", "_validator")

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._schema: Mapping[str, Any] | None = schema
        self._validator: jsonschema_rs.Validator | None = None

    def mismatch(self, value: Any) -> tuple[str, str] | None:
        """``(pointer, message)`` of the first place ``value`` breaks the schema, or ``None``."""
        if self._schema is not None:
            try:
                self._validator = jsonschema_rs.validator_for(dict(self._schema), offline=True)
            except ValueError:  # a schema it cannot compile: the client's validator judges alone
                self._validator = None
            self._schema = None
        if self._validator is None or self._validator.is_valid(value):
            return None
        error = next(iter(self._validator.iter_errors(value)))
        return pointer(error.instance_path), trim(error.message, 200)


@dataclass(frozen=True, slots=True)
class ResultShape:
    """What ``to_result`` needs to know about the tool (precomputed once per tool)."""

    tool: str  # the name the client called (prefixed on the aggregate endpoint)
    has_output_schema: bool = False
    output_check: OutputCheck | None = None
    wraps_result: bool = False
    max_bytes: int = DEFAULT_MAX_BYTES
    uri_prefix: str = field(default="virtualize://result/")


def trim(text: str, limit: int = UPSTREAM_MESSAGE_LIMIT) -> str:
    """Trim upstream text for an envelope: whitespace collapsed at the ends, a visible cut."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + " …[trimmed]"


def _whole(total: int | None, streamed_cut: bool, limit: int, measured: int) -> str:
    """The size to report in the marker: known, or only a lower bound when reading stopped early."""
    if total is not None:
        return str(total)
    return f"more than {limit}" if streamed_cut else str(measured)


def _cut(text: str, limit: int, whole: str) -> str:
    head = text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")
    return head + "\n" + CUT_MARKER.format(limit=limit, total=whole)


#: ``json.dumps`` with options builds a new encoder per call; this one is built once.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def compact_json(value: Any) -> str:
    """``value`` as JSON text with no spaces and characters as they are (``ensure_ascii=False``)."""
    return _COMPACT.encode(value)


def envelope(failure: Failure, tool: str) -> dict[str, Any]:
    """The structured error envelope of ``failure`` (what ``structuredContent`` carries)."""
    error: dict[str, Any] = {
        "category": failure.category,
        "message": failure.message,
        "retryable": failure.is_retryable,
        "status": failure.status,
        "upstream_message": trim(failure.upstream_message) if failure.upstream_message else None,
        "tool": tool,
    }
    if failure.retry_after is not None:
        error["retry_after"] = failure.retry_after
    if failure.details:
        error["details"] = [dict(d) for d in failure.details]
    return {"error": error}


def _error_text(failure: Failure, tool: str) -> str:
    status = f" (upstream status {failure.status})" if failure.status is not None else ""
    text = f"{tool} failed: {failure.category}{status}: {failure.message}"
    if failure.retry_after is not None:
        text += f" Retry after {failure.retry_after:g} s."
    elif failure.is_retryable:
        text += " This may succeed if retried."
    for item in failure.details[:20]:
        where = item.get("path")
        text += f"\n- {where}: {item.get('message', '')}" if where else f"\n- {item.get('message', '')}"
    if failure.upstream_message:
        text += f"\nUpstream said: {trim(failure.upstream_message, 500)}"
    return text


#: Where the error envelope travels in ``CallToolResult._meta`` (a reverse-DNS key of ours).
ERROR_META_KEY = "dev.virtualize/error"


def failure_result(failure: Failure, tool: str, *, has_output_schema: bool = False) -> types.CallToolResult:
    """The ``isError`` result of ``failure`` (prefer ``to_result``, which knows the tool's shape)."""
    wrapped = envelope(failure, tool)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=_error_text(failure, tool))],
        structured_content=None if has_output_schema else wrapped,
        is_error=True,
        _meta={ERROR_META_KEY: wrapped["error"]},
    )


def _structured_placeholder(shape: ResultShape, extra: dict[str, Any] | None = None) -> dict[str, Any] | None:
    return (extra or {}) if shape.has_output_schema else None


def to_result(outcome: Outcome, shape: ResultShape) -> types.CallToolResult:
    """The one place an outcome becomes a ``CallToolResult`` (STYLE 7)."""
    if isinstance(outcome, Failure):
        return failure_result(outcome, shape.tool, has_output_schema=shape.has_output_schema)
    if isinstance(outcome, JsonValue):
        return _json_result(outcome, shape)
    if isinstance(outcome, TextValue):
        text = outcome.text
        cut = outcome.truncated or len(text.encode("utf-8")) > shape.max_bytes
        if cut:
            measured = len(text.encode("utf-8"))
            text = _cut(
                text, shape.max_bytes, _whole(outcome.total_bytes, outcome.truncated, shape.max_bytes, measured)
            )
        marker = {"truncated": True, "limit_bytes": shape.max_bytes} if cut else {}
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=text)],
            structured_content=_structured_placeholder(shape, marker),
        )
    if isinstance(outcome, BinaryValue):
        return _binary_result(outcome, shape)
    status = f" (status {outcome.status})" if outcome.status is not None else ""
    return types.CallToolResult(
        content=[
            types.TextContent(type="text", text=f"{shape.tool} succeeded{status}; the upstream returned no content.")
        ],
        structured_content=_structured_placeholder(shape),
    )


#: Structured content deeper than this is given as text: the SDK's serializer stops at 255 levels,
#: and its failure would reach the client as an internal protocol error instead of a result.
MAX_STRUCTURED_DEPTH = 200


def _nests_deeper(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _json_result(outcome: JsonValue, shape: ResultShape) -> types.CallToolResult:
    text = compact_json(outcome.value)
    size = len(text) if len(text) > shape.max_bytes else 0  # encode only when it may be too big
    if size and (size := len(text.encode("utf-8"))) > shape.max_bytes:
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=_cut(text, shape.max_bytes, str(size)))],
            structured_content=_structured_placeholder(
                shape, {"truncated": True, "limit_bytes": shape.max_bytes, "total_bytes": size}
            ),
        )
    structured: Any = None
    if shape.has_output_schema:
        if shape.wraps_result or not isinstance(outcome.value, dict):
            structured = {"result": outcome.value}
        else:
            structured = outcome.value
    content: list[types.ContentBlock] = [types.TextContent(type="text", text=text)]
    meta: dict[str, Any] | None = None
    # Counting brackets is cheap and bounds the depth: only an answer with many of them is walked.
    too_deep = (
        structured is not None
        and text.count("{") + text.count("[") > MAX_STRUCTURED_DEPTH
        and _nests_deeper(structured, MAX_STRUCTURED_DEPTH)
    )
    broken = None if too_deep or shape.output_check is None else shape.output_check.mismatch(structured)
    if too_deep:
        structured = {}
        content.append(
            types.TextContent(
                type="text",
                text=f"Note: the upstream's answer nests deeper than {MAX_STRUCTURED_DEPTH} levels, more than "
                "MCP clients read, so it is given above as text only, unchanged.",
            )
        )
        meta = {"dev.virtualize/too_deep": {"limit": MAX_STRUCTURED_DEPTH}}
    elif broken is not None:
        where, why = broken
        structured = {}
        content.append(
            types.TextContent(
                type="text",
                text=f"Note: the upstream's answer does not match the output schema this tool declares "
                f"(at {where or 'the root'}: {why}), so it is given above as text only, unchanged.",
            )
        )
        meta = {"dev.virtualize/output_mismatch": {"path": where, "message": why}}
    if outcome.partial:
        errors = [dict(d) for d in outcome.details]
        content.append(
            types.TextContent(
                type="text",
                text="Partial result: the upstream also reported errors: " + compact_json(errors),
            )
        )
        meta = {**(meta or {}), "dev.virtualize/partial": True, "dev.virtualize/errors": errors}
    return types.CallToolResult(content=content, structured_content=structured, _meta=meta)


def _binary_result(outcome: BinaryValue, shape: ResultShape) -> types.CallToolResult:
    data = outcome.data
    cut = outcome.truncated or len(data) > shape.max_bytes
    if cut:
        data = data[: shape.max_bytes]
    encoded = base64.b64encode(data).decode("ascii")
    block: types.ContentBlock
    if outcome.media_type.startswith("image/") and not cut:
        block = types.ImageContent(type="image", data=encoded, mime_type=outcome.media_type)
    else:
        block = types.EmbeddedResource(
            type="resource",
            resource=types.BlobResourceContents(
                uri=f"{shape.uri_prefix}{shape.tool}", mime_type=outcome.media_type, blob=encoded
            ),
        )
    content: list[types.ContentBlock] = [block]
    marker: dict[str, Any] = {}
    if cut:
        total = _whole(outcome.total_bytes, outcome.truncated, shape.max_bytes, len(outcome.data))
        content.append(types.TextContent(type="text", text=CUT_MARKER.format(limit=shape.max_bytes, total=total)))
        marker = {"truncated": True, "limit_bytes": shape.max_bytes}
    return types.CallToolResult(content=content, structured_content=_structured_placeholder(shape, marker))


def invalid_arguments(message: str, details: Sequence[Mapping[str, Any]] = ()) -> Failure:
    """Shorthand for the router's and invokers' argument failures (no request left the gateway)."""
    return Failure("invalid_arguments", message, details=tuple(details))
