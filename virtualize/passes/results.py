"""Result schemas: ``outputSchema`` from the success response, relaxed and bounded.

MCP wants an object at the root of ``outputSchema`` (required by 2025-11-25, which most clients
speak) and returns results as ``structuredContent`` objects, so a result that is not an object
(array, string, a nullable object, a combinator) is wrapped as ``{"result": ...}`` and the
binding says ``wraps_result`` so the runtime wraps the upstream value the same way. The schema is
the result view (see ``schemas``) and at most ``result_schema_limit`` bytes: a huge result schema
is trimmed, never allowed to blow up the tool list.
"""

from __future__ import annotations

import dataclasses

from virtualize import ir
from virtualize.passes.arguments import is_json
from virtualize.passes.schemas import Mode, SchemaViews
from virtualize.passes.state import Build


def _success_media_type(call: ir.HttpCall) -> str | None:
    for response in call.responses:
        if response.status.startswith("2") and response.schema_ is not None:
            return response.media_type
    return None


def result_schema(op: ir.Operation, views: SchemaViews, limit: int) -> tuple[ir.JsonSchema | None, bool, bool]:
    """(outputSchema, wraps_result, trimmed) for one operation."""
    if op.result is None:
        return None, False, False
    if isinstance(op.call, ir.HttpCall) and not is_json(_success_media_type(op.call)):
        return None, False, False  # images, files, text: returned as content, not structuredContent
    root = views.view(op.result, Mode.RESULT)
    resolved = views.resolve(root, Mode.RESULT)
    wraps = resolved.get("type") != "object"
    root = {"type": "object", "properties": {"result": root}} if wraps else dict(resolved)
    schema, trimmed = views.bounded_document(root, Mode.RESULT, limit)
    return schema, wraps, trimmed


def shape_results(build: Build) -> Build:
    limit = build.config.result_schema_limit
    drafts = []
    trimmed_tools = []
    for draft in build.drafts:
        schema, wraps, trimmed = result_schema(draft.operation, build.views, limit)
        if trimmed:
            trimmed_tools.append(draft.name)
        drafts.append(dataclasses.replace(draft, output_schema=schema, wraps_result=wraps))
    if trimmed_tools:
        shown = ", ".join(sorted(trimmed_tools)[:10]) + (", ..." if len(trimmed_tools) > 10 else "")
        build.diagnostics.warning(
            build.target.source_file,
            f"{len(trimmed_tools)} result schemas were trimmed to about {limit} bytes each: {shown}",
            hint="raise result_schema_limit in the spec's .virtualize.toml to keep more of them",
        )
    return dataclasses.replace(build, drafts=tuple(drafts))
