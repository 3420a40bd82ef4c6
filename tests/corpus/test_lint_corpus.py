"""Every spec of the shared corpus, compiled, is linted with the default profile and rendered in
every report format without a crash; findings are data (rule, level, location), never errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import CORPUS
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.errors import SpecError
from virtualize.lint import RULES, Settings, lint_manifest
from virtualize.lint.report import render_json, render_sarif, render_text

pytestmark = pytest.mark.corpus

OPENAPI = CORPUS / "openapi"
GRAPHQL = CORPUS / "graphql"
GRPC = CORPUS / "grpc"
_SERVICE = re.compile(r"^service \w+", re.MULTILINE)


def _openapi() -> list[Path]:
    """Entry documents only (SOURCES.md): a multi-file spec's parts are not specs of their own."""
    singles = [
        p
        for p in OPENAPI.rglob("*")
        if p.suffix in {".json", ".yaml", ".yml"} and "multi-file" not in p.parts and "petstore-separate" not in p.parts
    ]
    separate = list(OPENAPI.glob("oai-examples/v2.0/*/petstore-separate/spec/swagger.*"))
    multi = [OPENAPI / "multi-file" / "digitalocean" / "DigitalOcean-public.v2.yaml"]
    multi += list((OPENAPI / "multi-file" / "opensearch" / "namespaces").glob("*.yaml"))
    return sorted([*singles, *separate, *multi])


def _graphql() -> list[Path]:
    # graphql-core's kitchen sink is a syntax exerciser that does not build into a schema (SOURCES.md).
    suffixes = {".graphql", ".graphqls", ".json"}
    return sorted(p for p in GRAPHQL.rglob("*") if p.suffix in suffixes and "kitchen-sink" not in p.parts)


def _grpc() -> list[Path]:
    protos = [p for p in sorted(GRPC.rglob("*.proto")) if _SERVICE.search(p.read_text(encoding="utf-8"))]
    return [*protos, *sorted((GRPC / "descriptor-sets").glob("*.binpb"))]


def _adapter(spec: Path) -> dict[str, object]:
    if spec.is_relative_to(GRAPHQL):
        return {"endpoint": "https://example.test/graphql", "mutations": True}
    if spec.is_relative_to(GRPC):
        if spec.suffix == ".binpb":
            return {"target": "localhost:50051"}
        parts = spec.relative_to(GRPC).parts
        root = GRPC.joinpath(*parts[: 2 if parts[0] == "grpc-go-examples" else 1])
        roots = (root,) if root.name == "googleapis" else (root, GRPC / "googleapis")
        return {"target": "localhost:50051", "include_paths": roots}
    return {"ref_root": CORPUS}  # multi-file specs refer to ../ of their entry; the corpus is trusted


SPECS = [*_openapi(), *_graphql(), *_grpc()] if CORPUS.is_dir() else []


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.relative_to(CORPUS).as_posix())
def test_every_corpus_spec_lints_with_the_default_profile(spec: Path, tmp_path: Path) -> None:
    options = BuildOptions(name="corpus", output=tmp_path / "generated", adapter=_adapter(spec))
    try:
        manifest = compile_spec(spec, options, project=tmp_path).manifest
    except SpecError as error:  # a located diagnostic, not a crash: the compile corpus tests own it
        pytest.skip(f"does not compile: {error.message}")

    findings = lint_manifest(manifest, Settings(), file="generated/corpus/tools.json")

    assert all(f.rule in RULES and f.level in ("error", "warning", "note") for f in findings)
    assert all(f.pointer == "" or f.pointer.startswith("/") for f in findings)
    render_text(findings, 1)
    assert len(json.loads(render_json(findings, 1))["findings"]) == len(findings)
    assert len(json.loads(render_sarif(findings))["runs"][0]["results"]) == len(findings)
