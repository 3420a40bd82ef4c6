"""Golden cases: every folder under ``cases/`` compiles to exactly its ``expected/`` folder.

A case shows one hard feature and is named after it. Its folder holds:

    input.<ext>             the descriptor, of any family (.yaml/.json OpenAPI or Swagger,
                            .graphql SDL, .proto, ...); further files it refers to may sit beside it
    input.virtualize.toml   optional: the spec's configuration, read as `virtualize build` reads it
                            (selection, tool overrides, pinned arguments, auth sources, adapter options)
    case.toml               optional: the build's arguments, written as ONE `[[build]]` entry of a
                            project virtualize.toml without the `[[build]]` line, e.g.
                                spec = "schema.graphql"          # default: the one input.* file
                                name = "starwars"                # default: the case folder's name
                                options = { name_limit = 30, endpoint = "http://127.0.0.1:4000/graphql" }
                            (options: name_limit, strict, the selection lists, AdapterOptions fields)
    expected/               what the build produced: manifest.json, tools.json, bindings.json,
                            auth.json, TOOLS.md, plus diagnostics.txt when it warned. A case whose
                            build fails has only diagnostics.txt (the errors).

Regenerate every expected/ folder (and generated/) after an intended change with:

    .venv/bin/python -m pytest tests/golden tests/test_generated_fresh.py --update-golden
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from tests.support.golden import REGENERATE, assert_matches_golden
from virtualize.compiler import compile_spec
from virtualize.config import CONFIG_SUFFIX, parse_builds
from virtualize.diagnostics import Diagnostic
from virtualize.errors import SpecError

CASES = Path(__file__).parent / "cases"


def _input(case: Path) -> str:
    inputs = [p.name for p in case.glob("input.*") if not p.name.endswith(CONFIG_SUFFIX)]
    assert len(inputs) == 1, f"{case}: expected one input.* file (or `spec` in case.toml), found {inputs}"
    return inputs[0]


def _diagnostics(diagnostics: tuple[Diagnostic, ...], case: Path) -> str:
    """Rendered with file paths relative to the case, so the text is the same on every machine."""
    shown = [d.model_copy(update={"file": Path(os.path.relpath(d.file, case)).as_posix()}) for d in diagnostics]
    return "".join(d.render() + "\n" for d in shown)


def build_case(case: Path) -> dict[str, str]:
    """The files the case's build produces (file name -> text)."""
    entry = tomllib.loads((case / "case.toml").read_text(encoding="utf-8")) if (case / "case.toml").exists() else {}
    entry = {"spec": _input(case), "name": case.name, **entry}
    [(spec, options)] = parse_builds({"build": [entry]}, case / "case.toml")
    options = options.model_copy(update={"regenerate": REGENERATE})
    try:
        result = compile_spec(spec, options)
    except SpecError as error:
        return {"diagnostics.txt": _diagnostics(error.diagnostics, case)}
    files = result.files()
    if result.warnings:
        files["diagnostics.txt"] = _diagnostics(result.warnings, case)
    return files


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_case_builds_to_its_expected_folder(case: str, update_golden: bool):
    folder = CASES / case
    assert_matches_golden(build_case(folder), folder / "expected", update=update_golden)
