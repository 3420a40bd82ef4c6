"""The gRPC invoker: tool calls as RPCs over ``grpc.aio``, with messages built from the manifest.

No generated code: the manifest's base64 ``FileDescriptorSet`` (``bindings.descriptors``) is
loaded into a private descriptor pool once, and each tool's request/response classes come from
protobuf's ``message_factory``. Arguments are ProtoJSON (https://protobuf.dev/programming-guides/json/)
and go through ``json_format``, which accepts json_name and original field names and rejects
unknown fields by name.

Call shapes (the adapter's tool contract, ``virtualize.adapters.grpc.operations``):

    unary               fields as arguments               -> the response message
    server streaming    fields as arguments               -> {"messages": [...], "truncated": bool}
    client streaming    {"messages": [request, ...]}      -> the response message
    bidi streaming      {"messages": [request, ...]}      -> {"messages": [...], "truncated": bool}

A server stream is read until it ends, ``max_stream_messages`` messages arrived (serve configuration,
default 100) or the JSON text would pass ``max_response_bytes``; the
RPC is then cancelled and ``truncated`` is true. A stream still open at the deadline (a watch)
returns what arrived, also with ``truncated``.

The deadline is the sooner of ``settings.timeout`` and the call's own; cancelling the tool call
cancels the RPC. Credentials travel as metadata. An UNAUTHENTICATED answer is retried once with
refreshed credentials; an UNAVAILABLE one, for read-only or idempotent tools only, up to
``settings.retries`` times with jittered backoff inside the deadline.

Status codes map to the shared categories (https://grpc.github.io/grpc/core/md_doc_statuscodes.html),
and ``google.rpc.Status`` details in the ``grpc-status-details-bin`` trailer are read: BadRequest
field violations become argument paths, RetryInfo becomes ``retry_after``.
"""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import anyio
import grpc
import grpc.aio
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2

from virtualize.errors import ManifestError
from virtualize.manifest.model import GrpcBinding, Manifest, ToolAnnotations
from virtualize.runtime.credentials import ResolvedCredential, redact_value
from virtualize.runtime.invokers import Invocation, InvokerSettings
from virtualize.runtime.outcomes import Category, Failure, JsonValue, Outcome, compact_json, invalid_arguments

STREAM_FIELD = "messages"  # the adapter's name for a stream, in and out
TRUNCATED_FIELD = "truncated"
BACKOFF_BASE = 0.1  # seconds before the first retry of an UNAVAILABLE idempotent call; doubles
BACKOFF_CAP = 2.0
_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_STREAM_ENVELOPE_BYTES = len('{"messages":[],"truncated":false}')
_TLS_PREFIXES = {"grpcs://": True, "https://": True, "grpc://": False, "http://": False}

# gRPC status -> (category, retryable override); None keeps the category's default.
_CATEGORIES: Mapping[str, tuple[Category, bool | None]] = {
    "CANCELLED": ("cancelled", None),
    "UNKNOWN": ("upstream_error", None),
    "INVALID_ARGUMENT": ("invalid_arguments", None),
    "DEADLINE_EXCEEDED": ("timeout", None),
    "NOT_FOUND": ("not_found", None),
    "ALREADY_EXISTS": ("conflict", None),
    "PERMISSION_DENIED": ("forbidden", None),
    "RESOURCE_EXHAUSTED": ("rate_limited", None),
    "FAILED_PRECONDITION": ("conflict", None),  # the system is not in a state to do it; retrying won't help
    "ABORTED": ("conflict", True),  # concurrency conflict: the spec says retry at a higher level
    "OUT_OF_RANGE": ("invalid_arguments", None),
    "UNIMPLEMENTED": ("unimplemented", None),
    "INTERNAL": ("upstream_error", False),  # an invariant broke upstream; the same call breaks it again
    "UNAVAILABLE": ("unavailable", True),
    "DATA_LOSS": ("upstream_error", False),
    "UNAUTHENTICATED": ("unauthorized", None),
}


@dataclass(frozen=True, slots=True)
class _Method:
    binding: GrpcBinding
    request: type[Message]
    response: type[Message]
    idempotent: bool  # read-only or idempotent by its annotations: safe to send again


