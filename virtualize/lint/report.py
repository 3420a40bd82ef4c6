"""Lint reports: text for a terminal, JSON, and SARIF 2.1.0 for code-scanning dashboards
(GitHub's ``upload-sarif`` and others). SARIF locations name the ``tools.json`` file with the
line of the finding (manifest JSON is canonical, so a JSON pointer maps to one line) and the tool
as a logical location."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from virtualize import __version__
from virtualize.lint.findings import Finding
from virtualize.lint.rules import LEVELS, RULES

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def summary(findings: Sequence[Finding]) -> str:
    counts = Counter(f.level for f in findings)
    return ", ".join(f"{counts[level]} {level}{'s' if counts[level] != 1 else ''}" for level in LEVELS)


def render_text(findings: Sequence[Finding], manifests: int) -> str:
    lines = []
    for f in findings:
        where = f"{f.tool} {f.pointer or '/'}" if f.tool else f"server {f.server}"
        lines.append(f"{f.file}: {f.level} {f.rule} [{where}] {f.message} ({RULES[f.rule].name})")
    lines.append(f"{manifests} manifest{'s' if manifests != 1 else ''} linted: {summary(findings)}")
    return "\n".join(lines) + "\n"


def render_json(findings: Sequence[Finding], manifests: int) -> str:
    counts = Counter(f.level for f in findings)
    document = {
        "manifests": manifests,
        "summary": {level: counts[level] for level in LEVELS},
        "findings": [f.to_json() for f in findings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_sarif(findings: Sequence[Finding], lines: dict[tuple[str, str], int] | None = None) -> str:
    """``lines`` maps (file, pointer from the file's root) to a 1-based line, where known."""
    lines = lines or {}
    rule_ids = list(RULES)
    rules = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.help},
            "help": {"text": rule.help},
            "defaultConfiguration": {"level": rule.level},
        }
        for rule in RULES.values()
    ]
    results = [_result(f, rule_ids.index(f.rule), lines) for f in findings]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "virtualize", "version": __version__, "rules": rules}},
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _result(f: Finding, rule_index: int, lines: dict[tuple[str, str], int]) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(f.file)}}
    line = lines.get((f.file, f.file_pointer))
    physical["region"] = {"startLine": line or 1}
    if f.tool:
        logical = {"name": f.tool, "fullyQualifiedName": f"{f.server}/{f.tool}", "kind": "function"}
    else:
        logical = {"name": f.server, "fullyQualifiedName": f.server, "kind": "module"}
    return {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": f.level,
        "message": {"text": f.message},
        "locations": [{"physicalLocation": physical, "logicalLocations": [logical]}],
        # Stable across unrelated edits (a line number is not), so dashboards track one finding.
        "partialFingerprints": {"virtualizeFinding/v1": f"{f.rule}:{f.server}/{f.tool}{f.pointer}"},
    }


def artifact_uri(file: str) -> str:
    """A relative POSIX path when the file is under the working directory (what code scanning
    resolves against the repository root), else an absolute file URI."""
    path = Path(file)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_uri()


def pointer_lines(document: Any) -> dict[str, int]:
    """The line of every pointer in ``json.dumps(document, indent=2, sort_keys=True)``: the
    layout of canonical manifest JSON (one key or item per line, containers close on their own
    line, empty containers on one)."""
    found: dict[str, int] = {}

    def place(node: Any, pointer: str, line: int) -> int:
        """Record ``node`` at ``line``; return the line after it."""
        found[pointer] = line
        if isinstance(node, dict) and node:
            line += 1
            for key in sorted(node):
                line = place(node[key], f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}", line)
            return line + 1
        if isinstance(node, list) and node:
            line += 1
            for index, item in enumerate(node):
                line = place(item, f"{pointer}/{index}", line)
            return line + 1
        return line + 1

    place(document, "", 1)
    return found
