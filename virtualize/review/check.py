"""``virtualize check``: the compiler's ``--check`` mode.

Every build is compiled in memory through the same ``compile_spec`` that ``virtualize build``
uses, and each file it would write is compared to the byte with what is committed. A file that
differs, is missing, or is left over in a manifest folder makes the folder stale; with the whole
project's builds known, a manifest folder no build produces is stale too. Nothing is written.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.errors import ManifestError

Status = Literal["changed", "missing", "extra", "missing-folder", "extra-folder"]
_DIFF_LINES = 200  # per file: enough to see the kind of change; the regenerate command shows all


@dataclass(frozen=True, slots=True)
class StalePath:
    path: Path  # the file or folder, as the builds name it
    status: Status
    diff: str = ""  # unified diff, committed -> rebuilt (for "changed")

    def render(self) -> str:
        head = {
            "changed": f"{self.path}: differs from a fresh build",
            "missing": f"{self.path}: missing (a build writes it)",
            "extra": f"{self.path}: not written by the build (left over)",
            "missing-folder": f"{self.path}/: missing (a build writes it)",
            "extra-folder": f"{self.path}/: no build writes this folder (left over)",
        }[self.status]
        return f"{head}\n{self.diff}" if self.diff else head


@dataclass(frozen=True, slots=True)
class CheckResult:
    manifests: int
    stale: tuple[StalePath, ...]
    commands: tuple[str, ...]  # what regenerates the stale folders (the headers' `regenerate`)

    @property
    def fresh(self) -> bool:
        return not self.stale

    def error(self, project_folder: Path) -> ManifestError:
        """The error a stale check ends with: how much is stale, and the command that fixes it
        (the builds' `regenerate` commands run from the project folder)."""
        run = " && ".join(self.commands)
        if project_folder.resolve() != Path.cwd().resolve():
            run = f"cd {shlex.quote(str(project_folder))} && {run}"
        return ManifestError(
            f"{len(self.stale)} stale path(s) in {self.manifests} manifest(s)", hint=f"regenerate with: {run}"
        )


def check_builds(builds: Sequence[tuple[Path, BuildOptions]], *, complete: bool) -> CheckResult:
    """Compare each build's output with its folder. ``complete`` says the builds are the whole
    project (``virtualize.toml``), so a manifest folder none of them writes is left over."""
    stale: list[StalePath] = []
    commands: list[str] = []
    produced: dict[Path, set[str]] = {}
    for spec, options in builds:
        result = compile_spec(spec, options)
        folder = options.output / result.name
        produced.setdefault(options.output, set()).add(result.name)
        found = _compare_folder(folder, result.files())
        stale.extend(found)
        if found and result.manifest.manifest.regenerate not in commands:
            commands.append(result.manifest.manifest.regenerate)
    if complete:
        for output, names in sorted(produced.items()):
            if output.is_dir():
                left_over = sorted(p for p in output.iterdir() if p.is_dir() and p.name not in names)
                stale.extend(StalePath(p, "extra-folder") for p in left_over)
                if left_over and "virtualize build" not in commands:
                    commands.append("virtualize build")
    return CheckResult(manifests=len(builds), stale=tuple(stale), commands=tuple(commands))


def _compare_folder(folder: Path, files: dict[str, str]) -> list[StalePath]:
    if not folder.is_dir():
        return [StalePath(folder, "missing-folder")]
    stale: list[StalePath] = []
    for name, text in sorted(files.items()):
        path = folder / name
        try:
            committed = path.read_bytes()
        except FileNotFoundError:
            stale.append(StalePath(path, "missing"))
            continue
        if committed != text.encode("utf-8"):
            stale.append(StalePath(path, "changed", _unified(path, committed, text)))
    stale.extend(StalePath(p, "extra") for p in sorted(folder.iterdir()) if p.name not in files)
    return stale


def _unified(path: Path, committed: bytes, rebuilt: str) -> str:
    try:
        before = committed.decode("utf-8")
    except UnicodeDecodeError:
        return "(the committed file is not UTF-8 text)"
    lines = list(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            rebuilt.splitlines(keepends=True),
            fromfile=f"{path.as_posix()} (committed)",
            tofile=f"{path.as_posix()} (rebuilt)",
        )
    )
    if not lines:  # same lines, different line endings or final newline
        return "(only line endings or the final newline differ)"
    shown = [line if line.endswith("\n") else line + "\n" for line in lines[:_DIFF_LINES]]
    if len(lines) > _DIFF_LINES:
        shown.append(f"... {len(lines) - _DIFF_LINES} more diff lines\n")
    return "".join(shown).rstrip("\n")