class GrpcInvoker:
    """Calls the RPCs of one virtual server; channels are opened on first use, one per upstream."""

    def __init__(self, methods: Mapping[str, _Method], pool: descriptor_pool.DescriptorPool, settings: InvokerSettings):
        self._methods = methods
        self._pool = pool
        self._settings = settings
        self._channels: dict[tuple[str, bool], Any] = {}
        self._max_messages = settings.max_stream_messages

    async def invoke(self, call: Invocation) -> Outcome:
        method = self._methods.get(call.tool)
        if method is None or not isinstance(call.binding, GrpcBinding):
            return Failure("internal_error", f"tool {call.tool!r} has no gRPC method in this manifest")
        binding = method.binding
        requests = self._requests(method, call.arguments)
        if isinstance(requests, Failure):
            return requests
        channel = self._channel(binding)
        if isinstance(channel, Failure):
            return channel
        credentials = call.credentials
        refreshed = False
        retries = 0
        while True:
            call.record.attempts += 1
            outcome = await self._call(channel, method, requests, call, credentials)
            if isinstance(outcome, JsonValue):
                return replace(outcome, value=redact_value(outcome.value, call.redact)) if call.redact else outcome
            if outcome.status == "UNAUTHENTICATED" and call.refresh_credentials is not None and not refreshed:
                refreshed = True
                fresh = await call.refresh_credentials()
                if fresh is None:
                    return outcome
                credentials = fresh
                continue
            delay = self._retry_delay(method, outcome, retries, call.deadline)
            if delay is None:
                return outcome
            retries += 1
            await anyio.sleep(delay)

    def _retry_delay(self, method: _Method, failure: Failure, retries: int, deadline: float) -> float | None:
        """Backoff before retrying an idempotent call the upstream could not take (UNAVAILABLE), or None.

        Quota (RESOURCE_EXHAUSTED) is not retried here: the agent gets ``retry_after`` instead.
        """
        if failure.status != "UNAVAILABLE" or not method.idempotent or retries >= self._settings.retries:
            return None
        delay = min(BACKOFF_BASE * 2**retries, BACKOFF_CAP) * random.uniform(0.5, 1.0)
        return delay if anyio.current_time() + delay < deadline else None

    async def aclose(self) -> None:
        channels, self._channels = self._channels, {}
        for channel in channels.values():
            await channel.close()

    # -- arguments -> messages ---------------------------------------------------------------

    def _requests(self, method: _Method, arguments: Mapping[str, Any]) -> list[Message] | Failure:
        binding = method.binding
        descriptor = method.request.DESCRIPTOR
        if binding.client_streaming:
            items = arguments.get(STREAM_FIELD, [])
            if not isinstance(items, list):
                return invalid_arguments(f"{STREAM_FIELD} must be an array of {descriptor.name} messages")
            documents = [(f"/{STREAM_FIELD}/{index}", item) for index, item in enumerate(items)]
        else:
            documents = [("", _request_document(binding, arguments))]
        messages: list[Message] = []
        for path, document in documents:
            if not isinstance(document, dict):
                return invalid_arguments(
                    f"{path or '/'} must be an object", [{"path": path or "/", "message": "not an object"}]
                )
            violations = ambiguity_violations(descriptor, document, path)
            if violations:
                first = violations[0]
                return invalid_arguments(f"{first['path']}: {first['message']}", violations)
            message = method.request()
            try:
                json_format.ParseDict(document, message, descriptor_pool=self._pool)
            except json_format.ParseError as error:
                text = str(error).split("\n", 1)[0]
                return invalid_arguments(text, [{"path": path or "/", "message": text}])
            messages.append(message)
        return messages

    # -- the call ----------------------------------------------------------------------------

    def _channel(self, binding: GrpcBinding) -> Any:
        if self._settings.grpc_channel is not None:
            return self._settings.grpc_channel
        target, tls = upstream_address(self._settings.base_url or binding.target, binding.tls)
        if not target:
            return Failure(
                "unavailable",
                "this manifest names no gRPC upstream: rebuild it with --target HOST:PORT or serve with --upstream",
                retryable=False,
            )
        key = (target, tls)
        channel = self._channels.get(key)
        if channel is None:
            if tls:
                roots = Path(self._settings.ca_file).read_bytes() if self._settings.ca_file else None
                channel = grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=roots))
            else:
                channel = grpc.aio.insecure_channel(target)
            self._channels[key] = channel
        return channel

    async def _call(
        self,
        channel: Any,
        method: _Method,
        requests: list[Message],
        call: Invocation,
        credentials: tuple[ResolvedCredential, ...],
    ) -> JsonValue | Failure:
        binding = method.binding
        timeout = min(self._settings.timeout, call.deadline - anyio.current_time())
        if timeout <= 0:
            call.record.status = "DEADLINE_EXCEEDED"
            return Failure("timeout", "the call's deadline passed before the RPC started", status="DEADLINE_EXCEEDED")
        options: dict[str, Any] = {"timeout": timeout, "metadata": metadata(credentials)}
        serializers = {
            "request_serializer": _serialize,
            "response_deserializer": method.response.FromString,
        }
        rpc: Any = None
        try:
            if binding.client_streaming and binding.server_streaming:
                rpc = channel.stream_stream(binding.full_method, **serializers)(iter(requests), **options)
                outcome = await self._collect(rpc)
            elif binding.client_streaming:
                rpc = channel.stream_unary(binding.full_method, **serializers)(iter(requests), **options)
                outcome = JsonValue(self._json(await rpc))
            elif binding.server_streaming:
                rpc = channel.unary_stream(binding.full_method, **serializers)(requests[0], **options)
                outcome = await self._collect(rpc)
            else:
                rpc = channel.unary_unary(binding.full_method, **serializers)(requests[0], **options)
                outcome = JsonValue(self._json(await rpc))
        except grpc.aio.AioRpcError as error:
            call.record.status = error.code().name
            request = None if binding.client_streaming else method.request.DESCRIPTOR
            return status_failure(error.code().name, error.details() or "", error.trailing_metadata(), request)
        except json_format.Error as error:  # e.g. an Any whose type the descriptors lack
            call.record.status = "OK"
            return Failure("invalid_response", f"the upstream's answer has no JSON form: {error}", status="OK")
        except anyio.get_cancelled_exc_class():
            # The MCP request was cancelled (or its scope timed out): cancel the RPC too.
            if rpc is not None:
                rpc.cancel()
            raise
        call.record.status = "OK"
        return outcome

    async def _collect(self, rpc: Any) -> JsonValue:
        messages: list[Any] = []
        size = _STREAM_ENVELOPE_BYTES
        truncated = False
        stream: AsyncIterator[Message] = rpc.__aiter__()
        try:
            async for message in stream:
                value = self._json(message)
                size += len(compact_json(value).encode("utf-8")) + 1
                if len(messages) >= self._max_messages or size > self._settings.max_response_bytes:
                    truncated = True
                    rpc.cancel()
                    break
                messages.append(value)
        except grpc.aio.AioRpcError as error:
            # A stream that outlives the deadline (a watch) answers with what arrived until then.
            if error.code() is not grpc.StatusCode.DEADLINE_EXCEEDED or not messages:
                raise
            truncated = True
        return JsonValue({STREAM_FIELD: messages, TRUNCATED_FIELD: truncated})

    def _json(self, message: Message) -> dict[str, Any]:
        try:
            value: dict[str, Any] = json_format.MessageToDict(message, descriptor_pool=self._pool)
        except TypeError as error:  # how protobuf reports an Any of a type the descriptors lack
            raise json_format.SerializeToJsonError(str(error)) from None
        return value


