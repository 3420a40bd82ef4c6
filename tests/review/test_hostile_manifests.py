"""A manifest is validated as JSON, not as JSON Schema: hand-edited schemas of any shape are
diffed and linted without a crash (findings, never tracebacks)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.support import manifests
from virtualize.lint import PROFILES, Settings, lint_manifest
from virtualize.manifest.model import Manifest
from virtualize.review import diff_manifests

WEIRD: list[dict[str, Any]] = [
    {"type": "object", "properties": ["a"], "required": [{"x": 1}]},
    {"type": "object", "properties": {"a": 5, "b": {"enum": [{"x": 1}, [1]]}}, "required": "a"},
    {"type": ["object", 3], "items": [1, 2], "anyOf": 7, "$ref": "#/nowhere", "$defs": []},
    {"type": "object", "properties": {"a": {"$ref": "#/properties/a"}}},
    {"type": "object", "properties": {"a": {"items": {"$ref": "#/properties/a"}, "type": "array"}}},
]


def with_input(schema: dict[str, Any]) -> Manifest:
    return manifests.manifest([manifests.tool("list_pets", "Lists pets.", schema)], manifests.get(server=None))


@pytest.mark.parametrize(("old", "new"), list(itertools.product(range(len(WEIRD)), repeat=2)))
def test_odd_schemas_are_diffed_without_a_crash(old, new):
    diff = diff_manifests(with_input(WEIRD[old]), with_input(WEIRD[new]))
    assert (diff.changes == ()) is (old == new)


@pytest.mark.parametrize("schema", WEIRD)
def test_odd_schemas_are_linted_by_every_profile_without_a_crash(schema):
    findings = lint_manifest(with_input(schema), Settings(profiles=tuple(PROFILES)))
    assert all(f.tool in {"", "list_pets"} for f in findings)
