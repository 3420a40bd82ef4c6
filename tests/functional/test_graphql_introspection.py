"""`virtualize introspect`: a live GraphQL server's schema saved to a file that builds into the
same tools as its SDL; failures are one-line diagnostics that never echo a header's value."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.support.graphql_upstream import LIBRARY_SDL_PATH, library_root, library_schema, serve_graphql
from virtualize.cli import app
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions

OPTIONS = {"endpoint": "http://127.0.0.1:9/graphql", "mutations": True}


def test_an_introspected_schema_builds_the_same_tools_as_its_sdl(tmp_path: Path) -> None:
    saved = tmp_path / "library.json"
    sdl = tmp_path / "library.graphql"
    sdl.write_text(LIBRARY_SDL_PATH.read_text(encoding="utf-8"), encoding="utf-8")

    with serve_graphql(library_schema(), library_root()) as upstream:
        result = CliRunner().invoke(app, ["introspect", upstream.url, "-o", str(saved), "--header", "X-Team: books"])

    assert result.exit_code == 0, result.output
    assert upstream.received[0].headers["x-team"] == "books"
    from_json = compile_spec(saved, BuildOptions(name="library", adapter=OPTIONS), project=tmp_path).manifest
    from_sdl = compile_spec(sdl, BuildOptions(name="library", adapter=OPTIONS), project=tmp_path).manifest
    assert from_json.tools == from_sdl.tools
    assert from_json.bindings == from_sdl.bindings
    assert json.loads(saved.read_text(encoding="utf-8"))["data"]["__schema"]["queryType"]["name"] == "Query"


def test_an_endpoint_that_refuses_introspection_is_a_diagnostic_with_a_hint(tmp_path: Path) -> None:
    with serve_graphql(library_schema(), library_root()) as upstream:
        upstream.canned = (200, {"errors": [{"message": "introspection is disabled"}]})
        result = CliRunner().invoke(app, ["introspect", upstream.url, "-o", str(tmp_path / "s.json")])

    assert result.exit_code == 2
    assert "introspection returned no schema (HTTP 200: introspection is disabled)" in result.output
    assert "--header" in result.output
    assert not (tmp_path / "s.json").exists()


def test_a_malformed_header_is_refused_without_echoing_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["introspect", "http://127.0.0.1:9/graphql", "-o", str(tmp_path / "s.json"), "--header", "Bearer s3cret"]
    )

    assert result.exit_code == 2
    assert "not of the form 'Name: value'" in result.output
    assert "s3cret" not in result.output
