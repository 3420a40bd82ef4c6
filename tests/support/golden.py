"""Compare produced files with a committed folder to the byte, or rewrite that folder.

Checking and regenerating are one code path (``update`` only decides what happens on a
difference), so they cannot drift apart. CI never passes ``--update-golden``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REGENERATE = ".venv/bin/python -m pytest tests/golden tests/test_generated_fresh.py --update-golden"


def _committed(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _shown(path: Path) -> str:
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


def differences(actual: dict[str, str], folder: Path) -> str:
    """What differs between ``actual`` (file name -> text) and ``folder``; "" when nothing does.

    Lists missing and extra files, then a unified diff of the first file whose text differs.
    """
    expected = _committed(folder)
    lines = [f"missing from {_shown(folder)}: {name}" for name in sorted(set(actual) - set(expected))]
    lines += [f"not produced any more: {_shown(folder / name)}" for name in sorted(set(expected) - set(actual))]
    changed = [name for name in sorted(set(actual) & set(expected)) if actual[name] != expected[name]]
    if changed:
        name = changed[0]
        where = _shown(folder / name)
        diff = difflib.unified_diff(
            expected[name].splitlines(keepends=True),
            actual[name].splitlines(keepends=True),
            fromfile=f"{where} (committed)",
            tofile=f"{where} (built now)",
        )
        lines.append("".join(diff).rstrip("\n"))
        lines += [f"also differs: {_shown(folder / other)}" for other in changed[1:]]
    return "\n".join(lines)


def write_golden(actual: dict[str, str], folder: Path) -> None:
    """Make ``folder`` hold exactly ``actual``: write what changed, delete what is stale."""
    expected = _committed(folder)
    for name in set(expected) - set(actual):
        (folder / name).unlink()
    for name, text in actual.items():
        if expected.get(name) != text:
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")


def assert_matches_golden(actual: dict[str, str], folder: Path, *, update: bool) -> None:
    """Fail with a diff when ``actual`` differs from ``folder``; with ``update``, rewrite it."""
    if update:
        write_golden(actual, folder)
        return
    found = differences(actual, folder)
    if found:
        pytest.fail(f"{found}\n\nIf the change is intended, regenerate with:\n    {REGENERATE}", pytrace=False)
