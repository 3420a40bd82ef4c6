"""Paths x methods → operations: keys, name candidates, semantics, servers, bodies, and the
operation that cannot be compiled left out with a warning while the rest compiles."""

from __future__ import annotations

from pathlib import Path

from virtualize.adapters import AdapterOptions
from virtualize.adapters.openapi import load
from virtualize.diagnostics import Diagnostic, Diagnostics, Severity
from virtualize.ir import Api, Argument, Location, Semantics, Serialization, Server, ServerVariable

PETS = """
openapi: 3.0.3
info: {title: Pets, version: "1"}
servers:
  - url: https://{region}.example.com/v1
    variables: {region: {default: eu, enum: [eu, us]}}
paths:
  /pets:
    get:
      operationId: listPets
      summary: List pets
      tags: [pets]
      responses:
        "200":
          description: ok
          content: {application/json: {schema: {type: array, items: {type: string}}}}
    post:
      requestBody:
        required: true
        content:
          application/xml: {schema: {type: object}}
          application/json: {schema: {type: object, properties: {name: {type: string}}}}
      responses: {"201": {description: created}}
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer}}
    put:
      servers: [{url: http://127.0.0.1:9/override}]
      responses: {"200": {description: ok}}
    delete:
      responses: {"204": {description: gone}}
    head:
      responses: {"200": {description: ok}}
"""


def compile_ir(tmp_path: Path, text: str) -> tuple[Api | None, Diagnostics]:
    path = tmp_path / "openapi.yaml"
    path.write_text(text, encoding="utf-8")
    diagnostics = Diagnostics()
    return load(path, AdapterOptions(), diagnostics), diagnostics


def test_each_path_and_method_is_one_operation_keyed_by_method_and_path(tmp_path: Path) -> None:
    api, diagnostics = compile_ir(tmp_path, PETS)

    assert api is not None
    assert diagnostics.items == ()
    assert [op.key for op in api.operations] == [
        "GET /pets",
        "POST /pets",
        "PUT /pets/{petId}",
        "DELETE /pets/{petId}",
        "HEAD /pets/{petId}",
    ]
    assert [op.name_candidates for op in api.operations] == [
        ("listPets", "get_pets"),
        ("post_pets",),
        ("put_pets_petId",),
        ("delete_pets_petId",),
        ("head_pets_petId",),
    ]
    assert (api.format, api.title, api.version) == ("OpenAPI 3.0.3", "Pets", "1")


