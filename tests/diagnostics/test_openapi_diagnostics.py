"""Broken OpenAPI documents give located diagnostics (file, pointer or line, message, hint) and a
non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from virtualize.adapters import AdapterOptions, load_api
from virtualize.cli import app
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.diagnostics import Diagnostic, Diagnostics, Severity

REPO = Path(__file__).resolve().parents[2]
HEAD = "openapi: 3.0.3\ninfo: {title: t, version: '1'}\n"
ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefghij", "bcdefghijk", strict=True)
)
SYNTAX = "fix the syntax at that line"
VERSION_HINT = "start the document with `openapi: 3.1.0`, `openapi: 3.0.3` or `swagger: '2.0'`"
LEFT_OUT = "fix it to include the operation; the rest of the API compiles without it"
NONE_COMPILED = "the warnings above say why each was left out"

# name, file name, content, expected diagnostics as (severity, pointer, line, message, hint)
CASES: list[tuple[str, str, bytes, list[tuple[Severity, str, int | None, str, str]]]] = [
    (
        "invalid YAML",
        "openapi.yaml",
        (HEAD + "paths: {/a: [}\n").encode(),
        [(Severity.ERROR, "", 3, "invalid YAML: mismatched bracket '[' closed by '}' (line 3, column 13)", SYNTAX)],
    ),
    (
        "invalid JSON",
        "openapi.json",
        b'{"openapi": "3.0.3",\n "paths": {,}}',
        [
            (
                Severity.ERROR,
                "",
                2,
                "invalid JSON: Expecting property name enclosed in double quotes (line 2, column 12)",
                SYNTAX,
            )
        ],
    ),
    (
        "invalid UTF-8",
        "openapi.yaml",
        HEAD.encode() + b"paths: {}\nx: caf\xe9\n",
        [(Severity.ERROR, "", 4, "invalid UTF-8 at byte 62 (line 4)", "save the file as UTF-8")],
    ),
    (
        "unknown version",
        "openapi.yaml",
        b"openapi: 4.0.0\npaths: {}\n",
        [(Severity.ERROR, "/openapi", None, "unsupported OpenAPI version '4.0.0'", VERSION_HINT)],
    ),
    (
        "missing version",
        "openapi.yaml",
        b"info: {title: t}\npaths: {}\n",
        [(Severity.ERROR, "", None, "not an OpenAPI document: it has neither `openapi` nor `swagger`", VERSION_HINT)],
    ),
    (
        "missing paths",
        "openapi.yaml",
        HEAD.encode(),
        [
            (
                Severity.ERROR,
                "",
                None,
                "the document has no `paths`",
                "declare the API's operations under `paths:` (required in Swagger 2.0 and OpenAPI 3.0)",
            )
        ],
    ),
    (
        "paths of the wrong type",
        "openapi.yaml",
        (HEAD + "paths: [a, b]\n").encode(),
        [(Severity.ERROR, "/paths", None, "`paths` must be an object, not a list", "map each path to its operations")],
    ),
    (
        "a document that is not an object",
        "openapi.yaml",
        b"- openapi\n",
        [
            (
                Severity.ERROR,
                "",
                None,
                "an OpenAPI document must be an object, not a list",
                "is this the right file? " + VERSION_HINT,
            )
        ],
    ),
    (
        "an empty document",
        "openapi.yaml",
        b"",
        [(Severity.ERROR, "", None, "the document is empty", "is this the right file?")],
    ),
    (
        "dangling $ref",
        "openapi.yaml",
        (
            HEAD
            + "paths:\n  /a:\n    get:\n      responses:\n        '200':\n"
            + "          description: ok\n"
            + "          content: {application/json: {schema: {$ref: '#/components/schemas/Gone'}}}\n"
        ).encode(),
        [
            (
                Severity.WARNING,
                "/paths/~1a/get/responses/200/content/application~1json/schema/$ref",
                None,
                "$ref '#/components/schemas/Gone' points to nothing: {file} has no '/components/schemas/Gone'",
                "check the spelling of the name and the path of the file",
            ),
            (
                Severity.WARNING,
                "/paths/~1a/get/responses/200/content/application~1json/schema",
                None,
                "operation GET /a is left out: its schema uses a $ref that cannot be resolved (reported above)",
                LEFT_OUT,
            ),
            (Severity.ERROR, "/paths", None, "none of the 1 operations could be compiled", NONE_COMPILED),
        ],
    ),
    (
        "a $ref cycle through parameters",
        "openapi.yaml",
        (
            HEAD
            + "paths:\n  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/P'}]\n"
            + "      responses: {'200': {description: ok}}\n"
            + "components:\n  parameters:\n    P: {$ref: '#/components/parameters/Q'}\n"
            + "    Q: {$ref: '#/components/parameters/P'}\n"
        ).encode(),
        [
            (
                Severity.WARNING,
                "/components/parameters/P/$ref",
                None,
                "$ref cycle: this reference leads back to itself",
                "a reference must end at an object that is not itself only a reference",
            ),
            (
                Severity.WARNING,
                "/paths/~1a/get/parameters/0",
                None,
                "operation GET /a is left out: it uses a $ref that cannot be resolved (reported above)",
                LEFT_OUT,
            ),
            (Severity.ERROR, "/paths", None, "none of the 1 operations could be compiled", NONE_COMPILED),
        ],
    ),
    (
        "an operation of the wrong type",
        "openapi.yaml",
        (HEAD + "paths:\n  /a:\n    get: [not, an, object]\n").encode(),
        [
            (Severity.WARNING, "/paths/~1a/get", None, "operation GET /a is not an object", "it is left out"),
            (Severity.ERROR, "/paths", None, "none of the 1 operations could be compiled", NONE_COMPILED),
        ],
    ),
    (
        "a remote $ref",
        "openapi.yaml",
        (HEAD + "paths:\n  /a:\n    $ref: 'https://127.0.0.1:9/paths.yaml#/a'\n").encode(),
        [
            (
                Severity.ERROR,
                "/paths/~1a/$ref",
                None,
                "remote $ref 'https://127.0.0.1:9/paths.yaml#/a' refused",
                "fetching URLs at build time is off by default (server-side request forgery); download the file "
                "next to the spec and refer to it by a relative path, or pass --allow-remote-refs",
            ),
            (Severity.ERROR, "/paths", None, "none of the 1 operations could be compiled", NONE_COMPILED),
        ],
    ),
    (
        "a YAML alias bomb",
        "openapi.yaml",
        ALIAS_BOMB.encode(),
        [
            (
                Severity.ERROR,
                "",
                None,
                "invalid YAML: alias replay limit exceeded: replayed 1000010, max 1000000",
                "this looks like an alias bomb (billion laughs): use $ref instead of YAML aliases",
            )
        ],
    ),
    (
        "YAML nested too deeply",
        "openapi.yaml",
        (HEAD + "paths: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
        [
            (
                Severity.ERROR,
                "",
                3,
                "invalid YAML: recursion limit exceeded (line 3, column 263)",
                "real API descriptions nest a few dozen levels at most",
            )
        ],
    ),
    (
        "JSON nested too deeply",
        "openapi.json",
        b'{"openapi": "3.0.3", "paths": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        [
            (
                Severity.ERROR,
                "",
                None,
                "the document is nested too deeply to read",
                "real API descriptions nest a few dozen levels at most",
            )
        ],
    ),
]


@pytest.mark.parametrize(("file_name", "content", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_broken_document_gives_located_diagnostics(
    tmp_path: Path, file_name: str, content: bytes, expected: list[tuple[Severity, str, int | None, str, str]]
) -> None:
    path = tmp_path / file_name
    path.write_bytes(content)
    diagnostics = Diagnostics()

    load_api(path, AdapterOptions(), diagnostics)

    file = str(path)
    assert diagnostics.items == tuple(
        Diagnostic(
            severity=severity, file=file, pointer=pointer, line=line, message=message.replace("{file}", file), hint=hint
        )
        for severity, pointer, line, message, hint in expected
    )


@pytest.mark.parametrize(("file_name", "content"), [c[1:3] for c in CASES], ids=[c[0] for c in CASES])
def test_validate_exits_non_zero_on_a_broken_document_without_a_traceback(
    tmp_path: Path, file_name: str, content: bytes
) -> None:
    path = tmp_path / file_name
    path.write_bytes(content)

    result = CliRunner().invoke(app, ["validate", str(path)])

    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "error:" in result.output


def test_a_missing_file_is_one_error_naming_it(tmp_path: Path) -> None:
    diagnostics = Diagnostics()

    api = load_api(tmp_path / "nowhere.yaml", AdapterOptions(), diagnostics)

    assert api is None
    assert diagnostics.items == (
        Diagnostic(
            severity=Severity.ERROR,
            file=str(tmp_path / "nowhere.yaml"),
            message="cannot read the file: No such file or directory",
            hint="check the path",
        ),
    )


OPS = "      responses: {'200': {description: ok}}\n"


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (
            "  /pets:\n    get:\n      operationId: listPets\n"
            + OPS
            + "  /animals:\n    get:\n      operationId: 'listPets '\n"
            + OPS,
            (
                "/paths/~1animals/get/operationId",
                "operationId 'listPets' is also the id of GET /pets ({file}#/paths/~1pets/get); ids are unique",
                "give each operation its own operationId (tools that share one are told apart by a digest)",
            ),
        ),
        (
            "  /pets/{id:\n    get:\n" + OPS + "  /other:\n    get:\n" + OPS,
            (
                "/paths/~1pets~1{id/get",
                "operation GET /pets/{id is left out: the path '/pets/{id' has a brace that opens or closes no "
                "{placeholder}",
                LEFT_OUT,
            ),
        ),
        (
            "  /pets:\n    get:\n      summary: first\n      summary: second\n" + OPS,
            (
                "/paths/~1pets/get/summary",
                "this value depends on which of a repeated key's values is read; the last one is used",
                "YAML keys are unique: remove the one that is not meant",
            ),
        ),
    ],
    ids=["a repeated operationId", "an unmatched brace in a path", "a repeated YAML key"],
)
def test_a_flawed_document_compiles_with_a_located_warning(
    tmp_path: Path, paths: str, expected: tuple[str, str, str]
) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text(HEAD + "paths:\n" + paths, encoding="utf-8")
    diagnostics = Diagnostics()

    api = load_api(path, AdapterOptions(), diagnostics)

    pointer, message, hint = expected
    file = str(path)
    assert diagnostics.items == (
        Diagnostic(
            severity=Severity.WARNING, file=file, pointer=pointer, message=message.replace("{file}", file), hint=hint
        ),
    )
    assert api is not None and api.operations


def test_an_option_for_another_family_is_a_warning_not_silence(tmp_path: Path) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text(HEAD + "paths:\n  /pets:\n    get:\n" + OPS, encoding="utf-8")
    diagnostics = Diagnostics()

    load_api(path, AdapterOptions(endpoint="https://api.example/graphql", include_paths=(tmp_path,)), diagnostics)

    assert [(d.severity, d.message) for d in diagnostics.items] == [
        (Severity.WARNING, "--endpoint applies only to GraphQL descriptors, and this one is OpenAPI: it has no effect"),
        (
            Severity.WARNING,
            "-I applies only to gRPC descriptors, and this one is OpenAPI: it has no effect",
        ),
    ]


def test_a_graphql_build_in_a_project_gets_no_warning_about_the_ref_root_it_never_set() -> None:
    # The compiler confines an OpenAPI document's $refs to the project; it sets nothing for GraphQL.
    options = BuildOptions(output=REPO / "generated", adapter={"endpoint": "https://swapi.example/graphql"})
    result = compile_spec(REPO / "specs" / "starwars.graphql", options)
    assert [w.message for w in result.warnings if "has no effect" in w.message] == []


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (  # a repeated path item: the first one's POST is lost, and the warning says where
            "  /pets:\n    get:\n" + OPS + "    post:\n" + OPS + "  /pets:\n    get:\n" + OPS,
            [
                (
                    "/paths/~1pets/post",
                    "this value depends on which of a repeated key's values is read; the last one is used",
                )
            ],
        ),
        (  # the parser names the first repeated key; a later one that changes a value is the one located
            "  /a:\n    get:\n      tags: [x]\n      tags: [x]\n" + OPS + "  /b:\n    get:\n      summary: one\n"
            "      summary: two\n" + OPS,
            [
                (
                    "/paths/~1b/get/summary",
                    "this value depends on which of a repeated key's values is read; the last one is used",
                )
            ],
        ),
        (
            "  /a:\n    get:\n      tags: [x]\n      tags: [x]\n" + OPS,
            [("", "a mapping repeats the key 'tags', with the same value")],
        ),
    ],
    ids=["a repeated path item", "an equal repeat before a differing one", "only equal repeats"],
)
def test_a_repeated_yaml_key_is_located_where_it_changes_the_document(
    tmp_path: Path, paths: str, expected: list[tuple[str, str]]
) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text(HEAD + "paths:\n" + paths, encoding="utf-8")
    diagnostics = Diagnostics()

    load_api(path, AdapterOptions(), diagnostics)

    assert [(d.pointer, d.message) for d in diagnostics.items] == expected
