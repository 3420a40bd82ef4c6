"""Server Objects (OpenAPI 3.x §4.8.5) of the root, a path item or an operation → ``ir.Server``.

The nearest declaration wins: operation, then path item, then root; none means ``/`` (§4.8.1).
Relative URLs are kept as declared: the runtime joins them with the server URL the user gives at
serve time, since the document's own address is not known at build time.
"""

from __future__ import annotations

from typing import Any

from virtualize.adapters.openapi.context import as_dict, as_list, text
from virtualize.ir import Server, ServerVariable


def servers(*owners: dict[str, Any]) -> tuple[Server, ...]:
    """The servers of the first owner that declares some (pass operation, path item, root)."""
    for owner in owners:
        declared = [as_dict(s) for s in as_list(owner.get("servers")) if isinstance(as_dict(s).get("url"), str)]
        if declared:
            return tuple(_server(s) for s in declared)
    return (Server(url="/"),)


def _server(node: dict[str, Any]) -> Server:
    variables = {}
    for name, value in as_dict(node.get("variables")).items():
        variable = as_dict(value)
        enum = tuple(str(v) for v in as_list(variable.get("enum")))
        default = variable.get("default")
        variables[str(name)] = ServerVariable(
            default=str(default) if default is not None else (enum[0] if enum else ""),
            enum=enum,
            description=text(variable.get("description")),
        )
    return Server(url=node["url"], variables=variables, description=text(node.get("description")))