def create_invoker(manifest: Manifest, settings: InvokerSettings) -> GrpcInvoker:
    """Rebuild the manifest's messages and plan every gRPC tool (once, at start-up)."""
    pool = descriptor_pool.DescriptorPool()
    if manifest.bindings.descriptors:
        add_files(pool, base64.b64decode(manifest.bindings.descriptors))
    methods: dict[str, _Method] = {}
    annotations = {tool.name: tool.annotations for tool in manifest.tools}
    for tool, binding in manifest.bindings.tools.items():
        if not isinstance(binding, GrpcBinding):
            continue
        try:
            request, response = (pool.FindMessageTypeByName(name) for name in (binding.input_type, binding.output_type))
        except KeyError as error:
            raise ManifestError(
                f"bindings.json: tool {tool!r} names a message the descriptors lack: {error}",
                hint="rebuild the manifest",
            ) from None
        methods[tool] = _Method(
            binding=binding,
            request=message_factory.GetMessageClass(request),
            response=message_factory.GetMessageClass(response),
            idempotent=_idempotent(annotations.get(tool)),
        )
    return GrpcInvoker(methods, pool, settings)


def _idempotent(annotations: ToolAnnotations | None) -> bool:
    return annotations is not None and bool(annotations.read_only_hint or annotations.idempotent_hint)


