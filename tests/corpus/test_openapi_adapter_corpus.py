"""Every OpenAPI document of the shared corpus loads into IR with no error diagnostic, and every
schema the IR holds is valid JSON Schema 2020-12 whose references all land in ``Api.defs``.

The documents are the OpenAPI entries of ``corpus/counts.json`` (entry points only: the files a
multi-file spec refers to are not documents of their own). This checks the adapter's contract
alone; ``test_openapi_corpus.py`` checks the compiled manifests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from virtualize.adapters import AdapterOptions, load_api
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, JsonSchema

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
DOCUMENTS = sorted(
    entry["file"]
    for entry in json.loads((CORPUS / "counts.json").read_text(encoding="utf-8"))
    if entry["kind"] == "openapi"
)
# What Draft202012Validator.check_schema does, with the metaschema validator built once.
METASCHEMA = Draft202012Validator(Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
REF = re.compile(r'"\$ref": "([^"]*)"')


def schemas_of(api: Api) -> list[tuple[str, JsonSchema]]:
    """Every schema of the IR with where it is: defs, arguments, bodies, results, responses."""
    found = [(f"$defs/{name}", schema) for name, schema in api.defs.items()]
    for op in api.operations:
        found += [(f"{op.key} argument {a.name}", a.schema_) for a in op.arguments]
        if op.call.protocol == "http":
            if op.call.body is not None:
                found.append((f"{op.key} body", op.call.body.schema_))
            found += [(f"{op.key} {r.status}", r.schema_) for r in op.call.responses if r.schema_ is not None]
        if op.result is not None:
            found.append((f"{op.key} result", op.result))
    return found


@pytest.mark.corpus
@pytest.mark.parametrize("document", DOCUMENTS)
def test_corpus_document_loads_with_valid_2020_12_schemas_and_local_refs(document: str) -> None:
    diagnostics = Diagnostics()

    api = load_api(CORPUS / document, AdapterOptions(ref_root=CORPUS), diagnostics)

    assert [d.render() for d in diagnostics.errors] == []
    assert api is not None
    assert len({op.key for op in api.operations}) == len(api.operations)
    checked: set[str] = set()
    for where, schema in schemas_of(api):
        text = json.dumps(schema, sort_keys=True)
        if text in checked:  # many arguments share one schema; the metaschema check is the slow part
            continue
        checked.add(text)
        assert [f"{where}: {e.message}" for e in METASCHEMA.iter_errors(schema)] == []
        dangling = [r for r in REF.findall(text) if r.removeprefix("#/$defs/") not in api.defs or r[:8] != "#/$defs/"]
        assert dangling == [], where
