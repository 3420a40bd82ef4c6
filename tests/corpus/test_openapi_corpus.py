"""Every OpenAPI document of the shared corpus compiles, and every tool keeps the tool contract.

The documents are the OpenAPI entries of ``corpus/counts.json`` (entry points only: the files a
multi-file spec refers to are not documents of their own). For each: no error diagnostic; names
valid and unique; every ``inputSchema``/``outputSchema`` valid against the 2020-12 metaschema,
``type: object`` at the root, no top-level combinator in ``inputSchema`` (nor ``oneOf`` in a
relaxed ``outputSchema``), no reference outside its own ``$defs``.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
DOCUMENTS = sorted(
    entry["file"]
    for entry in json.loads((CORPUS / "counts.json").read_text(encoding="utf-8"))
    if entry["kind"] == "openapi"
)
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
TRUSTED = {"ref_root": CORPUS}  # multi-file specs refer to ../ of their entry; the corpus is trusted
METASCHEMA = Draft202012Validator(Draft202012Validator.META_SCHEMA)
# Feature-rich documents of every dialect, built again in another process to prove byte determinism.
DETERMINISM = (
    "openapi/petstore/swagger-2.0/petstore.json",
    "openapi/petstore/oas-3.1/swagger-petstore-design-first.yaml",
    "openapi/oai-examples/v2.0/yaml/petstore-separate/spec/swagger.yaml",
    "openapi/apis-guru/googleapis.com/tasks.json",
    "openapi/real/redocly-museum/openapi.yaml",
    "openapi/real/adyen/CheckoutService-v71.json",
    "openapi/real/grpc-gateway/a_bit_of_everything.openapi.json",
)

pytestmark = pytest.mark.corpus


def _refs(node: Any, found: list[str]) -> list[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value)
            elif key not in ("enum", "const", "default", "examples", "example"):
                _refs(value, found)
    elif isinstance(node, list):
        for item in node:
            _refs(item, found)
    return found


def contract_problems(schema: dict[str, Any], what: str, combinators: tuple[str, ...], seen: set[int]) -> list[str]:
    """``seen`` holds the ids of defs already checked: the compiler shares one view of a def
    between tools, and checking it once per document keeps this sweep fast on huge APIs."""
    defs = schema.get("$defs", {})
    parts = [{k: v for k, v in schema.items() if k != "$defs"}]
    parts += [d for d in defs.values() if id(d) not in seen]
    seen.update(id(d) for d in defs.values())
    problems = [f"{what}: {error.message[:200]}" for part in parts for error in METASCHEMA.iter_errors(part)]
    if schema.get("type") != "object":
        problems.append(f"{what}: root type is {schema.get('type')!r}, not 'object'")
    problems += [f"{what}: top-level {key}" for key in combinators if key in schema]
    for ref in _refs(schema, []):
        name = ref.removeprefix("#/$defs/").split("/", 1)[0].replace("~1", "/").replace("~0", "~")
        if not ref.startswith("#/$defs/") or name not in defs:
            problems.append(f"{what}: reference {ref!r} does not point into its own $defs")
    return problems


@pytest.mark.parametrize("document", DOCUMENTS)
def test_corpus_document_compiles_into_tools_that_keep_the_contract(document: str, tmp_path: Path):
    result = compile_spec(CORPUS / document, BuildOptions(output=tmp_path / "generated", adapter=TRUSTED))
    names = [tool.name for tool in result.manifest.tools]
    assert [n for n in names if not NAME.match(n)] == []
    assert len(set(names)) == len(names)
    problems: list[str] = []
    seen: set[int] = set()
    for tool in result.manifest.tools:
        problems += contract_problems(tool.input_schema, f"{tool.name} inputSchema", ("oneOf", "anyOf", "allOf"), seen)
        if tool.output_schema is not None:  # relaxed: an open object may match several oneOf branches
            problems += contract_problems(tool.output_schema, f"{tool.name} outputSchema", ("oneOf",), seen)
    assert problems == []


def _digests(documents: tuple[str, ...], output: Path) -> dict[str, str]:
    digests = {}
    for document in documents:
        files = compile_spec(CORPUS / document, BuildOptions(output=output, adapter=TRUSTED)).files()
        digests[document] = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return digests


def test_building_in_another_process_gives_identical_bytes(tmp_path: Path):
    here = _digests(DETERMINISM, tmp_path / "generated")
    script = (
        "import json, sys; from pathlib import Path; "
        "from tests.corpus.test_openapi_corpus import _digests, DETERMINISM; "
        "print(json.dumps(_digests(DETERMINISM, Path(sys.argv[1]))))"
    )
    repo = Path(__file__).resolve().parents[2]
    other = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "generated")],
        capture_output=True,
        text=True,
        check=True,
        cwd=repo,
        env={"PYTHONHASHSEED": "12345", "PYTHONPATH": str(repo)},
        timeout=600,
    )
    assert json.loads(other.stdout) == here
