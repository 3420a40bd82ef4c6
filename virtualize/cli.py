"""The `virtualize` command line. Thin: each command calls one function of the package and this
module is the single place that turns a ``VirtualizeError`` into a message and an exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import Progress

from virtualize import __version__
from virtualize.errors import ConfigError, VirtualizeError
from virtualize.manifest import find_manifest_folders, read_manifest

app = typer.Typer(
    name="virtualize",
    help="Compile API descriptions into reviewable MCP manifests, and serve them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
_stderr = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        print(f"virtualize {__version__}")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """virtualize: OpenAPI, GraphQL and gRPC as MCP tools."""


@contextmanager
def _reported() -> Iterator[None]:
    """The one place a ``VirtualizeError`` becomes a message on stderr and an exit code."""
    try:
        yield
    except VirtualizeError as error:
        _stderr.print(error.render(), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(error.exit_code) from None


# -- build / validate / inspect (compiler) ----------------------------------------------------

Specs = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Descriptors to compile (default: the builds listed in ./virtualize.toml).", show_default=False
    ),
]
Output = Annotated[
    Path | None,
    typer.Option("-o", "--output", help="Folder that receives <name>/ [default: generated, or virtualize.toml's]."),
]
Many = Annotated[list[str] | None, typer.Option(show_default=False)]


def _builds(specs: list[Path] | None, fields: dict[str, object]) -> list[tuple[Path, Any]]:
    from virtualize.config import PROJECT_FILE, BuildOptions, read_project  # noqa: PLC0415 -- keeps `serve` light

    adapter = fields.get("adapter")
    reflect = adapter.get("reflect") if isinstance(adapter, dict) else None
    if not specs and reflect:  # gRPC server reflection needs no file
        specs = [Path(f"grpc://{reflect}")]
    if specs:
        if len(specs) > 1 and fields.get("name"):
            raise ConfigError("--name names one build; give one SPEC with it", hint="or list builds in virtualize.toml")
        options = BuildOptions.model_validate({k: v for k, v in fields.items() if v is not None})
        return [(spec, options) for spec in specs]
    project = Path(PROJECT_FILE)
    if not project.is_file():
        raise ConfigError("no SPEC given and no virtualize.toml here", hint="virtualize build specs/api.yaml")
    builds = read_project(project)
    if fields.get("output") is not None:  # -o moves every build of the project file
        builds = [(spec, options.model_copy(update={"output": fields["output"]})) for spec, options in builds]
    return builds


@app.command()
def build(  # noqa: PLR0917 -- typer declares one parameter per flag
    specs: Specs = None,
    output: Output = None,
    name: Annotated[str | None, typer.Option(help="Server name (default: from the file name).")] = None,
    config: Annotated[Path | None, typer.Option(help="Configuration (default: <stem>.virtualize.toml).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    allow_remote_refs: Annotated[bool, typer.Option(help="Fetch http(s) $refs (off: SSRF risk).")] = False,
    ref_root: Annotated[Path | None, typer.Option(help="Local $refs stay under it (default: the project).")] = None,
    max_name_length: Annotated[int | None, typer.Option(min=8, max=64, help="Tool name limit.")] = None,
    include_tag: Many = None,
    exclude_tag: Many = None,
    include_op: Annotated[list[str] | None, typer.Option(help="operationId or tool name glob.")] = None,
    exclude_op: Many = None,
    include_path: Annotated[list[str] | None, typer.Option(help="Path template glob.")] = None,
    exclude_path: Many = None,
    method: Many = None,
    endpoint: Annotated[str | None, typer.Option(help="GraphQL: the upstream endpoint URL.")] = None,
    mutations: Annotated[bool, typer.Option("--mutations", help="GraphQL: expose every mutation.")] = False,
    mutation: Annotated[list[str] | None, typer.Option(help="GraphQL: expose this mutation.")] = None,
    documents: Annotated[list[Path] | None, typer.Option(help="GraphQL: operations file(s).")] = None,
    selection_depth: Annotated[int | None, typer.Option(help="GraphQL: generated selection depth.")] = None,
    auth: Annotated[list[str] | None, typer.Option(help="bearer, basic, header:NAME, query:NAME, ...")] = None,
    proto_path: Annotated[list[Path] | None, typer.Option("-I", "--proto-path", help="gRPC: import root.")] = None,
    target: Annotated[str | None, typer.Option(help="gRPC: upstream HOST:PORT.")] = None,
    reflect: Annotated[str | None, typer.Option(help="gRPC: read services from this server.")] = None,
    tls: Annotated[bool, typer.Option("--tls", help="gRPC: connect with TLS.")] = False,
) -> None:
    """Compile descriptors into manifest folders (tools, bindings, auth map, TOOLS.md)."""
    from virtualize.compiler import compile_spec  # noqa: PLC0415 -- keeps `serve` light

    selection = _selection(include_tag, exclude_tag, include_op, exclude_op, include_path, exclude_path, method)
    adapter: dict[str, object] = {
        "endpoint": endpoint,
        "mutations": tuple(mutation) if mutation else mutations,
        "documents": tuple(documents or ()),
        "selection_depth": selection_depth,
        "auth": tuple(auth or ()),
        "include_paths": tuple(proto_path or ()),
        "ref_root": ref_root,
        "target": target,
        "reflect": reflect,
        "tls": tls,
    }
    fields: dict[str, object] = {
        "name": name,
        "output": output,
        "config": config,
        "strict": strict,
        "allow_remote_refs": allow_remote_refs,
        "name_limit": max_name_length,
        "selection": selection,
        "adapter": {key: value for key, value in adapter.items() if value not in (None, False, ())},
    }
    with _reported():
        builds = _builds(specs, fields)
        _one_build_per_folder(builds)
    failures = 0
    with Progress(console=_stderr, transient=True, disable=len(builds) < 2) as progress:
        task = progress.add_task("building", total=len(builds))
        for spec, options in builds:
            progress.update(task, description=f"building {spec}")
            try:
                with _reported():
                    result = compile_spec(spec, options)
            except typer.Exit:
                failures += 1
                progress.advance(task)
                continue
            for warning in result.warnings:
                _stderr.print(warning.render(), markup=False, highlight=False, soft_wrap=True)
            try:
                folder = result.write(options.output)
            except OSError as error:  # -o names a file, or a folder that cannot be made
                where = options.output / result.name
                message = f"{where}: cannot write the manifest: {error.strerror or error}"
                _stderr.print(message, markup=False, highlight=False, soft_wrap=True)
                failures += 1
                progress.advance(task)
                continue
            counts = result.manifest.manifest.counts
            progress.console.print(
                f"{result.name}: {counts.tools} tools, tool list {counts.tool_list_bytes:,} bytes "
                f"(~{counts.tool_list_tokens:,} tokens), {_count(len(result.warnings), 'warning')} -> {folder}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            progress.advance(task)
    if failures:
        raise typer.Exit(2)


def _one_build_per_folder(builds: list[tuple[Path, Any]]) -> None:
    """Two builds writing one folder would leave only the last: say so before writing either."""
    from virtualize.compiler import default_name  # noqa: PLC0415 -- keeps `serve` light

    writers: dict[Path, Path] = {}
    for spec, options in builds:
        folder = (options.output / (options.name or default_name(spec))).resolve()
        if folder in writers:
            raise ConfigError(
                f"{writers[folder]} and {spec} would both be written to {folder}",
                hint="give one of them another --name (or `name` in its [[build]])",
            )
        writers[folder] = spec


@app.command()
def validate(
    specs: Annotated[list[Path], typer.Argument(help="Descriptors to check.", show_default=False)],
    config: Annotated[Path | None, typer.Option(help="Configuration (default: <stem>.virtualize.toml).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    allow_remote_refs: Annotated[bool, typer.Option(help="Fetch http(s) $refs (off: SSRF risk).")] = False,
) -> None:
    """Report a descriptor's diagnostics; write nothing."""
    from virtualize.compiler import compile_spec  # noqa: PLC0415 -- keeps `serve` light
    from virtualize.config import BuildOptions  # noqa: PLC0415

    options = BuildOptions(config=config, strict=strict, allow_remote_refs=allow_remote_refs)
    for spec in specs:
        with _reported():
            result = compile_spec(spec, options)
        for warning in result.warnings:
            _stderr.print(warning.render(), markup=False, highlight=False, soft_wrap=True)
        tools = _count(result.manifest.manifest.counts.tools, "tool")
        print(f"{spec}: {tools}, {_count(len(result.warnings), 'warning')}")


