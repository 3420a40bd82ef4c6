"""Paths x methods → ``ir.Operation`` (OpenAPI 3.x §4.8.8-4.8.10, Swagger 2.0 §"Paths Object").

Each operation compiles on its own: one that cannot be (a broken ``$ref``, a parameter of the
wrong shape...) is left out with a warning saying why and where, and the others still compile.

- ``key`` is ``"METHOD /path"`` as declared, which the ``paths`` map keeps unique;
- ``name_candidates`` are the ``operationId`` (when there is one) then a name derived from the
  method and the path, so an operation without an id still gets a readable, stable name;
- ``semantics`` follow RFC 9110 §9.2: the safe methods (GET, HEAD, OPTIONS, TRACE) are
  read-only, PUT and DELETE are idempotent, DELETE is destructive, and every call reaches a
  remote system (open world).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from virtualize.adapters.openapi import bodies, parameters, responses, security, servers, swagger2
from virtualize.adapters.openapi.context import Context, SkipOperation, as_list, text
from virtualize.adapters.openapi.load import Located, child
from virtualize.ir import Argument, HttpCall, Location, Operation, Semantics

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_IDEMPOTENT = _SAFE | {"PUT", "DELETE"}
_TEMPLATE = re.compile(r"\{([^{}]+)\}")
_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")


def operations(ctx: Context, paths: Located) -> list[Operation]:
    """Every operation under ``paths`` that compiles, in declared order.

    A document that declares none is only worth a warning (an OpenAPI 3.1 document may hold just
    webhooks or components); one whose every operation was left out is an error, since the build
    would silently produce nothing of what it describes.
    """
    found: list[Operation] = []
    left_out = 0
    first_use: dict[str, tuple[str, Located]] = {}  # operationId -> (METHOD /path, where)
    for path, item, method, operation in _walk(ctx, paths):
        if operation is None:
            left_out += 1
            continue
        _check_unique_id(ctx, f"{method.upper()} {path}", operation, first_use)
        try:
            found.append(_operation(ctx, path, item, method, operation))
        except SkipOperation as skip:
            left_out += 1
            where = skip.place or operation
            ctx.documents.warning(
                where.file, where.pointer, f"operation {method.upper()} {path} is left out: {skip.message}",
                hint="fix it to include the operation; the rest of the API compiles without it",
            )  # fmt: skip
    if left_out and not found:
        ctx.documents.error(
            ctx.entry, paths.pointer, f"none of the {left_out} operations could be compiled",
            hint="the warnings above say why each was left out",
        )  # fmt: skip
    elif not found:
        ctx.documents.warning(
            ctx.entry, paths.pointer, "the document describes no operations", hint="the manifest will have no tools"
        )
    return found


def _check_unique_id(ctx: Context, key: str, operation: Located, first_use: dict[str, tuple[str, Located]]) -> None:
    """An operationId names one operation (OpenAPI 3.x §4.8.10.1, "MUST be unique"). Two that
    share one both still compile, but their tools are told apart by a digest, not by the id."""
    operation_id = operation.node.get("operationId")
    if not isinstance(operation_id, str) or not operation_id.strip():
        return
    name = operation_id.strip()  # as tool names read it: "listPets " and "listPets" are one id
    if name not in first_use:
        first_use[name] = (key, operation)
        return
    other, where = first_use[name]
    hint = "give each operation its own operationId (tools that share one are told apart by a digest)"
    if (where.file, where.pointer) == (operation.file, operation.pointer):  # one path item under two paths
        message = f"this path item serves both {other} and {key}, so its operationId names two operations"
        hint = "give each path its own path item with its own operationId"
    else:
        message = f"operationId {name!r} is also the id of {other} ({where.file}#{where.pointer}); ids are unique"
    ctx.documents.warning(operation.file, child(operation.pointer, "operationId"), message, hint=hint)


def _walk(ctx: Context, paths: Located) -> Iterator[tuple[str, Located, str, Located | None]]:
    """(path, path item, method, operation) for each declared operation; None for one that is broken."""
    documents = ctx.documents
    for raw_path, value in paths.node.items():
        path = str(raw_path)
        if path.startswith("x-"):
            continue
        declared = Located(value, paths.file, child(paths.pointer, path))
        if not path.startswith("/"):
            documents.warning(
                declared.file, declared.pointer, f"path {path!r} does not start with '/'",
                hint="its operations are left out",
            )  # fmt: skip
            yield path, declared, "", None
            continue
        item = documents.follow(declared)
        if item is not None and not isinstance(item.node, dict):
            documents.warning(item.file, item.pointer, f"path item {path!r} is not an object", hint="it is left out")
            item = None
        if item is None:
            yield path, declared, "", None
            continue
        for raw_method, operation in item.node.items():
            method = str(raw_method)
            if method not in METHODS:
                continue
            # Operations are not Reference-able by the spec, but multi-file trees (DigitalOcean) do it.
            place = documents.follow(Located(operation, item.file, child(item.pointer, method)))
            if place is not None and not isinstance(place.node, dict):
                documents.warning(
                    place.file, place.pointer, f"operation {method.upper()} {path} is not an object",
                    hint="it is left out",
                )  # fmt: skip
                place = None
            yield path, item, method, place


def _operation(ctx: Context, path: str, item: Located, method: str, operation: Located) -> Operation:
    node: dict[str, Any] = operation.node
    verb = method.upper()
    # A fragment is never sent (RFC 9110 §7.1); APIs use one to tell apart operations on one path
    # and method (Box's "/files/{file_id}#get_shared_link"): it stays in the key and name only.
    wire_path = path.partition("#")[0]
    declared = parameters.declared(ctx, item, operation)
    arguments = []
    for parameter in declared:
        if parameter.node["in"] in parameters.LOCATIONS:
            argument = parameters.argument(ctx, parameter)
            if argument is not None:
                arguments.append(argument)
    arguments = _match_template(ctx, wire_path, operation, arguments)
    swagger = ctx.dialect == "2.0"
    body = swagger2.body(ctx, declared, operation) if swagger else bodies.request_body(ctx, operation)
    found_responses, result = responses.responses(ctx, operation)
    if swagger:
        call_servers = swagger2.servers(ctx.root, node.get("schemes"))
    else:
        call_servers = servers.servers(node, item.node, ctx.root)
    operation_id = node.get("operationId")
    candidates = (operation_id,) if isinstance(operation_id, str) and operation_id.strip() else ()
    return Operation(
        key=f"{verb} {path}",
        name_candidates=(*candidates, derived_name(method, path)),
        summary=text(node.get("summary")) or text(item.node.get("summary")),
        description=text(node.get("description")) or text(item.node.get("description")),
        tags=tuple(dict.fromkeys(str(t) for t in as_list(node.get("tags")) if isinstance(t, str | int))),
        deprecated=node.get("deprecated") is True,
        arguments=tuple(arguments),
        result=result,
        call=HttpCall(method=verb, path=wire_path, servers=call_servers, body=body, responses=found_responses),
        security=security.requirements(ctx, operation),
        semantics=Semantics(
            read_only=verb in _SAFE,
            destructive=verb == "DELETE",
            idempotent=verb in _IDEMPOTENT,
            open_world=True,
        ),
        pointer=operation.pointer,
    )


def derived_name(method: str, path: str) -> str:
    """``get /pets/{petId}/photo`` → ``get_pets_petId_photo``."""
    words = [w for w in _NOT_NAME.split(path) if w]
    return "_".join([method.lower(), *words]) if words else method.lower()


def _match_template(ctx: Context, path: str, operation: Located, arguments: list[Argument]) -> list[Argument]:
    """Path arguments and the ``{name}``s of the template must agree (OpenAPI 3.x §4.8.12.1).

    A placeholder with no parameter gets a required string argument, so the operation stays
    callable; a path parameter absent from the template is dropped, since it could go nowhere.
    """
    if "{" in _TEMPLATE.sub("", path) or "}" in _TEMPLATE.sub("", path):
        # "/pets/{id" or "/pets/id}": the request it would make is not the one the author meant.
        raise SkipOperation(f"the path {path!r} has a brace that opens or closes no {{placeholder}}")
    names = list(dict.fromkeys(_TEMPLATE.findall(path)))
    declared = {a.name for a in arguments if a.location is Location.PATH}
    kept = []
    for argument in arguments:
        if argument.location is Location.PATH and argument.name not in names:
            ctx.documents.warning(
                operation.file, operation.pointer,
                f"path parameter {argument.name!r} is not in the path {path!r}",
                hint="it was left out; rename it to match a {placeholder} of the path",
            )  # fmt: skip
            continue
        kept.append(argument)
    for name in names:
        if name not in declared:
            ctx.documents.warning(
                operation.file, operation.pointer, f"the path {path!r} has {{{name}}} but no parameter declares it",
                hint="it is read as a required string; declare it under parameters with in: path",
            )  # fmt: skip
            kept.append(Argument(name=name, location=Location.PATH, schema_={"type": "string"}, required=True))
    return kept
