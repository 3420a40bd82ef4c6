"""Reviewing manifests in CI: ``check`` (is generated/ fresh?), ``diff`` (what does a change do
to callers?). Compile-side only: the runtime never imports this package."""

from virtualize.review.changes import KINDS, Change, ChangeKind, FailOn, ManifestDiff
from virtualize.review.classify import diff_manifests
from virtualize.review.report import render_json, render_markdown, render_text

__all__ = [
    "KINDS",
    "Change",
    "ChangeKind",
    "FailOn",
    "ManifestDiff",
    "diff_manifests",
    "render_json",
    "render_markdown",
    "render_text",
]
