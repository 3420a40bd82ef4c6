"""Diff reports for people and machines: a terminal listing, JSON, and a Markdown pull-request
comment rendered from ``templates/diff.md.jinja``."""

from __future__ import annotations

import json
from collections.abc import Sequence

from virtualize.invisible import revealed
from virtualize.rendering import cell, environment
from virtualize.review.changes import KINDS, ChangeKind, ManifestDiff

_SECTIONS: dict[ChangeKind, tuple[str, str]] = {
    "breaking": (
        "Breaking",
        "Calls that worked before may fail or reach the upstream differently. Review each one.",
    ),
    "description": (
        "Descriptions",
        "What the agent is told changed. Agents follow descriptions: read them as you would code.",
    ),
    "additive": ("Additive", "New capability; existing calls keep working."),
    "cosmetic": ("Cosmetic", "Not observable by callers."),
}


def render_text(diffs: Sequence[ManifestDiff]) -> str:
    """One line per change, worst class first, for a terminal."""
    lines: list[str] = []
    for diff in diffs:
        counts = ", ".join(f"{diff.count(kind)} {kind}" for kind in KINDS)
        lines.append(f"{diff.name}: {diff.old_label} -> {diff.new_label}: {counts}")
        for kind in KINDS:
            for change in diff.of_kind(kind):
                tool = change.tool or "(server)"
                lines.append(f"  {kind:<11} {tool}: {change.message}  [{change.code} {change.part}{change.where}]")
    return "\n".join(lines) + "\n"


def render_json(diffs: Sequence[ManifestDiff]) -> str:
    """Stable JSON: one entry per server, in the order given."""
    return json.dumps({"servers": [diff.to_json() for diff in diffs]}, indent=2, ensure_ascii=False) + "\n"


# GitHub refuses comments over 65,536 characters; a review of thousands of changes is read in
# the JSON report anyway.
MARKDOWN_ROWS_PER_SECTION = 150


def render_markdown(diffs: Sequence[ManifestDiff], *, rows_per_section: int = MARKDOWN_ROWS_PER_SECTION) -> str:
    """A pull-request comment for one or more servers."""
    env = environment()
    env.filters["cell"] = cell
    template = env.get_template("diff.md.jinja")
    servers = [
        {
            "diff": diff,
            "sections": [
                {
                    "title": _SECTIONS[kind][0],
                    "why": _SECTIONS[kind][1],
                    "count": diff.count(kind),
                    "changes": diff.of_kind(kind)[:rows_per_section],
                    "hidden": max(0, diff.count(kind) - rows_per_section),
                    "folded": kind == "cosmetic",  # nothing a caller observes: closed by default
                }
                for kind in KINDS
                if diff.count(kind)
            ],
        }
        for diff in diffs
    ]
    totals = {kind: sum(diff.count(kind) for diff in diffs) for kind in KINDS}
    return revealed(template.render(servers=servers, totals=totals))
