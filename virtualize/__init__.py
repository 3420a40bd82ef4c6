"""virtualize: compile API descriptions into reviewable MCP manifests, and serve them.

The pipeline, one module each: descriptor → ``adapters`` → ``ir`` → ``passes`` → ``manifest``
→ ``runtime`` (router → invokers).
"""

import typing as _typing

from virtualize.diagnostics import Diagnostic, Diagnostics, Severity
from virtualize.errors import (
    ConfigError,
    CredentialError,
    ManifestError,
    SpecError,
    VirtualizeError,
)
from virtualize.manifest import Manifest, read_manifest

if _typing.TYPE_CHECKING:
    from virtualize.compiler import CompileResult, compile_spec
    from virtualize.config import BuildOptions

__version__ = "0.1.0"

__all__ = [
    "BuildOptions",
    "CompileResult",
    "ConfigError",
    "CredentialError",
    "Diagnostic",
    "Diagnostics",
    "Manifest",
    "ManifestError",
    "Severity",
    "SpecError",
    "VirtualizeError",
    "__version__",
    "compile_spec",
    "read_manifest",
]

# The compiler pulls in the adapters, passes, jsonschema and jinja2; `virtualize serve` and
# `import virtualize` should not pay for them, so these names load on first use.
_LAZY = {
    "BuildOptions": "virtualize.config",
    "CompileResult": "virtualize.compiler",
    "compile_spec": "virtualize.compiler",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'virtualize' has no attribute {name!r}")
    import importlib  # noqa: PLC0415 -- only the lazy names need it

    return getattr(importlib.import_module(module), name)
