"""Hand-built manifests for tests: what the compiler would write, without compiling anything.

Tests that exercise one stage (lint, diff, the runtime) build their manifest here, so that a
compiler change cannot break them and the header boilerplate lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from virtualize.manifest.model import (
    AuthMap,
    Bindings,
    Counts,
    Header,
    HttpBinding,
    Manifest,
    ServerUrl,
    Source,
    Tool,
)


def tool(name: str, description: str | None = None, schema: dict[str, Any] | None = None, **fields: Any) -> Tool:
    """A tool as tools.json holds it (``fields`` by their JSON names: ``outputSchema``, ``annotations``)."""
    body: dict[str, Any] = {"name": name, "inputSchema": schema or {"type": "object"}, **fields}
    if description is not None:
        body["description"] = description
    return Tool.model_validate(body)


def get(path: str = "/pets", server: str | None = "https://api.pets.example/v1", **fields: Any) -> HttpBinding:
    """A GET binding (``fields`` override any other binding field, the method included)."""
    servers = (ServerUrl(url=server),) if server else ()
    return HttpBinding(**{"operation": f"GET {path}", "method": "GET", "path": path, "servers": servers, **fields})


def manifest(
    tools: Iterable[Tool],
    bindings: Mapping[str, HttpBinding] | HttpBinding | None = None,
    *,
    name: str = "pets",
    auth: AuthMap | None = None,
    source: str = "pets.yaml",
) -> Manifest:
    """An OpenAPI manifest of ``tools``, each bound to its entry in ``bindings`` (one binding: all
    of them to it; none: each to ``GET /pets``)."""
    listed = tuple(tools)
    if bindings is None:
        bindings = get()
    if isinstance(bindings, HttpBinding):
        bindings = {t.name: bindings for t in listed}
    return Manifest(
        manifest=Header(
            compiler="virtualize test",
            name=name,
            family="openapi",
            source=Source(path=source, sha256="0" * 64, format="OpenAPI 3.1.0"),
            counts=Counts(tools=len(listed), tool_list_bytes=0, tool_list_tokens=0),
            regenerate=f"virtualize build {source}",
        ),
        tools=listed,
        bindings=Bindings(tools=dict(bindings)),
        auth=auth or AuthMap(),
    )
