"""Canonical bytes for manifest files: the same manifest always writes the same bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from virtualize.manifest.model import FILES, Manifest

# Characters a reviewer cannot see in a diff (format, control and separator characters:
# zero-width spaces, bidi overrides, ...) are written as \uXXXX escapes so a poisoned
# description shows up in review. Everything else stays readable UTF-8.
_INVISIBLE = re.compile(
    "[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def canonical_json(value: Any) -> str:
    """Sorted keys, two-space indent, a newline at the end, invisible characters escaped."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return _INVISIBLE.sub(_escape, text) + "\n"


def manifest_files(manifest: Manifest) -> dict[str, str]:
    """The text of each JSON file of a manifest folder, by file name."""
    data = manifest.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {FILES[part]: canonical_json(data[part]) for part in FILES}


def write_folder(folder: Path, files: dict[str, str]) -> None:
    """Write ``files`` into ``folder`` and remove files of ours that are no longer produced."""
    folder.mkdir(parents=True, exist_ok=True)
    known = {*FILES.values(), "TOOLS.md"}
    for stale in folder.iterdir():
        if stale.name in known and stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
