"""Swagger 2.0 specifics: parameters without ``schema``, ``collectionFormat``, body and formData
parameters, and servers from ``host`` + ``basePath`` + ``schemes`` (Swagger 2.0 §"Parameter
Object", §"Swagger Object").
"""

from __future__ import annotations

from typing import Any

from virtualize.adapters.openapi import media
from virtualize.adapters.openapi.context import Context, SkipOperation, as_list, text
from virtualize.adapters.openapi.load import Located, child
from virtualize.ir import Body, Encoding, JsonSchema, Serialization, Server

# Keywords of a 2.0 parameter that describe the parameter, not its value.
_PARAMETER_ONLY = frozenset({"name", "in", "description", "required", "collectionFormat", "allowEmptyValue", "schema"})
_SIMPLE_LOCATIONS = frozenset({"path", "header"})


def parameter_schema(ctx: Context, place: Located) -> tuple[JsonSchema, Serialization]:
    """The JSON Schema of a non-body 2.0 parameter (its type keywords sit on the parameter itself)."""
    node: dict[str, Any] = place.node
    value = {k: v for k, v in node.items() if k not in _PARAMETER_ONLY}
    return ctx.schema(Located(value, place.file, place.pointer)), serialization(ctx, place)


def serialization(ctx: Context, place: Located) -> Serialization:
    """``collectionFormat`` as an OpenAPI 3 style (3.0.3 §4.7.12.4 lists the equivalences)."""
    node: dict[str, Any] = place.node
    where = node.get("in")
    simple = where in _SIMPLE_LOCATIONS
    if node.get("type") != "array":
        return Serialization(style="simple", explode=False) if simple else Serialization(style="form", explode=True)
    found = str(node.get("collectionFormat", "csv"))
    fmt = found
    if fmt == "tsv" or (fmt in {"ssv", "pipes"} and simple) or (fmt == "multi" and simple):
        ctx.documents.warning(
            place.file, child(place.pointer, "collectionFormat"),
            f"collectionFormat {found!r} has no OpenAPI 3 equivalent in {where}",
            hint="values are separated by commas (csv) instead",
        )  # fmt: skip
        fmt = "csv"
    if fmt == "ssv":
        return Serialization(style="spaceDelimited", explode=False)
    if fmt == "pipes":
        return Serialization(style="pipeDelimited", explode=False)
    if fmt == "multi":
        return Serialization(style="form", explode=True)
    if fmt != "csv":
        ctx.documents.warning(
            place.file, child(place.pointer, "collectionFormat"), f"unknown collectionFormat {found!r}",
            hint="values are separated by commas (csv) instead",
        )  # fmt: skip
    return Serialization(style="simple", explode=False) if simple else Serialization(style="form", explode=False)


def body(ctx: Context, parameters: list[Located], operation: Located) -> Body | None:
    """The request body from ``in: body`` or ``in: formData`` parameters."""
    consumes = [str(m) for m in as_list(operation.node.get("consumes", ctx.root.get("consumes")))]
    bodies = [p for p in parameters if p.node["in"] == "body"]
    fields = [p for p in parameters if p.node["in"] == "formData"]
    if bodies and fields:
        raise SkipOperation("it has both a body parameter and formData parameters", operation)
    if bodies:
        place = bodies[-1]
        node = place.node
        chosen = media.choose(m for m in consumes if media.base(m) not in {media.FORM, media.MULTIPART})
        _check_content_type_header(ctx, parameters, chosen or media.JSON)
        schema = ctx.schema(Located(node.get("schema", {}), place.file, child(place.pointer, "schema")))
        return Body(
            media_type=chosen or media.JSON,
            schema_=schema,
            required=node.get("required") is True,
            description=text(node.get("description")),
            pointer=place.pointer,
        )
    if not fields:
        return None
    has_file = any(p.node.get("type") == "file" for p in fields)
    multipart = has_file or any(media.base(m) == media.MULTIPART for m in consumes)
    properties: dict[str, JsonSchema] = {}
    required: list[str] = []
    encoding: dict[str, Encoding] = {}
    for place in fields:
        name: str = place.node["name"]
        schema, how = parameter_schema(ctx, place)
        description = text(place.node.get("description"))
        if description and "description" not in schema:
            schema = {**schema, "description": description}
        properties[name] = schema
        if place.node.get("required") is True:
            required.append(name)
        if place.node.get("type") == "array":
            encoding[name] = Encoding(style=how.style, explode=how.explode)
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return Body(
        media_type=media.MULTIPART if multipart else media.FORM,
        schema_=schema,
        required=bool(required),
        encoding=encoding,
        pointer=child(operation.pointer, "parameters"),
    )


def _check_content_type_header(ctx: Context, parameters: list[Located], chosen: str) -> None:
    """Warn when a ``Content-Type`` header parameter's enum excludes the media type ``consumes`` chose.

    Swagger 2.0 has no rule that ignores such a parameter (OpenAPI 3.0.3 §4.7.12.1 added one), so a
    validator holds the request to both and no Content-Type can satisfy it.
    """
    for place in parameters:
        node = place.node
        if node["in"] != "header" or str(node["name"]).lower() != "content-type":
            continue
        allowed = [v for v in as_list(node.get("enum")) if isinstance(v, str)]
        if allowed and chosen not in allowed:
            ctx.documents.warning(
                place.file, place.pointer,
                f"header parameter {node['name']!r} allows only {', '.join(allowed)} but consumes says {chosen}",
                hint=f"the body is sent as {chosen} (consumes decides); a validator refuses either choice",
            )  # fmt: skip


def servers(root: dict[str, Any], schemes: Any = None) -> tuple[Server, ...]:
    """``host`` + ``basePath`` + ``schemes``; without ``host`` the URL is relative to where the spec is served."""
    host = text(root.get("host"))
    base_path = text(root.get("basePath")) or "/"
    if not base_path.startswith("/"):
        base_path = "/" + base_path
    if not host:
        # Relative: the runtime joins it with the server URL given at serve time.
        return (Server(url=base_path),)
    declared = [s for s in as_list(schemes if schemes is not None else root.get("schemes")) if s in ("https", "http")]
    # The spec's default is "the scheme used to access the definition", unknown here: prefer TLS.
    return tuple(Server(url=f"{scheme}://{host}{base_path.rstrip('/')}") for scheme in declared or ["https"])


def response_media_types(ctx: Context, operation: Located) -> list[str]:
    return [str(m) for m in as_list(operation.node.get("produces", ctx.root.get("produces")))] or [media.JSON]
