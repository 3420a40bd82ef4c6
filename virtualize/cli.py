"""The `virtualize` command line. Thin: each command calls one function of the package and this
module is the single place that turns a ``VirtualizeError`` into a message and an exit code."""

from __future__ import annotations

from typing import Annotated

import typer

from virtualize import __version__

app = typer.Typer(
    name="virtualize",
    help="Compile API descriptions into reviewable MCP manifests, and serve them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


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


# -- build / validate / inspect (compiler) ----------------------------------------------------

# -- serve (runtime) --------------------------------------------------------------------------

# -- check / diff / lint (review) -------------------------------------------------------------
