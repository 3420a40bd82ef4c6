"""The compile pipeline on one screen: descriptor → adapter → IR → passes → manifest.

``compile_spec`` reads a spec's configuration, runs the adapter for its family, runs the passes
(``virtualize.passes.PASSES``, in order) and returns the manifest with the warnings found. It
raises ``SpecError`` holding every diagnostic when an error was found (or, with ``strict``, a
warning), and ``ConfigError`` for a bad configuration file. Nothing is written until the caller
asks (``CompileResult.write``), so ``validate`` and ``check`` share this exact path.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from virtualize.adapters import AdapterOptions, family_of, load_api, option_flag
from virtualize.config import BuildOptions, ConfigFile, Selection, config_beside, read_config
from virtualize.diagnostics import Diagnostic, Diagnostics
from virtualize.errors import ConfigError, SpecError
from virtualize.manifest.model import REVIEW_PAGE, Manifest
from virtualize.manifest.write import manifest_files, write_folder
from virtualize.passes import PASSES, Build
from virtualize.passes.schemas import SchemaViews
from virtualize.passes.state import Target
from virtualize.rendering import tools_page

# File names that say nothing about the API; the folder's name does (specs/petstore-split/openapi.yaml).
_GENERIC_STEMS = frozenset({"openapi", "swagger", "api", "spec", "schema", "index", "main", "service"})
_NOT_NAME = re.compile(r"[^a-z0-9_-]+")
_SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class CompileResult:
    """A compiled manifest and the warnings its build produced."""

    manifest: Manifest
    warnings: tuple[Diagnostic, ...]

    @property
    def name(self) -> str:
        return self.manifest.name

    def files(self) -> dict[str, str]:
        """The text of every file of the manifest folder, by file name."""
        return {**manifest_files(self.manifest), REVIEW_PAGE: tools_page(self.manifest)}

    def write(self, output: Path) -> Path:
        """Write ``output/<name>/`` (only files whose bytes change) and return that folder."""
        folder = output / self.name
        write_folder(folder, self.files())
        return folder


def default_name(spec: Path) -> str:
    """The server name a spec gets when none is given: its file name, or its folder's."""
    stem = spec.stem
    if stem.lower() in _GENERIC_STEMS and spec.parent.name:
        stem = spec.parent.resolve().name
    return _NOT_NAME.sub("-", stem.lower()).strip("-_") or "api"


def compile_spec(
    spec: Path | str, options: BuildOptions | None = None, *, project: Path | None = None
) -> CompileResult:
    """Compile one descriptor into a manifest.

    ``project`` is the folder the manifest's source path is relative to (default: the parent of
    ``options.output``, so ``-o generated`` in a repository records ``specs/api.yaml``).
    """
    spec = Path(spec)
    if not spec.name:  # "" reads as ".", and "/" has no name either: neither is a descriptor
        raise ConfigError(
            f"{str(spec)!r} names no descriptor file", hint="give the path of a spec, e.g. specs/api.yaml"
        )
    options = options or BuildOptions()
    project = (project or options.output.resolve().parent).resolve()
    config_path = options.config or config_beside(spec)
    config = read_config(config_path) if config_path else ConfigFile()
    name = options.name or default_name(spec)
    if not _SERVER_NAME.match(name):
        raise ConfigError(
            f"server name {name!r} must be 1 to 64 lower-case letters, digits, '-' and '_'",
            hint="pass another --name (it prefixes tool names in the aggregate server and env variables)",
        )
    diagnostics = Diagnostics()
    adapter_options = _adapter_options(config, options)
    openapi = family_of(spec) == "openapi" and not adapter_options.reflect  # the one family with $refs
    if openapi and adapter_options.ref_root is None and spec.resolve().is_relative_to(project):
        # A spec in the project may refer to any file of the project (``../shared/`` layouts), no further.
        adapter_options = adapter_options.model_copy(update={"ref_root": project})
    reflect = adapter_options.reflect  # gRPC server reflection: the server is the descriptor
    try:
        source = b"" if reflect else spec.read_bytes()
    except OSError as error:
        diagnostics.error(str(spec), f"cannot read the descriptor: {error.strerror or error}", hint="check the path")
        raise SpecError(diagnostics.items) from None

    api = load_api(spec, adapter_options, diagnostics)
    if api is None or diagnostics.errors:
        diagnostics.raise_if_errors()
        raise SpecError(diagnostics.items)  # an adapter that returns None has reported why
    if reflect:  # what the server answered is the source: its descriptors carry the hash
        source = base64.b64decode(api.descriptors or "")
    source_path = f"grpc://{reflect}" if reflect else _relative(spec, project)
    target = Target(
        name=name,
        source_file=str(spec),
        source_path=source_path,
        source_sha256=_source_hash(source, api.includes, spec, project),
        regenerate=options.regenerate or _command(options, name, source_path, project),
        config_file=str(config_path) if config_path else "",
    )
    build = Build(
        api=api,
        target=target,
        config=config,
        selection=config.select.merged(options.selection),
        name_limit=options.name_limit or config.name_limit,
        diagnostics=diagnostics,
        views=SchemaViews(api.defs),
    )
    for step in PASSES:
        build = step(build)

    diagnostics.raise_if_errors(strict=options.strict)
    assert build.manifest is not None  # emit, the last pass, always sets it
    return CompileResult(manifest=build.manifest, warnings=diagnostics.warnings)


