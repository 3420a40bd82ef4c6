"""Parameter Objects → ``ir.Argument`` with their serialization made explicit.

OpenAPI 3.x §4.8.12 (Parameter Object): path parameters are always required; ``style`` defaults
to ``form`` for query and cookie and to ``simple`` for path and header; ``explode`` defaults to
true for ``form`` and false otherwise. Header parameters named Accept, Content-Type or
Authorization are ignored (§4.8.12.1): the request body, the response negotiation and the
security schemes own those headers. Swagger 2.0 parameters (no ``schema``, a ``collectionFormat``)
are read by ``swagger2``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from virtualize.adapters.openapi import swagger2
from virtualize.adapters.openapi.context import Context, SkipOperation, as_dict, text
from virtualize.adapters.openapi.load import Located, child
from virtualize.adapters.openapi.schemas import NotJson, plain_json
from virtualize.ir import Argument, Location, Serialization

IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
LOCATIONS = {"path": Location.PATH, "query": Location.QUERY, "header": Location.HEADER, "cookie": Location.COOKIE}
DEFAULT_STYLE = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}
ALLOWED_STYLES = {
    "path": frozenset({"simple", "label", "matrix"}),
    "query": frozenset({"form", "spaceDelimited", "pipeDelimited", "deepObject"}),
    "header": frozenset({"simple"}),
    "cookie": frozenset({"form"}),
}


def declared(ctx: Context, path_item: Located, operation: Located) -> list[Located]:
    """Path-level then operation-level parameters, ``$ref``s followed; the operation's win by (name, in)."""
    merged: dict[tuple[str, str], Located] = {}
    for owner in (path_item, operation):
        parameters = owner.node.get("parameters")
        if parameters is None:
            continue
        at = Located(parameters, owner.file, child(owner.pointer, "parameters"))
        if not isinstance(parameters, list):
            raise SkipOperation("its parameters are not a list", at)
        for index, parameter in enumerate(parameters):
            place = ctx.follow(Located(parameter, at.file, child(at.pointer, index)))
            node = place.node
            if not isinstance(node, dict):
                raise SkipOperation("a parameter is not an object", place)
            name, where = node.get("name"), node.get("in")
            if not isinstance(name, str) or not name:
                raise SkipOperation("a parameter has no name", place)
            allowed = (*LOCATIONS, "body", "formData") if ctx.dialect == "2.0" else tuple(LOCATIONS)
            if where not in allowed:
                raise SkipOperation(f"parameter {name!r} has an unknown location in: {where!r}", place)
            merged[name, where] = place
    return list(merged.values())


def argument(ctx: Context, place: Located) -> Argument | None:
    """The argument for a path, query, header or cookie parameter; None when the spec says to ignore it."""
    node: dict[str, Any] = place.node
    name: str = node["name"]
    where: str = node["in"]
    if where == "header" and name.lower() in IGNORED_HEADERS:
        return None
    if ctx.dialect == "2.0":
        schema, serialization = swagger2.parameter_schema(ctx, place)
    else:
        schema, serialization = _schema_and_serialization(ctx, place)
    required = where == "path" or node.get("required") is True
    if serialization.content_type is None and (
        where == "path" or ((required or where == "query") and node.get("allowEmptyValue") is not True)
    ):
        # A path segment cannot be empty (RFC 6570 simple expansion of "" leaves "//"); a query
        # parameter may be sent empty-valued (`?cursor=`) only with allowEmptyValue: true (3.0.3
        # §4.7.12.1 and 3.1 §4.8.12.1, Swagger 2.0 "Parameter Object"; the default is false), so an
        # optional one is left out rather than sent empty; a required header or cookie must say something.
        # An empty list or object leaves an exploded optional parameter out, which is fine; in the
        # other styles it is sent as `?tags=`.
        exploded = (serialization.style or "form") in {"form", "deepObject"} and serialization.explode is not False
        containers = required or not exploded
        schema = _non_empty(schema, containers=containers)
        if isinstance(schema.get("items"), dict):
            # [""] would still serialize to nothing (an empty segment, "tags="): each item must say something
            schema = {**schema, "items": _non_empty(schema["items"])}
        elif containers and "type" not in schema and "contains" not in schema:
            # An untyped one (OpenSearch's `index`: a $ref to a string or a list of them) keeps its
            # items in $defs: at least one item must be more than empty text.
            schema = {**schema, "contains": {"not": {"const": ""}}}
    if where == "header" and serialization.content_type is None:
        schema = _header_text(schema)
    if "example" in node and "examples" not in schema:
        with contextlib.suppress(NotJson):  # an example JSON cannot hold is left out: it only illustrates
            schema = {**schema, "examples": [plain_json(node["example"])]}
    return Argument(
        name=name,
        location=LOCATIONS[where],
        schema_=schema,
        required=required,
        description=text(node.get("description")),
        deprecated=node.get("deprecated") is True,
        serialization=serialization,
        pointer=place.pointer,
    )


