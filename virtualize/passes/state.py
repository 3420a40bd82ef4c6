"""What the passes hand to each other: the Api, one draft tool per kept operation, and the
settings of this build. Frozen: a pass returns a new ``Build`` (``dataclasses.replace``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from virtualize import ir
from virtualize.config import ConfigFile, Selection
from virtualize.diagnostics import Diagnostics
from virtualize.manifest.model import Manifest, ToolAnnotations
from virtualize.passes.schemas import SchemaViews


@dataclass(frozen=True, slots=True)
class Target:
    """Where the build comes from and goes: recorded in the manifest header."""

    name: str
    source_file: str  # for diagnostics: the spec path as given
    source_path: str  # relative to the project, POSIX
    source_sha256: str
    regenerate: str
    config_file: str = ""  # the configuration file used, for diagnostics ("" when none)


@dataclass(frozen=True, slots=True)
class PlannedArgument:
    """One property of inputSchema and the upstream argument it feeds."""

    argument: str  # the property name the agent sees
    source: ir.Argument  # wire name, location, serialization
    schema: ir.JsonSchema  # request view; references point into the API's $defs
    required: bool
    content_type: str | None = None
    # A field the body requires, when the body itself is optional: required once any field is sent.
    required_in_body: bool = False


@dataclass(frozen=True, slots=True)
class Draft:
    operation: ir.Operation
    name: str
    title: str | None = None
    description: str = ""
    arguments: tuple[PlannedArgument, ...] = ()
    output_schema: ir.JsonSchema | None = None
    wraps_result: bool = False
    annotations: ToolAnnotations | None = None
    fixed: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Build:
    api: ir.Api
    target: Target
    config: ConfigFile
    selection: Selection
    name_limit: int
    diagnostics: Diagnostics
    views: SchemaViews
    names: dict[str, str] = field(default_factory=dict)  # operation key -> derived name, ALL operations
    drafts: tuple[Draft, ...] = ()
    skipped: int = 0  # operations left out by selection
    manifest: Manifest | None = None
