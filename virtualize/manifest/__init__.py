"""Manifest models, canonical writing and reading. A leaf: imports nothing of ours but errors."""

from virtualize.manifest.model import FORMAT_VERSION, Manifest
from virtualize.manifest.read import find_manifest_folders, read_manifest
from virtualize.manifest.write import canonical_json, manifest_files

__all__ = [
    "FORMAT_VERSION",
    "Manifest",
    "canonical_json",
    "find_manifest_folders",
    "manifest_files",
    "read_manifest",
]
