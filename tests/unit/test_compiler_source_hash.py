import hashlib
from pathlib import Path

from virtualize import compile_spec

ENTRY = """\
openapi: 3.0.3
info: {title: Split, version: "1"}
paths:
  /pets:
    get:
      operationId: listPets
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "schemas.yaml#/Pet"}
"""


def test_the_source_hash_of_a_single_file_is_its_sha256(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text(ENTRY.replace('{$ref: "schemas.yaml#/Pet"}', "{type: object}"), encoding="utf-8")
    manifest = compile_spec(spec, project=tmp_path).manifest
    assert manifest.manifest.source.sha256 == hashlib.sha256(spec.read_bytes()).hexdigest()


def test_editing_a_referenced_file_changes_the_source_hash(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text(ENTRY, encoding="utf-8")
    schemas = tmp_path / "schemas.yaml"
    schemas.write_text("Pet: {type: object, properties: {name: {type: string}}}\n", encoding="utf-8")
    before = compile_spec(spec, project=tmp_path).manifest.manifest.source.sha256

    schemas.write_text("Pet: {type: object, properties: {name: {type: integer}}}\n", encoding="utf-8")
    after = compile_spec(spec, project=tmp_path).manifest.manifest.source.sha256

    assert before != after
    assert before != hashlib.sha256(spec.read_bytes()).hexdigest()
