"""`virtualize diff` from the command line: two folders, a folder of servers, and two git
revisions of one folder; text, JSON and Markdown reports; --fail-on."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from virtualize.cli import app

SPEC = """\
openapi: 3.0.3
info: {title: Pets, version: 1.0.0}
servers: [{url: "https://api.pets.example/v1"}]
paths:
  /pets:
    get:
      operationId: listPets
      summary: List pets.
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [available, sold]}}
      responses: {"200": {description: ok}}
  /pets/{petId}:
    delete:
      operationId: deletePet
      summary: Delete a pet.
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer}}
      responses: {"204": {description: gone}}
"""
NEWER = SPEC.replace("enum: [available, sold]", "enum: [available]").replace("List pets.", "List the pets.")


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def build(folder: Path, spec: str, output: str) -> None:
    (folder / "pets.yaml").write_text(spec, encoding="utf-8")
    assert run("build", str(folder / "pets.yaml"), "-o", str(folder / output), "--name", "pets").exit_code == 0


@pytest.fixture
def sides(tmp_path: Path) -> tuple[Path, Path]:
    build(tmp_path, SPEC, "old")
    build(tmp_path, NEWER, "new")
    return tmp_path / "old", tmp_path / "new"


def test_two_folders_are_diffed_as_text_and_the_exit_code_follows_fail_on(sides):
    old, new = sides
    result = run("diff", str(old / "pets"), str(new / "pets"))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"pets: {old / 'pets'} -> {new / 'pets'}: 1 breaking, 2 description, 0 additive, 0 cosmetic"
    assert lines[1].startswith('  breaking    listPets: argument no longer accepts "sold"')
    assert run("diff", str(old), str(new), "--fail-on", "breaking").exit_code == 1
    assert run("diff", str(old), str(old), "--fail-on", "any").exit_code == 0


def test_json_report_lists_every_change_with_its_class(sides):
    old, new = sides
    report = json.loads(run("diff", str(old), str(new), "--format", "json").stdout)
    (server,) = report["servers"]
    assert server["summary"]["breaking"] == 1
    assert [(c["kind"], c["code"], c["tool"]) for c in server["changes"]] == [
        ("description", "tool-title-changed", "listPets"),
        ("description", "tool-description-changed", "listPets"),
        ("breaking", "enum-value-removed", "listPets"),
    ]


def test_markdown_report_is_written_for_a_pull_request_comment(sides, tmp_path):
    old, new = sides
    assert run("diff", str(old), str(new), "-f", "markdown", "-o", str(tmp_path / "report.md")).exit_code == 0
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert report.startswith("<!-- virtualize-diff -->\n## virtualize diff\n\n**1 breaking change**")
    assert "#### Breaking (1)" in report
    assert (
        "| `listPets` | `enum-value-removed` | `tools/inputSchema/properties/status` | "
        'argument no longer accepts "sold" |' in report
    )


def test_servers_added_or_removed_from_a_folder_of_manifests_are_reported_whole(sides):
    old, new = sides
    shutil.copytree(new / "pets", new / "zoo")
    result = run("diff", str(old), str(new), "-f", "json")
    servers = json.loads(result.stdout)["servers"]
    assert [(s["name"], [c["code"] for c in s["changes"]]) for s in servers] == [
        ("pets", ["tool-title-changed", "tool-description-changed", "enum-value-removed"]),
        ("pets", ["server-added"]),
    ]


def git(cwd: Path, *args: str) -> None:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *identity, *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    build(tmp_path, SPEC, "generated")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "one")
    build(tmp_path, NEWER, "generated")
    git(tmp_path, "commit", "-q", "-am", "two")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_two_git_revisions_of_one_folder_are_diffed(repository):
    by_flag = run("diff", "--git", "HEAD~1", "HEAD", "generated", "--fail-on", "breaking")
    assert by_flag.exit_code == 1
    assert by_flag.stdout.splitlines()[0] == (
        "pets: HEAD~1:generated -> HEAD:generated: 1 breaking, 2 description, 0 additive, 0 cosmetic"
    )
    by_revision = run("diff", "HEAD~1:generated/pets", "generated/pets")
    assert by_revision.stdout.splitlines()[0].endswith("1 breaking, 2 description, 0 additive, 0 cosmetic")


def test_a_revision_without_manifests_is_a_clear_error(repository):
    result = run("diff", "HEAD~1:nowhere", "generated")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: HEAD~1:nowhere: no manifests at this revision")
    bad = run("diff", "no-such-revision:generated", "generated")
    assert bad.exit_code == 3
    assert "git ls-tree failed" in bad.stderr


def test_wrong_argument_counts_are_usage_errors(sides):
    old, new = sides
    assert run("diff", str(old)).exit_code == 2
    assert run("diff", "--git", "HEAD", str(old), str(new), "x").exit_code == 2
