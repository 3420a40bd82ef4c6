"""The CI recipe in docs/ci is a valid workflow whose every `virtualize` command line parses."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer.main
import yaml

from virtualize.cli import app

RECIPE = Path(__file__).resolve().parents[2] / "docs" / "ci" / "virtualize-review.yml"


def commands() -> list[list[str]]:
    workflow = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    found = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).splitlines():
                words = shlex.split(line, comments=True)
                if words[:1] == ["virtualize"]:
                    found.append(words[1:])
    return found


def test_the_recipe_runs_check_diff_and_lint_and_uploads_sarif():
    workflow = yaml.safe_load(RECIPE.read_text(encoding="utf-8"))
    assert set(workflow["jobs"]) == {"check", "diff", "lint"}
    assert {c[0] for c in commands()} == {"check", "diff", "lint"}
    uses = [step.get("uses", "") for step in workflow["jobs"]["lint"]["steps"]]
    assert "github/codeql-action/upload-sarif@v3" in uses


def test_every_virtualize_command_line_in_the_recipe_parses():
    subcommands = typer.main.get_command(app).commands  # type: ignore[attr-defined]  # a TyperGroup
    for args in commands():
        # Parsing raises a usage error on an unknown option or a value outside its choices.
        subcommands[args[0]].make_context(args[0], args[1:])
