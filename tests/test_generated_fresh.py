"""generated/ holds exactly what `virtualize build` writes now for the builds in virtualize.toml.

Regenerate after an intended change with:

    .venv/bin/python -m pytest tests/golden tests/test_generated_fresh.py --update-golden
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.support.golden import REGENERATE, assert_matches_golden
from virtualize.compiler import compile_spec, default_name
from virtualize.config import PROJECT_FILE, read_project
from virtualize.manifest.model import FILES
from virtualize.manifest.write import manifest_json_schema

REPO = Path(__file__).resolve().parents[1]
BUILDS = read_project(REPO / PROJECT_FILE)


@pytest.mark.parametrize(("spec", "options"), BUILDS, ids=[o.name or default_name(s) for s, o in BUILDS])
def test_generated_folder_is_what_a_fresh_build_writes(spec, options, update_golden: bool):
    result = compile_spec(spec, options)
    assert_matches_golden(result.files(), options.output / result.name, update=update_golden)


def test_generated_holds_no_folder_that_no_build_writes(update_golden: bool):
    built = {(options.output / (options.name or default_name(spec))).resolve() for spec, options in BUILDS}
    stale = sorted(p for p in (REPO / "generated").iterdir() if p.is_dir() and p.resolve() not in built)
    if update_golden:
        for folder in stale:
            shutil.rmtree(folder)
        return
    assert not stale, f"no build writes {[p.name for p in stale]}; remove them with:\n    {REGENERATE}"


def test_published_manifest_schema_is_generated_from_the_model(update_golden: bool):
    published = REPO / "virtualize" / "manifest" / "schema.json"
    if update_golden:
        published.write_text(manifest_json_schema(), encoding="utf-8", newline="\n")
    assert published.read_text(encoding="utf-8") == manifest_json_schema(), f"stale; regenerate with:\n    {REGENERATE}"


@pytest.mark.parametrize(("spec", "options"), BUILDS, ids=[o.name or default_name(s) for s, o in BUILDS])
def test_generated_manifests_validate_against_the_published_schema(spec, options):
    folder = options.output / (options.name or default_name(spec))
    manifest = {part: json.loads((folder / name).read_text(encoding="utf-8")) for part, name in FILES.items()}
    schema = json.loads((REPO / "virtualize" / "manifest" / "schema.json").read_text(encoding="utf-8"))
    assert [error.message for error in Draft202012Validator(schema).iter_errors(manifest)] == []
