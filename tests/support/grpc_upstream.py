"""A real gRPC upstream on 127.0.0.1 for tests: the golden every-type service, served by grpc.aio.

The server is built like the runtime builds its clients, from descriptors and no generated code:
``protoc`` (grpcio-tools, in process) compiles the proto, protobuf's ``message_factory`` makes
the classes. It records the metadata of every call and whether a call was cancelled, serves
reflection, and fails on purpose for names chosen by the tests:

    records/missing     NOT_FOUND
    records/invalid     INVALID_ARGUMENT with a google.rpc.BadRequest (field read_mask)
    records/busy        RESOURCE_EXHAUSTED with a google.rpc.RetryInfo of 2.5 s
    records/broken      INTERNAL with a google.rpc.ErrorInfo
    records/slow        answers only when cancelled (deadlines and cancellation)
    records/opaque      answers with an Any of a type the client cannot know
    records/endless     (WatchRecords) streams two records, then nothing until cancelled

With ``api_key`` set, a call without metadata ``x-api-key: <api_key>`` is UNAUTHENTICATED.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from google.protobuf import descriptor_pool, duration_pb2, message_factory
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_reflection.v1alpha import reflection

from virtualize.adapters.grpc.sources import complete, load_proto
from virtualize.diagnostics import Diagnostics

EVERY_TYPE_PROTO = Path(__file__).resolve().parents[1] / "golden" / "cases" / "grpc-every-type" / "input.proto"
SERVICE = "virtualize.golden.v1.EveryType"
PACKAGE = "virtualize.golden.v1"
STREAM_LENGTH = 5  # records a WatchRecords call streams


# A record setting every field a caller may set: every scalar and well-known type, both name spellings.
EVERY_TYPE_RECORD: dict[str, Any] = {
    "name": "records/2",
    "aDouble": "-Infinity",
    "a_float": 0.25,  # original field names are accepted too
    "anInt32": -(2**31),
    "anInt64": 9007199254740993,  # a number is accepted for a 64-bit field
    "aUint32": 2**32 - 1,
    "aUint64": "18446744073709551615",
    "aSint32": -5,
    "aSint64": "-5",
    "aFixed32": 7,
    "aFixed64": "7",
    "anSfixed32": -7,
    "anSfixed64": "-7",
    "aBool": True,
    "aString": "ü",
    "someBytes": "AAEC",
    "state": "ARCHIVED",
    "tags": ["a", "b"],
    "counters": {"x": "1"},
    "childrenById": {"3": {"name": "child"}},
    "parent": {"name": "p", "groupId": "12"},
    "children": [{"name": "c"}],
    "nickname": "",
    "createTime": "2026-01-02T03:04:05.000000006Z",
    "ttl": "-0.5s",
    "labels": {"nested": {"list": [1, "two", None, True]}},
    "extra": "any JSON",
    "values": [1, {"a": None}],
    "mask": "aBool,parent.name",
    "detail": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"},
    "nothing": {},
    "maybeDouble": "NaN",
    "maybeFloat": 1.5,
    "maybeInt64": "-9",
    "maybeUint64": "9",
    "maybeInt32": 0,
    "maybeUint32": 4,
    "maybeBool": False,
    "maybeString": "",
    "maybeBytes": "/w==",
    "alwaysNull": None,
}
# What the upstream echoes for it, in proto3 JSON: 64-bit integers as strings, durations with
# 3, 6 or 9 fractional digits, one spelling per field, null fields absent.
EVERY_TYPE_ECHO: dict[str, Any] = {
    **{key: value for key, value in EVERY_TYPE_RECORD.items() if key not in ("a_float", "alwaysNull")},
    "aFloat": 0.25,
    "anInt64": "9007199254740993",
    "ttl": "-0.500s",
}


@dataclass
class GrpcUpstream:
    address: str  # HOST:PORT
    pool: descriptor_pool.DescriptorPool
    metadata: list[dict[str, str]] = field(default_factory=list)  # of each call, in order
    slow_started: asyncio.Event = field(default_factory=asyncio.Event)
    slow_cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    def message(self, name: str) -> Any:
        return message_factory.GetMessageClass(self.pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))


def every_type_pool() -> descriptor_pool.DescriptorPool:
    diagnostics = Diagnostics()
    source = load_proto(EVERY_TYPE_PROTO, (), diagnostics)
    assert source is not None, diagnostics.items
    files = complete(source.files, str(EVERY_TYPE_PROTO), diagnostics)
    assert files is not None
    pool = descriptor_pool.DescriptorPool()
    for file in files:
        pool.Add(file)
    return pool


def _status(code: int, message: str, *details: Any) -> tuple[tuple[str, bytes], ...]:
    status = status_pb2.Status(code=code, message=message)
    for detail in details:
        status.details.add().Pack(detail)
    return (("grpc-status-details-bin", status.SerializeToString()),)


@asynccontextmanager
async def every_type_upstream(*, api_key: str | None = None) -> AsyncIterator[GrpcUpstream]:
    """Serve the every-type service (and reflection) on a free port of 127.0.0.1."""
    pool = every_type_pool()
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    upstream = GrpcUpstream(address=f"127.0.0.1:{port}", pool=pool)
    record_class = upstream.message("Record")
    request_class = upstream.message("GetRecordRequest")
    empty_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("google.protobuf.Empty"))
    int64_class = message_factory.GetMessageClass(pool.FindMessageTypeByName("google.protobuf.Int64Value"))

    async def admit(context: grpc.aio.ServicerContext) -> None:
        received = {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}
        upstream.metadata.append(received)
        if api_key is not None and received.get("x-api-key") != api_key:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong x-api-key")

    async def fail_on_purpose(name: str, context: grpc.aio.ServicerContext) -> None:
        if name == "records/missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no record {name}")
        if name == "records/invalid":
            violation = error_details_pb2.BadRequest.FieldViolation(field="read_mask", description="unknown path")
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "bad read mask",
                _status(
                    code_pb2.INVALID_ARGUMENT,
                    "bad read mask",
                    error_details_pb2.BadRequest(field_violations=[violation]),
                ),
            )
        if name == "records/busy":
            retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=2, nanos=500_000_000))
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "slow down",
                _status(code_pb2.RESOURCE_EXHAUSTED, "slow down", retry),
            )
        if name == "records/broken":
            info = error_details_pb2.ErrorInfo(reason="DISK_ON_FIRE", domain="example.com")
            await context.abort(grpc.StatusCode.INTERNAL, "it broke", _status(code_pb2.INTERNAL, "it broke", info))
        if name == "records/slow":
            upstream.slow_started.set()
            try:
                await asyncio.Event().wait()
            finally:
                upstream.slow_cancelled.set()

    def full_record(name: str) -> Any:
        record = record_class(name=name, a_double=1.5, an_int64=-(2**62), a_uint64=2**64 - 1, some_bytes=b"\x00\xff")
        record.a_float = float("nan")
        record.state = record_class.State.Value("ACTIVE")
        record.counters["hits"] = 2**40
        record.create_time.FromJsonString("2026-11-23T10:00:00.5Z")
        record.ttl.FromJsonString("1.5s")
        record.labels.update({"team": "core", "size": 3})
        record.maybe_int64.value = 7
        record.maybe_bool.value = False
        record.user_id = "u1"
        return record

    async def get_record(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await admit(context)
        await fail_on_purpose(request.name, context)
        record = full_record(request.name)
        if request.name == "records/opaque":
            record.detail.type_url = "type.googleapis.com/elsewhere.Secret"
        return record

    async def put_record(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await admit(context)
        return request

    async def delete_record(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await admit(context)
        await fail_on_purpose(request.name, context)
        return empty_class()

    async def watch_records(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await admit(context)
        await fail_on_purpose(request.name, context)
        for index in range(STREAM_LENGTH):
            yield record_class(name=f"{request.name}/{index}", an_int32=index)
            if request.name == "records/endless" and index == 1:
                await asyncio.Event().wait()  # a watch: nothing more until the client gives up

    async def upload_records(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
        await admit(context)
        count = 0
        async for _ in requests:
            count += 1
        return int64_class(value=count)

    async def sync_records(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await admit(context)
        async for record in requests:
            yield record

    record = {"request_deserializer": record_class.FromString, "response_serializer": record_class.SerializeToString}
    lookup = {"request_deserializer": request_class.FromString, "response_serializer": record_class.SerializeToString}
    handlers = {
        "GetRecord": grpc.unary_unary_rpc_method_handler(get_record, **lookup),
        "PutRecord": grpc.unary_unary_rpc_method_handler(put_record, **record),
        "DeleteRecord": grpc.unary_unary_rpc_method_handler(
            delete_record,
            request_deserializer=request_class.FromString,
            response_serializer=empty_class.SerializeToString,
        ),
        "WatchRecords": grpc.unary_stream_rpc_method_handler(watch_records, **lookup),
        "UploadRecords": grpc.stream_unary_rpc_method_handler(
            upload_records,
            request_deserializer=record_class.FromString,
            response_serializer=int64_class.SerializeToString,
        ),
        "SyncRecords": grpc.stream_stream_rpc_method_handler(sync_records, **record),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    reflection.enable_server_reflection((SERVICE, reflection.SERVICE_NAME), server, pool=pool)
    await server.start()
    try:
        yield upstream
    finally:
        await server.stop(grace=None)
