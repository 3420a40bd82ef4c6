"""The router: every loaded virtual server behind one low-level MCP ``Server``.

Endpoints (an endpoint is what one MCP client connects to):

    /servers/<name>/mcp   one virtual server, its tools under their manifest names
    /mcp                  the aggregate: every server's tools, named ``<server>_<tool>``
    stdio                 the single loaded server, or the aggregate when several are loaded

Why one ``Server`` for all of them (the SDK's path-parameter routing, "Pattern C") rather than
one per virtual server: the tool tables are plain dictionaries built once at load, so adding a
server costs no session manager, no task group and no lifespan; the handler picks the endpoint
from the request's ``{server}`` path parameter. The price is that ``get_tool_input_schema``
receives only a tool name: it answers from the aggregate's globally unique names and from
per-server names that no other server uses, and ``None`` otherwise (the SDK then skips its
``Mcp-Param-*`` checks). Either way a call never re-runs ``tools/list``. It also answers ``None``
for a schema without ``x-mcp-header``, the only thing those checks look for: the SDK would
otherwise walk the whole input schema on every call (57 µs for Stripe's largest tool).

Everything an agent can see is precomputed at load: ``mcp`` ``Tool`` objects, the pages of each
tool list (stable order, each page's tools well under 1 MiB, the size clients accept), compiled
argument validators and result shapes. A call is a dictionary lookup, validation, credential
lookup, the invoker, and ``to_result``, wrapped in the per-call guard (STYLE 7): whatever a bug
raises becomes an ``internal_error`` result, is logged with the request id, and serving goes on.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import MCPError, types
from mcp.server import CacheHint, Server, ServerRequestContext
from starlette.requests import Request

from virtualize.errors import ManifestError
from virtualize.manifest.model import Manifest
from virtualize.runtime.access import ANONYMOUS, GRANT_SCOPE_KEY, Grant
from virtualize.runtime.arguments import ArgumentCheck
from virtualize.runtime.credentials import CredentialStore, ResolvedCredential
from virtualize.runtime.invokers import Binding, CallRecord, Invocation, Invoker, InvokerSettings
from virtualize.runtime.observability import CallEvent, Metrics, log_call
from virtualize.runtime.outcomes import Failure, Outcome, OutputCheck, ResultShape, to_result

logger = logging.getLogger(__name__)

#: Tool names, aggregate ones included, stay within what the strictest model clients accept.
NAME_LIMIT = 64
#: Bytes of serialized tools per ``tools/list`` page; the envelope adds little, clients cap at 1 MiB.
PAGE_BUDGET = 900_000
AGGREGATE = ""  # the aggregate endpoint's key
#: The schema annotation (SEP-2243) whose ``Mcp-Param-*`` headers the SDK checks against the arguments.
MCP_HEADER_KEY = '"x-mcp-header"'
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass(slots=True)
class VirtualServer:
    """One loaded manifest with what serving it needs (built by ``serve.load_servers``)."""

    manifest: Manifest
    invokers: Mapping[str, Invoker]  # by binding protocol
    credentials: CredentialStore
    settings: InvokerSettings

    @property
    def name(self) -> str:
        return self.manifest.name


@dataclass(frozen=True, slots=True)
class _Entry:
    """One tool as one endpoint exposes it."""

    server: VirtualServer
    tool: str  # manifest name
    binding: Binding
    invoker: Invoker
    check: ArgumentCheck
    shape: ResultShape


@dataclass(slots=True)
class _Endpoint:
    entries: dict[str, _Entry]  # exposed name -> entry, in list order
    tools: list[tuple[str, types.Tool, int]]  # (server, tool, serialized size), in list order
    pages: dict[frozenset[str] | None, list[list[types.Tool]]] = field(default_factory=dict)

    def pages_for(self, servers: frozenset[str] | None) -> list[list[types.Tool]]:
        """Pages of the tools visible to a grant (cached per distinct grant: a handful at most)."""
        cached = self.pages.get(servers)
        if cached is None:
            visible = [(tool, size) for server, tool, size in self.tools if servers is None or server in servers]
            cached = self.pages[servers] = paginate(visible)
        return cached


def paginate(tools: Sequence[tuple[types.Tool, int]], budget: int = PAGE_BUDGET) -> list[list[types.Tool]]:
    """Split tools, in order, into pages whose serialized tools fit ``budget`` bytes.

    A tool larger than the budget on its own gets a page of its own (the compiler bounds schema
    sizes, so this is a safety net). There is always at least one page, maybe empty.
    """
    pages: list[list[types.Tool]] = [[]]
    used = 0
    for tool, size in tools:
        if pages[-1] and used + size > budget:
            pages.append([])
            used = 0
        pages[-1].append(tool)
        used += size + 1
    return pages


def aggregate_names(pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Aggregate tool names: ``<server>_<tool>``, deterministic and collision-free within 64 chars.

    A name that would be too long, or that two (server, tool) pairs would share (``a_b`` + ``c``
    vs ``a`` + ``b_c``), is cut and given an 8-hex-digit digest of the pair instead, so it depends
    only on the loaded servers, never on load order.
    """
    plain = {pair: f"{_UNSAFE.sub('-', pair[0])}_{pair[1]}" for pair in pairs}
    uses = Counter(plain.values())
    names: dict[tuple[str, str], str] = {}
    for pair, name in plain.items():
        if len(name) <= NAME_LIMIT and uses[name] == 1:
            names[pair] = name
        else:
            digest = hashlib.sha256(f"{pair[0]}\0{pair[1]}".encode()).hexdigest()[:8]
            names[pair] = f"{name[: NAME_LIMIT - 9]}_{digest}"
    clashes = [name for name, count in Counter(names.values()).items() if count > 1]
    if clashes:
        raise ManifestError(f"aggregate tool names collide: {', '.join(sorted(clashes))}", hint="rename a server")
    return names


