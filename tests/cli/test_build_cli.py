"""`virtualize build`, `validate` and `inspect` from the outside, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from virtualize.cli import app

REPO = Path(__file__).resolve().parents[2]
PETSTORE = REPO / "specs" / "petstore.yaml"
MINIMAL = """\
openapi: 3.0.3
info: {title: Mini, version: "1"}
servers: [{url: "https://api.example.com"}]
paths:
  /things:
    get:
      operationId: listThings
      tags: [things]
      responses: {"200": {description: OK}}
    post:
      operationId: addThing
      tags: [things, writes]
      parameters: [{name: dry, in: query, schema: {type: boolean}}]
      responses: {"200": {description: OK}}
  /health:
    get:
      operationId: getHealth
      responses: {"200": {description: OK}}
"""


def run(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def tool_names(folder: Path) -> list[str]:
    return [tool["name"] for tool in json.loads((folder / "tools.json").read_text(encoding="utf-8"))]


def test_build_writes_the_manifest_folder_and_reports_its_size(tmp_path: Path):
    result = run("build", PETSTORE, "-o", tmp_path / "generated")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "generated" / "petstore"
    assert sorted(p.name for p in folder.iterdir()) == [
        "TOOLS.md",
        "auth.json",
        "bindings.json",
        "manifest.json",
        "tools.json",
    ]
    header = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert header["counts"]["tools"] == 9
    assert f"petstore: 9 tools, tool list {header['counts']['tool_list_bytes']:,} bytes" in result.output
    assert json.loads((folder / "auth.json").read_text(encoding="utf-8"))["schemes"]["api_key"]["sources"] == {
        "value": "PETSTORE_API_KEY"
    }


def test_building_twice_gives_identical_bytes(tmp_path: Path):
    run("build", PETSTORE, "-o", tmp_path / "a" / "generated")
    run("build", PETSTORE, "-o", tmp_path / "b" / "generated")
    first = {p.name: p.read_bytes() for p in (tmp_path / "a" / "generated" / "petstore").iterdir()}
    second = {p.name: p.read_bytes() for p in (tmp_path / "b" / "generated" / "petstore").iterdir()}
    assert first == second


def test_source_path_is_relative_to_the_project_holding_the_output_folder(tmp_path: Path):
    spec = write(tmp_path / "specs" / "mini.yaml", MINIMAL)
    assert run("build", spec, "-o", tmp_path / "generated").exit_code == 0
    header = json.loads((tmp_path / "generated" / "mini" / "manifest.json").read_text(encoding="utf-8"))
    assert header["source"]["path"] == "specs/mini.yaml"
    assert header["regenerate"] == "virtualize build specs/mini.yaml -o generated --name mini"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("openapi: 3.0.3\ninfo: {title: x\n", "YAML"),
        ("openapi: 9.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n", "9.0.0"),
        ("openapi: 3.0.3\ninfo: {title: x, version: '1'}\n", "paths"),
        (
            "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n"
            "        '200': {$ref: '#/components/responses/Nope'}\n",
            "none of the 1 operations could be compiled",
        ),
        (
            "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n"
            "      parameters: [{$ref: '#/components/parameters/A'}]\n      responses: {'200': {description: OK}}\n"
            "components:\n  parameters:\n    A: {$ref: '#/components/parameters/B'}\n"
            "    B: {$ref: '#/components/parameters/A'}\n",
            "$ref cycle",
        ),
    ],
    ids=["invalid-yaml", "unknown-version", "missing-paths", "dangling-ref", "ref-cycle-through-parameters"],
)
def test_broken_input_gives_a_located_diagnostic_and_a_nonzero_exit(tmp_path: Path, text: str, message: str):
    spec = write(tmp_path / "broken.yaml", text)
    result = run("build", spec, "-o", tmp_path / "generated")
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # rendered, never a traceback
    assert f"error: {spec}" in result.output
    assert message in result.output
    assert not (tmp_path / "generated").exists()


DANGLING = MINIMAL.replace(
    'operationId: getHealth\n      responses: {"200": {description: OK}}',
    "operationId: getHealth\n      responses: {\"200\": {$ref: '#/components/responses/Nope'}}",
)
CYCLE = (
    MINIMAL.replace(
        "operationId: getHealth\n",
        "operationId: getHealth\n      parameters: [{$ref: '#/components/parameters/A'}]\n",
    )
    + "components:\n  parameters:\n"
    + "    A: {$ref: '#/components/parameters/B'}\n"
    + "    B: {$ref: '#/components/parameters/A'}\n"
)


@pytest.mark.parametrize(("text", "pointer"), [(DANGLING, "#/paths/~1health/get"), (CYCLE, "#/components/parameters/")])
def test_an_operation_with_a_broken_ref_is_left_out_with_a_located_warning(tmp_path: Path, text: str, pointer: str):
    spec = write(tmp_path / "broken.yaml", text)
    result = run("build", spec, "-o", tmp_path / "generated")
    assert result.exit_code == 0, result.output
    assert f"warning: {spec}{pointer}" in result.output
    assert tool_names(tmp_path / "generated" / "broken") == ["addThing", "listThings"]
    strict = run("build", spec, "-o", tmp_path / "strict", "--strict")
    assert strict.exit_code == 2
    assert isinstance(strict.exception, SystemExit)


def test_an_unreadable_spec_is_a_diagnostic_not_a_traceback(tmp_path: Path):
    result = run("build", tmp_path / "missing.yaml", "-o", tmp_path / "generated")
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert "missing.yaml" in result.output


def test_strict_turns_warnings_into_errors(tmp_path: Path):
    warns = MINIMAL.replace("/health:\n", "/health:\n    x-note: fine\n").replace(
        "operationId: getHealth",
        "operationId: getHealth\n      deprecated: true\n      summary: '" + "word " * 400 + "'",
    )
    spec = write(tmp_path / "warns.yaml", warns)
    relaxed = run("build", spec, "-o", tmp_path / "relaxed")
    assert relaxed.exit_code == 0, relaxed.output
    assert "warning:" in relaxed.output
    strict = run("build", spec, "-o", tmp_path / "strict", "--strict")
    assert strict.exit_code == 2
    assert not (tmp_path / "strict").exists()


def test_selection_flags_keep_matching_operations_and_their_full_build_names(tmp_path: Path):
    spec = write(tmp_path / "mini.yaml", MINIMAL)
    assert run("build", spec, "-o", tmp_path / "tag", "--include-tag", "things", "--exclude-op", "add*").exit_code == 0
    assert tool_names(tmp_path / "tag" / "mini") == ["listThings"]
    assert run("build", spec, "-o", tmp_path / "method", "--method", "post").exit_code == 0
    assert tool_names(tmp_path / "method" / "mini") == ["addThing"]
    assert run("build", spec, "-o", tmp_path / "path", "--exclude-path", "/things*").exit_code == 0
    assert tool_names(tmp_path / "path" / "mini") == ["getHealth"]


def test_a_selection_pattern_that_matches_nothing_is_a_warning(tmp_path: Path):
    spec = write(tmp_path / "mini.yaml", MINIMAL)
    result = run("build", spec, "-o", tmp_path / "out", "--include-tag", "thigns")
    assert "selection include_tags pattern 'thigns' matches no operation" in result.output


def test_a_selection_that_keeps_no_operation_says_so(tmp_path: Path):
    spec = write(tmp_path / "mini.yaml", MINIMAL)
    # each pattern matches, and together they keep nothing: the build used to look like a success
    result = run("build", spec, "-o", tmp_path / "out", "--include-tag", "writes", "--exclude-op", "add*")
    assert "the selection keeps none of the 3 operations" in result.output
    strict = run("build", spec, "-o", tmp_path / "out", "--include-tag", "writes", "--exclude-op", "add*", "--strict")
    assert strict.exit_code == 2


def test_the_config_beside_the_spec_renames_pins_and_reannotates(tmp_path: Path):
    spec = write(tmp_path / "mini.yaml", MINIMAL)
    write(
        tmp_path / "mini.virtualize.toml",
        '[select]\nexclude_tags = ["writes"]\n\n[server]\nurl = "http://127.0.0.1:9/api"\n\n'
        '[tools.listThings]\nname = "things"\ndescription = "All things."\n'
        "[tools.listThings.annotations]\nopenWorldHint = false\n",
    )
    assert run("build", spec, "-o", tmp_path / "out").exit_code == 0
    [_, tool] = json.loads((tmp_path / "out" / "mini" / "tools.json").read_text(encoding="utf-8"))
    assert (tool["name"], tool["description"], tool["annotations"]["openWorldHint"]) == ("things", "All things.", False)
    bindings = json.loads((tmp_path / "out" / "mini" / "bindings.json").read_text(encoding="utf-8"))
    assert bindings["tools"]["things"]["servers"] == [{"url": "http://127.0.0.1:9/api", "variables": {}}]


def test_a_pinned_argument_leaves_the_input_schema_and_stays_in_the_binding(tmp_path: Path):
    spec = write(tmp_path / "mini.yaml", MINIMAL)
    write(tmp_path / "mini.virtualize.toml", "[tools.addThing.fixed]\ndry = true\n")
    assert run("build", spec, "-o", tmp_path / "out").exit_code == 0
    tools = {t["name"]: t for t in json.loads((tmp_path / "out" / "mini" / "tools.json").read_text(encoding="utf-8"))}
    assert tools["addThing"]["inputSchema"]["properties"] == {}
    bindings = json.loads((tmp_path / "out" / "mini" / "bindings.json").read_text(encoding="utf-8"))
    assert bindings["tools"]["addThing"]["fixed"] == {"dry": True}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[tools.listThngs]\nname = "x"\n', "no tool or operation is named 'listThngs'"),
        ("[tools.addThing.fixed]\ndry = 'yes'\n", "tools.addThing.fixed.dry: 'yes' is not of type 'boolean'"),
        ('[auth.nope.sources]\nvalue = "X"\n', "the API declares no security scheme 'nope'"),
        ("[select]\ninclude_tag = ['x']\n", "select.include_tag: unknown key"),
        ('[auth.k.sources]\nvalue = "sk-live-123 456"\n', "must be an environment variable name, not a value"),
    ],
    ids=["unknown-tool", "pin-of-wrong-type", "unknown-scheme", "unknown-key", "secret-instead-of-a-name"],
)
def test_config_mistakes_are_errors_naming_the_key(tmp_path: Path, config: str, message: str):
    spec = write(tmp_path / "mini.yaml", MINIMAL)
    write(tmp_path / "mini.virtualize.toml", config)
    result = run("build", spec, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)
    assert message in result.output


def test_max_name_length_bounds_every_tool_name(tmp_path: Path):
    spec = write(tmp_path / "long.yaml", MINIMAL.replace("listThings", "list" + "Things" * 12))
    assert run("build", spec, "-o", tmp_path / "out", "--max-name-length", "20").exit_code == 0
    assert all(len(name) <= 20 for name in tool_names(tmp_path / "out" / "long"))


def test_name_sets_the_folder_and_is_refused_with_several_specs(tmp_path: Path):
    spec = write(tmp_path / "mini.yaml", MINIMAL)
    assert run("build", spec, "-o", tmp_path / "out", "--name", "things-api").exit_code == 0
    assert (tmp_path / "out" / "things-api" / "tools.json").is_file()
    refused = run("build", spec, spec, "-o", tmp_path / "out", "--name", "x")
    assert refused.exit_code == 2
    assert "--name names one build" in refused.output


def test_build_without_spec_runs_the_builds_of_virtualize_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write(tmp_path / "specs" / "mini.yaml", MINIMAL)
    write(
        tmp_path / "virtualize.toml",
        '[[build]]\nspec = "specs/mini.yaml"\nname = "mini"\n[[build]]\nspec = "specs/mini.yaml"\nname = "other"\n',
    )
    monkeypatch.chdir(tmp_path)
    result = run("build")
    assert result.exit_code == 0, result.output
    assert tool_names(tmp_path / "generated" / "mini") == tool_names(tmp_path / "generated" / "other")
    header = json.loads((tmp_path / "generated" / "mini" / "manifest.json").read_text(encoding="utf-8"))
    assert header["regenerate"] == "virtualize build"


def test_build_without_spec_or_project_file_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = run("build")
    assert result.exit_code == 2
    assert "no SPEC given and no virtualize.toml here" in result.output


def test_one_failing_spec_does_not_stop_the_others(tmp_path: Path):
    good = write(tmp_path / "good.yaml", MINIMAL)
    bad = write(tmp_path / "bad.yaml", "openapi: 3.0.3\n")
    result = run("build", bad, good, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert (tmp_path / "out" / "good" / "tools.json").is_file()


def test_validate_reports_diagnostics_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    good = run("validate", PETSTORE)
    assert good.exit_code == 0
    assert "9 tools, 0 warnings" in good.output
    bad = run("validate", write(tmp_path / "bad.yaml", "swagger: '2.0'\ninfo: {title: x, version: '1'}\n"))
    assert bad.exit_code == 2
    assert "error: " in bad.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_inspect_prints_the_tools_of_a_manifest_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    run("build", PETSTORE, "-o", tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # rich sizes tables from it when not on a terminal
    result = run("inspect", tmp_path)
    assert result.exit_code == 0
    for name in ("createPet", "getPetPhoto", "searchPets", "POST /pets/{petId}/photo", "read-only"):
        assert name in result.output


def test_inspect_of_a_folder_without_manifests_is_an_error(tmp_path: Path):
    result = run("inspect", tmp_path)
    assert result.exit_code == 3
    assert "no manifests found here" in result.output


SHARED_REF = MINIMAL.replace(
    '      responses: {"200": {description: OK}}\n  /health:',
    '      responses: {"200": {description: OK, content: {application/json: {schema: {$ref: "../shared/thing.yaml"}}}}}'
    "\n  /health:",
)


def test_a_spec_may_refer_to_files_of_its_project_and_ref_root_reaches_further(tmp_path: Path):
    project, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    write(project / "specs" / "api" / "mini.yaml", SHARED_REF)
    write(project / "specs" / "shared" / "thing.yaml", "{type: object, properties: {id: {type: string}}}")
    assert run("build", project / "specs" / "api" / "mini.yaml", "-o", project / "generated").exit_code == 0

    write(elsewhere / "api" / "mini.yaml", SHARED_REF)  # outside the project: its own folder is the root
    write(elsewhere / "shared" / "thing.yaml", "{type: object, properties: {id: {type: string}}}")
    refused = run("build", elsewhere / "api" / "mini.yaml", "-o", project / "generated")
    assert refused.exit_code != 0
    assert "leads outside the ref root" in refused.output and "--ref-root" in refused.output
    raised = run("build", elsewhere / "api" / "mini.yaml", "-o", project / "generated", "--ref-root", elsewhere)
    assert raised.exit_code == 0, raised.output


def test_bad_inputs_an_audit_found_are_diagnostics_not_tracebacks(tmp_path: Path):
    from graphql import build_schema, introspection_from_schema  # noqa: PLC0415

    introspection = introspection_from_schema(build_schema('type Query { "The hour." now: String }'))
    [query] = [t for t in introspection["__schema"]["types"] if t["name"] == "Query"]
    query["fields"][0]["description"] = 12  # type: ignore[index]
    numeric = write(tmp_path / "i.json", json.dumps({"data": introspection}))
    described = run("build", numeric, "-o", tmp_path / "g", "--endpoint", "http://x.example/graphql")
    assert described.exit_code == 2 and "description must be a string, not int" in described.output
    assert "/fields/0/description" in described.output

    spec = write(tmp_path / "mini.yaml", MINIMAL)
    a_file = write(tmp_path / "afile", "x")
    into_a_file = run("build", spec, "-o", a_file)
    assert into_a_file.exit_code == 2 and "cannot write the manifest" in into_a_file.output

    (tmp_path / "mini.virtualize.toml").write_bytes(b"name_limit = 60\n#\xff\n")
    not_utf8 = run("build", spec, "-o", tmp_path / "g")
    assert not_utf8.exit_code == 2 and "unreadable configuration" in not_utf8.output

    nothing = run("build", "", "-o", tmp_path / "g")
    assert nothing.exit_code == 2 and "names no descriptor file" in nothing.output

    for result in (described, into_a_file, not_utf8, nothing):
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_two_builds_that_would_write_one_folder_are_refused_before_either_is_written(tmp_path: Path):
    first = write(tmp_path / "a" / "openapi.yaml", MINIMAL)
    second = write(tmp_path / "b" / "a" / "openapi.yaml", MINIMAL)  # both are named "a" by their folder
    result = run("build", first, second, "-o", tmp_path / "g")
    assert result.exit_code == 2 and "would both be written to" in result.output and "--name" in result.output
    assert not (tmp_path / "g").exists()