def test_a_fragment_in_a_path_key_tells_operations_apart_but_is_never_sent(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /files/{file_id}:
    get:
      parameters: [{name: file_id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /files/{file_id}#get_shared_link:
    get:
      parameters: [{name: file_id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /responses/{id}?beta=true:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
"""
    api, diagnostics = compile_ir(tmp_path, text)

    assert api is not None
    assert diagnostics.items == ()
    assert [(op.key, op.name_candidates, op.call.path) for op in api.operations] == [
        ("GET /files/{file_id}", ("get_files_file_id",), "/files/{file_id}"),
        ("GET /files/{file_id}#get_shared_link", ("get_files_file_id_get_shared_link",), "/files/{file_id}"),
        # a constant query stays in the path template: the runtime sends it as a query
        ("GET /responses/{id}?beta=true", ("get_responses_id_beta_true",), "/responses/{id}?beta=true"),
    ]


def test_semantics_follow_the_http_method(tmp_path: Path) -> None:
    api, _ = compile_ir(tmp_path, PETS)

    assert api is not None
    semantics = {op.key.split()[0]: op.semantics for op in api.operations}
    assert semantics == {
        "GET": Semantics(read_only=True, idempotent=True),
        "HEAD": Semantics(read_only=True, idempotent=True),
        "POST": Semantics(),
        "PUT": Semantics(idempotent=True),
        "DELETE": Semantics(destructive=True, idempotent=True),
    }
    assert all(s.open_world for s in semantics.values())


def test_path_level_parameters_and_the_nearest_servers_apply(tmp_path: Path) -> None:
    api, _ = compile_ir(tmp_path, PETS)

    assert api is not None
    put, delete = api.operations[2], api.operations[3]
    petid = Argument(
        name="petId",
        location=Location.PATH,
        schema={"type": "integer"},
        required=True,
        serialization=Serialization(style="simple", explode=False),
        pointer="/paths/~1pets~1{petId}/parameters/0",
    )
    assert put.arguments == delete.arguments == (petid,)
    assert put.call.servers == (Server(url="http://127.0.0.1:9/override"),)
    assert delete.call.servers == (
        Server(
            url="https://{region}.example.com/v1",
            variables={"region": ServerVariable(default="eu", enum=("eu", "us"))},
        ),
    )


def test_json_is_preferred_among_request_media_types_and_the_body_stays_one_schema(tmp_path: Path) -> None:
    api, _ = compile_ir(tmp_path, PETS)

    assert api is not None
    body = api.operations[1].call.body
    assert body is not None
    assert (body.media_type, body.required) == ("application/json", True)
    assert body.schema_ == {"type": "object", "properties": {"name": {"type": "string"}}}


def test_the_result_is_the_json_schema_of_the_first_success_response(tmp_path: Path) -> None:
    api, _ = compile_ir(tmp_path, PETS)

    assert api is not None
    assert api.operations[0].result == {"type": "array", "items": {"type": "string"}}
    assert api.operations[1].result is None


def test_an_operation_with_a_broken_parameter_is_left_out_and_the_rest_compiles(tmp_path: Path) -> None:
    text = PETS.replace(
        "      operationId: listPets",
        "      operationId: listPets\n      parameters: [{$ref: '#/components/parameters/Nope'}]",
    )
    api, diagnostics = compile_ir(tmp_path, text)

    assert api is not None
    assert [op.key for op in api.operations][:2] == ["POST /pets", "PUT /pets/{petId}"]
    file = str(tmp_path / "openapi.yaml")
    assert diagnostics.items == (
        Diagnostic(
            severity=Severity.WARNING,
            file=file,
            pointer="/paths/~1pets/get/parameters/0/$ref",
            message="$ref '#/components/parameters/Nope' points to nothing: "
            f"{file} has no '/components/parameters/Nope'",
            hint="check the spelling of the name and the path of the file",
        ),
        Diagnostic(
            severity=Severity.WARNING,
            file=file,
            pointer="/paths/~1pets/get/parameters/0",
            message="operation GET /pets is left out: it uses a $ref that cannot be resolved (reported above)",
            hint="fix it to include the operation; the rest of the API compiles without it",
        ),
    )


def test_an_operation_whose_schema_reaches_a_dangling_ref_through_shared_schemas_is_left_out(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    get:
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}}}
  /b:
    get:
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/B'}}}}}
  /c:
    get:
      responses: {"200": {description: ok, content: {application/json: {schema: {type: string}}}}}
components:
  schemas:
    A: {type: object, properties: {b: {$ref: '#/components/schemas/B'}}}
    B: {type: object, properties: {gone: {$ref: '#/components/schemas/Gone'}}}
"""
    api, diagnostics = compile_ir(tmp_path, text)

    assert api is not None
    assert [op.key for op in api.operations] == ["GET /c"]
    assert [d.message.split(":")[0] for d in diagnostics.warnings] == [
        "$ref '#/components/schemas/Gone' points to nothing",
        "operation GET /a is left out",
        "operation GET /b is left out",
    ]
    assert diagnostics.errors == ()


def test_when_no_declared_operation_compiles_the_document_is_an_error(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /a:
    get:
      parameters: [{$ref: '#/components/parameters/P'}]
      responses: {"200": {description: ok}}
components:
  parameters:
    P: {$ref: '#/components/parameters/Q'}
    Q: {$ref: '#/components/parameters/P'}
"""
    api, diagnostics = compile_ir(tmp_path, text)

    assert api is not None
    assert api.operations == ()
    assert [(d.pointer, d.message) for d in diagnostics.errors] == [
        ("/paths", "none of the 1 operations could be compiled")
    ]
    assert "$ref cycle: this reference leads back to itself" in [d.message for d in diagnostics.warnings]


def test_a_path_placeholder_without_a_parameter_becomes_a_required_string(tmp_path: Path) -> None:
    text = """
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /users/{id}:
    get:
      responses: {"200": {description: ok}}
"""
    api, diagnostics = compile_ir(tmp_path, text)

    assert api is not None
    assert api.operations[0].arguments == (
        Argument(name="id", location=Location.PATH, schema={"type": "string"}, required=True),
    )
    assert [d.message for d in diagnostics.warnings] == ["the path '/users/{id}' has {id} but no parameter declares it"]


def test_swagger_2_servers_come_from_host_base_path_and_schemes(tmp_path: Path) -> None:
    text = """
swagger: "2.0"
info: {title: t, version: "1"}
host: api.example.com
basePath: /v2
schemes: [http, https]
paths:
  /a:
    get:
      responses: {"200": {description: ok}}
    post:
      schemes: [https]
      responses: {"200": {description: ok}}
"""
    api, _ = compile_ir(tmp_path, text)

    assert api is not None
    assert api.format == "Swagger 2.0"
    assert api.operations[0].call.servers == (
        Server(url="http://api.example.com/v2"),
        Server(url="https://api.example.com/v2"),
    )
    assert api.operations[1].call.servers == (Server(url="https://api.example.com/v2"),)
