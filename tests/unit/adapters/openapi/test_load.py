"""Reading documents: one file or many joined by relative ``$ref``s, YAML 1.2 or JSON, remote
references refused unless allowed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from virtualize.adapters import AdapterOptions
from virtualize.adapters.openapi import load
from virtualize.diagnostics import Diagnostic, Diagnostics, Severity
from virtualize.ir import Api


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def compile_ir(entry: Path, **options: Any) -> tuple[Api | None, Diagnostics]:
    diagnostics = Diagnostics()
    return load(entry, AdapterOptions(**options), diagnostics), diagnostics


def _refers_to(ref: str) -> str:
    return f"""
openapi: 3.0.3
info: {{title: t, version: "1"}}
paths:
  /a:
    get:
      responses:
        "200": {{description: ok, content: {{application/json: {{schema: {{$ref: '{ref}'}}}}}}}}
"""


SPLIT = {
    "openapi.yaml": """
openapi: 3.0.3
info: {title: split, version: "1"}
paths:
  /pets:
    $ref: paths/pets.yaml
components:
  schemas:
    Pet: {$ref: schemas/Pet.yaml}
""",
    "paths/pets.yaml": """
get:
  operationId: listPets
  parameters: [{$ref: '../parameters.yaml#/limit'}]
  responses:
    "200":
      description: ok
      content: {application/json: {schema: {type: array, items: {$ref: '../schemas/Pet.yaml'}}}}
""",
    "parameters.yaml": "limit: {name: limit, in: query, schema: {type: integer, maximum: 100}}\n",
    "schemas/Pet.yaml": """
type: object
properties:
  name: {type: string}
  owner: {$ref: 'Owner.yaml'}
  friends: {type: array, items: {$ref: 'Pet.yaml'}}
""",
    "schemas/Owner.yaml": """
type: object
properties: {pets: {type: array, items: {$ref: '../openapi.yaml#/components/schemas/Pet'}}}
""",
}


def test_a_document_split_over_files_compiles_with_each_shared_schema_defined_once(tmp_path: Path) -> None:
    write(tmp_path, SPLIT)
    api, diagnostics = compile_ir(tmp_path / "openapi.yaml")

    assert diagnostics.items == ()
    assert api is not None
    operation = api.operations[0]
    assert operation.arguments[0].schema_ == {"type": "integer", "maximum": 100}
    assert operation.result == {"type": "array", "items": {"$ref": "#/$defs/Pet"}}
    assert api.defs == {
        "Owner": {"type": "object", "properties": {"pets": {"type": "array", "items": {"$ref": "#/$defs/Pet"}}}},
        "Pet": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "owner": {"$ref": "#/$defs/Owner"},
                "friends": {"type": "array", "items": {"$ref": "#/$defs/Pet"}},
            },
        },
    }


def test_yaml_is_read_as_yaml_1_2_so_no_and_off_stay_strings(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "openapi.yaml": """
openapi: 3.0.3
info: {title: t, version: 1.0}
paths:
  /a:
    get:
      parameters: [{name: mode, in: query, schema: {type: string, enum: [yes, no, off], example: 090}}]
      responses: {200: {description: ok}}
"""
        },
    )
    api, _ = compile_ir(tmp_path / "openapi.yaml")

    assert api is not None
    assert api.version == "1.0"
    assert api.operations[0].arguments[0].schema_ == {"type": "string", "enum": ["yes", "no", "off"], "examples": [90]}
    assert api.operations[0].call.responses[0].status == "200"


def test_a_remote_ref_is_refused_by_default_with_a_located_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "openapi.yaml": """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    get:
      responses:
        "200": {description: ok, content: {application/json: {schema: {$ref: 'http://127.0.0.1:9/Pet.yaml'}}}}
