"""Service methods to ``ir.Operation``: one operation per RPC method.

- Arguments: a unary or server-streaming method takes its request message's fields as top-level
  arguments (``Location.FIELD``, named by ``json_name``); a client- or bidi-streaming method takes
  one ``messages`` array of request messages (an MCP tool input must be an object).
- Result: the response message; a server- or bidi-streaming method returns
  ``{"messages": [...], "truncated": bool}``.
- Semantics from ``idempotency_level`` (descriptor.proto ``MethodOptions``): NO_SIDE_EFFECTS is
  read-only, IDEMPOTENT idempotent; AIP-135 ``Delete*`` methods are destructive.
"""

from __future__ import annotations

from google.protobuf import descriptor_pool
from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor

from virtualize import ir
from virtualize.adapters.grpc.elements import Element
from virtualize.adapters.grpc.messages import MessageSchemas
from virtualize.adapters.grpc.options import method_options

STREAM_ARGUMENT = "messages"  # the input of client/bidi streaming, the output of server/bidi streaming
TRUNCATED = "truncated"


def service_operations(
    service: ServiceDescriptor,
    *,
    pool: descriptor_pool.DescriptorPool,
    schemas: MessageSchemas,
    target: str,
    tls: bool,
    security: tuple[tuple[ir.SecurityUse, ...], ...],
) -> list[ir.Operation]:
    return [
        _operation(method, pool=pool, schemas=schemas, target=target, tls=tls, security=security)
        for method in service.methods
    ]


def _operation(
    method: MethodDescriptor,
    *,
    pool: descriptor_pool.DescriptorPool,
    schemas: MessageSchemas,
    target: str,
    tls: bool,
    security: tuple[tuple[ir.SecurityUse, ...], ...],
) -> ir.Operation:
    service = method.containing_service
    element = schemas.elements.get(method.full_name) or Element(file="")
    options = method_options(element.options, pool)
    full_method = f"/{service.full_name}/{method.name}"
    request, response = method.input_type, method.output_type
    if method.client_streaming:
        arguments: tuple[ir.Argument, ...] = (
            ir.Argument(
                name=STREAM_ARGUMENT,
                location=ir.Location.BODY,
                schema_={
                    "type": "array",
                    "items": schemas.reference(request),
                    "description": f"the {request.name} messages to stream to the server, in order",
                },
                required=True,
                pointer=full_method,
            ),
        )
    else:
        arguments = _field_arguments(request, schemas, full_method)
    result = schemas.object_schema(response)
    if method.server_streaming:
        result = {
            "type": "object",
            "properties": {
                STREAM_ARGUMENT: {
                    "type": "array",
                    "items": schemas.reference(response),
                    "description": f"the {response.name} messages the server streamed, in order",
                },
                TRUNCATED: {
                    "type": "boolean",
                    "description": "true when the stream was cut at the configured message count or size",
                },
            },
        }
    read_only = options.idempotency == "NO_SIDE_EFFECTS"
    return ir.Operation(
        key=full_method,
        name_candidates=(f"{service.name}_{method.name}", f"{service.full_name}_{method.name}".replace(".", "_")),
        description=element.comment,
        tags=(service.full_name,),
        deprecated=options.deprecated,
        arguments=arguments,
        result=result,
        call=ir.GrpcCall(
            target=target,
            full_method=full_method,
            input_type=request.full_name,
            output_type=response.full_name,
            client_streaming=method.client_streaming,
            server_streaming=method.server_streaming,
            tls=tls,
            http_rule=options.http_rule,
        ),
        security=security,
        semantics=ir.Semantics(
            read_only=read_only,
            idempotent=read_only or options.idempotency == "IDEMPOTENT",
            destructive=not read_only and method.name.startswith("Delete"),
        ),
        pointer=f"{element.file}:{element.line}" if element.line else element.file,
    )


def _field_arguments(request: Descriptor, schemas: MessageSchemas, full_method: str) -> tuple[ir.Argument, ...]:
    """The request message's fields, by json_name, plus the original names of optional fields."""
    body = schemas.object_schema(request)
    required = set(body.get("required", ()))
    if "properties" not in body:
        # A well-known type as the whole request (e.g. google.protobuf.Struct): one argument.
        return (
            ir.Argument(name="request", location=ir.Location.BODY, schema_=body, required=True, pointer=full_method),
        )
    arguments = []
    for name, schema in body["properties"].items():
        if schema.get("readOnly"):
            continue  # OUTPUT_ONLY: the server sets it; the passes drop it from nested messages alike
        arguments.append(
            ir.Argument(
                name=name,
                location=ir.Location.FIELD,
                schema_={key: value for key, value in schema.items() if key != "description"},
                required=name in required,
                description=schema.get("description", ""),
                deprecated=bool(schema.get("deprecated", False)),
                pointer=f"{full_method}#{name}",
            )
        )
    return tuple(arguments)