@app.command()
def inspect(
    folder: Annotated[Path, typer.Argument(help="A manifest folder, or a folder of them (generated/).")],
) -> None:
    """Print the tools of manifests as a table."""
    from rich.table import Table  # noqa: PLC0415 -- only this command draws tables

    with _reported():
        manifests = [read_manifest(path) for path in find_manifest_folders(folder)]
    console = Console(soft_wrap=False)
    for manifest in manifests:
        counts = manifest.manifest.counts
        table = Table(
            title=f"{manifest.name}: {counts.tools} tools, {counts.tool_list_bytes:,} bytes "
            f"(~{counts.tool_list_tokens:,} tokens)",
            title_justify="left",
        )
        for column in ("tool", "upstream", "arguments", "hints", "description"):
            table.add_column(column, overflow="fold")
        for tool in manifest.tools:
            table.add_row(
                tool.name,
                _upstream(manifest.bindings.tools[tool.name]),
                ", ".join(tool.input_schema.get("properties", {})),
                _hints(tool.annotations),
                tool.description.split("\n", 1)[0][:80],
            )
        console.print(table)


def _upstream(binding: Any) -> str:
    if binding.protocol == "http":
        return f"{binding.method} {binding.path}"
    if binding.protocol == "graphql":
        return f"{binding.operation_type} {binding.operation_name}"
    return str(binding.full_method)