def add_files(pool: descriptor_pool.DescriptorPool, data: bytes) -> None:
    """Add a serialized FileDescriptorSet to ``pool``, each file after the files it imports."""
    try:
        files = {file.name: file for file in descriptor_pb2.FileDescriptorSet.FromString(data).file}
    except DecodeError:
        raise ManifestError(
            "bindings.json: descriptors is not a FileDescriptorSet", hint="rebuild the manifest"
        ) from None
    added: set[str] = set()

    def add(name: str) -> None:
        if name in added or name not in files:
            return
        added.add(name)
        for dependency in files[name].dependency:
            add(dependency)
        try:
            pool.Add(files[name])
        except (TypeError, ValueError) as error:
            raise ManifestError(
                f"bindings.json: descriptors of {name} are invalid: {error}", hint="rebuild it"
            ) from None

    for name in files:
        add(name)


def upstream_address(target: str, tls: bool) -> tuple[str, bool]:
    """``grpcs://host:port`` (or https) means TLS, ``grpc://`` (or http) plaintext, a bare address ``tls``."""
    for prefix, secure in _TLS_PREFIXES.items():
        if target.startswith(prefix):
            return target.removeprefix(prefix).rstrip("/"), secure
    return target, tls


def metadata(credentials: Sequence[ResolvedCredential]) -> tuple[tuple[str, str], ...]:
    """Credentials as request metadata: gRPC carries headers as lower-case metadata keys."""
    pairs: list[tuple[str, str]] = []
    for credential in credentials:
        if credential.placement == "cookie":
            pairs.append(("cookie", f"{credential.name}={credential.value}"))
        else:
            pairs.append((credential.name.lower(), credential.value))
    return tuple(pairs)


def _request_document(binding: GrpcBinding, arguments: Mapping[str, Any]) -> Any:
    document: dict[str, Any] = {}
    for argument in binding.arguments:
        if argument.argument not in arguments:
            continue
        value = arguments[argument.argument]
        if argument.location == "body":
            return value  # the whole request is this one argument (a well-known type)
        document[argument.name] = value
    return document


def ambiguity_violations(descriptor: Descriptor, document: Mapping[str, Any], path: str) -> list[dict[str, Any]]:
    """What ``document`` (and the messages it holds) sets twice: a oneof with more than one member
    set, and a field given under both its names (``anInt32`` and ``an_int32``).

    ``json_format`` rejects the first without saying where, and silently keeps the last of the
    second: this names the argument path of both.
    """
    violations: list[dict[str, Any]] = []
    fields = _fields_by_json_key(descriptor)
    spellings: dict[str, list[str]] = {}
    for key in document:
        if key in fields:
            spellings.setdefault(fields[key].full_name, []).append(key)
    for keys in spellings.values():
        if len(keys) > 1:
            message = f"give {' or '.join(keys)}, not both: they name the same field"
            violations.append({"path": path or "/", "message": message})
    for oneof in descriptor.oneofs:
        if len(oneof.fields) < 2:
            continue  # a proto3 `optional` field's synthetic oneof
        present = [key for key, value in document.items() if value is not None and fields.get(key) in oneof.fields]
        if len(present) > 1:
            violations.append(
                {
                    "path": path or "/",
                    "message": f"set at most one of {', '.join(present)} (oneof {oneof.name})",
                }
            )
    for key, value in document.items():
        field = fields.get(key)
        if field is None or field.type != FieldDescriptor.TYPE_MESSAGE or value is None:
            continue
        nested = field.message_type
        if nested.full_name.startswith("google.protobuf."):
            continue  # well-known types have their own JSON forms, and no oneof a caller sets
        child = f"{path}/{key}"
        if nested.GetOptions().map_entry:
            value_field = nested.fields_by_name["value"]
            if value_field.type == FieldDescriptor.TYPE_MESSAGE and isinstance(value, dict):
                for name, item in value.items():
                    if isinstance(item, dict):
                        violations.extend(ambiguity_violations(value_field.message_type, item, f"{child}/{name}"))
        elif field.is_repeated and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    violations.extend(ambiguity_violations(nested, item, f"{child}/{index}"))
        elif isinstance(value, dict):
            violations.extend(ambiguity_violations(nested, value, child))
    return violations