def _wire(tool: Any) -> tuple[dict[str, Any], int]:
    """The tool as ``tools/list`` sends it, and its serialized size (computed once per tool)."""
    wire: dict[str, Any] = tool.model_dump(by_alias=True, exclude_none=True, mode="json")
    return wire, len(json.dumps(wire, separators=(",", ":")).encode("utf-8"))


def _version() -> str:
    try:
        return importlib.metadata.version("virtualize")
    except importlib.metadata.PackageNotFoundError:
        return "0"


class Router:
    """Tool tables of every endpoint, and the MCP ``Server`` that serves them."""

    def __init__(self, servers: Sequence[VirtualServer], metrics: Metrics | None = None) -> None:
        names = [s.name for s in servers]
        if len(set(names)) != len(names):
            twice = sorted(n for n, c in Counter(names).items() if c > 1)
            raise ManifestError(f"two manifests define server {', '.join(twice)}", hint="serve each name once")
        self.servers = {s.name: s for s in sorted(servers, key=lambda s: s.name)}
        self.metrics = metrics or Metrics()
        self.endpoints: dict[str, _Endpoint] = {}
        self._build()
        self.default_endpoint = next(iter(self.servers)) if len(self.servers) == 1 else AGGREGATE
        self._schemas = self._schema_lookup()

    # -- load ------------------------------------------------------------------------------

    def _build(self) -> None:
        pairs = [(name, tool.name) for name, server in self.servers.items() for tool in server.manifest.tools]
        aggregate_name = aggregate_names(pairs)
        aggregate = _Endpoint({}, [])
        for name, server in self.servers.items():
            own = _Endpoint({}, [])
            bindings = server.manifest.bindings.tools
            for tool in server.manifest.tools:
                wire, size = _wire(tool)
                binding = bindings.get(tool.name)
                if binding is None:
                    raise ManifestError(f"tool {tool.name!r} has no binding", location=name, hint="rebuild it")
                check = ArgumentCheck(tool.input_schema, binding.fixed)
                output_check = OutputCheck(tool.output_schema) if tool.output_schema is not None else None
                invoker = server.invokers[binding.protocol]
                for endpoint, exposed in ((own, tool.name), (aggregate, aggregate_name[(name, tool.name)])):
                    shape = ResultShape(
                        tool=exposed,
                        has_output_schema=tool.output_schema is not None,
                        output_check=output_check,
                        wraps_result=getattr(binding, "wraps_result", False),
                        max_bytes=server.settings.max_response_bytes,
                    )
                    endpoint.entries[exposed] = _Entry(server, tool.name, binding, invoker, check, shape)
                    mcp_tool = types.Tool.model_validate({**wire, "name": exposed})
                    endpoint.tools.append((name, mcp_tool, size + len(exposed) - len(tool.name)))
            self.endpoints[name] = own
            self.metrics.loaded(name, len(own.entries))
        self.endpoints[AGGREGATE] = aggregate

    def _schema_lookup(self) -> dict[str, Mapping[str, Any]]:
        """Exposed name -> input schema, for names that mean one tool on every endpoint."""
        owners: dict[str, set[tuple[str, str]]] = {}
        schemas: dict[str, Mapping[str, Any]] = {}
        annotated: dict[int, bool] = {}  # by schema identity: a tool's check serves both its endpoints
        for endpoint in self.endpoints.values():
            for exposed, entry in endpoint.entries.items():
                owners.setdefault(exposed, set()).add((entry.server.name, entry.tool))
                schema = schemas[exposed] = entry.check.schema
                if id(schema) not in annotated:
                    annotated[id(schema)] = MCP_HEADER_KEY in json.dumps(schema)
        # A name two tools answer to is ambiguous without the request's path: answer None.
        return {name: schema for name, schema in schemas.items() if len(owners[name]) == 1 and annotated[id(schema)]}

    def tool_input_schema(self, name: str) -> Mapping[str, Any] | None:
        return self._schemas.get(name)

    @property
    def tool_count(self) -> int:
        return sum(len(self.endpoints[name].entries) for name in self.servers)

    # -- MCP -------------------------------------------------------------------------------

    def mcp_server(self, *, private_lists: bool = False) -> Server[Any]:
        server: Server[Any] = Server(
            "virtualize",
            version=_version(),
            instructions="Tools generated by virtualize from API descriptions; see each tool's description.",
            # The lists change only on restart; a gateway with client keys filters them per client.
            cache_hints={"tools/list": CacheHint(ttl_ms=60_000, scope="private" if private_lists else "public")},
            get_tool_input_schema=self.tool_input_schema,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
        )
        if importlib.util.find_spec("opentelemetry.sdk") is None:
            # The SDK's default OpenTelemetry middleware opens a span per message; without an
            # OpenTelemetry SDK installed nothing records it, so it is pure per-call cost.
            # (Matched by name: the class lives in a private SDK module; the list is the documented opt-out.)
            server.middleware = [m for m in server.middleware if type(m).__name__ != "OpenTelemetryMiddleware"]
        return server

    def _endpoint(self, ctx: ServerRequestContext[Any]) -> tuple[_Endpoint, Grant, Request | None]:
        request = ctx.request if isinstance(ctx.request, Request) else None
        if request is None:
            return self.endpoints[self.default_endpoint], ANONYMOUS, None
        key = request.path_params.get("server", AGGREGATE)
        return self.endpoints[key], request.scope.get(GRANT_SCOPE_KEY, ANONYMOUS), request

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        endpoint, grant, _ = self._endpoint(ctx)
        pages = endpoint.pages_for(grant.servers)
        cursor = params.cursor if params is not None else None
        index = 0
        if cursor is not None:
            # ASCII digits only, and few: "²" is a digit to str.isdigit, and int() of 5,000 digits raises.
            if not (cursor.isascii() and cursor.isdigit() and len(cursor) < 10 and 0 < int(cursor) < len(pages)):
                raise MCPError(types.INVALID_PARAMS, f"Invalid cursor: {cursor[:40]!r}")
            index = int(cursor)
        next_cursor = str(index + 1) if index + 1 < len(pages) else None
        return types.ListToolsResult(tools=pages[index], next_cursor=next_cursor)

    async def call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        endpoint, grant, request = self._endpoint(ctx)
        entry = endpoint.entries.get(params.name)
        if entry is None or not grant.allows(entry.server.name):
            # A protocol error, as MCP "Error Handling" asks; tools a client may not use look absent.
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
        inbound_id = request.headers.get("x-request-id") if request is not None else None
        request_id = inbound_id if inbound_id and _REQUEST_ID.match(inbound_id) else secrets.token_hex(16)
        record = CallRecord()
        started = time.perf_counter()
        try:  # the per-call guard: one place where a bug becomes a result instead of a dead call
            outcome = await self._invoke(entry, params.arguments, grant, request_id, record)
            result = to_result(outcome, entry.shape)
        except anyio.get_cancelled_exc_class():
            # The client went away (HTTP) or cancelled (stdio): no answer is owed, but the call is counted.
            self._account(entry, "cancelled", record.status, started=started, request_id=request_id, record=record)
            raise
        except Exception:
            logger.exception("bug while calling %s/%s (request %s)", entry.server.name, entry.tool, request_id)
            outcome = Failure(
                "internal_error",
                f"virtualize failed while handling this call; it was logged under request id {request_id}.",
            )
            result = to_result(outcome, entry.shape)
        status = record.status if record.status is not None else getattr(outcome, "status", None)
        category = outcome.category if isinstance(outcome, Failure) else "ok"
        self._account(entry, category, status, started=started, request_id=request_id, record=record)
        return result

    def _account(
        self,
        entry: _Entry,
        category: str,
        status: int | str | None,
        *,
        started: float,
        request_id: str,
        record: CallRecord,
    ) -> None:
        """The call's metrics and its one log line."""
        event = CallEvent(
            server=entry.server.name,
            tool=entry.tool,
            category=category,
            status=status,
            seconds=time.perf_counter() - started,
            request_id=request_id,
            attempts=record.attempts,
        )
        self.metrics.record(event)
        log_call(event)

    async def _invoke(
        self,
        entry: _Entry,
        arguments: Mapping[str, Any] | None,
        grant: Grant,
        request_id: str,
        record: CallRecord,
    ) -> Outcome:
        checked = entry.check.check(arguments)
        if isinstance(checked, Failure):
            return checked
        store = entry.server.credentials
        security = entry.binding.security
        # One deadline for the whole call. Each step that waits keeps to it on its own (an OAuth2
        # token fetch, which a token endpoint that hangs or drips its answer would otherwise hold;
        # the invoker, as its contract says), so the common call opens no cancel scope here.
        deadline = anyio.current_time() + entry.server.settings.timeout
        credentials = await store.resolve(security, grant.caller_token, deadline=deadline)
        if isinstance(credentials, Failure):
            return credentials

        # Shared with refresh() by the call, not reached through it: a closure over the call would
        # make a reference cycle that keeps every call's arguments alive until the cycle collector.
        redaction = list(store.forms(credentials)) if credentials else []
        refresh_failed: list[Failure] = []

        async def refresh() -> tuple[ResolvedCredential, ...] | None:
            if not await store.refresh(credentials):
                return None
            fresh = await store.resolve(security, grant.caller_token, deadline=deadline)
            if isinstance(fresh, Failure):  # the token endpoint timed out or refused: that is the news
                refresh_failed.append(fresh)
                return None
            redaction[:] = store.forms(fresh)  # the answer to the retry may quote the fresh token
            return fresh

        call = Invocation(
            server=entry.server.name,
            tool=entry.tool,
            binding=entry.binding,
            arguments=checked,
            credentials=credentials,
            deadline=deadline,
            request_id=request_id,
            refresh_credentials=refresh if credentials else None,
            record=record,
            redact=redaction,
        )
        outcome = await entry.invoker.invoke(call)
        if isinstance(outcome, Failure):
            return store.scrub(refresh_failed[0] if refresh_failed else outcome, credentials)
        return outcome

    async def aclose(self) -> None:
        for server in self.servers.values():
            for invoker in server.invokers.values():
                await invoker.aclose()
            await server.credentials.aclose()
