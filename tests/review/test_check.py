"""`virtualize check` against a project in a temporary folder: fresh passes, every kind of
staleness fails with a diff and the command that regenerates, and that command makes it pass."""

from __future__ import annotations

import shlex
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
        - {name: limit, in: query, schema: {type: integer}}
      responses: {"200": {description: ok}}
"""
PROJECT = '[[build]]\nspec = "specs/pets.yaml"\n'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "pets.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / "virtualize.toml").write_text(PROJECT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert run("build").exit_code == 0
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def regenerate_command(output: str) -> list[str]:
    line = next(line for line in output.splitlines() if "regenerate with: " in line)
    command = shlex.split(line.split("regenerate with: ", 1)[1])
    assert command[:2] == ["virtualize", "build"]
    return command[1:]


def test_a_freshly_built_project_passes(project):
    result = run("check")
    assert (result.exit_code, result.stdout) == (0, "1 manifest(s) fresh\n")


def test_a_changed_spec_fails_with_a_unified_diff_and_passes_after_the_regenerate_command(project):
    spec = project / "specs" / "pets.yaml"
    spec.write_text(SPEC.replace("List pets.", "List every pet."), encoding="utf-8")
    stale = run("check")
    assert stale.exit_code == 3
    assert "generated/pets/tools.json: differs from a fresh build" in stale.stdout
    assert "--- generated/pets/tools.json (committed)" in stale.stdout
    assert '-    "description": "List pets.",' in stale.stdout
    assert '+    "description": "List every pet.",' in stale.stdout
    assert "generated/pets/TOOLS.md: differs" in stale.stdout
    assert "generated/pets/manifest.json: differs" in stale.stdout  # the source's sha256
    command = regenerate_command(stale.stderr)
    assert command == ["build"]
    assert run(*command).exit_code == 0
    assert run("check").exit_code == 0


def test_missing_and_left_over_files_and_folders_are_stale(project):
    (project / "generated" / "pets" / "auth.json").unlink()
    (project / "generated" / "pets" / "notes.txt").write_text("hand-written", encoding="utf-8")
    (project / "generated" / "orphan").mkdir()
    result = run("check")
    assert result.exit_code == 3
    assert result.stdout.splitlines() == [
        "generated/pets/auth.json: missing (a build writes it)",
        "generated/pets/notes.txt: not written by the build (left over)",
        "generated/orphan/: no build writes this folder (left over)",
    ]
    assert "3 stale path(s) in 1 manifest(s)" in result.stderr


def test_a_missing_manifest_folder_is_stale(project):
    for file in (project / "generated" / "pets").iterdir():
        file.unlink()
    (project / "generated" / "pets").rmdir()
    result = run("check")
    assert (result.exit_code, result.stdout) == (3, "generated/pets/: missing (a build writes it)\n")


def test_specs_on_the_command_line_are_rebuilt_with_the_same_arguments_as_build(project):
    assert run("build", "specs/pets.yaml", "-o", "out", "--name", "zoo", "--exclude-op", "nothing").exit_code == 0
    fresh = run("check", "specs/pets.yaml", "-o", "out", "--name", "zoo", "--exclude-op", "nothing")
    assert (fresh.exit_code, fresh.stdout) == (0, "1 manifest(s) fresh\n")
    (project / "specs" / "pets.yaml").write_text(SPEC.replace("integer", "number"), encoding="utf-8")
    stale = run("check", "specs/pets.yaml", "-o", "out", "--name", "zoo", "--exclude-op", "nothing")
    assert stale.exit_code == 3
    command = regenerate_command(stale.stderr)
    assert command == ["build", "specs/pets.yaml", "-o", "out", "--name", "zoo", "--exclude-op", "nothing"]
    assert run(*command).exit_code == 0
    assert run("check", "specs/pets.yaml", "-o", "out", "--name", "zoo", "--exclude-op", "nothing").exit_code == 0


def test_a_project_file_elsewhere_is_named_with_config(project, tmp_path_factory, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    config = str(project / "virtualize.toml")
    fresh = run("check", "--config", config)
    assert (fresh.exit_code, fresh.stdout) == (0, "1 manifest(s) fresh\n")
    (project / "generated" / "pets" / "TOOLS.md").write_text("edited\n", encoding="utf-8")
    stale = run("check", "--config", config)
    assert stale.exit_code == 3
    assert f"regenerate with: cd {project} && virtualize build" in stale.stderr


def test_no_spec_and_no_project_file_is_a_configuration_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check")
    assert result.exit_code == 2
    assert "no SPEC given and no virtualize.toml here" in result.stderr


def test_this_repositorys_generated_folder_passes_check(monkeypatch):
    # The project's own CI: specs/ -> generated/ through virtualize.toml, as users run it.
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    result = run("check")
    assert result.exit_code == 0, result.stdout + result.stderr
