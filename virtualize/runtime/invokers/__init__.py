"""Invokers: one per binding protocol, each turning an ``Invocation`` into an ``Outcome``.

How to write one (GraphQL, gRPC): a module ``virtualize.runtime.invokers.<protocol>`` that defines

    def create_invoker(manifest: Manifest, settings: InvokerSettings) -> Invoker

called once per virtual server at start-up (precompute per-tool plans there: documents, message
classes, URL parts; open the pooled client/channel lazily or here), and an ``Invoker`` class with

    async def invoke(self, call: Invocation) -> Outcome
    async def aclose(self) -> None

Rules every invoker follows:
- Never raise for an upstream problem: return a ``Failure`` in the normalized taxonomy
  (``virtualize.runtime.outcomes``). A raised exception is a bug; the router's per-call guard turns
  it into ``internal_error`` and logs it.
- ``call.arguments`` are already validated against the tool's ``inputSchema`` and have the
  binding's ``fixed`` values merged in. Only checks the schema cannot express remain (e.g. a
  gRPC oneof set twice -> ``invalid_arguments`` with the argument path in ``details``).
- Apply ``call.credentials`` (``ResolvedCredential``: placement header/query/cookie/metadata).
  On an upstream "unauthenticated" answer (HTTP 401, gRPC UNAUTHENTICATED, GraphQL
  UNAUTHENTICATED), if ``call.refresh_credentials`` is set, await it once: it returns fresh
  credentials (OAuth2 token re-fetched) or ``None`` when nothing can change; retry once with them.
- Respect ``call.deadline`` (``anyio.current_time()`` seconds): give up with ``timeout`` after it.
- Honour ``settings.max_response_bytes`` while reading (stop reading past it) and return
  ``TextValue``/``BinaryValue`` with ``truncated=True``; ``to_result`` adds the marker.
- Log nothing secret. The router writes the one structured line per call: set
  ``call.record.status`` to the upstream status/code (and ``call.record.attempts``).
"""

from __future__ import annotations

import functools
import importlib
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import certifi

from virtualize.errors import ConfigError
from virtualize.manifest.model import GraphQLBinding, GrpcBinding, HttpBinding, Manifest
from virtualize.runtime.credentials import ResolvedCredential
from virtualize.runtime.outcomes import DEFAULT_MAX_BYTES, Outcome

if TYPE_CHECKING:
    import httpx

Binding = HttpBinding | GraphQLBinding | GrpcBinding


@dataclass(slots=True)
class CallRecord:
    """What the invoker learned, for the router's log line and metrics (mutable on purpose)."""

    status: int | str | None = None  # upstream HTTP status / GraphQL code / gRPC status name
    attempts: int = 0


@dataclass(slots=True)  # not frozen: built per call (see outcomes.JsonValue)
class Invocation:
    """One tool call, ready for the upstream.

    ``tool`` is the manifest's tool name (never the aggregate endpoint's prefixed name);
    ``arguments`` are validated, with ``binding.fixed`` merged in; ``credentials`` are those of the
    first satisfiable security alternative of ``binding.security`` (empty when none is required);
    ``deadline`` is absolute, in ``anyio.current_time()`` seconds; ``redact`` are the secrets (in
    every form an upstream could quote them) to take out of any text the answer carries, read
    when the answer is: ``refresh_credentials`` adds a fresh token's forms to them.
    """

    server: str
    tool: str
    binding: Binding
    arguments: Mapping[str, Any]
    credentials: tuple[ResolvedCredential, ...] = ()
    deadline: float = float("inf")
    request_id: str = ""
    refresh_credentials: Callable[[], Awaitable[tuple[ResolvedCredential, ...] | None]] | None = None
    record: CallRecord = field(default_factory=CallRecord)
    redact: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class InvokerSettings:
    """Per-server settings from the command line and the serve configuration.

    ``base_url`` replaces the binding's server/endpoint/target URL (``--upstream NAME=URL``).
    ``http_transport`` / ``grpc_channel`` are injected by tests (``httpx.MockTransport``) and shared
    pools; when given, the invoker must not close them.
    """

    base_url: str | None = None
    connect_timeout: float = 5.0
    timeout: float = 30.0  # whole call, also the default deadline
    max_response_bytes: int = DEFAULT_MAX_BYTES
    http2: bool = False
    retries: int = 2
    ca_file: str | None = None  # PEM bundle of the CAs TLS upstreams are checked against (None: the default)
    max_stream_messages: int = 100  # gRPC server streams are cut after this many messages
    max_retry_after: float = 10.0  # never wait longer than this for a Retry-After
    http_transport: httpx.AsyncBaseTransport | None = None
    grpc_channel: Any = None

    def tls_verify(self, *, http1_only: bool = False) -> ssl.SSLContext:
        """What a TLS upstream's certificate is checked against: ``ca_file`` when set, else
        certifi's bundle (httpx's default, so both HTTP/1.1 and HTTP/2 pools trust the same CAs).
        ``http1_only``: a context that offers only HTTP/1.1 in ALPN, for aiohttp."""
        return _tls_context(self.ca_file, http1_only=http1_only)


@functools.cache
def _tls_context(ca_file: str | None, *, http1_only: bool) -> ssl.SSLContext:
    # Shared by every pool of its kind (loading certifi's bundle takes ~20 ms). The kinds are kept
    # apart because httpcore sets ALPN on a context before each connection it makes, h2 included,
    # and aiohttp leaves a given context's ALPN alone: sharing one, an HTTP/1.1 pool would offer h2
    # once an HTTP/2 pool had connected, and fail on every upstream that accepted it.
    context = ssl.create_default_context(cafile=ca_file or certifi.where())
    if http1_only:
        context.set_alpn_protocols(["http/1.1"])
    return context


class Invoker(Protocol):
    async def invoke(self, call: Invocation) -> Outcome:
        """Make the upstream call; return a success value or a ``Failure``, never raise."""
        ...

    async def aclose(self) -> None:
        """Close what the invoker opened (not injected clients)."""
        ...


class InvokerFactory(Protocol):
    def __call__(self, manifest: Manifest, settings: InvokerSettings) -> Invoker: ...


_MODULES: Mapping[str, str] = {
    "http": "virtualize.runtime.invokers.http",
    "graphql": "virtualize.runtime.invokers.graphql",
    "grpc": "virtualize.runtime.invokers.grpc",
}
_EXTRAS: Mapping[str, str] = {"grpc": "pip install 'virtualize[grpc]'"}


def invoker_for(protocol: str) -> InvokerFactory:
    """The ``create_invoker`` of a protocol's module, imported lazily (optional families).

    Raises ``ConfigError`` (a start-up error naming the protocol and the fix), not ImportError.
    """
    module_name = _MODULES.get(protocol)
    if module_name is None:
        raise ConfigError(f"no invoker for protocol {protocol!r}", hint="rebuild the manifest with this virtualize")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"the {protocol} invoker is not available: {exc}",
            hint=_EXTRAS.get(protocol, "reinstall virtualize"),
        ) from None
    factory: InvokerFactory | None = getattr(module, "create_invoker", None)
    if factory is None:
        raise ConfigError(f"the {protocol} invoker module has no create_invoker", hint="reinstall virtualize")
    return factory
