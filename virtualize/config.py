"""Build configuration: what a user may write beside a spec, and the project's list of builds.

Two files, both TOML read with ``tomllib`` into pydantic models that forbid unknown keys, so a
typo is an error naming the file and the key instead of a setting silently ignored:

- ``<spec stem>.virtualize.toml`` beside a spec (or ``--config FILE``): a ``ConfigFile`` holding
  selection, tool overrides (rename, title, description, annotations, pinned arguments), the
  upstream URL, auth sources and adapter options.
- ``virtualize.toml`` at the project root: a ``ProjectFile`` listing ``[[build]]`` entries, which
  ``virtualize build`` and ``virtualize check`` read when given no spec.

Configuration only ever *names* credential sources (environment variables); it has no field that
could hold a secret, so no secret can reach a manifest.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from virtualize.adapters import AdapterOptions
from virtualize.errors import ConfigError

PROJECT_FILE = "virtualize.toml"
CONFIG_SUFFIX = ".virtualize.toml"
DEFAULT_OUTPUT = Path("generated")
DEFAULT_NAME_LIMIT = 64
DEFAULT_DESCRIPTION_LIMIT = 1024
DEFAULT_RESULT_SCHEMA_LIMIT = 8192
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Selection(_Strict):
    """Include/exclude rules. An operation is kept when it matches every include list that is
    not empty and no exclude list. Globs are ``fnmatch`` patterns, case-sensitive."""

    include_tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    include_ops: tuple[str, ...] = ()  # operationId (first name candidate) or derived tool name
    exclude_ops: tuple[str, ...] = ()
    include_paths: tuple[str, ...] = ()  # HTTP path template, GraphQL field, gRPC full method
    exclude_paths: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()  # HTTP methods (any case); GraphQL "query"/"mutation"

    def merged(self, other: Selection) -> Selection:
        """Both rule sets at once: lists are joined, so a command line adds to a config file."""
        return Selection(
            **{
                field: tuple(dict.fromkeys((*getattr(self, field), *getattr(other, field))))
                for field in Selection.model_fields
            }
        )


class AnnotationOverride(_Strict):
    read_only_hint: bool | None = Field(default=None, alias="readOnlyHint")
    destructive_hint: bool | None = Field(default=None, alias="destructiveHint")
    idempotent_hint: bool | None = Field(default=None, alias="idempotentHint")
    open_world_hint: bool | None = Field(default=None, alias="openWorldHint")


class ToolOverride(_Strict):
    """Changes to one tool, keyed in ``[tools.<key>]`` by its derived name, its operationId or
    its operation key (``"GET /pets/{petId}"``)."""

    name: str | None = None
    title: str | None = None
    description: str | None = None
    annotations: AnnotationOverride | None = None
    fixed: dict[str, Any] = {}  # argument -> value sent on every call, hidden from the agent

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        if value is not None and not _TOOL_NAME.match(value):
            raise ValueError(f"tool name {value!r} must match ^[A-Za-z0-9_-]{{1,64}}$")
        return value


class AuthOverride(_Strict):
    """Where one upstream security scheme's credentials are read from at run time."""

    sources: dict[str, str] = {}  # role ("token", "value", "username", ...) -> environment variable
    forward_caller: bool = False

    @field_validator("sources")
    @classmethod
    def _names_only(cls, value: dict[str, str]) -> dict[str, str]:
        for role, source in value.items():
            if not _ENV_NAME.match(source):
                raise ValueError(
                    f"source for {role!r} must be an environment variable name, not a value: "
                    "configuration names where a secret is read from, never the secret"
                )
        return value


class ServerOverride(_Strict):
    url: str


class ConfigFile(_Strict):
    """A per-spec configuration file, as the user wrote it."""

    name_limit: int = Field(default=DEFAULT_NAME_LIMIT, ge=8, le=64)
    description_limit: int = Field(default=DEFAULT_DESCRIPTION_LIMIT, ge=80)
    result_schema_limit: int = Field(default=DEFAULT_RESULT_SCHEMA_LIMIT, ge=256)  # bytes per outputSchema
    adapter: AdapterOptions = AdapterOptions()
    select: Selection = Selection()
    server: ServerOverride | None = None
    tools: dict[str, ToolOverride] = {}
    auth: dict[str, AuthOverride] = {}


