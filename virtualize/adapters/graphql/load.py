"""Reading a GraphQL schema: SDL (``build_ast_schema``), an introspection result in JSON
(``build_client_schema``), or a live endpoint introspected at build time.

Every problem becomes a located diagnostic: SDL by line, JSON by pointer. A schema that parses
but breaks the type system rules (GraphQL spec §3, "Type System") is reported with each
violation's location, through graphql-core's ``validate_schema``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from graphql import (
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    build_ast_schema,
    build_client_schema,
    get_introspection_query,
    parse,
    validate_schema,
)
from graphql.validation.validate import validate_sdl

from virtualize.diagnostics import Diagnostics
from virtualize.errors import ConfigError, SpecError

INTROSPECTION_TIMEOUT = 30.0
_UNKNOWN_DIRECTIVE = re.compile(r"^Unknown directive '@(?P<name>[_A-Za-z][_0-9A-Za-z]*)'\.$")


@dataclass(frozen=True)
class LoadedSchema:
    schema: GraphQLSchema
    format: str  # "GraphQL SDL" or "GraphQL introspection"
    from_sdl: bool


def read_schema(path: Path, diagnostics: Diagnostics) -> LoadedSchema | None:
    """The schema in ``path``, or None when errors (reported) prevent one."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        diagnostics.error(file, f"cannot read the schema: {exc}", hint="pass a readable .graphql or .json file")
        return None
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        return _from_introspection(file, text, diagnostics)
    return _from_sdl(file, text, diagnostics)


def _from_sdl(file: str, text: str, diagnostics: Diagnostics) -> LoadedSchema | None:
    try:
        document = parse(text, no_location=False)
    except GraphQLSyntaxError as exc:
        _report(file, exc, diagnostics, hint="fix the SDL syntax (GraphQL spec §2, Language)")
        return None
    sdl_errors = validate_sdl(document)
    # Server SDL often uses directives it never declares (Federation's @key, AppSync's @aws_*,
    # Hasura's): they say how the server resolves fields, nothing a client sends, so they are
    # noted once each and the schema is built without them.
    unknown: dict[str, GraphQLError] = {}
    broken = False
    for error in sdl_errors:
        match = _UNKNOWN_DIRECTIVE.match(error.message)
        if match:
            unknown.setdefault(match["name"], error)
        else:
            broken = True
            _report(file, error, diagnostics, hint="the SDL must build into one schema (GraphQL spec §3)")
    for name, error in unknown.items():
        diagnostics.warning(
            file,
            f"directive @{name} is used but not declared; ignored",
            line=error.locations[0].line if error.locations else None,
            hint=f"declare it (directive @{name} on ...) if it matters to clients; it does not to virtualize",
        )
    if broken:
        return None
    try:
        schema = build_ast_schema(document, assume_valid_sdl=True)
    except (TypeError, GraphQLError) as exc:
        # build_ast_schema raises TypeError for unknown types or misplaced definitions; find
        # the line of the name it complains about, since the exception carries no location.
        message = str(exc)
        diagnostics.error(
            file,
            f"the SDL does not build into a schema: {message}",
            line=_line_of_quoted_name(text, message),
            hint="every referenced type must be defined in this file (schema extensions need their base)",
        )
        return None
    return _checked(file, schema, "GraphQL SDL", True, diagnostics)


def _from_introspection(file: str, text: str, diagnostics: Diagnostics) -> LoadedSchema | None:
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        diagnostics.error(file, f"invalid JSON: {exc.msg}", line=exc.lineno, hint="pass an introspection result")
        return None
    result, pointer = data, ""
    if isinstance(result, dict) and isinstance(result.get("data"), dict):
        result, pointer = result["data"], "/data"
    if not isinstance(result, dict) or not isinstance(result.get("__schema"), dict):
        diagnostics.error(
            file,
            "not an introspection result: no __schema object",
            pointer=pointer,
            hint='expected the JSON of an introspection query, {"data": {"__schema": ...}} or {"__schema": ...}',
        )
        return None
    # build_client_schema takes any value as a description and names as given; the adapter reads
    # them as text, so a number there is a located error here rather than a crash later.
    for where, key, value in _texts(result["__schema"], f"{pointer}/__schema"):
        if value is not None and not isinstance(value, str):  # a wrapper type's name is null
            diagnostics.error(file, f"{key} must be a string, not {type(value).__name__}", pointer=where)
            return None
    try:
        schema = build_client_schema(result)  # type: ignore[arg-type]  # checked shape above
    except (TypeError, KeyError, ValueError, GraphQLError) as exc:
        diagnostics.error(
            file,
            f"the introspection result does not build into a schema: {exc}",
            pointer=f"{pointer}/__schema",
            hint="produce it with the standard introspection query (graphql-core get_introspection_query)",
        )
        return None
    return _checked(file, schema, "GraphQL introspection", False, diagnostics)


