"""Load a manifest folder: the runtime's only way in."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from virtualize.errors import ManifestError
from virtualize.manifest.model import FILES, FORMAT_VERSION, Manifest


def is_manifest_folder(path: Path) -> bool:
    return (path / FILES["manifest"]).is_file()


def find_manifest_folders(path: Path) -> list[Path]:
    """``path`` itself if it is a manifest folder, else its manifest subfolders, sorted."""
    if is_manifest_folder(path):
        return [path]
    if not path.is_dir():
        raise ManifestError("no such manifest folder", location=str(path), hint="run `virtualize build SPEC` first")
    found = sorted(p for p in path.iterdir() if is_manifest_folder(p))
    if not found:
        raise ManifestError(
            "no manifests found here",
            location=str(path),
            hint="pass generated/ or generated/<name>/, as written by `virtualize build`",
        )
    return found


def read_manifest(folder: Path) -> Manifest:
    parts: dict[str, object] = {}
    for part, file_name in FILES.items():
        path = folder / file_name
        try:
            parts[part] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ManifestError(
                f"{file_name} is missing", location=str(folder), hint="rebuild with `virtualize build`"
            ) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ManifestError(f"{file_name} is unreadable: {exc}", location=str(path)) from None
    header = parts["manifest"]
    version = header.get("format_version") if isinstance(header, dict) else None
    if version != FORMAT_VERSION:
        raise ManifestError(
            f"manifest format version {version!r} is not supported (this virtualize reads {FORMAT_VERSION})",
            location=str(folder / FILES["manifest"]),
            hint="rebuild it with this version of virtualize",
        )
    try:
        return Manifest.model_validate(parts)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "/".join(str(p) for p in first["loc"])
        raise ManifestError(
            f"invalid manifest at {where}: {first['msg']}",
            location=str(folder),
            hint="manifests are written by `virtualize build`; rebuild instead of editing by hand",
        ) from None