class BuildOptions(_Strict):
    """How to build one spec: what the command line (or a ``[[build]]`` entry) says."""

    name: str | None = None  # default: derived from the spec's file name
    output: Path = DEFAULT_OUTPUT  # the folder that receives <name>/; its parent is the project
    config: Path | None = None  # default: <spec stem>.virtualize.toml beside the spec, if present
    name_limit: int | None = Field(default=None, ge=8, le=64)  # overrides the config file's
    strict: bool = False
    allow_remote_refs: bool = False
    selection: Selection = Selection()
    adapter: dict[str, Any] = {}  # AdapterOptions fields set here, over the config file's
    regenerate: str | None = None  # the command recorded in the header (default: this build's own)


class BuildEntry(_Strict):
    """One ``[[build]]`` of ``virtualize.toml``; paths are relative to that file."""

    spec: Path
    name: str | None = None
    output: Path = DEFAULT_OUTPUT
    config: Path | None = None
    options: dict[str, Any] = {}  # name_limit, strict, the Selection lists and AdapterOptions fields


class ProjectFile(_Strict):
    build: tuple[BuildEntry, ...] = ()


def _load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("configuration file not found", location=str(path)) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:  # TOML is UTF-8
        raise ConfigError(f"unreadable configuration: {exc}", location=str(path)) from None


def _config_error(path: Path, exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    return ConfigError(f"{key}: {message}", location=str(path), hint="see README, section Configuration")


def read_config(path: Path) -> ConfigFile:
    """Parse a per-spec configuration file. Relative adapter paths are made relative to it."""
    data = _load_toml(path)
    try:
        config = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise _config_error(path, exc) from None
    adapter = config.adapter
    base = path.parent
    return config.model_copy(
        update={
            "adapter": adapter.model_copy(
                update={
                    "documents": tuple(base / p for p in adapter.documents),
                    "include_paths": tuple(base / p for p in adapter.include_paths),
                    "ref_root": base / adapter.ref_root if adapter.ref_root is not None else None,
                }
            )
        }
    )


def config_beside(spec: Path) -> Path | None:
    """``<stem>.virtualize.toml`` next to ``spec`` when it exists."""
    candidate = spec.with_name(spec.stem + CONFIG_SUFFIX)
    return candidate if candidate.is_file() else None


def read_project(path: Path) -> list[tuple[Path, BuildOptions]]:
    """The builds a project file lists: (spec path, options), paths resolved against its folder."""
    return parse_builds(_load_toml(path), path)


def parse_builds(data: dict[str, Any], path: Path) -> list[tuple[Path, BuildOptions]]:
    """The ``[[build]]`` entries of ``data``, read from ``path``; relative paths are from its folder."""
    try:
        project = ProjectFile.model_validate(data)
    except ValidationError as exc:
        raise _config_error(path, exc) from None
    base = path.parent
    builds: list[tuple[Path, BuildOptions]] = []
    for index, entry in enumerate(project.build):
        options = dict(entry.options)
        selection = {key: options.pop(key) for key in Selection.model_fields if key in options}
        adapter = {key: options.pop(key) for key in AdapterOptions.model_fields if key in options}
        for key in ("documents", "include_paths"):  # relative to the project file, like `spec`
            if isinstance(adapter.get(key), list):
                adapter[key] = [base / item for item in adapter[key]]
        if isinstance(adapter.get("ref_root"), str):
            adapter["ref_root"] = base / adapter["ref_root"]
        try:
            AdapterOptions.model_validate(adapter)
            built = BuildOptions.model_validate(
                {
                    **options,
                    "name": entry.name,
                    "output": base / entry.output,
                    "config": base / entry.config if entry.config else None,
                    "selection": selection,
                    "adapter": adapter,
                    "regenerate": "virtualize build",
                }
            )
        except ValidationError as exc:
            error = _config_error(path, exc)
            raise ConfigError(f"build[{index}].options.{error.message}", location=str(path)) from None
        builds.append((base / entry.spec, built))
    if not builds:
        raise ConfigError("no [[build]] entries", location=str(path), hint='add [[build]] spec = "specs/api.yaml"')
    return builds
