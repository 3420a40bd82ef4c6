"""gRPC changes an agent cannot see in any schema: a field renumbered is a wire break."""

from __future__ import annotations

from pathlib import Path

from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.manifest.model import Manifest
from virtualize.review import diff_manifests

GREETER = Path(__file__).resolve().parents[2] / "specs" / "greeter.proto"


def build(tmp_path: Path, name: str, text: str) -> Manifest:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "greeter.proto").write_text(text, encoding="utf-8")
    options = BuildOptions(output=folder / "generated", name="greeter", adapter={"target": "localhost:50051"})
    return compile_spec(folder / "greeter.proto", options).manifest


def test_a_renumbered_field_or_enum_value_is_a_breaking_wire_change_and_a_comment_is_none(tmp_path: Path) -> None:
    text = GREETER.read_text(encoding="utf-8")
    old = build(tmp_path, "old", text)
    renumbered = build(
        tmp_path, "renumbered", text.replace("optional string language_code = 2;", "optional string language_code = 7;")
    )
    commented = build(tmp_path, "commented", text.replace("// Who to greet.", "// Whom to greet."))

    wire = [c for c in diff_manifests(old, renumbered).changes if c.code == "binding-wire-changed"]
    assert [(c.kind, c.tool, c.where) for c in wire] == [("breaking", "Greeter_SayHello", "/descriptors")]
    assert "field `language_code` of `greeter.v1.HelloRequest`" in wire[0].message
    assert "number 2 (string) to number 7 (string)" in wire[0].message
    assert not [c for c in diff_manifests(old, commented).changes if c.part == "bindings"]
