"""Mutated real documents never crash the compiler (issue 4: prove robustness on real APIs).

The fuzzer (bench/fuzz_compile.py) compiles every mutant in a worker subprocess under RLIMIT_AS
and a per-case wall-clock limit, so a YAML bomb or runaway recursion is one failing case instead
of a dead test run. The limit is a hang detector, not a performance assertion: the bench run
(thousands of cases) prints the timings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

FUZZER = REPO / "bench" / "fuzz_compile.py"


@pytest.mark.corpus
@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_corpus_documents_compile_or_give_located_diagnostics(seed: int) -> None:
    result = subprocess.run(
        [sys.executable, str(FUZZER), "--cases", "60", "--seed", str(seed), "--timeout", "60"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " bugs=0 " in result.stdout


def _compile_in_child(path: Path) -> subprocess.CompletedProcess[str]:
    """Compile ``path`` in a fresh interpreter: a segfault there fails this test, not the run."""
    script = (
        "import sys; from pathlib import Path\n"
        "from virtualize.compiler import compile_spec\n"
        "from virtualize.config import BuildOptions\n"
        "from virtualize.errors import SpecError\n"
        "try:\n"
        "    compile_spec(Path(sys.argv[1]), BuildOptions(output=Path(sys.argv[2])))\n"
        "except SpecError as error:\n"
        "    print(error.render())\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script, str(path), str(path.parent / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )


def test_yaml_nested_fifty_thousand_levels_deep_is_a_diagnostic_not_a_segfault(tmp_path: Path) -> None:
    spec = tmp_path / "deep.yaml"
    depth = 50_000
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\nx-deep: " + "[" * depth + "]" * depth + "\n",
        encoding="utf-8",
    )

    result = _compile_in_child(spec)

    assert result.returncode == 0, f"exit status {result.returncode}: {result.stderr[-2000:]}"
    assert "invalid YAML: recursion limit exceeded (line 4" in result.stdout