def _source_hash(entry: bytes, includes: tuple[str, ...], spec: Path, project: Path) -> str:
    """sha256 of the descriptor; of a multi-file one, of every file with its path, so that the
    hash changes when any of them does (a single file's hash stays ``sha256sum``'s)."""
    digest = hashlib.sha256(entry)
    if not includes:
        return digest.hexdigest()
    digest = hashlib.sha256(_relative(spec, project).encode() + b"\0" + entry)
    for include in sorted(includes, key=lambda file: _relative(Path(file), project)):
        try:
            data = Path(include).read_bytes()
        except OSError:  # read moments ago by the adapter; a vanished file simply changes the hash
            data = b""
        digest.update(b"\0" + _relative(Path(include), project).encode() + b"\0" + data)
    return digest.hexdigest()


def _adapter_options(config: ConfigFile, options: BuildOptions) -> AdapterOptions:
    """The config file's adapter options, with the command line's on top."""
    merged = {**config.adapter.model_dump(exclude_defaults=True), **options.adapter}
    if options.allow_remote_refs:
        merged["allow_remote_refs"] = True
    return AdapterOptions.model_validate(merged)


def _relative(path: Path, project: Path) -> str:
    """``path`` relative to ``project``, POSIX separators: the same text on every machine."""
    return Path(os.path.relpath(path.resolve(), project)).as_posix()


# BuildOptions field -> the `virtualize build` flag that sets it, for the regenerate command.
_SELECTION_FLAGS = {
    "include_tags": "--include-tag",
    "exclude_tags": "--exclude-tag",
    "include_ops": "--include-op",
    "exclude_ops": "--exclude-op",
    "include_paths": "--include-path",
    "exclude_paths": "--exclude-path",
    "methods": "--method",
}


def _command(options: BuildOptions, name: str, source_path: str, project: Path) -> str:
    """The command that rebuilds this manifest (run from the project folder), for its header."""
    args = ["virtualize", "build", source_path, "-o", _relative(options.output, project), "--name", name]
    if options.name_limit:
        args += ["--max-name-length", str(options.name_limit)]
    if options.allow_remote_refs:
        args.append("--allow-remote-refs")
    for field in Selection.model_fields:
        for pattern in getattr(options.selection, field):
            args += [_SELECTION_FLAGS[field], pattern]
    if options.config is not None:
        args += ["--config", _relative(options.config, project)]
    for field, value in options.adapter.items():
        if field != "headers":  # may hold credentials; a header never enters a manifest
            args += _adapter_flags(field, value)
    return shlex.join(args)


def _adapter_flags(field: str, value: object) -> list[str]:
    flag = option_flag(field)
    if field == "mutations" and isinstance(value, tuple | list):
        flag = "--mutation"
    if isinstance(value, bool):
        return [flag] if value else []
    if isinstance(value, dict):
        return [part for key, item in value.items() for part in (flag, f"{key}={item}")]
    if isinstance(value, tuple | list):
        return [part for item in value for part in (flag, str(item))]
    return [flag, str(value)]
