"""virtualize: compile API descriptions into reviewable MCP manifests, and serve them.

The pipeline, one module each: descriptor → ``adapters`` → ``ir`` → ``passes`` → ``manifest``
→ ``runtime`` (router → invokers).
"""

from virtualize.diagnostics import Diagnostic, Diagnostics, Severity
from virtualize.errors import (
    ConfigError,
    CredentialError,
    ManifestError,
    SpecError,
    VirtualizeError,
)
from virtualize.manifest import Manifest, read_manifest

__version__ = "0.1.0"

__all__ = [
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
    "read_manifest",
]
