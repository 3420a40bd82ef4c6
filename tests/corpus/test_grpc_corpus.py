"""Every gRPC service in ../shared/corpus/grpc compiles, with its imports, into a manifest.

Each .proto that declares a service is built with the include roots SOURCES.md gives for its tree
(its own tree first, then googleapis), and every descriptor set as it is. Streaming methods
and google.api.http annotations (a_bit_of_everything, Temporal) are checked on the way.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import CORPUS
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.manifest.model import GrpcBinding, Manifest

pytestmark = pytest.mark.corpus

GRPC = CORPUS / "grpc"
_SERVICE = re.compile(r"^service \w+", re.MULTILINE)
# The folder under grpc/ each tree's import paths start from (SOURCES.md).
_ROOTS = {"grpc-go-examples": 2}  # grpc-go-examples/<example>/ is its own root


def _services() -> list[Path]:
    protos = sorted(GRPC.rglob("*.proto")) if GRPC.is_dir() else []
    return [p for p in protos if _SERVICE.search(p.read_text(encoding="utf-8"))]


def _include_paths(proto: Path) -> tuple[Path, ...]:
    parts = proto.relative_to(GRPC).parts
    root = GRPC.joinpath(*parts[: _ROOTS.get(parts[0], 1)])
    return (root,) if root.name == "googleapis" else (root, GRPC / "googleapis")


def _build(spec: Path, tmp_path: Path, **adapter: object) -> Manifest:
    options = BuildOptions(output=tmp_path / "generated", adapter={"target": "localhost:50051", **adapter})
    return compile_spec(spec, options, project=GRPC).manifest


def _grpc(manifest: Manifest) -> list[GrpcBinding]:
    return [b for b in manifest.bindings.tools.values() if isinstance(b, GrpcBinding)]


@pytest.mark.parametrize("proto", _services(), ids=lambda p: str(p.relative_to(GRPC)))
def test_every_corpus_service_compiles_with_its_imports(proto: Path, tmp_path: Path) -> None:
    manifest = _build(proto, tmp_path, include_paths=_include_paths(proto))

    assert manifest.tools
    assert manifest.bindings.descriptors
    assert all(tool.input_schema["type"] == "object" for tool in manifest.tools)


@pytest.mark.parametrize(
    "binpb", sorted((GRPC / "descriptor-sets").glob("*.binpb")) if GRPC.is_dir() else [], ids=lambda p: p.name
)
def test_every_corpus_descriptor_set_compiles(binpb: Path, tmp_path: Path) -> None:
    manifest = _build(binpb, tmp_path)

    assert manifest.tools
    assert all(binding.full_method.startswith("/") for binding in _grpc(manifest))


def test_google_api_http_bindings_of_every_form_are_recorded(tmp_path: Path) -> None:
    proto = GRPC / "grpc-gateway/examples/internal/proto/examplepb/a_bit_of_everything.proto"
    rules = [b.http_rule for b in _grpc(_build(proto, tmp_path, include_paths=_include_paths(proto)))]

    recorded = [rule for rule in rules if rule]
    assert len(recorded) > 20
    assert any("additionalBindings" in rule for rule in recorded)
    assert any(rule.get("body") == "*" for rule in recorded)
    assert {verb for rule in recorded for verb in ("get", "post", "put", "patch", "delete") if verb in rule} == {
        "get",
        "post",
        "put",
        "patch",
        "delete",
    }


def test_streaming_methods_become_tools_of_their_kind(tmp_path: Path) -> None:
    proto = GRPC / "connect-eliza/connectrpc/eliza/v1/eliza.proto"
    manifest = _build(proto, tmp_path, include_paths=_include_paths(proto))
    kinds = {
        name: (binding.client_streaming, binding.server_streaming)
        for name, binding in manifest.bindings.tools.items()
        if isinstance(binding, GrpcBinding)
    }

    assert kinds == {
        "ElizaService_Say": (False, False),
        "ElizaService_Converse": (True, True),
        "ElizaService_Introduce": (False, True),
    }
    tools = {tool.name: tool for tool in manifest.tools}
    assert list(tools["ElizaService_Converse"].input_schema["properties"]) == ["messages"]


def test_temporal_workflow_service_compiles_every_rpc(tmp_path: Path) -> None:
    proto = GRPC / "temporal/temporal/api/workflowservice/v1/service.proto"
    manifest = _build(proto, tmp_path, include_paths=_include_paths(proto))

    assert manifest.manifest.counts.tools == 122
    assert sum(1 for binding in _grpc(manifest) if binding.http_rule) == 99
