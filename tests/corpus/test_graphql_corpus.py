"""Every GraphQL schema of the shared corpus compiles, and every generated document validates
against its schema with graphql-core's ``validate()`` (the fidelity measure for GraphQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_ast_schema, build_client_schema, parse, validate

from tests.conftest import CORPUS
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.errors import SpecError
from virtualize.manifest.model import GraphQLBinding

pytestmark = pytest.mark.corpus

GRAPHQL = CORPUS / "graphql"
# graphql-core's syntax exerciser: every SDL construct, on purpose not one buildable schema.
DOES_NOT_BUILD = {"kitchen-sink/schema_kitchen_sink.graphql"}
SCHEMAS = sorted(
    path.relative_to(GRAPHQL).as_posix()
    for path in GRAPHQL.rglob("*")
    if path.suffix in (".graphql", ".graphqls", ".json") and path.relative_to(GRAPHQL).as_posix() not in DOES_NOT_BUILD
)


def _schema(path: Path) -> GraphQLSchema:
    import json  # noqa: PLC0415 - only introspection files need it

    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return build_client_schema(data.get("data", data))
    return build_ast_schema(parse(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_corpus_schema_compiles_and_every_document_validates(name: str, tmp_path: Path) -> None:
    path = GRAPHQL / name
    options = BuildOptions(
        output=tmp_path / "out", adapter={"endpoint": "https://example.test/graphql", "mutations": True}
    )

    result = compile_spec(path, options, project=tmp_path)

    schema = _schema(path)
    bindings = result.manifest.bindings.tools
    assert bindings, "no tools"
    invalid = {}
    for tool, binding in bindings.items():
        assert isinstance(binding, GraphQLBinding)
        errors = validate(schema, parse(binding.document))
        if errors:
            invalid[tool] = errors[0].message
    assert invalid == {}
    skipped = [w.message for w in result.warnings if "left out: no generated document validates" in w.message]
    assert skipped == []


def test_a_schema_that_does_not_build_is_reported_with_lines_and_no_traceback(tmp_path: Path) -> None:
    path = GRAPHQL / "kitchen-sink" / "schema_kitchen_sink.graphql"

    with pytest.raises(SpecError) as raised:
        compile_spec(
            path,
            BuildOptions(name="corpus", output=tmp_path / "out", adapter={"endpoint": "https://example.test/graphql"}),
        )

    diagnostics = raised.value.diagnostics
    assert diagnostics
    assert all(d.file == str(path) and d.line is not None for d in diagnostics)
    assert diagnostics[0].message == "Unknown type 'QueryType'."
