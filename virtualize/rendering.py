"""Pages for people, rendered with jinja2 from data prepared here (templates hold no logic that
reaches into manifests). The environment is strict: a missing variable is an error, not ''."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from virtualize.invisible import revealed
from virtualize.manifest.model import GraphQLBinding, GrpcBinding, HttpBinding, Manifest, Tool

_TYPE_ENUM_LIMIT = 6
_BLANK_LINES = re.compile(r"\n{3,}")  # one blank line between Markdown blocks, whatever the template's layout


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("virtualize"),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown, not HTML: cells are escaped by `cell` instead
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def type_of(schema: Any) -> str:
    """A short human reading of a schema's type, for argument tables."""
    if not isinstance(schema, dict):
        return "any" if schema is True or schema is None else "never"
    if isinstance(schema.get("$ref"), str):
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        values = [str(v) for v in schema["enum"]]
        shown = ", ".join(values[:_TYPE_ENUM_LIMIT]) + (", …" if len(values) > _TYPE_ENUM_LIMIT else "")
        return f"enum ({shown})"
    for combinator, joiner in (("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")):
        if isinstance(schema.get(combinator), list):
            return joiner.join(type_of(member) for member in schema[combinator])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(type_of({**schema, "type": k}) for k in kind)
    if kind == "array":
        return f"array of {type_of(schema.get('items', True))}"
    if kind is None:
        return "object" if "properties" in schema else "any"
    fmt = schema.get("format") or schema.get("contentEncoding")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _annotations(tool: Tool) -> str:
    a = tool.annotations
    if a is None:
        return "none"
    marks = []
    if a.read_only_hint:
        marks.append("read-only")
    else:
        marks.append("destructive" if a.destructive_hint else "not destructive")
        marks.append("idempotent" if a.idempotent_hint else "not idempotent")
    marks.append("open world" if a.open_world_hint is not False else "closed world")
    return ", ".join(marks)


def _binding_lines(binding: HttpBinding | GraphQLBinding | GrpcBinding) -> list[str]:
    if isinstance(binding, HttpBinding):
        lines = [f"`{binding.method} {binding.path}`"]
        lines += [f"server `{s.url}`" for s in binding.servers]
        if binding.body is not None:
            how = f"argument `{binding.body.argument}`" if binding.body.argument else "body fields"
            lines.append(f"request body `{binding.body.media_type}` from {how}")
        if binding.success_media_types:
            lines.append("success response " + ", ".join(f"`{m}`" for m in binding.success_media_types))
        if binding.error_media_types:
            lines.append("error response " + ", ".join(f"`{m}`" for m in binding.error_media_types))
        if binding.wraps_result:
            lines.append("result wrapped under `result`")
        return lines
    if isinstance(binding, GraphQLBinding):
        return [f"GraphQL {binding.operation_type} `{binding.operation_name}` at `{binding.endpoint}`"]
    streaming = " (server streaming)" if binding.server_streaming else ""
    return [f"gRPC `{binding.full_method}` at `{binding.target}`{streaming}"]


def _security(binding: HttpBinding | GraphQLBinding | GrpcBinding) -> str:
    if not binding.security:
        return "none"
    alternatives = []
    for alternative in binding.security:
        uses = [u.scheme + (f" ({', '.join(u.scopes)})" if u.scopes else "") for u in alternative]
        alternatives.append(" and ".join(uses) or "none")
    return " or ".join(alternatives)


def tools_page(manifest: Manifest) -> str:
    """TOOLS.md: the review page of one manifest."""
    header = manifest.manifest
    tools = []
    for tool in manifest.tools:
        binding = manifest.bindings.tools[tool.name]
        properties = tool.input_schema.get("properties", {})
        required = set(tool.input_schema.get("required", []))
        arguments = [
            {
                "argument": arg.argument,
                "location": arg.location,
                "wire": arg.name,
                "required": "yes" if arg.argument in required else "",
                "type": cell(type_of(properties.get(arg.argument))),
                "description": cell(str(properties.get(arg.argument, {}).get("description", ""))[:120]),
            }
            for arg in binding.arguments
            if arg.argument not in binding.fixed
        ]
        tools.append(
            {
                "name": tool.name,
                "title": tool.title or "",
                "annotations": _annotations(tool),
                "description": "\n".join(f"> {line}".rstrip() for line in tool.description.split("\n")),
                "arguments": arguments,
                "fixed": [f"`{k}` = `{v!r}`" for k, v in sorted(binding.fixed.items())],
                "binding": _binding_lines(binding),
                "security": _security(binding),
                "output": "yes" if tool.output_schema is not None else "no",
            }
        )
    auth = [
        {
            "name": name,
            "kind": scheme.kind,
            "where": f"{scheme.in_} `{scheme.parameter}`" if scheme.in_ and scheme.parameter else "",
            "sources": ", ".join(f"{role}: `{source}`" for role, source in sorted(scheme.sources.items())),
        }
        for name, scheme in sorted(manifest.auth.schemes.items())
    ]
    page = (
        environment()
        .get_template("TOOLS.md.jinja")
        .render(header=header, counts=header.counts, source=header.source, tools=tools, auth=auth)
    )
    return revealed(_BLANK_LINES.sub("\n\n", page).rstrip("\n") + "\n")
