"""The GraphQL adapter: a schema (SDL or introspection JSON) → ``ir.Api``.

load.py         read SDL / introspection JSON / a live endpoint, with located diagnostics
types.py        GraphQL input and output types → JSON Schema 2020-12
selection.py    generated selection sets, and result schemas read from selection sets
operations.py   root fields and document operations → ``ir.Operation``
security.py     ``--auth`` declarations → security schemes (GraphQL schemas carry none)
"""

from __future__ import annotations

from pathlib import Path

from virtualize.adapters import AdapterOptions
from virtualize.adapters.graphql.load import introspect, introspect_to, read_schema
from virtualize.adapters.graphql.operations import Context, document_operations, root_field_operations
from virtualize.adapters.graphql.security import declared_schemes
from virtualize.adapters.graphql.types import InputSchemas
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, SecurityUse

__all__ = ["introspect", "introspect_to", "load"]


def load(path: Path, options: AdapterOptions, diagnostics: Diagnostics) -> Api | None:
    """Compile the GraphQL schema in ``path`` into an Api, reporting problems into ``diagnostics``."""
    file = str(path)
    loaded = read_schema(path, diagnostics)
    if loaded is None:
        return None
    if not options.endpoint:
        diagnostics.error(
            file,
            "no GraphQL endpoint: a schema does not say where it is served",
            hint="pass --endpoint URL (or set endpoint in the spec's .virtualize.toml)",
        )
        return None
    if options.selection_depth < 1:
        diagnostics.error(file, f"selection depth must be at least 1, not {options.selection_depth}", hint="--depth 2")
        return None
    schemes = declared_schemes(options.auth, file, diagnostics)
    security = (tuple(SecurityUse(scheme=name) for name in schemes),) if schemes else ()
    context = Context(
        schema=loaded.schema,
        file=file,
        from_sdl=loaded.from_sdl,
        endpoint=options.endpoint,
        depth=options.selection_depth,
        scalars=dict(options.scalars),
        inputs=InputSchemas(dict(options.scalars)),
        security=security,
        diagnostics=diagnostics,
    )
    documents = document_operations(context, options.documents)
    shadowed = documents.shadowed | {(kind, name) for name in documents.names for kind in ("query", "mutation")}
    operations = [*documents.operations, *root_field_operations(context, options.mutations, shadowed)]
    description = (loaded.schema.description or "").strip()
    return Api(
        family="graphql",
        format=loaded.format,
        title=description.splitlines()[0] if description else "",
        description=description,
        operations=tuple(operations),
        security_schemes=schemes,
        defs=dict(sorted(context.inputs.defs.items())),
    )
