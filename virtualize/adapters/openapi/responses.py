"""Responses Objects → ``ir.Response``s and the operation's result schema.

Order (success first): 2xx codes ascending, then ``2XX``, then ``default``, then the other codes
ascending and the other ranges. The result is the schema of the first success response with a
JSON schema (OpenAPI 3.x §4.8.16; Swagger 2.0 §"Responses Object"). Binary responses keep their
media type and carry no schema: their bytes are not JSON.
"""

from __future__ import annotations

from virtualize.adapters.openapi import media, swagger2
from virtualize.adapters.openapi.context import Context, SkipOperation, as_dict, text
from virtualize.adapters.openapi.load import Located, child
from virtualize.ir import JsonSchema, Response


def _order(status: str) -> tuple[int, str]:
    upper = status.upper()
    if upper.isdigit() and upper.startswith("2"):
        return (0, upper)
    if upper == "2XX":
        return (1, upper)
    if upper == "DEFAULT":
        return (2, upper)
    if upper.isdigit():
        return (3, upper)
    return (4, upper)


def is_success(status: str) -> bool:
    return _order(status)[0] <= 1


def responses(ctx: Context, operation: Located) -> tuple[tuple[Response, ...], JsonSchema | None]:
    """The operation's responses in the order above, and its result schema (None when none is JSON)."""
    declared = operation.node.get("responses")
    if declared is None:
        return (), None
    place = Located(declared, operation.file, child(operation.pointer, "responses"))
    if not isinstance(declared, dict):
        raise SkipOperation("its responses are not an object", place)
    found: list[Response] = []
    result: JsonSchema | None = None
    # YAML reads an unquoted 200 as an integer: statuses are compared as text
    statuses = sorted(
        ((str(k), v) for k, v in declared.items() if not str(k).startswith("x-")), key=lambda s: _order(s[0])
    )
    for status, value in statuses:
        at = ctx.follow(Located(value, place.file, child(place.pointer, status)))
        items = _read_2(ctx, operation, at, status) if ctx.dialect == "2.0" else _read_3(ctx, at, status)
        found.extend(items)
        if result is None and is_success(status):
            result = next((r.schema_ for r in items if r.schema_ is not None and _jsonish(r.media_type)), None)
    return tuple(found), result


def _jsonish(media_type: str | None) -> bool:
    # "*/*" is what many generators write for JSON; binary types never get a schema here
    return media_type is not None and (media.is_json(media_type) or media.base(media_type) == "*/*")


def _read_3(ctx: Context, place: Located, status: str) -> list[Response]:
    node = as_dict(place.node)
    description = text(node.get("description"))
    content = as_dict(node.get("content"))
    if not content:
        return [Response(status=status, description=description)]
    items = []
    for media_type, value in content.items():
        schema: JsonSchema | None = None
        media_node = as_dict(value)
        if "schema" in media_node and not media.is_binary(str(media_type)):
            at = Located(media_node["schema"], place.file, child(place.pointer, "content", media_type, "schema"))
            schema = ctx.schema(at)
            if _is_binary_string(schema):
                schema = None
        items.append(Response(status=status, media_type=str(media_type), schema_=schema, description=description))
    return items


def _read_2(ctx: Context, operation: Located, place: Located, status: str) -> list[Response]:
    node = as_dict(place.node)
    description = text(node.get("description"))
    if "schema" not in node:
        return [Response(status=status, description=description)]
    produces = swagger2.response_media_types(ctx, operation)
    schema: JsonSchema | None = ctx.schema(Located(node["schema"], place.file, child(place.pointer, "schema")))
    if schema is not None and _is_binary_string(schema):
        binary = next((m for m in produces if not media.is_json(m)), produces[0])
        return [Response(status=status, media_type=binary, description=description)]
    chosen = media.choose(produces) or media.JSON
    if media.is_binary(chosen):
        schema = None
    return [Response(status=status, media_type=chosen, schema_=schema, description=description)]


def _is_binary_string(schema: JsonSchema) -> bool:
    return schema.get("type") == "string" and schema.get("format") == "binary"