"""
        },
    )
    _, diagnostics = compile_ir(tmp_path / "openapi.yaml")

    assert diagnostics.errors[0] == Diagnostic(
        severity=Severity.ERROR,
        file=str(tmp_path / "openapi.yaml"),
        pointer="/paths/~1a/get/responses/200/content/application~1json/schema/$ref",
        message="remote $ref 'http://127.0.0.1:9/Pet.yaml' refused",
        hint="fetching URLs at build time is off by default (server-side request forgery); "
        "download the file next to the spec and refer to it by a relative path, or pass --allow-remote-refs",
    )


@pytest.fixture
def schema_server(tmp_path: Path) -> Iterator[str]:
    served = tmp_path / "served"
    write(served, {"Pet.yaml": "type: object\nproperties: {tag: {$ref: 'Tag.yaml'}}\n", "Tag.yaml": "type: string\n"})

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_remote_refs_are_followed_when_allowed_relative_to_the_remote_document(
    tmp_path: Path, schema_server: str
) -> None:
    write(tmp_path, {"openapi.yaml": _refers_to(f"{schema_server}/Pet.yaml")})
    api, diagnostics = compile_ir(tmp_path / "openapi.yaml", allow_remote_refs=True)

    assert diagnostics.items == ()
    assert api is not None
    assert api.operations[0].result == {"$ref": "#/$defs/Pet"}
    assert api.defs == {
        "Pet": {"type": "object", "properties": {"tag": {"$ref": "#/$defs/Tag"}}},
        "Tag": {"type": "string"},
    }


def test_openapi_3_1_refs_by_id_and_anchor_reach_the_schema_that_declares_them(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "openapi.yaml": """
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  details: {$ref: /schemas/details}
                  id: {$ref: '/schemas/details#details_id'}
components:
  schemas:
    Details:
      $id: /schemas/details
      properties:
        id: {type: integer, $anchor: details_id}
"""
        },
    )
    api, diagnostics = compile_ir(tmp_path / "openapi.yaml")

    assert diagnostics.items == ()
    assert api is not None
    assert api.operations[0].result == {
        "type": "object",
        "properties": {"details": {"$ref": "#/$defs/Details"}, "id": {"$ref": "#/$defs/Details_properties_id"}},
    }
    assert api.defs == {
        "Details": {"properties": {"id": {"type": "integer"}}},
        "Details_properties_id": {"type": "integer"},
    }


SHARED_PET = "components: {schemas: {Pet: {type: object, properties: {name: {type: string}}}}}"


def test_a_ref_may_not_leave_the_ref_root_unless_the_root_is_raised(tmp_path: Path) -> None:
    write(tmp_path, {"api/openapi.yaml": _refers_to("../shared/pet.yaml#/components/schemas/Pet")})
    write(tmp_path, {"shared/pet.yaml": SHARED_PET})

    refused, diagnostics = compile_ir(tmp_path / "api" / "openapi.yaml")  # the root: the spec's own folder
    error = diagnostics.errors[0]
    assert (Path(error.file).name, error.pointer) == (
        "openapi.yaml",
        "/paths/~1a/get/responses/200/content/application~1json/schema/$ref",
    )
    assert "leads outside the ref root" in error.message and "--ref-root" in error.hint
    assert refused is None or "Pet" not in refused.defs

    allowed, diagnostics = compile_ir(tmp_path / "api" / "openapi.yaml", ref_root=tmp_path)
    assert diagnostics.items == () and allowed is not None
    assert allowed.defs["Pet"]["properties"] == {"name": {"type": "string"}}


@pytest.mark.parametrize("how", ["absolute path", "symbolic link"])
def test_a_secret_outside_the_root_is_never_read_into_the_api(tmp_path: Path, how: str) -> None:
    secret = tmp_path / "home" / "credentials.yaml"
    write(tmp_path, {"home/credentials.yaml": "aws_secret: s3cr3t-value"})
    if how == "absolute path":
        write(tmp_path, {"repo/openapi.yaml": _refers_to(f"{secret}")})
    else:
        write(tmp_path, {"repo/openapi.yaml": _refers_to("innocent.yaml")})
        (tmp_path / "repo" / "innocent.yaml").symlink_to(secret)

    api, diagnostics = compile_ir(tmp_path / "repo" / "openapi.yaml")

    assert [e.message for e in diagnostics.errors if "outside the ref root" in e.message]
    assert "s3cr3t-value" not in repr(api)


def test_only_regular_files_are_read(tmp_path: Path) -> None:
    import os  # noqa: PLC0415

    write(tmp_path, {"openapi.yaml": _refers_to("pipe.yaml")})
    os.mkfifo(tmp_path / "pipe.yaml")  # opened for reading, a FIFO would wait for a writer forever

    _, diagnostics = compile_ir(tmp_path / "openapi.yaml")

    assert ("pipe.yaml", "not a regular file (a device, FIFO or socket is never read)") in [
        (Path(e.file).name, e.message) for e in diagnostics.errors
    ]