def _hints(annotations: Any) -> str:
    if annotations is None:
        return ""
    if annotations.read_only_hint:
        return "read-only"
    marks = ["destructive" if annotations.destructive_hint else "", "idempotent" if annotations.idempotent_hint else ""]
    return ", ".join(m for m in marks if m) or "writes"


@app.command()
def introspect(
    url: Annotated[str, typer.Argument(help="The GraphQL endpoint to introspect.", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the introspection JSON.")],
    header: Annotated[list[str] | None, typer.Option(help="'Name: value' sent with the query.")] = None,
) -> None:
    """GraphQL: save an endpoint's schema (introspection JSON) to build from, e.g. with --endpoint URL."""
    from virtualize.adapters.graphql import introspect_to  # noqa: PLC0415 -- keeps `serve` light

    with _reported():
        introspect_to(url, output, header or [])
    print(f"{url}: schema written to {output}")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


# The selection flags of build and check, in the order `_selection` takes them.
_SELECTION_FIELDS = (
    "include_tags",
    "exclude_tags",
    "include_ops",
    "exclude_ops",
    "include_paths",
    "exclude_paths",
    "methods",
)


def _selection(*patterns: list[str] | None) -> dict[str, tuple[str, ...]]:
    """The selection flags as ``BuildOptions.selection``, unset ones left out."""
    return {field: tuple(given) for field, given in zip(_SELECTION_FIELDS, patterns, strict=True) if given}


# -- serve (runtime) --------------------------------------------------------------------------


@app.command()
def serve(  # noqa: PLR0917 -- typer declares one parameter per flag
    directories: Annotated[
        list[Path], typer.Argument(help="Manifest folders, or folders of them (e.g. generated/).", show_default=False)
    ],
    host: Annotated[str, typer.Option(help="Address to listen on (not loopback: needs client keys).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port, announced).")] = 8000,
    stdio: Annotated[bool, typer.Option("--stdio", help="Serve over stdin/stdout instead of HTTP.")] = False,
    config: Annotated[Path | None, typer.Option(help="Serve configuration (TOML).")] = None,
    upstream: Annotated[
        list[str] | None, typer.Option(help="NAME=URL: the upstream base URL of server NAME.", show_default=False)
    ] = None,
    allow_anonymous: Annotated[
        bool, typer.Option("--allow-anonymous", help="Serve a non-loopback address without client keys.")
    ] = False,
) -> None:
    """Serve manifests as MCP servers: /servers/<name>/mcp each, and /mcp for all (or --stdio)."""
    from virtualize.runtime import ServeSettings, serve  # noqa: PLC0415 -- keeps `build` light
    from virtualize.runtime.settings import parse_upstreams, read_serve_file  # noqa: PLC0415 -- idem

    with _reported():
        settings = ServeSettings(
            file=read_serve_file(config) if config else ServeSettings().file,
            upstreams=parse_upstreams(upstream or []),
            allow_anonymous=allow_anonymous,
        )
        serve(directories, settings, host=host, port=port, stdio=stdio)


# -- check / diff / lint (review) -------------------------------------------------------------


def _emit(text: str, output: Path | None) -> None:
    """A report to stdout, or to a file (for a CI step that posts or uploads it)."""
    if output is None:
        print(text, end="")
    else:
        output.write_text(text, encoding="utf-8", newline="\n")


@app.command()
def check(  # noqa: PLR0917 -- typer declares one parameter per flag
    specs: Specs = None,
    config: Annotated[
        Path | None,
        typer.Option(help="With SPECs: their configuration, as for build. Without: the project file."),
    ] = None,
    output: Output = Path("generated"),
    name: Annotated[str | None, typer.Option(help="Server name (default: from the file name).")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
    allow_remote_refs: Annotated[bool, typer.Option(help="Fetch http(s) $refs (off: SSRF risk).")] = False,
    max_name_length: Annotated[int | None, typer.Option(min=8, max=64, help="Tool name limit.")] = None,
    include_tag: Many = None,
    exclude_tag: Many = None,
    include_op: Many = None,
    exclude_op: Many = None,
    include_path: Many = None,
    exclude_path: Many = None,
    method: Many = None,
) -> None:
    """Rebuild in memory and compare with the committed manifests, to the byte (CI's build check)."""
    from virtualize.config import PROJECT_FILE, read_project  # noqa: PLC0415 -- keeps `serve` light
    from virtualize.review.check import check_builds  # noqa: PLC0415

    selection = _selection(include_tag, exclude_tag, include_op, exclude_op, include_path, exclude_path, method)
    fields: dict[str, object] = {
        "name": name,
        "output": output,
        "config": config,
        "strict": strict,
        "allow_remote_refs": allow_remote_refs,
        "name_limit": max_name_length,
        "selection": selection,
    }
    with _reported():
        project = None if specs else (config or Path(PROJECT_FILE))
        if project is not None and not project.is_file():
            raise ConfigError("no SPEC given and no virtualize.toml here", hint="virtualize check specs/api.yaml")
        builds = _builds(specs, fields) if specs else read_project(project or Path(PROJECT_FILE))
        result = check_builds(builds, complete=project is not None)
        for stale in result.stale:
            print(stale.render())
        if not result.fresh:
            raise result.error(project.parent if project is not None else Path())
    print(f"{result.manifests} manifest(s) fresh")


@app.command()
def diff(
    sides: Annotated[
        list[str],
        typer.Argument(
            help="OLD NEW: manifest folders (or folders of them), or REV:PATH for a git revision. "
            "With --git: REV1 REV2 PATH.",
            show_default=False,
        ),
    ],
    git: Annotated[bool, typer.Option("--git", help="Compare PATH at two git revisions.")] = False,
    format: Annotated[Literal["text", "json", "markdown"], typer.Option("--format", "-f", help="Report format.")] = (
        "text"
    ),
    fail_on: Annotated[
        Literal["breaking", "any", "none"], typer.Option(help="Exit 1 on breaking changes, on any, or never.")
    ] = "none",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the report here.")] = None,
) -> None:
    """Class every change between two versions of manifests: breaking, description, additive, cosmetic."""
    from virtualize.review import render_json, render_markdown, render_text  # noqa: PLC0415 -- keeps `serve` light
    from virtualize.review.classify import diff_servers  # noqa: PLC0415
    from virtualize.review.sources import read_any  # noqa: PLC0415

    with _reported():
        if git:
            if len(sides) != 3:
                raise ConfigError("--git takes REV1 REV2 PATH", hint="virtualize diff --git origin/main HEAD generated")
            old_spec, new_spec = f"{sides[0]}:{sides[2]}", f"{sides[1]}:{sides[2]}"
        elif len(sides) != 2:
            raise ConfigError("diff takes OLD NEW", hint="virtualize diff main:generated generated")
        else:
            old_spec, new_spec = sides
        old, new = read_any(old_spec, cwd=Path.cwd()), read_any(new_spec, cwd=Path.cwd())
        diffs = diff_servers(old, new, old_label=old_spec, new_label=new_spec)
    render = {"text": render_text, "json": render_json, "markdown": render_markdown}
    _emit(render[format](diffs), output)
    if any(d.fails(fail_on) for d in diffs):
        raise typer.Exit(1)


@app.command()
def lint(  # noqa: PLR0917 -- typer declares one parameter per flag
    paths: Annotated[list[Path], typer.Argument(help="Manifest folders, or folders of them.", show_default=False)],
    profile: Annotated[
        list[str] | None,
        typer.Option(help="Client profile (repeatable): default, claude, openai, openai-strict, gemini, cursor."),
    ] = None,
    format: Annotated[Literal["text", "json", "sarif"], typer.Option("--format", "-f", help="Report format.")] = "text",
    fail_on: Annotated[
        Literal["error", "warning", "note"], typer.Option(help="Exit 1 on a finding at or above this level.")
    ] = "error",
    severity: Annotated[
        list[str] | None, typer.Option(help="RULE=LEVEL (error, warning, note, off); repeatable.")
    ] = None,
    allow_host: Annotated[list[str] | None, typer.Option(help="Host glob descriptions may link to.")] = None,
    token_budget: Annotated[int | None, typer.Option(help="Tokens the tool list may cost.")] = None,
    server_name: Annotated[str | None, typer.Option(help="The server's name in clients (default: its own).")] = None,
    config: Annotated[Path | None, typer.Option(help="Project file with a [lint] table.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the report here.")] = None,
) -> None:
    """Check what an agent will see: poisoned descriptions, client limits, strict schema dialects."""
    from virtualize.config import PROJECT_FILE  # noqa: PLC0415 -- keeps `serve` light
    from virtualize.lint import Settings, lint_paths  # noqa: PLC0415
    from virtualize.lint.findings import check_profiles, parse_levels, read_settings  # noqa: PLC0415

    with _reported():
        project = config or Path(PROJECT_FILE)
        fields: dict[str, Any] = read_settings(project) if config or project.is_file() else {}
        if profile:
            check_profiles(profile)
            fields["profiles"] = tuple(profile)
        if severity:
            fields["levels"] = {**fields.get("levels", {}), **parse_levels(severity)}
        if allow_host:
            fields["allow_hosts"] = (*fields.get("allow_hosts", ()), *allow_host)
        if token_budget is not None:
            fields["token_budget"] = token_budget
        if server_name:
            fields["server_name"] = server_name
        result = lint_paths(paths, Settings(**fields))
    _emit(result.render(format), output)
    if result.fails(fail_on):
        raise typer.Exit(1)
