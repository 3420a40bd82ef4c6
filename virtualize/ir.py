"""The intermediate representation: a protocol-neutral list of operations.

Adapters produce an ``Api``; compiler passes read it and lower it into a manifest. These are
frozen data with no behaviour. Schemas are JSON Schema 2020-12 dictionaries whose only
references are local ``#/$defs/<name>`` pointers into ``Api.defs``: adapters convert their
dialect (OpenAPI 3.0 ``nullable``, Swagger 2.0 types, GraphQL and proto types) and localize
every reference before the IR is built, so no pass ever sees a foreign dialect or file.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JsonSchema = dict[str, Any]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")


class Location(StrEnum):
    """Where an argument travels in the upstream call."""

    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    COOKIE = "cookie"
    BODY = "body"  # the whole request body is this one argument
    BODY_FIELD = "body_field"  # one top-level property of an object request body
    VARIABLE = "variable"  # a GraphQL operation variable
    FIELD = "field"  # a top-level field of a gRPC request message


class Serialization(_Frozen):
    """How a parameter value is written (OpenAPI 3.1 §4.8.12.4 style values)."""

    style: str | None = None
    explode: bool | None = None
    allow_reserved: bool = False
    content_type: str | None = None  # a parameter declared with `content` instead of `schema`


class Argument(_Frozen):
    name: str  # the name on the wire at its location (parameter name, body property, variable)
    location: Location
    schema_: JsonSchema = Field(alias="schema")
    required: bool = False
    description: str = ""
    deprecated: bool = False
    serialization: Serialization | None = None
    pointer: str = ""  # where the argument is declared in the descriptor


class Encoding(_Frozen):
    """Per-property encoding of a form or multipart body (OpenAPI Encoding Object)."""

    content_type: str | None = None
    style: str | None = None
    explode: bool | None = None
    allow_reserved: bool = False


class Body(_Frozen):
    media_type: str
    schema_: JsonSchema = Field(alias="schema")
    required: bool = False
    description: str = ""
    encoding: dict[str, Encoding] = {}
    pointer: str = ""


class Response(_Frozen):
    status: str  # "200", "2XX", "default"
    media_type: str | None = None
    schema_: JsonSchema | None = Field(default=None, alias="schema")
    description: str = ""


class ServerVariable(_Frozen):
    default: str
    enum: tuple[str, ...] = ()
    description: str = ""


class Server(_Frozen):
    url: str
    variables: dict[str, ServerVariable] = {}
    description: str = ""


class HttpCall(_Frozen):
    protocol: Literal["http"] = "http"
    method: str  # upper case
    path: str  # template with {name} placeholders, as declared
    servers: tuple[Server, ...] = ()
    body: Body | None = None
    responses: tuple[Response, ...] = ()  # success responses first, then the rest, as declared


class GraphQLCall(_Frozen):
    protocol: Literal["graphql"] = "graphql"
    endpoint: str
    document: str
    operation_name: str
    operation_type: Literal["query", "mutation"]


class GrpcCall(_Frozen):
    protocol: Literal["grpc"] = "grpc"
    target: str
    full_method: str  # "/package.Service/Method"
    input_type: str  # fully qualified message names
    output_type: str
    client_streaming: bool = False
    server_streaming: bool = False
    tls: bool = False
    http_rule: dict[str, Any] | None = None  # google.api.http, recorded for reviewers


Call = Annotated[HttpCall | GraphQLCall | GrpcCall, Field(discriminator="protocol")]


class SecurityUse(_Frozen):
    scheme: str
    scopes: tuple[str, ...] = ()


class SchemeKind(StrEnum):
    API_KEY = "api_key"
    HTTP_BEARER = "http_bearer"
    HTTP_BASIC = "http_basic"
    OAUTH2_CLIENT_CREDENTIALS = "oauth2_client_credentials"
    OAUTH2_TOKEN = "oauth2_token"  # other OAuth2 flows / OpenID Connect: an access token is supplied
    GRPC_METADATA = "grpc_metadata"


class SecurityScheme(_Frozen):
    name: str
    kind: SchemeKind
    in_: Literal["header", "query", "cookie"] | None = Field(default=None, alias="in")
    parameter: str | None = None  # header / query / cookie / metadata key name
    token_url: str | None = None
    scopes: tuple[str, ...] = ()
    description: str = ""
    pointer: str = ""


class Semantics(_Frozen):
    """What the operation does, for annotations; adapters decide from the protocol's own signals."""

    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True


class Operation(_Frozen):
    key: str  # stable identity, e.g. "GET /pets/{petId}", "Query.hero", "/pkg.Svc/Method"
    name_candidates: tuple[str, ...]  # in order of preference (operationId, else method+path, ...)
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    deprecated: bool = False
    arguments: tuple[Argument, ...] = ()
    result: JsonSchema | None = None  # schema of the success result, if any
    call: Call
    security: tuple[tuple[SecurityUse, ...], ...] = ()  # alternatives; () means none required
    semantics: Semantics = Semantics()
    pointer: str = ""


class Api(_Frozen):
    """Everything an adapter learned from one descriptor."""

    family: Literal["openapi", "graphql", "grpc"]
    format: str  # e.g. "OpenAPI 3.0.3", "Swagger 2.0", "GraphQL SDL", "proto3"
    title: str = ""
    version: str = ""
    description: str = ""
    operations: tuple[Operation, ...] = ()
    security_schemes: dict[str, SecurityScheme] = {}
    defs: dict[str, JsonSchema] = {}  # shared schemas, referenced as "#/$defs/<name>"
    descriptors: str | None = None  # gRPC: base64 FileDescriptorSet needed at run time
    # Every other local file the descriptor pulled in (multi-file $refs): the manifest's source
    # hash covers them too, so editing a referenced file shows as a changed source.
    includes: tuple[str, ...] = ()
