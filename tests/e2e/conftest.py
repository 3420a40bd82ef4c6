"""Fixtures of the serve end-to-end tests: a petstore manifest folder and a recording upstream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.petstore import petstore_manifest, write_manifest
from tests.support.upstream import RecordingUpstream


@pytest.fixture
def petstore(tmp_path: Path) -> Path:
    """A generated/ folder holding the petstore manifest."""
    write_manifest(petstore_manifest(), tmp_path / "generated" / "petstore")
    return tmp_path / "generated"


@pytest.fixture
def upstream() -> Iterator[RecordingUpstream]:
    with RecordingUpstream() as server:
        yield server