def _non_empty(schema: dict[str, Any], *, containers: bool = True) -> dict[str, Any]:
    """``schema`` with a minimum of one character, item or property for each of string, array and
    object that it admits and sets no such minimum for yet (strings only without ``containers``).

    An empty array or object serializes to nothing in most styles (``form`` with explode drops the
    parameter), and to an empty value in the others, so either way the upstream would not receive
    the required parameter. An untyped schema (a ``$ref``, a ``oneOf`` of a string and a list) gets
    all three: each keyword constrains only its own type, so none narrows anything else. Enumerated
    values are left as the author listed them.
    """
    if "enum" in schema or "const" in schema:
        return schema
    kind = schema.get("type")
    kinds = {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else {"string", "array", "object"}
    minima = {"string": "minLength"} | ({"array": "minItems", "object": "minProperties"} if containers else {})
    added = {
        keyword: 1
        for type_name, keyword in minima.items()
        if type_name in kinds and not _at_least_one(schema.get(keyword))
    }
    return {**schema, **added} if added else schema


def _at_least_one(minimum: object) -> bool:
    return isinstance(minimum, int | float) and not isinstance(minimum, bool) and minimum >= 1


# RFC 9110 §5.5: a header value has no escape, so only visible ASCII, space and tab can be sent as
# they are; the schema says so, or an agent could pass schema-valid text the runtime must refuse.
HEADER_TEXT = "^[\t -~]*$"


def _header_text(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` restricted to what a header can carry, when it admits strings and has no pattern."""
    kind = schema.get("type")
    admits_string = kind is None or kind == "string" or (isinstance(kind, list) and "string" in kind)
    if not admits_string or "pattern" in schema or "enum" in schema or "const" in schema:
        return schema
    return {**schema, "pattern": HEADER_TEXT}


def _schema_and_serialization(ctx: Context, place: Located) -> tuple[dict[str, Any], Serialization]:
    node: dict[str, Any] = place.node
    where: str = node["in"]
    content = as_dict(node.get("content"))
    if content:
        # §4.8.12.2: `content` holds exactly one media type; its schema describes the serialized value
        media_type, media = next(iter(content.items()))
        media_place = Located(media, place.file, child(place.pointer, "content", media_type))
        schema_node = as_dict(media).get("schema", {})
        schema = ctx.schema(Located(schema_node, media_place.file, child(media_place.pointer, "schema")))
        return schema, Serialization(content_type=str(media_type))
    if "schema" not in node:
        ctx.documents.warning(
            place.file, place.pointer, f"parameter {node['name']!r} has neither schema nor content",
            hint="any value is accepted for it",
        )  # fmt: skip
    schema = ctx.schema(Located(node.get("schema", {}), place.file, child(place.pointer, "schema")))
    style = node.get("style")
    if style is not None and (not isinstance(style, str) or style not in ALLOWED_STYLES[where]):
        ctx.documents.warning(
            place.file, child(place.pointer, "style"), f"style {style!r} is not allowed in {where}",
            hint=f"the default style {DEFAULT_STYLE[where]!r} is used",
        )  # fmt: skip
        style = None
    style = style or DEFAULT_STYLE[where]
    explode = node.get("explode")
    return schema, Serialization(
        style=style,
        explode=explode if isinstance(explode, bool) else style == "form",
        allow_reserved=node.get("allowReserved") is True,
    )
