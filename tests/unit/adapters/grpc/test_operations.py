"""Service methods to IR operations: names, descriptions, semantics, streaming shapes, sources."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool

from tests.support.grpc_upstream import EVERY_TYPE_PROTO, every_type_pool, every_type_upstream
from virtualize.adapters import AdapterOptions, load_api
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, GrpcCall, Location, Operation, SchemeKind, Semantics

SERVICE = "/virtualize.golden.v1.EveryType"


def build(path: Path, **options: object) -> Api:
    diagnostics = Diagnostics()
    api = load_api(path, AdapterOptions.model_validate({"target": "localhost:50051", **options}), diagnostics)
    assert api is not None, diagnostics.items
    return api


@pytest.fixture(scope="module")
def api() -> Api:
    return build(EVERY_TYPE_PROTO)


def operation(api: Api, method: str) -> Operation:
    return next(op for op in api.operations if op.key == f"{SERVICE}/{method}")


def test_each_rpc_is_one_operation_named_by_service_and_method(api: Api) -> None:
    assert [op.name_candidates[0] for op in api.operations] == [
        "EveryType_GetRecord",
        "EveryType_PutRecord",
        "EveryType_DeleteRecord",
        "EveryType_WatchRecords",
        "EveryType_UploadRecords",
        "EveryType_SyncRecords",
    ]
    assert operation(api, "GetRecord").name_candidates[1] == "virtualize_golden_v1_EveryType_GetRecord"


def test_descriptions_come_from_the_proto_comments(api: Api) -> None:
    assert operation(api, "GetRecord").description == "Reads a record; no side effects."
    assert api.description == "Exercises the proto3 JSON mapping, one method per kind of call."
    assert (api.title, api.version, api.format) == ("virtualize.golden.v1.EveryType", "v1", "proto3")


def test_idempotency_level_decides_the_semantics(api: Api) -> None:
    assert operation(api, "GetRecord").semantics == Semantics(read_only=True, idempotent=True)
    assert operation(api, "PutRecord").semantics == Semantics(idempotent=True)
    assert operation(api, "DeleteRecord").semantics == Semantics(destructive=True)
    assert operation(api, "WatchRecords").semantics == Semantics()


def test_google_api_http_rules_are_recorded(api: Api) -> None:
    assert isinstance(operation(api, "PutRecord").call, GrpcCall)
    assert operation(api, "GetRecord").call.http_rule == {"get": "/v1/records/{name=records/*}"}  # type: ignore[union-attr]
    assert operation(api, "PutRecord").call.http_rule == {  # type: ignore[union-attr]
        "put": "/v1/{name=records/*}",
        "body": "*",
        "additionalBindings": [{"post": "/v1/records", "body": "*"}],
    }
    assert operation(api, "DeleteRecord").call.http_rule is None  # type: ignore[union-attr]


def test_the_call_names_the_method_messages_and_stream_kinds(api: Api) -> None:
    assert operation(api, "SyncRecords").call == GrpcCall(
        target="localhost:50051",
        full_method=f"{SERVICE}/SyncRecords",
        input_type="virtualize.golden.v1.Record",
        output_type="virtualize.golden.v1.Record",
        client_streaming=True,
        server_streaming=True,
    )


def test_client_streaming_takes_one_array_of_request_messages(api: Api) -> None:
    [argument] = operation(api, "UploadRecords").arguments
    assert (argument.name, argument.location, argument.required) == ("messages", Location.BODY, True)
    assert argument.schema_["items"] == {"$ref": "#/$defs/virtualize.golden.v1.Record"}


def test_server_streaming_returns_the_messages_and_whether_they_were_cut(api: Api) -> None:
    result = operation(api, "WatchRecords").result
    assert result is not None
    assert list(result["properties"]) == ["messages", "truncated"]
    assert result["properties"]["messages"]["items"] == {"$ref": "#/$defs/virtualize.golden.v1.Record"}


def test_the_manifest_carries_only_the_descriptors_the_runtime_needs(api: Api) -> None:
    files = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode(api.descriptors or ""))
    names = [file.name for file in files.file]

    assert names[-1] == "input.proto"
    assert "google/protobuf/timestamp.proto" in names
    assert "google/api/annotations.proto" not in names  # options only: the runtime never reads them
    assert "google/protobuf/descriptor.proto" not in names
    assert list(files.file[-1].dependency) == [name for name in names if name.startswith("google/protobuf/")]
    assert not any(file.HasField("source_code_info") for file in files.file)
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    assert pool.FindMethodByName("virtualize.golden.v1.EveryType.GetRecord").input_type.name == "GetRecordRequest"


def test_a_descriptor_set_compiles_like_its_proto(api: Api, tmp_path: Path) -> None:
    pool = every_type_pool()
    file = descriptor_pb2.FileDescriptorProto()
    pool.FindFileByName("input.proto").CopyToProto(file)
    dependencies = []
    for name in file.dependency:
        dependency = descriptor_pb2.FileDescriptorProto()
        pool.FindFileByName(name).CopyToProto(dependency)
        dependencies.append(dependency)
    http = descriptor_pb2.FileDescriptorProto()
    pool.FindFileByName("google/api/http.proto").CopyToProto(http)
    binpb = tmp_path / "every.binpb"
    binpb.write_bytes(descriptor_pb2.FileDescriptorSet(file=[http, *dependencies, file]).SerializeToString())

    from_set = build(binpb)

    assert [op.key for op in from_set.operations] == [op.key for op in api.operations]
    assert from_set.defs == {  # no comments in this set: only descriptions differ
        name: {key: value for key, value in schema.items() if key != "description"}
        for name, schema in from_set.defs.items()
    }
    assert operation(from_set, "GetRecord").call.http_rule == {"get": "/v1/records/{name=records/*}"}  # type: ignore[union-attr]


def test_a_descriptor_set_missing_an_import_says_how_to_rebuild_it(tmp_path: Path) -> None:
    pool = every_type_pool()
    file = descriptor_pb2.FileDescriptorProto()
    pool.FindFileByName("input.proto").CopyToProto(file)
    binpb = tmp_path / "lonely.binpb"
    binpb.write_bytes(descriptor_pb2.FileDescriptorSet(file=[file]).SerializeToString())
    diagnostics = Diagnostics()

    assert load_api(binpb, AdapterOptions(), diagnostics) is None
    [error] = diagnostics.errors
    assert "google/api/annotations.proto" in error.message
    assert "--include_imports" in error.hint


def test_auth_declarations_become_metadata_schemes_every_method_requires() -> None:
    api = build(EVERY_TYPE_PROTO, auth=("bearer", "metadata:x-api-key"))

    assert {name: scheme.kind for name, scheme in api.security_schemes.items()} == {
        "bearer": SchemeKind.HTTP_BEARER,
        "api_key_x_api_key": SchemeKind.GRPC_METADATA,
    }
    assert api.security_schemes["api_key_x_api_key"].parameter == "x-api-key"
    assert {tuple(use.scheme for use in alternative) for op in api.operations for alternative in op.security} == {
        ("bearer", "api_key_x_api_key")
    }


def test_a_bad_auth_declaration_is_reported() -> None:
    diagnostics = Diagnostics()
    load_api(EVERY_TYPE_PROTO, AdapterOptions(auth=("metadata:grpc-timeout",)), diagnostics)
    assert diagnostics.errors[0].message == "unknown auth declaration 'metadata:grpc-timeout'"
    assert "metadata:KEY" in diagnostics.errors[0].hint


def test_a_grpcs_target_means_tls() -> None:
    api = build(EVERY_TYPE_PROTO, target="grpcs://api.example.com:443")
    assert {(op.call.target, op.call.tls) for op in api.operations} == {("api.example.com:443", True)}  # type: ignore[union-attr]


def test_without_a_target_the_build_warns() -> None:
    diagnostics = Diagnostics()
    assert load_api(EVERY_TYPE_PROTO, AdapterOptions(), diagnostics) is not None
    assert [d.message for d in diagnostics.warnings] == [
        "no upstream address: calls will fail until the manifest is rebuilt with one"
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_server_reflection_yields_the_same_operations(api: Api, anyio_backend: str) -> None:
    import anyio.to_thread  # noqa: PLC0415

    async with every_type_upstream() as upstream:
        diagnostics = Diagnostics()
        options = AdapterOptions(reflect=upstream.address)
        # Reflection is a blocking client; the server shares this event loop.
        reflected = await anyio.to_thread.run_sync(load_api, Path("reflection"), options, diagnostics)

    assert reflected is not None, diagnostics.items
    assert [op.key for op in reflected.operations] == [op.key for op in api.operations]
    assert {op.call.target for op in reflected.operations} == {upstream.address}  # type: ignore[union-attr]
    assert operation(reflected, "GetRecord").call.http_rule == {"get": "/v1/records/{name=records/*}"}  # type: ignore[union-attr]


def test_reflection_against_nothing_is_a_diagnostic() -> None:
    diagnostics = Diagnostics()
    assert load_api(Path("reflection"), AdapterOptions(reflect="127.0.0.1:1"), diagnostics) is None
    [error] = diagnostics.errors
    assert error.file == "reflection 127.0.0.1:1"
    assert error.message.startswith("server reflection failed: UNAVAILABLE")


def test_output_only_fields_are_not_arguments_but_input_only_ones_are(api: Api) -> None:
    names = [argument.name for argument in operation(api, "PutRecord").arguments]
    assert "etag" not in names
    assert "secret" in names
