"""Canonical bytes for manifest files: the same manifest always writes the same bytes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from virtualize.manifest.model import FILES, FORMAT_VERSION, Manifest

# Characters a reviewer cannot see in a diff (format, control and separator characters:
# zero-width spaces, bidi overrides, ...) are written as \uXXXX escapes so a poisoned
# description shows up in review. Everything else stays readable UTF-8. C0 controls are not
# listed: json.dumps escapes them in strings already, and the layout's own newlines are C0 too.
# The rest only occur inside strings (JSON's own syntax is ASCII), so escaping them is safe.
_INVISIBLE = re.compile("[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def canonical_json(value: Any) -> str:
    """Sorted keys, two-space indent, a newline at the end, invisible characters escaped."""
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    if text.isascii() and "\x7f" not in text:  # the common case, and scanning megabytes costs
        return text + "\n"
    return _INVISIBLE.sub(_escape, text) + "\n"


def manifest_json_schema() -> str:
    """The published JSON Schema of a manifest (``virtualize/manifest/schema.json``), from the
    models: one object whose properties are the folder's files (manifest, tools, bindings, auth)."""
    schema = Manifest.model_json_schema(by_alias=True, mode="serialization")
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "description": "A virtualize manifest folder: each top-level property is one file "
        + ", ".join(f"({part}: {name})" for part, name in FILES.items())
        + f"; format_version {FORMAT_VERSION}.",
    }
    return canonical_json(schema)


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
