"""Arguments: every parameter and the request body, flattened into one ``inputSchema`` object.

- An object request body with plain ``properties`` (after merging an ``allOf`` of such objects
  when no property is declared twice) becomes one ``body_field`` argument per property. Any other
  body (array, combinator, primitive, binary, a map with only ``additionalProperties``) is one
  argument named ``body``: the root of ``inputSchema`` stays ``type: object`` with no top-level
  combinator, which some clients require.
- Property names must match ``^[A-Za-z0-9_.-]{1,64}$`` (the strictest client rule); other
  characters become ``_``.
- A clash of names between locations is resolved by a fixed priority, path > query > header >
  cookie > body: the first keeps the name, the others get a location suffix (``id_body``), then a
  number if that is taken too. The wire name is kept in the binding, so nothing is lost.
- Binary values (OpenAPI ``format: binary``, or ``contentMediaType`` without an encoding) travel
  in JSON as base64 strings: their schema says ``contentEncoding: base64`` (JSON Schema 2020-12
  §8.3) and the runtime decodes them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from virtualize import ir
from virtualize.passes.schemas import Mode, SchemaViews
from virtualize.passes.state import Build, PlannedArgument

Location = ir.Location
_PRIORITY = {
    Location.PATH: 0,
    Location.QUERY: 1,
    Location.HEADER: 2,
    Location.COOKIE: 3,
    Location.BODY_FIELD: 4,
    Location.BODY: 4,
    Location.VARIABLE: 5,
    Location.FIELD: 5,
}
_SUFFIX = {
    Location.PATH: "path",
    Location.QUERY: "query",
    Location.HEADER: "header",
    Location.COOKIE: "cookie",
    Location.BODY_FIELD: "body",
    Location.BODY: "body",
    Location.VARIABLE: "var",
    Location.FIELD: "field",
}
_INVALID_PROPERTY = re.compile(r"[^A-Za-z0-9_.-]+")
_PROPERTY_LIMIT = 64
BODY_ARGUMENT = "body"


def is_json(media_type: str | None) -> bool:
    if media_type is None:
        return True
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or essence.endswith("+json")


def _property_name(wire: str) -> str:
    return (_INVALID_PROPERTY.sub("_", wire).strip("_") or "arg")[:_PROPERTY_LIMIT]


def assign_names(arguments: list[tuple[str, Location]]) -> list[str]:
    """Property names for (wire name, location) pairs, as the module docstring describes."""
    wanted = [_property_name(wire) for wire, _ in arguments]
    order = sorted(
        range(len(arguments)),
        key=lambda i: (wanted[i] != arguments[i][0], _PRIORITY[arguments[i][1]], i),
    )
    names: list[str | None] = [None] * len(arguments)
    taken: set[str] = set()
    for i in order:
        if wanted[i] not in taken:
            names[i] = wanted[i]
            taken.add(wanted[i])
    for i in order:
        if names[i] is not None:
            continue
        suffix = _SUFFIX[arguments[i][1]]
        stem = wanted[i][: _PROPERTY_LIMIT - len(suffix) - 4]
        name = f"{stem}_{suffix}"
        number = 2
        while name in taken:
            name = f"{stem}_{suffix}_{number}"
            number += 1
        names[i] = name
        taken.add(name)
    return [name for name in names if name is not None]


def _binary(schema: Any) -> Any:
    """Mark binary strings (also as array items) as base64 text, the only way JSON carries bytes."""
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return {**schema, "items": _binary(schema["items"])}
    is_binary = schema.get("format") == "binary" or ("contentMediaType" in schema and "contentEncoding" not in schema)
    if not is_binary:
        return schema
    marked = {k: v for k, v in schema.items() if k != "format"}
    marked["contentEncoding"] = "base64"
    marked.setdefault("description", "File content, base64-encoded.")
    return marked


def _object_shape(schema: ir.JsonSchema, views: SchemaViews) -> tuple[dict[str, Any], list[str]] | None:
    """(properties, required) of a plain object schema, merging a simple ``allOf``; else None."""
    schema = views.resolve(schema, Mode.REQUEST)
    if any(k in schema for k in ("oneOf", "anyOf", "not", "if", "patternProperties", "$ref")):
        return None
    kind = schema.get("type", "object")
    if kind != "object":
        return None
    extra = schema.get("additionalProperties")
    if (isinstance(extra, dict) and extra) or extra is True:
        return None
    properties: dict[str, Any] = dict(schema.get("properties", {}))
    required: list[str] = list(schema.get("required", []))
    for member in schema.get("allOf", []):
        if not isinstance(member, dict):
            return None
        shape = _object_shape(member, views)
        if shape is None or set(shape[0]) & set(properties):
            return None
        properties.update(shape[0])
        required.extend(r for r in shape[1] if r not in required)
    if not properties:
        return None
    return properties, required


def _body_arguments(body: ir.Body, views: SchemaViews) -> list[tuple[ir.Argument, Any, bool, str | None, bool]]:
    schema = views.view(body.schema_, Mode.REQUEST)
    binary_body = not is_json(body.media_type)
    shape = _object_shape(schema, views) if "json" in body.media_type or "form" in body.media_type else None
    if shape is None:
        whole = _binary(schema) if binary_body else schema
        if binary_body and body.required and isinstance(whole, dict) and whole.get("type", "string") == "string":
            # An empty raw body is no body at all: a required one must carry at least one byte.
            whole = {**whole, "minLength": max(1, whole.get("minLength", 0))}
        if body.description:  # this operation's words for its body win over a shared schema's
            whole = {**whole, "description": views.describe(body.description)}
        argument = ir.Argument(
            name=BODY_ARGUMENT,
            location=Location.BODY,
            schema_=whole,
            required=body.required,
            pointer=body.pointer,
        )
        return [(argument, whole, body.required, None, False)]
    properties, required = shape
    planned = []
    for name, prop in properties.items():
        encoding = body.encoding.get(name)
        prop_schema = _binary(prop) if binary_body else prop
        serialization = None
        if encoding is not None and (encoding.style or encoding.explode is not None or encoding.allow_reserved):
            serialization = ir.Serialization(
                style=encoding.style, explode=encoding.explode, allow_reserved=encoding.allow_reserved
            )
        content_type = encoding.content_type if encoding is not None else None
        if content_type is None and binary_body and isinstance(prop, dict):
            content_type = prop.get("contentMediaType")
        if name in required and binary_body and content_type is None and isinstance(prop_schema, dict):
            prop_schema = _sent_when_empty(prop_schema, views, objects="urlencoded" in body.media_type)
        argument = ir.Argument(
            name=name,
            location=Location.BODY_FIELD,
            schema_=prop_schema,
            required=name in required and body.required,
            serialization=serialization,
            pointer=f"{body.pointer}/schema/properties/{name}",
        )
        planned.append((argument, prop_schema, argument.required, content_type, name in required))
    return planned


def _sent_when_empty(schema: dict[str, Any], views: SchemaViews, *, objects: bool) -> dict[str, Any]:
    """A required form or multipart field that the upstream receives whatever its value.

    An empty list is no field at all in a form or multipart body (each item is one ``name=value``
    or one part), and so is an empty object in a form body (each property is one ``name[key]=``);
    the upstream would find its required field missing (Stripe's ``values: []``), so it needs an
    item or a property. A multipart object is one JSON part, ``{}`` included.
    """
    resolved = views.resolve(schema, Mode.REQUEST)
    kind = resolved.get("type")
    kinds = {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()
    added: dict[str, int] = {}
    if "array" in kinds and not _at_least_one(resolved.get("minItems")):
        added["minItems"] = 1
    if (
        objects
        and "object" in kinds
        and not resolved.get("required")
        and not _at_least_one(resolved.get("minProperties"))
    ):
        added["minProperties"] = 1
    return {**schema, **added} if added else schema


def _at_least_one(minimum: object) -> bool:
    return isinstance(minimum, int | float) and not isinstance(minimum, bool) and minimum >= 1


def plan(op: ir.Operation, views: SchemaViews) -> tuple[PlannedArgument, ...]:
    # (argument, schema, required, content type, required by the body it belongs to)
    found: list[tuple[ir.Argument, Any, bool, str | None, bool]] = []
    for arg in op.arguments:
        schema = views.view(arg.schema_, Mode.REQUEST)
        if arg.description:  # the parameter's own description says more than its type's
            schema = {**schema, "description": views.describe(arg.description)}
        if arg.deprecated:
            schema = {**schema, "deprecated": True}
        if arg.location in (Location.BODY, Location.BODY_FIELD) and isinstance(op.call, ir.HttpCall):
            body = op.call.body
            if body is not None and not is_json(body.media_type):
                schema = _binary(schema)
        content_type = arg.serialization.content_type if arg.serialization else None
        found.append((arg, schema, arg.required, content_type, False))
    has_body_arguments = any(a.location in (Location.BODY, Location.BODY_FIELD) for a in op.arguments)
    if isinstance(op.call, ir.HttpCall) and op.call.body is not None and not has_body_arguments:
        found.extend(_body_arguments(op.call.body, views))
    names = assign_names([(arg.name, arg.location) for arg, *_ in found])
    return tuple(
        PlannedArgument(
            argument=name,
            source=arg,
            schema=schema,
            required=required,
            content_type=content_type,
            required_in_body=in_body and not required,
        )
        for name, (arg, schema, required, content_type, in_body) in zip(names, found, strict=True)
    )


def plan_arguments(build: Build) -> Build:
    drafts = tuple(dataclasses.replace(d, arguments=plan(d.operation, build.views)) for d in build.drafts)
    return dataclasses.replace(build, drafts=drafts)
