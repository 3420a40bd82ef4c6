"""``virtualize lint``: what an agent will see, checked for poisoning, client limits and the
schema dialects strict clients accept. Rules in ``rules``, client limits in ``profiles``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from virtualize.lint.findings import Finding, Settings, at_or_above
from virtualize.lint.profiles import PROFILES
from virtualize.lint.report import pointer_lines, render_json, render_sarif, render_text
from virtualize.lint.rules import RULES, Level
from virtualize.lint.run import lint_manifest
from virtualize.manifest import canonical_json, find_manifest_folders, read_manifest
from virtualize.manifest.model import FILES


@dataclass(frozen=True, slots=True)
class LintResult:
    manifests: int
    findings: tuple[Finding, ...]
    lines: dict[tuple[str, str], int]  # (tools.json, pointer) -> line, for SARIF regions

    def fails(self, threshold: Level) -> bool:
        return any(at_or_above(f.level, threshold) for f in self.findings)

    def render(self, format: str) -> str:
        if format == "json":
            return render_json(self.findings, self.manifests)
        if format == "sarif":
            return render_sarif(self.findings, self.lines)
        return render_text(self.findings, self.manifests)


def lint_paths(paths: Sequence[Path], settings: Settings) -> LintResult:
    """Lint every manifest in ``paths`` (manifest folders or folders of them)."""
    findings: list[Finding] = []
    lines: dict[tuple[str, str], int] = {}
    count = 0
    for path in paths:
        for folder in find_manifest_folders(path):
            manifest = read_manifest(folder)
            tools_file = folder / FILES["tools"]
            file = tools_file.as_posix()
            found = lint_manifest(manifest, settings, file=file)
            text = tools_file.read_text(encoding="utf-8") if found else ""
            document = json.loads(text) if text else None  # read_manifest has validated it
            if document is not None and canonical_json(document) == text:  # else lines are unknown
                wanted = {f.file_pointer for f in found}
                lines.update({(file, p): line for p, line in pointer_lines(document).items() if p in wanted})
            findings.extend(found)
            count += 1
    return LintResult(manifests=count, findings=tuple(findings), lines=lines)


__all__ = ["PROFILES", "RULES", "Finding", "LintResult", "Settings", "lint_manifest", "lint_paths"]