def _texts(node: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    """(pointer, key, value) of every ``description``, ``deprecationReason`` and ``name`` in an
    introspection result."""
    if isinstance(node, dict):
        for key, value in node.items():
            at = f"{pointer}/{key}"
            if key in ("description", "deprecationReason", "name"):
                yield at, key, value
            elif isinstance(value, dict | list):
                yield from _texts(value, at)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _texts(item, f"{pointer}/{index}")


def _checked(
    file: str, schema: GraphQLSchema, fmt: str, from_sdl: bool, diagnostics: Diagnostics
) -> LoadedSchema | None:
    errors = validate_schema(schema)
    for error in errors:
        _report(file, error, diagnostics, hint="the schema breaks a type system rule (GraphQL spec §3)")
    if errors:
        return None
    if schema.query_type is None:
        diagnostics.error(file, "the schema has no query type", hint="define `type Query` or a `schema { query: ... }`")
        return None
    return LoadedSchema(schema, fmt, from_sdl)


def _report(file: str, error: GraphQLError, diagnostics: Diagnostics, *, hint: str) -> None:
    line = error.locations[0].line if error.locations else None
    diagnostics.error(file, error.message, line=line, hint=hint)


def _line_of_quoted_name(text: str, message: str) -> int | None:
    start = message.find("'")
    end = message.find("'", start + 1)
    if start < 0 or end < 0:
        return None
    name = message[start + 1 : end]
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0]
        if _mentions(stripped, name):
            return number
    return None


def _mentions(line: str, name: str) -> bool:
    index = line.find(name)
    while index >= 0:
        before = line[index - 1] if index else " "
        after = line[index + len(name)] if index + len(name) < len(line) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        index = line.find(name, index + 1)
    return False


def introspect(url: str, headers: dict[str, str]) -> str:
    """Run the introspection query against ``url`` and return the result as canonical JSON text.

    Raises ``SpecError`` (one located diagnostic) when the endpoint cannot answer it.
    """
    query = get_introspection_query(descriptions=True, specified_by_url=True, input_value_deprecation=True, one_of=True)
    diagnostics = Diagnostics()
    try:
        response = httpx.post(
            url,
            json={"query": query, "operationName": "IntrospectionQuery"},
            headers={"Accept": "application/graphql-response+json, application/json", **headers},
            timeout=INTROSPECTION_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        diagnostics.error(
            url, f"introspection request failed: {type(exc).__name__}: {exc}", hint="check the URL and that it is up"
        )
        raise SpecError(diagnostics.items) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or "__schema" not in data:
        detail = f"HTTP {response.status_code}"
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            detail += f": {errors[0].get('message', '')}"
        diagnostics.error(
            url,
            f"introspection returned no schema ({detail})",
            hint="the endpoint may disable introspection or need credentials (--header 'Authorization: ...')",
        )
        raise SpecError(diagnostics.items)
    return json.dumps({"data": data}, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def parse_headers(lines: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``Name: value`` lines as a header dict; raises ``ConfigError`` naming a malformed one."""
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
            # Never echo the line: it likely holds a credential.
            raise ConfigError("a --header is not of the form 'Name: value'", hint="--header 'Authorization: Bearer …'")
        headers[name.strip()] = value.strip()
    return headers


def introspect_to(url: str, output: Path, header_lines: list[str] | tuple[str, ...]) -> None:
    """Introspect ``url`` (sending ``header_lines``) and write the result to ``output``."""
    text = introspect(url, parse_headers(header_lines))
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {output}: {exc.strerror or exc}", hint="pick a writable -o path") from None
