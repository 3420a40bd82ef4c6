"""Request Body Objects (OpenAPI 3.x §4.8.13) → ``ir.Body``.

The body stays one schema: the compiler's schema pass flattens it into arguments. Of several
media types one is chosen (``media.choose``); form and multipart bodies keep their per-property
``encoding`` (§4.8.15), which says how each property is written.
"""

from __future__ import annotations

from virtualize.adapters.openapi import media
from virtualize.adapters.openapi.context import Context, SkipOperation, as_dict, text
from virtualize.adapters.openapi.load import Located, child
from virtualize.ir import Body, Encoding, JsonSchema


def request_body(ctx: Context, operation: Located) -> Body | None:
    if "requestBody" not in operation.node:
        return None
    place = ctx.follow(Located(operation.node["requestBody"], operation.file, child(operation.pointer, "requestBody")))
    node = place.node
    if not isinstance(node, dict):
        raise SkipOperation("its requestBody is not an object", place)
    content = {str(k): v for k, v in as_dict(node.get("content")).items()}
    chosen = media.choose(content)
    if chosen is None:
        raise SkipOperation("its requestBody declares no media type in content", place)
    media_place = Located(as_dict(content[chosen]), place.file, child(place.pointer, "content", chosen))
    if "schema" in media_place.node:
        schema = ctx.schema(Located(media_place.node["schema"], media_place.file, child(media_place.pointer, "schema")))
    else:
        schema = _raw_schema(chosen)
    encoding = {}
    if media.base(chosen) in {media.FORM, media.MULTIPART}:
        for name, value in as_dict(media_place.node.get("encoding")).items():
            item = as_dict(value)
            explode = item.get("explode")
            style = item.get("style")
            encoding[str(name)] = Encoding(
                content_type=item.get("contentType") if isinstance(item.get("contentType"), str) else None,
                style=style if isinstance(style, str) else None,
                explode=explode if isinstance(explode, bool) else None,
                allow_reserved=item.get("allowReserved") is True,
            )
    return Body(
        media_type=chosen,
        schema_=schema,
        required=node.get("required") is True,
        description=text(node.get("description")),
        encoding=encoding,
        pointer=place.pointer,
    )


def _raw_schema(media_type: str) -> JsonSchema:
    """A body declared without a schema: bytes for binary types, text for text types, else anything."""
    kind = media.base(media_type)
    if media.is_binary(kind) or kind == "*/*":
        return {"type": "string", "format": "binary"}
    if kind.startswith("text/"):
        return {"type": "string"}
    return {}
