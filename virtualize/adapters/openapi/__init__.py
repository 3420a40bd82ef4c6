"""The OpenAPI adapter: Swagger 2.0, OpenAPI 3.0 and 3.1 (YAML or JSON, one file or many) → ``ir.Api``.

    load.py         read documents, follow ``$ref``s across files, refuse remote ones and alias bombs
    schemas.py      the three schema dialects → JSON Schema 2020-12 with local ``#/$defs`` references
    operations.py   paths x methods → ``ir.Operation``
    parameters.py   Parameter Objects → ``ir.Argument`` with explicit serialization
    bodies.py       Request Body Objects → ``ir.Body``
    responses.py    Responses → ``ir.Response``s and the result schema
    servers.py      Server Objects → ``ir.Server``
    security.py     security schemes and requirements
    swagger2.py     what Swagger 2.0 says differently (body/formData, collectionFormat, host/basePath)
    media.py        choosing among media types

Broken input never raises out of ``load``: every problem is a diagnostic with the file and JSON
pointer; an operation that cannot be compiled is left out with a warning.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from virtualize.adapters import AdapterOptions
from virtualize.adapters.openapi import operations, security
from virtualize.adapters.openapi.context import Context, as_dict, text
from virtualize.adapters.openapi.load import Documents, Located, child
from virtualize.adapters.openapi.schemas import Dialect, SchemaConverter
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api

__all__ = ["load"]

_OPENAPI_VERSION = re.compile(r"^3\.(\d+)(\.\d+)?(-[0-9A-Za-z.-]+)?$")
_HINT_VERSION = "start the document with `openapi: 3.1.0`, `openapi: 3.0.3` or `swagger: '2.0'`"


def load(path: Path, options: AdapterOptions, diagnostics: Diagnostics) -> Api | None:
    """Compile the OpenAPI document ``path`` into an Api, reporting problems into ``diagnostics``."""
    documents = Documents(
        path, allow_remote=options.allow_remote_refs, diagnostics=diagnostics, ref_root=options.ref_root
    )
    root = documents.entry_root()
    if root is None:
        return None
    file = documents.entry
    if not isinstance(root, dict):
        documents.error(
            file, "", f"an OpenAPI document must be an object, not {_kind(root)}",
            hint="is this the right file? " + _HINT_VERSION,
        )  # fmt: skip
        return None
    found = _version(documents, root)
    if found is None:
        return None
    dialect, format_ = found
    converter = SchemaConverter(documents, dialect)
    _reserve_component_names(converter, root, file, dialect)
    paths = _paths(documents, root, dialect)
    if paths is None:
        return None
    schemes = security.schemes(documents, root, swagger=dialect == "2.0")
    ctx = Context(documents=documents, schemas=converter, dialect=dialect, root=root, schemes=schemes)
    found_operations = operations.operations(ctx, paths)
    info = as_dict(root.get("info"))
    return Api(
        family="openapi",
        format=format_,
        title=text(info.get("title")),
        version=_scalar(info.get("version")),
        description=text(info.get("description")),
        operations=tuple(found_operations),
        security_schemes=schemes,
        defs=dict(sorted(converter.defs.items())),
        includes=documents.includes,
    )


def _version(documents: Documents, root: dict[str, Any]) -> tuple[Dialect, str] | None:
    """The dialect and the format name the document declares; None (reported) when unsupported."""
    file = documents.entry
    if "swagger" in root:
        declared = _scalar(root["swagger"])
        if declared == "2.0":
            return "2.0", "Swagger 2.0"
        documents.error(file, "/swagger", f"unsupported Swagger version {declared!r}", hint=_HINT_VERSION)
        return None
    if "openapi" not in root:
        documents.error(file, "", "not an OpenAPI document: it has neither `openapi` nor `swagger`", hint=_HINT_VERSION)
        return None
    declared = _scalar(root["openapi"])
    match = _OPENAPI_VERSION.match(declared)
    if match is None:
        documents.error(file, "/openapi", f"unsupported OpenAPI version {declared!r}", hint=_HINT_VERSION)
        return None
    minor = int(match.group(1))
    if minor == 0:
        return "3.0", f"OpenAPI {declared}"
    if minor > 1:
        documents.warning(
            file, "/openapi", f"OpenAPI {declared} is read as OpenAPI 3.1",
            hint="what later versions added is not compiled",
        )  # fmt: skip
    return "3.1", f"OpenAPI {declared}"


def _paths(documents: Documents, root: dict[str, Any], dialect: Dialect) -> Located | None:
    """The Paths Object; an empty one when OpenAPI 3.1 leaves it out (§4.8.1: paths is optional)."""
    file = documents.entry
    if "paths" not in root:
        if dialect == "3.1":
            return Located({}, file, "")
        documents.error(
            file, "", "the document has no `paths`",
            hint="declare the API's operations under `paths:` (required in Swagger 2.0 and OpenAPI 3.0)",
        )  # fmt: skip
        return None
    paths = root["paths"]
    if not isinstance(paths, dict):
        documents.error(
            file, "/paths", f"`paths` must be an object, not {_kind(paths)}", hint="map each path to its operations"
        )
        return None
    return Located(paths, file, "/paths")


def _reserve_component_names(converter: SchemaConverter, root: dict[str, Any], file: str, dialect: Dialect) -> None:
    """Named schemas keep their names as ``$defs`` keys, whichever reference reaches them first."""
    if dialect == "2.0":
        owner, pointer = root.get("definitions"), "/definitions"
    else:
        owner, pointer = as_dict(root.get("components")).get("schemas"), "/components/schemas"
    for name, schema in as_dict(owner).items():
        converter.reserve(Located(schema, file, child(pointer, name)), str(name))


def _scalar(value: Any) -> str:
    """A version as written: YAML reads an unquoted ``2.0`` or ``3.0`` as a number."""
    return value if isinstance(value, str) else str(value) if isinstance(value, int | float) else ""


def _kind(value: Any) -> str:
    return {list: "a list", str: "a string", type(None): "empty"}.get(type(value), type(value).__name__)