def _fields_by_json_key(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    fields: dict[str, FieldDescriptor] = {}
    for field in descriptor.fields:
        fields[field.name] = field
        fields[field.json_name] = field
    return fields


def status_failure(code: str, message: str, trailing: Any, request: Descriptor | None = None) -> Failure:
    """A gRPC status (and its ``google.rpc.Status`` details, when sent) as a normalized failure."""
    category, retryable = _CATEGORIES.get(code, ("upstream_error", None))
    details: list[dict[str, Any]] = []
    retry_after: float | None = None
    for item in _status_details(trailing):
        if item.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            item.Unpack(bad_request)
            details.extend(
                {"path": field_path(violation.field, request), "message": violation.description}
                for violation in bad_request.field_violations
            )
        elif item.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry_info = error_details_pb2.RetryInfo()
            item.Unpack(retry_info)
            retry_after = retry_info.retry_delay.ToTimedelta().total_seconds()
        else:
            details.append(_detail(item))
    sentence = _SENTENCES.get(category, "the upstream call failed")
    return Failure(
        category,
        f"{sentence} ({code})",
        status=code,
        upstream_message=message or None,
        retry_after=retry_after,
        details=tuple(details),
        retryable=retryable,
    )


_SENTENCES: Mapping[Category, str] = {
    "invalid_arguments": "the upstream rejected the arguments",
    "unauthorized": "the upstream did not accept the credentials",
    "forbidden": "the credentials do not allow this call",
    "not_found": "the upstream found nothing by that name",
    "conflict": "the upstream refused the change in its current state",
    "rate_limited": "the upstream's quota or rate limit is exhausted",
    "timeout": "the deadline passed before the upstream answered",
    "unavailable": "the upstream is unavailable",
    "unimplemented": "the upstream does not implement this method",
    "cancelled": "the call was cancelled",
}


_ERROR_DETAILS: Mapping[str, Descriptor] = {
    descriptor.full_name: descriptor for descriptor in error_details_pb2.DESCRIPTOR.message_types_by_name.values()
}


def _status_details(trailing: Any) -> list[Any]:
    for key, value in trailing or ():
        if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                return list(status_pb2.Status.FromString(value).details)
            except DecodeError:
                return []
    return []


def _detail(item: Any) -> dict[str, Any]:
    """A detail other than BadRequest/RetryInfo: its JSON when the type is a google.rpc one."""
    name = item.TypeName()
    descriptor = _ERROR_DETAILS.get(name)
    if descriptor is None:
        return {"type": name, "message": f"a {name} detail"}
    message = message_factory.GetMessageClass(descriptor)()
    item.Unpack(message)
    value = json_format.MessageToDict(message)
    text = value.get("reason") or value.get("description") or value.get("message") or name
    return {"type": name, "message": str(text), "value": value}


def field_path(field: str, request: Descriptor | None = None) -> str:
    """A BadRequest ``field`` ("book.page_count[0]", AIP-193) as an argument path ("/book/pageCount/0").

    Field names are given as the tool names them (json_name) when ``request`` knows them.
    """
    parts: list[str] = []
    current = request
    for segment in field.split("."):
        name, _, rest = segment.partition("[")
        if name:
            known = _fields_by_json_key(current).get(name) if current is not None else None
            parts.append(known.json_name if known is not None else name)
            current = known.message_type if known is not None and known.type == FieldDescriptor.TYPE_MESSAGE else None
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(index.strip("\"'"))
            rest = rest.removeprefix("[")
    return "/" + "/".join(parts) if parts else "/"


def _serialize(message: Message) -> bytes:
    data: bytes = message.SerializeToString()
    return data
