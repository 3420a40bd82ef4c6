"""The manifest: the contract between compile time and run time.

A manifest folder ``generated/<name>/`` holds one file per part, so a review diff shows what
kind of change it is:

    manifest.json   the header: format version, compiler, source path and sha256, counts
    tools.json      exactly the tool list an MCP client receives, in the order it receives it
    bindings.json   for each tool, everything needed to make the upstream call
    auth.json       the auth-translation map: where each upstream credential goes and where it
                    is read from at run time (names of sources, never a secret)
    TOOLS.md        a review page for people (rendered from a template, not read back)

This module imports nothing of virtualize but errors: it is what the runtime depends on.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1

JsonSchema = dict[str, Any]
ArgumentLocation = Literal["path", "query", "header", "cookie", "body", "body_field", "variable", "field"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")


# -- manifest.json -------------------------------------------------------------------------


class Source(_Model):
    path: str  # relative to the project (the parent of the output folder), POSIX separators
    sha256: str
    format: str  # "OpenAPI 3.0.3", "Swagger 2.0", "GraphQL SDL", ...


class Counts(_Model):
    tools: int
    tool_list_bytes: int  # the serialized tools.json an agent receives
    tool_list_tokens: int  # estimated (bytes / 4, rounded up)
    skipped_operations: int = 0


class Header(_Model):
    format_version: int = FORMAT_VERSION
    compiler: str  # "virtualize <version>"
    name: str
    family: Literal["openapi", "graphql", "grpc"]
    title: str = ""
    api_version: str = ""
    source: Source
    counts: Counts
    regenerate: str  # the command that rebuilds this folder


# -- tools.json ------------------------------------------------------------------------------


class ToolAnnotations(_Model):
    title: str | None = None
    read_only_hint: bool | None = Field(default=None, alias="readOnlyHint")
    destructive_hint: bool | None = Field(default=None, alias="destructiveHint")
    idempotent_hint: bool | None = Field(default=None, alias="idempotentHint")
    open_world_hint: bool | None = Field(default=None, alias="openWorldHint")


class Tool(_Model):
    """An MCP ``Tool`` exactly as ``tools/list`` returns it (2026-07-28 and 2025-11-25)."""

    name: str
    title: str | None = None
    description: str = ""
    input_schema: JsonSchema = Field(alias="inputSchema")
    output_schema: JsonSchema | None = Field(default=None, alias="outputSchema")
    annotations: ToolAnnotations | None = None


# -- bindings.json ---------------------------------------------------------------------------


class ArgumentBinding(_Model):
    """One tool argument and where it goes upstream."""

    argument: str  # the property name in inputSchema (or of a pinned argument)
    location: ArgumentLocation
    name: str  # the name on the wire
    required: bool = False
    style: str | None = None
    explode: bool | None = None
    allow_reserved: bool = False
    content_type: str | None = None  # content-typed parameter, or the part's type in multipart


class ServerUrl(_Model):
    url: str  # may hold {variables}
    variables: dict[str, str] = {}  # name -> default value


class SecurityUse(_Model):
    scheme: str
    scopes: tuple[str, ...] = ()


class _BindingBase(_Model):
    arguments: tuple[ArgumentBinding, ...] = ()
    fixed: dict[str, Any] = {}  # argument values pinned by configuration, hidden from the agent
    security: tuple[tuple[SecurityUse, ...], ...] = ()  # alternatives; () means none required
    operation: str  # the source operation's key, for people and for diagnostics


class HttpBody(_Model):
    media_type: str
    required: bool = False
    argument: str | None = None  # the whole body is this argument (else: body_field arguments)


class HttpBinding(_BindingBase):
    protocol: Literal["http"] = "http"
    method: str
    path: str
    servers: tuple[ServerUrl, ...] = ()
    body: HttpBody | None = None
    success_media_types: tuple[str, ...] = ()
    error_media_types: tuple[str, ...] = ()  # of 4XX/5XX/default responses: how failures are read
    wraps_result: bool = False  # outputSchema wraps a non-object result under "result"


class GraphQLBinding(_BindingBase):
    protocol: Literal["graphql"] = "graphql"
    endpoint: str
    document: str
    operation_name: str
    operation_type: Literal["query", "mutation"]


class GrpcBinding(_BindingBase):
    protocol: Literal["grpc"] = "grpc"
    target: str
    full_method: str
    input_type: str
    output_type: str
    client_streaming: bool = False
    server_streaming: bool = False
    tls: bool = False
    http_rule: dict[str, Any] | None = None


Binding = Annotated[HttpBinding | GraphQLBinding | GrpcBinding, Field(discriminator="protocol")]


class Bindings(_Model):
    tools: dict[str, Binding]
    descriptors: str | None = None  # gRPC: base64 FileDescriptorSet the runtime builds messages from


# -- auth.json -------------------------------------------------------------------------------


class AuthScheme(_Model):
    kind: Literal[
        "api_key",
        "http_bearer",
        "http_basic",
        "oauth2_client_credentials",
        "oauth2_token",
        "grpc_metadata",
    ]
    in_: Literal["header", "query", "cookie"] | None = Field(default=None, alias="in")
    parameter: str | None = None
    token_url: str | None = None
    scopes: tuple[str, ...] = ()
    # role -> environment variable the credential is read from ("value", "token", "username",
    # "password", "client_id", "client_secret"); "<VAR>_FILE" names a file holding it instead.
    sources: dict[str, str]
    forward_caller: bool = False  # pass the MCP caller's own bearer token upstream (off by default)
    description: str = ""


class AuthMap(_Model):
    schemes: dict[str, AuthScheme] = {}


# -- the whole ------------------------------------------------------------------------------


class Manifest(_Model):
    """One virtual MCP server, as loaded from its folder."""

    manifest: Header
    tools: tuple[Tool, ...]
    bindings: Bindings
    auth: AuthMap

    @property
    def name(self) -> str:
        return self.manifest.name


FILES: dict[str, str] = {
    "manifest": "manifest.json",
    "tools": "tools.json",
    "bindings": "bindings.json",
    "auth": "auth.json",
}
REVIEW_PAGE = "TOOLS.md"
