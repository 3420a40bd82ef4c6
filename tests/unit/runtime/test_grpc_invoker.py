"""The gRPC invoker against a real grpc.aio server on 127.0.0.1 (tests.support.grpc_upstream)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from tests.support.grpc_upstream import (
    EVERY_TYPE_ECHO,
    EVERY_TYPE_PROTO,
    EVERY_TYPE_RECORD,
    GrpcUpstream,
    every_type_upstream,
)
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.errors import ManifestError
from virtualize.manifest.model import Manifest
from virtualize.runtime.credentials import ResolvedCredential
from virtualize.runtime.invokers import Invocation, InvokerSettings
from virtualize.runtime.invokers.grpc import (
    GrpcInvoker,
    create_invoker,
    field_path,
    metadata,
    status_failure,
    upstream_address,
)
from virtualize.runtime.outcomes import Failure, JsonValue, Outcome

pytestmark = pytest.mark.anyio

API_KEY = ResolvedCredential("api_key_x_api_key", "grpc_metadata", "metadata", "x-api-key", "sesame")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # grpc.aio runs on asyncio only


@pytest.fixture
async def upstream() -> AsyncIterator[GrpcUpstream]:
    async with every_type_upstream() as server:
        yield server


def build(upstream: GrpcUpstream, **adapter: Any) -> Manifest:
    options = BuildOptions(adapter={"target": upstream.address, **adapter})
    return compile_spec(EVERY_TYPE_PROTO, options).manifest


async def call(
    invoker: GrpcInvoker,
    manifest: Manifest,
    tool: str,
    arguments: dict[str, Any],
    *,
    seconds: float = 10.0,
    credentials: tuple[ResolvedCredential, ...] = (),
) -> Outcome:
    invocation = Invocation(
        server=manifest.name,
        tool=tool,
        binding=manifest.bindings.tools[tool],
        arguments=arguments,
        credentials=credentials,
        deadline=anyio.current_time() + seconds,
    )
    return await invoker.invoke(invocation)


async def test_a_unary_call_returns_the_response_in_proto3_json(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_GetRecord", {"name": "records/1"})
    await invoker.aclose()

    assert isinstance(outcome, JsonValue)
    assert outcome.value == {
        "name": "records/1",
        "aDouble": 1.5,
        "aFloat": "NaN",
        "anInt64": "-4611686018427387904",
        "aUint64": "18446744073709551615",
        "someBytes": "AP8=",
        "state": "ACTIVE",
        "counters": {"hits": "1099511627776"},
        "userId": "u1",
        "createTime": "2026-11-23T10:00:00.500Z",
        "ttl": "1.500s",
        "labels": {"team": "core", "size": 3.0},
        "maybeInt64": "7",
        "maybeBool": False,
    }


async def test_every_scalar_and_well_known_type_survives_a_round_trip(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_PutRecord", EVERY_TYPE_RECORD)
    await invoker.aclose()

    assert outcome == JsonValue(EVERY_TYPE_ECHO)


async def test_two_members_of_one_oneof_are_rejected_with_their_path(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(
        invoker, manifest, "EveryType_PutRecord", {"name": "x", "children": [{"userId": "a", "group_id": "2"}]}
    )
    await invoker.aclose()

    assert outcome == Failure(
        "invalid_arguments",
        "/children/0: set at most one of userId, group_id (oneof owner)",
        details=({"path": "/children/0", "message": "set at most one of userId, group_id (oneof owner)"},),
    )
    assert upstream.metadata == []  # nothing reached the upstream


@pytest.mark.parametrize(
    ("arguments", "path"),
    [
        ({"name": "x", "anInt32": 1, "an_int32": 2}, "/"),
        ({"name": "x", "an_int32": 2, "anInt32": 1}, "/"),
        ({"name": "x", "parent": {"aString": "a", "a_string": "b"}}, "/parent"),
        ({"name": "x", "children": [{}, {"someBytes": "AA==", "some_bytes": "AQ=="}]}, "/children/1"),
    ],
)
async def test_a_field_given_under_both_its_names_is_rejected_not_overwritten(
    upstream: GrpcUpstream, arguments: dict[str, Any], path: str
) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_PutRecord", arguments)
    await invoker.aclose()

    assert isinstance(outcome, Failure) and outcome.category == "invalid_arguments"
    [detail] = outcome.details
    assert detail["path"] == path and "not both: they name the same field" in detail["message"]
    assert upstream.metadata == []


async def test_an_unknown_field_is_rejected_by_name(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_PutRecord", {"name": "x", "parent": {"colour": "red"}})
    await invoker.aclose()

    assert isinstance(outcome, Failure)
    assert outcome.category == "invalid_arguments"
    assert 'no field named "colour"' in outcome.message
    assert upstream.metadata == []


async def test_server_streaming_is_cut_at_the_configured_count_with_a_marker(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings(max_stream_messages=2))
    cut = await call(invoker, manifest, "EveryType_WatchRecords", {"name": "r"})
    invoker = create_invoker(manifest, InvokerSettings())
    whole = await call(invoker, manifest, "EveryType_WatchRecords", {"name": "r"})
    await invoker.aclose()

    assert cut == JsonValue({"messages": [{"name": "r/0"}, {"name": "r/1", "anInt32": 1}], "truncated": True})
    assert isinstance(whole, JsonValue)
    assert len(whole.value["messages"]) == 5
    assert whole.value["truncated"] is False


async def test_server_streaming_is_cut_at_the_configured_size(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings(max_response_bytes=90))
    outcome = await call(invoker, manifest, "EveryType_WatchRecords", {"name": "r"})
    await invoker.aclose()

    assert outcome == JsonValue({"messages": [{"name": "r/0"}, {"name": "r/1", "anInt32": 1}], "truncated": True})


async def test_a_stream_that_outlives_the_deadline_returns_what_arrived(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_WatchRecords", {"name": "records/endless"}, seconds=0.3)
    await invoker.aclose()

    assert outcome == JsonValue(
        {"messages": [{"name": "records/endless/0"}, {"name": "records/endless/1", "anInt32": 1}], "truncated": True}
    )


async def test_client_streaming_takes_an_array_and_bidi_returns_one(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    uploaded = await call(invoker, manifest, "EveryType_UploadRecords", {"messages": [{"name": "a"}, {"name": "b"}]})
    synced = await call(invoker, manifest, "EveryType_SyncRecords", {"messages": [{"name": "a"}, {"anInt64": 3}]})
    nothing = await call(invoker, manifest, "EveryType_SyncRecords", {"messages": []})
    await invoker.aclose()

    assert uploaded == JsonValue("2")
    assert synced == JsonValue({"messages": [{"name": "a"}, {"anInt64": "3"}], "truncated": False})
    assert nothing == JsonValue({"messages": [], "truncated": False})


@pytest.mark.parametrize(
    ("name", "failure"),
    [
        (
            "records/invalid",
            Failure(
                "invalid_arguments",
                "the upstream rejected the arguments (INVALID_ARGUMENT)",
                status="INVALID_ARGUMENT",
                upstream_message="bad read mask",
                details=({"path": "/readMask", "message": "unknown path"},),
            ),
        ),
        (
            "records/busy",
            Failure(
                "rate_limited",
                "the upstream's quota or rate limit is exhausted (RESOURCE_EXHAUSTED)",
                status="RESOURCE_EXHAUSTED",
                upstream_message="slow down",
                retry_after=2.5,
            ),
        ),
        (
            "records/missing",
            Failure(
                "not_found",
                "the upstream found nothing by that name (NOT_FOUND)",
                status="NOT_FOUND",
                upstream_message="no record records/missing",
            ),
        ),
        (
            "records/broken",
            Failure(
                "upstream_error",
                "the upstream call failed (INTERNAL)",
                status="INTERNAL",
                upstream_message="it broke",
                details=(
                    {
                        "type": "google.rpc.ErrorInfo",
                        "message": "DISK_ON_FIRE",
                        "value": {"reason": "DISK_ON_FIRE", "domain": "example.com"},
                    },
                ),
                retryable=False,
            ),
        ),
    ],
)
async def test_status_codes_and_their_details_become_normalized_failures(
    upstream: GrpcUpstream, name: str, failure: Failure
) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_GetRecord", {"name": name})
    await invoker.aclose()

    assert outcome == failure


async def test_an_answer_without_a_json_form_is_an_invalid_response(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_GetRecord", {"name": "records/opaque"})
    await invoker.aclose()

    assert isinstance(outcome, Failure)
    assert outcome.category == "invalid_response"
    assert "elsewhere.Secret" in outcome.message


async def test_credentials_travel_as_metadata_and_a_missing_key_is_unauthorized() -> None:
    async with every_type_upstream(api_key="sesame") as upstream:
        manifest = build(upstream, auth=("metadata:x-api-key",))
        invoker = create_invoker(manifest, InvokerSettings())
        allowed = await call(invoker, manifest, "EveryType_DeleteRecord", {"name": "r"}, credentials=(API_KEY,))
        refused = await call(invoker, manifest, "EveryType_DeleteRecord", {"name": "r"})
        await invoker.aclose()

    assert manifest.auth.schemes["api_key_x_api_key"].kind == "grpc_metadata"
    assert allowed == JsonValue({})
    assert isinstance(refused, Failure)
    assert (refused.category, refused.status) == ("unauthorized", "UNAUTHENTICATED")
    assert upstream.metadata[0]["x-api-key"] == "sesame"


async def test_an_unauthenticated_call_is_retried_once_with_refreshed_credentials() -> None:
    async with every_type_upstream(api_key="sesame") as upstream:
        manifest = build(upstream)
        invoker = create_invoker(manifest, InvokerSettings())

        async def refresh() -> tuple[ResolvedCredential, ...]:
            return (API_KEY,)

        invocation = Invocation(
            server="s",
            tool="EveryType_DeleteRecord",
            binding=manifest.bindings.tools["EveryType_DeleteRecord"],
            arguments={"name": "r"},
            deadline=anyio.current_time() + 10,
            refresh_credentials=refresh,
        )
        outcome = await invoker.invoke(invocation)
        await invoker.aclose()

    assert outcome == JsonValue({})
    assert invocation.record.attempts == 2
    assert invocation.record.status == "OK"


async def test_the_deadline_of_the_call_bounds_the_rpc(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_GetRecord", {"name": "records/slow"}, seconds=0.2)
    await invoker.aclose()

    assert isinstance(outcome, Failure)
    assert (outcome.category, outcome.status, outcome.is_retryable) == ("timeout", "DEADLINE_EXCEEDED", True)


async def test_a_passed_deadline_fails_before_calling(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_GetRecord", {"name": "records/1"}, seconds=-1)
    await invoker.aclose()

    assert isinstance(outcome, Failure)
    assert outcome.category == "timeout"
    assert upstream.metadata == []


async def test_cancelling_the_tool_call_cancels_the_rpc(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(call, invoker, manifest, "EveryType_GetRecord", {"name": "records/slow"})
            await upstream.slow_started.wait()
            group.cancel_scope.cancel()
        await upstream.slow_cancelled.wait()
    await invoker.aclose()


async def test_an_unreachable_upstream_is_unavailable_and_retried_when_idempotent() -> None:
    manifest = compile_spec(EVERY_TYPE_PROTO, BuildOptions(adapter={"target": "127.0.0.1:1"})).manifest
    invoker = create_invoker(manifest, InvokerSettings(retries=2))
    read = Invocation(
        server="s",
        tool="EveryType_GetRecord",
        binding=manifest.bindings.tools["EveryType_GetRecord"],
        arguments={"name": "records/1"},
        deadline=anyio.current_time() + 10,
    )
    write = Invocation(
        server="s",
        tool="EveryType_DeleteRecord",
        binding=manifest.bindings.tools["EveryType_DeleteRecord"],
        arguments={"name": "records/1"},
        deadline=anyio.current_time() + 10,
    )
    outcome = await invoker.invoke(read)
    await invoker.invoke(write)
    await invoker.aclose()

    assert isinstance(outcome, Failure)
    assert (outcome.category, outcome.status, outcome.is_retryable) == ("unavailable", "UNAVAILABLE", True)
    assert (read.record.attempts, write.record.attempts) == (3, 1)  # a delete is not sent twice


async def test_a_grpcs_target_is_called_over_tls(upstream: GrpcUpstream) -> None:
    manifest = build(upstream, target=f"grpcs://{upstream.address}")
    invoker = create_invoker(manifest, InvokerSettings(retries=0))
    outcome = await call(invoker, manifest, "EveryType_GetRecord", {"name": "records/1"})
    await invoker.aclose()

    assert isinstance(outcome, Failure)  # the plaintext server cannot complete a TLS handshake
    assert outcome.status == "UNAVAILABLE"
    assert upstream.metadata == []


async def test_a_manifest_without_a_target_fails_each_call_with_a_hint() -> None:
    built = compile_spec(EVERY_TYPE_PROTO).manifest
    untargeted = {name: binding.model_copy(update={"target": ""}) for name, binding in built.bindings.tools.items()}
    manifest = built.model_copy(update={"bindings": built.bindings.model_copy(update={"tools": untargeted})})
    invoker = create_invoker(manifest, InvokerSettings())
    outcome = await call(invoker, manifest, "EveryType_GetRecord", {"name": "records/1"})

    assert isinstance(outcome, Failure)
    assert (outcome.category, outcome.is_retryable) == ("unavailable", False)
    assert "--target" in outcome.message


def test_bad_request_field_paths_become_argument_paths() -> None:
    assert field_path("read_mask") == "/read_mask"
    assert field_path("book.authors[0].display_name") == "/book/authors/0/display_name"
    assert field_path('labels["k"]') == "/labels/k"
    assert field_path("") == "/"


@pytest.mark.parametrize(
    ("code", "category", "retryable"),
    [
        ("INVALID_ARGUMENT", "invalid_arguments", False),
        ("OUT_OF_RANGE", "invalid_arguments", False),
        ("NOT_FOUND", "not_found", False),
        ("ALREADY_EXISTS", "conflict", False),
        ("ABORTED", "conflict", True),
        ("FAILED_PRECONDITION", "conflict", False),
        ("UNAUTHENTICATED", "unauthorized", False),
        ("PERMISSION_DENIED", "forbidden", False),
        ("RESOURCE_EXHAUSTED", "rate_limited", True),
        ("UNAVAILABLE", "unavailable", True),
        ("DEADLINE_EXCEEDED", "timeout", True),
        ("UNIMPLEMENTED", "unimplemented", False),
        ("CANCELLED", "cancelled", False),
        ("INTERNAL", "upstream_error", False),
        ("DATA_LOSS", "upstream_error", False),
        ("UNKNOWN", "upstream_error", True),
    ],
)
def test_each_status_code_maps_to_its_category(code: str, category: str, retryable: bool) -> None:
    failure = status_failure(code, "upstream words", ())
    assert (failure.category, failure.is_retryable, failure.status, failure.upstream_message) == (
        category,
        retryable,
        code,
        "upstream words",
    )


def test_credentials_become_lower_case_metadata() -> None:
    bearer = ResolvedCredential("bearer", "http_bearer", "header", "Authorization", "Bearer t0k")
    assert metadata((bearer, API_KEY)) == (("authorization", "Bearer t0k"), ("x-api-key", "sesame"))


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("grpcs://api.example.com:443", ("api.example.com:443", True)),
        ("grpc://127.0.0.1:5000/", ("127.0.0.1:5000", False)),
        ("localhost:50051", ("localhost:50051", False)),
    ],
)
def test_upstream_addresses_say_whether_to_use_tls(address: str, expected: tuple[str, bool]) -> None:
    assert upstream_address(address, tls=False) == expected


def test_a_manifest_with_broken_descriptors_is_a_manifest_error() -> None:
    built = compile_spec(EVERY_TYPE_PROTO).manifest
    broken = built.model_copy(update={"bindings": built.bindings.model_copy(update={"descriptors": "//79"})})
    with pytest.raises(ManifestError):
        create_invoker(broken, InvokerSettings())


async def test_an_answer_quoting_a_held_secret_has_it_taken_out(upstream: GrpcUpstream) -> None:
    manifest = build(upstream)
    invoker = create_invoker(manifest, InvokerSettings())
    record = {**EVERY_TYPE_RECORD, "name": "records/sesame-key-123", "labels": {"sesame-key-123": "x"}}
    invocation = Invocation(
        server=manifest.name,
        tool="EveryType_PutRecord",
        binding=manifest.bindings.tools["EveryType_PutRecord"],
        arguments=record,
        deadline=anyio.current_time() + 10,
        redact=("sesame-key-123",),
    )
    outcome = await invoker.invoke(invocation)  # the upstream echoes the record, as a debug endpoint might
    await invoker.aclose()
    assert isinstance(outcome, JsonValue)
    assert outcome.value["name"] == "records/***"
    assert outcome.value["labels"] == {"***": "x"}
