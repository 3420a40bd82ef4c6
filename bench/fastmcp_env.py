"""The benchmarks' FastMCP: its own ``.venv-bench`` (gitignored), created and filled on first use.

FastMCP pins dependency versions of its own, so it never enters the project's ``.venv``.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_VENV = REPO / ".venv-bench"


def bench_python() -> Path:
    """The Python of ``.venv-bench``, with fastmcp and pyyaml installed (raises ``CalledProcessError``)."""
    python = BENCH_VENV / "bin" / "python"
    ready = BENCH_VENV / ".installed"
    if not ready.exists():
        print(f"creating {BENCH_VENV.relative_to(REPO)} with fastmcp (once)", file=sys.stderr)
        venv.create(BENCH_VENV, with_pip=True, clear=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "fastmcp", "pyyaml"], check=True)
        ready.touch()  # only now: an install that broke off is redone, not taken for a working one
    return python
