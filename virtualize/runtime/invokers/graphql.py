"""The GraphQL invoker: tool calls as GraphQL-over-HTTP POSTs of the manifest's documents.

Each call POSTs ``{"query", "variables", "operationName"}`` as JSON through the server's pooled
transport (``http_transport``) (GraphQL over HTTP, https://graphql.github.io/graphql-over-http/). An
argument the caller left out is not sent, so the server applies the argument's default; an
explicit ``null`` is sent as ``null`` (GraphQL spec §6.4.1 CoerceArgumentValues tells them apart).

Variables are coerced the way GraphQL input coercion does (§3.5.5 ``ID``, §3.11 lists), because
agents send ``"id": 42`` for an ``ID`` and ``"tags": "a"`` for a ``[String]``, and ``1234.0`` for an
``Int``: the plan of each tool, read once from its document's variable definitions, converts them.

The answer:

    data, no errors              -> the data
    errors, data null or absent  -> a Failure; the category comes from ``extensions.code``
    errors and data, a query     -> the data, flagged partial, with the errors and their paths
    errors and data, a mutation  -> a Failure (some of it may have been written), data in details
    no GraphQL response          -> a Failure by HTTP status (or ``invalid_response``)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from graphql import (
    GraphQLSyntaxError,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    TypeNode,
    parse,
)

from virtualize.errors import ManifestError
from virtualize.manifest.model import GraphQLBinding, Manifest
from virtualize.runtime.credentials import ResolvedCredential, redact_sent
from virtualize.runtime.invokers import Invocation, InvokerSettings
from virtualize.runtime.invokers.http_responses import (
    parse_json,
    read_bounded,
    retry_after,
    status_category,
    transport_failure,
)
from virtualize.runtime.invokers.http_transport import USER_AGENT, USERINFO_HINT, Outgoing, Pool, upstream_pool
from virtualize.runtime.outcomes import Category, Failure, JsonValue, Outcome, TextValue, compact_json

ACCEPT = "application/graphql-response+json, application/json;q=0.9"
#: At most this many upstream errors are kept in a result (a broken list field can yield thousands).
MAX_ERRORS = 50
_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_BACKOFF = 0.2  # seconds before the first retry, doubled after each
_VARIABLE_ERROR = re.compile(r"^Variable [\"']\$")
_HIDDEN_EXTENSIONS = frozenset({"code", "exception", "stacktrace"})  # code is kept apart; the rest leak internals

# ``extensions.code`` values in use (Apollo Server, Hasura, Shopify, GitHub, graphql-java...) -> category.
# Codes are compared upper-cased with "-" and " " read as "_".
CODE_CATEGORIES: Mapping[str, Category] = {
    "BAD_USER_INPUT": "invalid_arguments",
    "BAD_REQUEST": "invalid_arguments",
    "INVALID_ARGUMENT": "invalid_arguments",
    "INVALID_INPUT": "invalid_arguments",
    "VALIDATION_FAILED": "invalid_arguments",
    "ARGUMENT_ERROR": "invalid_arguments",
    "UNAUTHENTICATED": "unauthorized",
    "UNAUTHORIZED": "unauthorized",
    "INVALID_JWT": "unauthorized",
    "FORBIDDEN": "forbidden",
    "ACCESS_DENIED": "forbidden",
    "PERMISSION_DENIED": "forbidden",
    "NOT_FOUND": "not_found",
    "CONFLICT": "conflict",
    "ALREADY_EXISTS": "conflict",
    "CONSTRAINT_VIOLATION": "conflict",
    "RATE_LIMITED": "rate_limited",
    "THROTTLED": "rate_limited",
    "TOO_MANY_REQUESTS": "rate_limited",
    "TIMEOUT": "timeout",
    "SERVICE_UNAVAILABLE": "unavailable",
    "UNAVAILABLE": "unavailable",
    # The document was checked against the schema at build time: if the server now rejects it,
    # its schema changed, which a retry does not fix (the hint says to rebuild).
    "GRAPHQL_PARSE_FAILED": "upstream_error",
    "GRAPHQL_VALIDATION_FAILED": "upstream_error",
    "INTERNAL_SERVER_ERROR": "upstream_error",
}
_NOT_RETRYABLE_CODES = frozenset({"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED"})


@dataclass(frozen=True, slots=True)
class _Variable:
    argument: str  # the inputSchema property
    name: str  # the variable name in the document
    type: TypeNode


@dataclass(frozen=True, slots=True)
class _Plan:
    binding: GraphQLBinding
    variables: tuple[_Variable, ...]


@dataclass(frozen=True, slots=True)
class _Answer:
    """One HTTP exchange, read (or the reason there is none)."""

    status: int | None
    body: bytes = b""
    truncated: bool = False
    retry_after: float | None = None
    failure: Failure | None = None


class GraphQLInvoker:
    """Calls the GraphQL tools of one virtual server over one pooled client."""

    def __init__(self, plans: Mapping[str, _Plan], settings: InvokerSettings) -> None:
        self._plans = plans
        self._settings = settings
        self._pool: Pool | None = None  # opened on the first call
        self._endpoints: dict[str, httpx.URL] = {}  # each endpoint URL parsed once

    async def invoke(self, call: Invocation) -> Outcome:
        plan = self._plans.get(call.tool)
        if plan is None:
            return Failure("internal_error", f"tool {call.tool!r} has no GraphQL operation in this manifest")
        binding = plan.binding
        body = {
            "query": binding.document,
            "variables": variables(plan.variables, call.arguments),
            "operationName": binding.operation_name,
        }
        payload = compact_json(body).encode("utf-8")
        credentials = call.credentials
        refreshed = False
        idempotent = binding.operation_type == "query"
        retries = self._settings.retries if idempotent else 0
        while True:
            call.record.attempts += 1
            answer = await self._post(
                self._settings.base_url or binding.endpoint, payload, credentials, call, idempotent=idempotent
            )
            outcome = self._outcome(binding, answer, call.redact)
            call.record.status = outcome.status
            if _unauthenticated(outcome) and call.refresh_credentials is not None and not refreshed:
                refreshed = True
                fresh = await call.refresh_credentials()
                if fresh is not None:
                    credentials = fresh
                    continue
            wait = _retry_wait(answer, outcome, call.record.attempts, self._settings.max_retry_after)
            if retries <= 0 or wait is None or anyio.current_time() + wait >= call.deadline:
                return outcome
            retries -= 1
            await anyio.sleep(wait)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.aclose()

    # -- the exchange ----------------------------------------------------------------------

    def _wire(self) -> Pool:
        if self._pool is None:
            self._pool = upstream_pool(self._settings)
        return self._pool

    def _endpoint(self, url: str) -> httpx.URL:
        parsed = self._endpoints.get(url)
        if parsed is None:
            parsed = self._endpoints[url] = httpx.URL(url)
        return parsed

    async def _post(
        self,
        url: str,
        payload: bytes,
        credentials: Sequence[ResolvedCredential],
        call: Invocation,
        *,
        idempotent: bool,
    ) -> _Answer:
        remaining = min(self._settings.timeout, call.deadline - anyio.current_time())
        if remaining <= 0:
            return _Answer(None, failure=Failure("timeout", "the call's deadline passed before the request was sent"))
        headers, params = placed(credentials)
        headers.update(
            {
                "User-Agent": USER_AGENT,
                "Accept": ACCEPT,
                "Accept-Encoding": "gzip, deflate",
                "Content-Type": "application/json",
            }
        )
        try:
            endpoint = self._endpoint(url)
        except httpx.InvalidURL:
            message = "the GraphQL endpoint URL is not a valid URL: fix the manifest's endpoint or --upstream"
            return _Answer(None, failure=Failure("upstream_error", message, retryable=False))
        if endpoint.userinfo:
            message = f"The GraphQL endpoint URL holds a user name or password; {USERINFO_HINT}"
            return _Answer(None, failure=Failure("unavailable", message, retryable=False))
        if params:
            endpoint = endpoint.copy_merge_params(params)
        request = Outgoing("POST", str(endpoint), tuple(headers.items()), payload)
        limit = self._settings.max_response_bytes
        with anyio.move_on_after(remaining) as scope:
            try:
                response = await self._wire().send(request)
                try:
                    data, truncated, _ = await read_bounded(response, limit)
                finally:
                    await response.aclose()
                return _Answer(response.status, data, truncated, retry_after(response.headers))
            except httpx.HTTPError as exc:
                return _Answer(None, failure=transport_failure(exc, idempotent, endpoint.host))
        assert scope.cancelled_caught  # the block returns unless the deadline cut it short
        return _Answer(None, failure=Failure("timeout", f"no answer within the call's deadline ({remaining:g} s)"))

    # -- the answer --------------------------------------------------------------------------

    def _outcome(self, binding: GraphQLBinding, answer: _Answer, sent: Sequence[str]) -> Outcome:
        if answer.failure is not None:
            return answer.failure
        status = answer.status
        mutation = binding.operation_type == "mutation"
        text = redact_sent(answer.body.decode("utf-8", errors="replace"), sent)
        if answer.truncated:
            limit = self._settings.max_response_bytes
            return TextValue(text[:limit], "application/json", truncated=True, status=status)
        try:
            document = parse_json(text) if text.strip() else None
        except ValueError:
            document = None
        if not isinstance(document, dict) or not ({"data", "errors"} & document.keys()):
            return _status_failure(status, text, answer.retry_after, mutation=mutation)
        errors = _errors(document.get("errors"))
        data = document.get("data")
        if not errors:
            if data is None:
                return _status_failure(status, text, answer.retry_after, mutation=mutation)
            return JsonValue(data, status=status)
        details = tuple(_detail(error) for error in errors[:MAX_ERRORS])
        if isinstance(data, dict) and all(value is None for value in data.values()):
            # Every root field failed (a resolver that raised on a nullable field): nothing partial
            # remains, and the error's code is what the agent needs to act on.
            data = None
        if data is not None and binding.operation_type == "query":
            return JsonValue(data, partial=True, details=details, status=status)
        category, code = _category(errors, status)
        # A mutation that returned data did part of its work, and one that failed upstream may
        # have: as for a POST, repeating it could do that twice.
        may_have_acted = mutation and (data is not None or category == "upstream_error")
        first = str(errors[0].get("message", "")).strip() or "no message"
        operation = f"{binding.operation_type} {binding.operation_name}"
        message = f"the GraphQL {operation} failed: {_short(first)}"
        if data is not None:
            message = f"the GraphQL {operation} reported errors; part of it may have taken effect: {_short(first)}"
            details = (*details, {"message": "data returned with the errors", "data": data})
        if code in ("GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"):
            message += " (the upstream schema may have changed: rebuild the manifest)"
        return Failure(
            category,
            message,
            status=code or status,
            upstream_message="; ".join(str(e.get("message", "")) for e in errors[:MAX_ERRORS]),
            retry_after=answer.retry_after if category == "rate_limited" else None,
            details=details,
            retryable=False if code in _NOT_RETRYABLE_CODES or may_have_acted else None,
        )


def create_invoker(manifest: Manifest, settings: InvokerSettings) -> GraphQLInvoker:
    """Plan every GraphQL tool of ``manifest`` (once, at start-up)."""
    plans: dict[str, _Plan] = {}
    for tool, binding in manifest.bindings.tools.items():
        if isinstance(binding, GraphQLBinding):
            plans[tool] = _Plan(binding, _variables(tool, binding))
    return GraphQLInvoker(plans, settings)


def _variables(tool: str, binding: GraphQLBinding) -> tuple[_Variable, ...]:
    try:
        document = parse(binding.document, no_location=True)
    except GraphQLSyntaxError as exc:
        raise ManifestError(
            f"the GraphQL document of tool {tool!r} does not parse: {exc.message}",
            hint="rebuild the manifest with virtualize build",
        ) from None
    types: dict[str, TypeNode] = {}
    for definition in document.definitions:
        if (
            isinstance(definition, OperationDefinitionNode)
            and definition.name is not None
            and definition.name.value == binding.operation_name
        ):
            types = {v.variable.name.value: v.type for v in definition.variable_definitions or ()}
    found = []
    for argument in binding.arguments:
        if argument.location != "variable":
            continue
        type_ = types.get(argument.name)
        if type_ is None:
            raise ManifestError(
                f"tool {tool!r} binds argument {argument.argument!r} to ${argument.name}, "
                f"which operation {binding.operation_name} does not declare",
                hint="rebuild the manifest with virtualize build",
            )
        found.append(_Variable(argument.argument, argument.name, type_))
    return tuple(found)


def variables(plan: Sequence[_Variable], arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The ``variables`` object: given arguments only (absent ≠ null), coerced to their types."""
    return {v.name: coerce(arguments[v.argument], v.type) for v in plan if v.argument in arguments}


