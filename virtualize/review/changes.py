"""What a diff is made of: one ``Change`` per observable difference, and the ``ManifestDiff`` of
one virtual server. The classes (``ChangeKind``) and what falls in each are described in
``virtualize.review.classify``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

ChangeKind = Literal["breaking", "additive", "description", "cosmetic"]
Part = Literal["manifest", "tools", "bindings", "auth"]
KINDS: tuple[ChangeKind, ...] = ("breaking", "description", "additive", "cosmetic")  # worst first
FailOn = Literal["none", "breaking", "any"]


@dataclass(frozen=True, slots=True)
class Change:
    """One change. ``where`` is a JSON pointer into the tool's entry of ``part`` (or into the
    scheme's entry for ``auth``), so a reviewer can find it in the manifest folder."""

    kind: ChangeKind
    code: str
    tool: str  # "" for changes that concern the whole server (auth map, header)
    part: Part
    where: str
    message: str


@dataclass(frozen=True, slots=True)
class ManifestDiff:
    """Every change from ``old`` to ``new``, server-wide changes first, then by tool name."""

    name: str
    old_label: str
    new_label: str
    changes: tuple[Change, ...]
    old_tools: int
    new_tools: int
    old_tokens: int
    new_tokens: int

    def count(self, kind: ChangeKind) -> int:
        return sum(1 for c in self.changes if c.kind == kind)

    def of_kind(self, kind: ChangeKind) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    def fails(self, fail_on: FailOn) -> bool:
        if fail_on == "none":
            return False
        if fail_on == "breaking":
            return self.count("breaking") > 0
        return bool(self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "old": self.old_label,
            "new": self.new_label,
            "summary": {
                **{kind: self.count(kind) for kind in KINDS},
                "tools": {"old": self.old_tools, "new": self.new_tools},
                "tool_list_tokens": {"old": self.old_tokens, "new": self.new_tokens},
            },
            "changes": [asdict(c) for c in self.changes],
        }


# -- wording shared by the classifiers -------------------------------------------------------


def show(value: Any) -> str:
    """A value as it appears in a change message."""
    if value is None:
        return "none"
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, tuple):
        value = list(value)
    return f"`{json.dumps(value, sort_keys=True, ensure_ascii=False)}`"


def quote(value: Any, limit: int = 80) -> str:
    """Quoted, shortened text, with what a reviewer could not see escaped (as the manifest
    writer does): a poisoned description must be visible in the report."""
    if not value:
        return "(empty)"
    text = " ".join(str(value).split())
    text = json.dumps(text, ensure_ascii=False)[1:-1]
    text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    return f'"{text[:limit]}…"' if len(text) > limit else f'"{text}"'


def pointer_token(token: str) -> str:
    """A JSON pointer reference token (RFC 6901 §3)."""
    return token.replace("~", "~0").replace("/", "~1")
