"""Adapters: one per descriptor family. Each reads a descriptor and returns an ``ir.Api``.

An adapter resolves references, converts its dialect into JSON Schema 2020-12 and reports every
problem into a ``Diagnostics`` collector with a file and a JSON pointer or line. It never
imports the runtime, the passes or the manifest. Families are imported lazily so that an
optional family (gRPC) costs nothing when unused.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, JsonSchema

Family = Literal["openapi", "graphql", "grpc"]


class AdapterOptions(BaseModel):
    """What a build may tell an adapter beyond the descriptor itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow_remote_refs: bool = False  # fetching arbitrary URLs at build time is an SSRF hole
    ref_root: Path | None = None  # local $refs stay under it (default: the spec's own folder)
    # GraphQL
    endpoint: str | None = None
    headers: dict[str, str] = {}
    mutations: bool | tuple[str, ...] = False
    documents: tuple[Path, ...] = ()
    selection_depth: int = 2
    scalars: dict[str, JsonSchema] = {}
    # Security schemes for descriptors that declare none (GraphQL): "bearer", "basic",
    # "header:NAME", "query:NAME", "cookie:NAME"; every operation requires all of them.
    auth: tuple[str, ...] = ()
    # gRPC
    include_paths: tuple[Path, ...] = ()
    target: str | None = None  # the upstream address, HOST:PORT (grpcs://HOST:PORT for TLS)
    tls: bool = False
    reflect: str | None = None  # read the services from this server's reflection instead of a file


_GRAPHQL: frozenset[Family] = frozenset({"graphql"})
_GRPC: frozenset[Family] = frozenset({"grpc"})
#: The families whose adapter reads each option: given for another family, it has no effect.
_READ_BY: dict[str, frozenset[Family]] = {
    "allow_remote_refs": frozenset({"openapi"}),
    "ref_root": frozenset({"openapi"}),
    "endpoint": _GRAPHQL,
    "headers": _GRAPHQL,
    "mutations": _GRAPHQL,
    "documents": _GRAPHQL,
    "selection_depth": _GRAPHQL,
    "scalars": _GRAPHQL,
    "auth": _GRAPHQL | _GRPC,  # OpenAPI documents declare their own security schemes
    "include_paths": _GRPC,
    "target": _GRPC,
    "tls": _GRPC,
    "reflect": _GRPC,
}


#: Options whose `virtualize build` flag is not ``--`` and the name (repeatable flags are singular).
_FLAGS = {"include_paths": "-I"}
_CONFIG_ONLY = frozenset({"headers", "scalars"})  # set in a configuration file, never by a flag


def option_flag(name: str) -> str:
    """The `virtualize build` flag that sets the adapter option ``name`` (its key, when only a
    configuration file can set it)."""
    if name in _CONFIG_ONLY:
        return name
    return _FLAGS.get(name, "--" + name.replace("_", "-"))


_NAMES: dict[Family, str] = {"openapi": "OpenAPI", "graphql": "GraphQL", "grpc": "gRPC"}


def _warn_ignored(path: Path, family: Family, options: AdapterOptions, diagnostics: Diagnostics) -> None:
    """A warning per option set (away from its default) that ``family``'s adapter never reads:
    ``--endpoint`` on an OpenAPI build is a mistake the build should not swallow."""
    for name, families in _READ_BY.items():
        if family in families or getattr(options, name) == AdapterOptions.model_fields[name].default:
            continue
        flag = option_flag(name)
        readers = " and ".join(_NAMES[f] for f in sorted(families))
        diagnostics.warning(
            str(path),
            f"{flag} applies only to {readers} descriptors, and this one is {_NAMES[family]}: it has no effect",
            hint="drop it from this build, or from the configuration that sets it",
        )


class Adapter(Protocol):
    def __call__(self, path: Path, options: AdapterOptions, diagnostics: Diagnostics) -> Api | None:
        """Read ``path``; return the Api, or None when errors (already reported) prevent one."""
        ...


_SUFFIXES: dict[str, Family] = {
    ".yaml": "openapi",
    ".yml": "openapi",
    ".json": "openapi",  # an introspection result is told apart by content in `family_of`
    ".graphql": "graphql",
    ".graphqls": "graphql",
    ".gql": "graphql",
    ".proto": "grpc",
    ".binpb": "grpc",
    ".pb": "grpc",
    ".protoset": "grpc",
    ".desc": "grpc",
}


def family_of(path: Path) -> Family | None:
    """The descriptor family of ``path`` by its suffix (and, for JSON, a peek at its content)."""
    family = _SUFFIXES.get(path.suffix.lower())
    if family == "openapi" and path.suffix.lower() == ".json":
        try:
            head = path.read_bytes()[:4096]
        except OSError:
            return family
        if b'"__schema"' in head or (b'"data"' in head and b'"openapi"' not in head and b'"swagger"' not in head):
            return "graphql"
    return family


def load_api(path: Path, options: AdapterOptions, diagnostics: Diagnostics) -> Api | None:
    """Run the adapter for ``path``'s family (gRPC when ``options.reflect`` names a server)."""
    family = "grpc" if options.reflect else family_of(path)
    if family is None:
        diagnostics.error(
            str(path),
            f"unknown descriptor type {path.suffix!r}",
            hint="virtualize reads OpenAPI (.yaml .yml .json), GraphQL (.graphql .json), gRPC (.proto .binpb)",
        )
        return None
    _warn_ignored(path, family, options, diagnostics)
    module = importlib.import_module(f"virtualize.adapters.{family}")
    adapter: Adapter = module.load
    return adapter(path, options, diagnostics)