def coerce(value: Any, type_: TypeNode) -> Any:
    """``value`` as GraphQL input coercion reads it for ``type_`` (§3.5.5 ID, §3.11 List).

    (``3.0`` for an ``Int`` arrives as ``3`` already: the argument check writes integral numbers
    as integers, at any depth.)
    """
    if isinstance(type_, NonNullTypeNode):
        return coerce(value, type_.type)
    if value is None:
        return None
    if isinstance(type_, ListTypeNode):
        items = value if isinstance(value, list) else [value]
        return [coerce(item, type_.type) for item in items]
    if isinstance(type_, NamedTypeNode) and type_.name.value == "ID" and type(value) is int:
        return str(value)
    return value


def placed(credentials: Sequence[ResolvedCredential]) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, query parameters) carrying ``credentials``; cookies join in one Cookie header."""
    headers: dict[str, str] = {}
    params: dict[str, str] = {}
    cookies: list[str] = []
    for credential in credentials:
        if credential.placement == "query":
            params[credential.name] = credential.value
        elif credential.placement == "cookie":
            cookies.append(f"{credential.name}={credential.value}")
        else:  # header, and metadata (gRPC's word for a header)
            headers[credential.name] = credential.value
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    return headers, params


def _errors(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    return [e if isinstance(e, dict) else {"message": str(e)} for e in value]


def _code(error: Mapping[str, Any]) -> str | None:
    extensions = error.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    if not isinstance(code, str) or not code.strip():
        return None
    return code.strip().upper().replace("-", "_").replace(" ", "_")


def _category(errors: Sequence[Mapping[str, Any]], status: int | None) -> tuple[Category, str | None]:
    """The category of a failed answer and the ``extensions.code`` it came from, if any."""
    for error in errors:
        code = _code(error)
        if code is not None:
            return CODE_CATEGORIES.get(code, "upstream_error"), code
    if status is not None and status >= 400:
        return status_category(status), None
    if any(_VARIABLE_ERROR.match(str(e.get("message", ""))) for e in errors):
        # A document that validated at build time fails before execution (§6.1) only when the
        # server cannot coerce a variable: graphql-js and graphql-core both word it this way.
        return "invalid_arguments", None
    return "upstream_error", None


def _detail(error: Mapping[str, Any]) -> dict[str, Any]:
    detail: dict[str, Any] = {"message": str(error.get("message", ""))}
    path = error.get("path")
    if isinstance(path, list) and path:
        detail["path"] = "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)
    code = _code(error)
    if code is not None:
        detail["code"] = code
    extensions = error.get("extensions")
    if isinstance(extensions, dict):
        kept = {k: v for k, v in extensions.items() if k not in _HIDDEN_EXTENSIONS}
        if kept:
            detail["extensions"] = kept
    return detail


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _status_failure(status: int | None, text: str, wait: float | None, *, mutation: bool) -> Failure:
    if status is not None and 200 <= status < 300:
        return Failure(
            "invalid_response",
            "the upstream answered without a GraphQL response (no data and no errors)",
            status=status,
            upstream_message=text or None,
        )
    if status == 404:
        return Failure(
            "upstream_error",
            "the GraphQL endpoint answered 404: the endpoint URL is likely wrong",
            status=status,
            upstream_message=text or None,
            retryable=False,
        )
    category = status_category(status) if status is not None else "upstream_error"
    return Failure(
        category,
        f"the GraphQL endpoint answered HTTP {status}",
        status=status,
        upstream_message=text or None,
        retry_after=wait if category in ("rate_limited", "upstream_error") else None,
        retryable=False if mutation and category == "upstream_error" else None,
    )


def _unauthenticated(outcome: Outcome) -> bool:
    return isinstance(outcome, Failure) and outcome.category == "unauthorized"


def _retry_wait(answer: _Answer, outcome: Outcome, attempts: int, longest: float) -> float | None:
    """Seconds to wait before retrying a query, or None when a retry cannot help."""
    if not isinstance(outcome, Failure):
        return None
    transient = outcome.category in ("unavailable", "timeout") and answer.status is None
    if not transient and answer.status not in _RETRY_STATUSES:
        return None
    if answer.retry_after is not None:
        return answer.retry_after if answer.retry_after <= longest else None
    return float(_BACKOFF * 2 ** (attempts - 1))
