"""The two sides of a diff: manifest folders on disk, or as committed at a git revision.

A side is one manifest folder (``generated/petstore``) or a folder of them (``generated/``);
the result maps each server's folder name to its manifest. Git sides are read with
``git show REV:./PATH`` (``./`` makes the path relative to the working directory, not to the
repository root) and validated exactly as ``read_manifest`` validates a folder.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from virtualize.errors import ManifestError
from virtualize.manifest import find_manifest_folders, read_manifest
from virtualize.manifest.model import FILES, Manifest


def read_side(path: Path) -> dict[str, Manifest]:
    """The manifests in ``path`` (a manifest folder or a folder of them), by folder name."""
    return {folder.name: read_manifest(folder) for folder in find_manifest_folders(path)}


def read_any(side: str, *, cwd: Path) -> dict[str, Manifest]:
    """A side as written on the command line: a path, or ``REV:PATH`` when no such path exists."""
    if Path(side).exists() or ":" not in side:
        return read_side(Path(side))
    revision, _, path = side.partition(":")
    return read_side_at_revision(revision, path or ".", cwd=cwd)


def read_side_at_revision(revision: str, path: str, *, cwd: Path) -> dict[str, Manifest]:
    """The manifests in ``path`` as committed at ``revision``, by folder name."""
    label = f"{revision}:{path}"
    folder = PurePosixPath(Path(path).as_posix())
    listed = _git(["ls-tree", "-r", "--name-only", revision, "--", f"./{folder}"], cwd, label).decode("utf-8")
    header = FILES["manifest"]
    found = sorted(PurePosixPath(line).parent for line in listed.splitlines() if PurePosixPath(line).name == header)
    folders = [folder] if folder in found else [f for f in found if f.parent == folder]
    if not folders:
        raise ManifestError(
            "no manifests at this revision",
            location=label,
            hint="name a revision and a folder that hold manifests, e.g. `main:generated`",
        )
    return {f.name: _read_at(revision, f, cwd) for f in folders}


def _read_at(revision: str, folder: PurePosixPath, cwd: Path) -> Manifest:
    label = f"{revision}:{folder}"
    with tempfile.TemporaryDirectory(prefix="virtualize-diff-") as tmp:
        for file_name in FILES.values():
            content = _git(["show", f"{revision}:./{folder / file_name}"], cwd, label)
            (Path(tmp) / file_name).write_bytes(content)
        try:
            return read_manifest(Path(tmp))
        except ManifestError as exc:
            raise ManifestError(exc.message, location=label, hint=exc.hint) from None


def _git(arguments: list[str], cwd: Path, label: str) -> bytes:
    try:
        done = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, check=False)  # no shell
    except FileNotFoundError:
        raise ManifestError("git is not installed", location=label) from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ManifestError(
            f"git {arguments[0]} failed: {reason[-1] if reason else 'no output'}",
            location=label,
            hint="name a revision that has the manifest folder, e.g. `main:generated/petstore`",
        )
    return done.stdout
