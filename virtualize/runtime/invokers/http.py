"""The HTTP invoker: one tool call -> exactly the upstream request its ``HttpBinding`` describes.

``create_invoker`` precomputes a plan per tool (path template split, parameters with their
styles, body kind, server URL). ``invoke`` serializes the arguments (``http_serialization``),
applies the resolved credentials, sends the request through the server's pooled transport
(``http_transport``: aiohttp for HTTP/1.1, httpx for HTTP/2), and maps whatever happens to an
``Outcome``; it never raises for an upstream problem.

Policies, each for a reason:
- Redirects are followed only within the request's own origin (scheme, host, port), at most
  ``MAX_REDIRECTS`` times: another origin would receive the credentials. A cross-origin redirect
  is reported, not followed.
- Retries (``settings.retries``) only for idempotent methods, only on a failed connection or a
  502/503/504, with exponential backoff or the upstream's ``Retry-After`` when it fits in the
  call's deadline and ``settings.max_retry_after``. A 401 is re-sent once with refreshed
  credentials when ``call.refresh_credentials`` can refresh them (OAuth2).
- Bodies are read as a stream and reading stops past ``settings.max_response_bytes`` (error
  bodies past ``ERROR_BODY_LIMIT``), so a huge answer costs neither memory nor time.
- The transport ignores the process environment (proxies, ``.netrc``) and keeps no cookies: no
  credential comes in by a side door, and no state leaks from one call to the next.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import anyio
import httpx

from virtualize.manifest.model import HttpBinding, HttpBody, Manifest
from virtualize.runtime.credentials import ResolvedCredential
from virtualize.runtime.invokers import Invocation, InvokerSettings
from virtualize.runtime.invokers.http_responses import (
    failure_outcome,
    origin,
    redirect_target,
    retry_after,
    success_outcome,
    transport_failure,
)
from virtualize.runtime.invokers.http_serialization import (
    ArgumentProblem,
    Param,
    cookie_pairs,
    form_body,
    header_value,
    is_json_media,
    json_body,
    multipart_body,
    path_value,
    query_pairs,
    raw_body,
)
from virtualize.runtime.invokers.http_transport import USER_AGENT, USERINFO_HINT, Answer, Outgoing, upstream_pool
from virtualize.runtime.outcomes import (
    Failure,
    Outcome,
    invalid_arguments,
)

MAX_REDIRECTS = 5
# httpx's limit. Most servers refuse far less (8 KiB is common), but a URL past this is no request at all.
MAX_URL_LENGTH = 65_536
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({502, 503, 504})
BACKOFF_BASE = 0.1
BACKOFF_CAP = 2.0
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _literal(text: str) -> str:
    """A path template's literal text, percent-encoded where it is not already (spaces, non-ASCII)."""
    return quote(text, safe="/:@!$&'()*+,;=-._~%")


BodyKind = Literal["json", "form", "multipart", "raw"]


@dataclass(frozen=True, slots=True)
class _Plan:
    tool: str
    method: str
    path: tuple[str | Param, ...]  # literal text (as declared) and parameters, in order
    fixed_query: str  # a query written into the path template ("/responses?beta=true"), encoded
    server: httpx.URL | None  # parsed once; None when no usable URL is known (``server_problem`` says why)
    server_problem: str
    query: tuple[Param, ...]
    headers: tuple[Param, ...]
    cookies: tuple[Param, ...]
    body: HttpBody | None
    body_kind: BodyKind | None
    whole_body: Param | None
    body_fields: tuple[Param, ...]
    # Precomputed per tool, so a call only appends what varies: the default headers keyed by
    # lower-cased name (a declared header parameter or a credential replaces one in place, as
    # ``httpx.Headers.__setitem__`` would), and the server URL's text before the target.
    defaults: dict[str, tuple[str, str]]
    prefix: str
    origin: str  # scheme://host:port, for redirects and error texts

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS


@dataclass(slots=True)  # not frozen: built per call (see outcomes.JsonValue)
class _Wire:
    """A serialized request, before credentials."""

    target: str  # percent-encoded path and query, appended to the server URL's path
    headers: tuple[tuple[str, str], ...]
    cookies: tuple[str, ...]
    content: bytes | None


# -- plans -------------------------------------------------------------------------------------


def _is_binary(schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    if schema.get("contentEncoding") == "base64" or schema.get("format") == "binary":
        return True
    members = [schema.get("items"), *schema.get("anyOf", ()), *schema.get("oneOf", ())]
    return any(_is_binary(m) for m in members)


def _server_url(binding: HttpBinding, settings: InvokerSettings) -> tuple[httpx.URL | None, str]:
    if settings.base_url:
        return _checked(settings.base_url.rstrip("/"))
    if not binding.servers:
        return None, "The API declares no server URL; start serve with --upstream NAME=URL."
    server = binding.servers[0]
    url = _PLACEHOLDER.sub(lambda m: server.variables.get(m.group(1), m.group(0)), server.url)
    if not url.startswith(("http://", "https://")) or "{" in url:
        return None, f"The server URL {url!r} is not absolute; start serve with --upstream NAME=URL."
    return _checked(url.rstrip("/"))


def _checked(url: str) -> tuple[httpx.URL | None, str]:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None, f"The upstream URL {url!r} is not a valid URL."
    if parsed.userinfo:  # named without it: the password must not reach an error text
        bare = parsed.copy_with(username=None, password=None)
        return None, f"The upstream URL {str(bare)!r} holds a user name or password; {USERINFO_HINT}"
    return parsed, ""


def _body_kind(body: HttpBody | None) -> BodyKind | None:
    if body is None:
        return None
    essence = body.media_type.split(";", 1)[0].strip().lower()
    if is_json_media(essence):
        return "json"
    if essence == "application/x-www-form-urlencoded":
        return "form"
    if essence.startswith("multipart/"):
        return "multipart"
    return "raw"


def _accept(binding: HttpBinding) -> str:
    # Success types first; the declared error types (problem+json when none) rank below them so
    # a server that negotiates still sends its error bodies in a form we can read back.
    if not binding.success_media_types:
        return "application/json, */*;q=0.5"
    failures = [t for t in binding.error_media_types if t not in binding.success_media_types]
    errors = [f"{t};q=0.9" for t in dict.fromkeys(failures or ["application/problem+json"])]
    return ", ".join([*binding.success_media_types, *errors, "*/*;q=0.5"])


def plan_for(tool: str, binding: HttpBinding, input_schema: Mapping[str, Any], settings: InvokerSettings) -> _Plan:
    properties = input_schema.get("properties", {}) if isinstance(input_schema, Mapping) else {}
    params: dict[str, list[Param]] = {}
    whole_body: Param | None = None
    for arg in binding.arguments:
        default_style = {"path": "simple", "header": "simple"}.get(arg.location, "form")
        style = arg.style or default_style
        param = Param(
            argument=arg.argument,
            name=arg.name,
            style=style,
            explode=arg.explode if arg.explode is not None else style == "form",
            allow_reserved=arg.allow_reserved,
            content_type=arg.content_type,
            binary=_is_binary(properties.get(arg.argument)),
        )
        if arg.location == "body":
            whole_body = param
        params.setdefault(arg.location, []).append(param)
    by_wire_name = {p.name: p for p in params.get("path", [])}
    # Some APIs write a constant query into the path key (OpenAI's "/responses?beta=true"): it is
    # sent as the query it is, before the parameters', not percent-encoded into the last segment.
    template, _, fixed_query = binding.path.partition("?")
    path: list[str | Param] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        path.append(_literal(template[position : match.start()]))
        name = match.group(1)
        path.append(by_wire_name.get(name) or Param(argument=name, name=name, style="simple", explode=False))
        position = match.end()
    path.append(_literal(template[position:]))
    server, problem = _server_url(binding, settings)
    return _Plan(
        tool=tool,
        method=binding.method.upper(),
        path=tuple(p for p in path if p != ""),
        fixed_query=quote(fixed_query, safe="/:@!$&'()*+,;=-._~%?"),
        server=server,
        server_problem=problem,
        query=tuple(params.get("query", ())),
        headers=tuple(params.get("header", ())),
        cookies=tuple(params.get("cookie", ())),
        body=binding.body,
        body_kind=_body_kind(binding.body),
        whole_body=whole_body,
        body_fields=tuple(params.get("body_field", ())),
        defaults={
            name.lower(): (name, value)
            for name, value in (
                ("User-Agent", USER_AGENT),
                ("Accept", _accept(binding)),
                ("Accept-Encoding", "gzip, deflate"),
            )
        },
        prefix=_prefix(server),
        origin=origin(server) if server is not None else "",
    )


def _prefix(server: httpx.URL | None) -> str:
    """The server URL without query or trailing slash: a call's percent-encoded target is appended."""
    if server is None:
        return ""
    base_path = server.raw_path.partition(b"?")[0].rstrip(b"/")
    return str(server.copy_with(raw_path=base_path or b"/")).rstrip("/")


# -- serialization -------------------------------------------------------------------------------


def serialize(plan: _Plan, arguments: Mapping[str, Any]) -> _Wire:
    """The request the arguments make (raises ``ArgumentProblem``)."""
    path: list[str] = []
    for part in plan.path:
        if isinstance(part, str):
            path.append(part)
        elif part.argument not in arguments:
            raise ArgumentProblem(part.pointer, f"path parameter {part.name!r} is required")
        else:
            path.append(path_value(part, arguments[part.argument]))
    query: list[str] = [plan.fixed_query] if plan.fixed_query else []
    for param in plan.query:
        if param.argument in arguments:
            query.extend(query_pairs(param, arguments[param.argument]))
    headers = [(p.name, header_value(p, arguments[p.argument])) for p in plan.headers if p.argument in arguments]
    cookies = [pair for p in plan.cookies if p.argument in arguments for pair in cookie_pairs(p, arguments[p.argument])]
    content, content_type = _body(plan, arguments)
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    target = "".join(path)
    if "/." in target:  # where every dot segment starts; most paths never get this far
        _refuse_dot_segments(plan.path, path)
    if query:
        target += "?" + "&".join(query)
    return _Wire(target=target, headers=tuple(headers), cookies=tuple(cookies), content=content)


def _refuse_dot_segments(parts: tuple[str | Param, ...], texts: list[str]) -> None:
    """Refuse a segment the values make ``.`` or ``..``: the upstream would resolve it away and
    serve another route (``/files/{name}/meta`` with ``..`` is ``/meta``).

    Checked on the assembled path, not per value, because a style adds dots of its own (label
    ``[""]`` is ``.``) and two values can share a segment (``/{a}{b}``). Values never hold a
    ``/`` (it is encoded), so segments end only inside literal text.
    """
    segment, owner = "", None
    for part, text in zip(parts, texts, strict=True):
        if isinstance(part, Param):
            segment += text
            owner = owner or part
            continue
        head, *rest = text.split("/")
        segment += head
        for following in rest:
            _refuse_dot_segment(segment, owner)
            segment, owner = following, None
    _refuse_dot_segment(segment, owner)


def _refuse_dot_segment(segment: str, owner: Param | None) -> None:
    if owner is not None and segment in (".", ".."):
        raise ArgumentProblem(
            owner.pointer, f"path parameter {owner.name!r} would make the path segment {segment!r} (a dot segment)"
        )


def _body(plan: _Plan, arguments: Mapping[str, Any]) -> tuple[bytes | None, str | None]:
    body = plan.body
    if body is None or plan.body_kind is None:
        return None, None
    media_type = body.media_type
    fields: list[tuple[Param, Any]]
    if plan.whole_body is not None:
        if plan.whole_body.argument not in arguments:
            return None, None
        value = arguments[plan.whole_body.argument]
        if plan.body_kind == "json":
            return json_body(value), media_type
        if plan.body_kind == "raw":
            if "*" in media_type:
                media_type = "application/octet-stream" if plan.whole_body.binary else "text/plain"
            return raw_body(plan.whole_body, value), media_type
        if not isinstance(value, dict):
            raise ArgumentProblem(plan.whole_body.pointer, f"a {media_type} body must be an object")
        fields = [(_field(plan.whole_body, str(k)), v) for k, v in value.items()]
    else:
        fields = [(p, arguments[p.argument]) for p in plan.body_fields if p.argument in arguments]
        if not fields and not body.required:
            return None, None
        if plan.body_kind in ("json", "raw"):
            return json_body({p.name: v for p, v in fields}), media_type
    if plan.body_kind == "form":
        return form_body(fields), media_type
    return multipart_body(fields)


def _field(whole: Param, name: str) -> Param:
    return Param(argument=f"{whole.argument}/{name}", name=name, style="form", explode=True)


def _with_credentials(wire: _Wire, plan: _Plan, credentials: Sequence[ResolvedCredential]) -> Outgoing:
    headers = dict(plan.defaults)
    for name, value in wire.headers:
        headers[name.lower()] = (name, value)  # a declared header parameter wins over our defaults
    target = wire.target
    cookies = list(wire.cookies)
    for credential in credentials:
        if credential.placement == "query":
            pair = f"{quote(credential.name, safe='')}={quote(credential.value, safe='')}"
            target += ("&" if "?" in target else "?") + pair
        elif credential.placement == "cookie":
            cookies.append(f"{credential.name}={credential.value}")
        else:
            headers[credential.name.lower()] = (credential.name, credential.value)
    if cookies:
        headers["cookie"] = ("Cookie", "; ".join(cookies))
    # Not parsed again: the prefix was validated at load, and ``target`` is percent-encoded ASCII.
    return Outgoing(plan.method, plan.prefix + target, tuple(headers.values()), wire.content)


# -- the invoker ---------------------------------------------------------------------------------


class HttpInvoker:
    """Calls the HTTP upstream of one virtual server."""

    def __init__(self, manifest: Manifest, settings: InvokerSettings) -> None:
        self._settings = settings
        schemas = {tool.name: tool.input_schema for tool in manifest.tools}
        self._plans = {
            name: plan_for(name, binding, schemas.get(name, {}), settings)
            for name, binding in manifest.bindings.tools.items()
            if isinstance(binding, HttpBinding)
        }
        self._pool = upstream_pool(settings)

    async def invoke(self, call: Invocation) -> Outcome:
        plan = self._plans.get(call.tool)
        if plan is None:
            return Failure("internal_error", f"no HTTP binding for tool {call.tool!r}")
        if plan.server is None:
            return Failure("unavailable", plan.server_problem, retryable=False)
        try:
            wire = serialize(plan, call.arguments)
        except ArgumentProblem as problem:
            return invalid_arguments(problem.message, [{"path": problem.path, "message": problem.message}])
        deadline = min(call.deadline, anyio.current_time() + self._settings.timeout)
        outcome: Outcome | None = None
        with anyio.CancelScope(deadline=deadline):
            outcome = await self._exchange(plan, wire, call, deadline)
        if outcome is None:
            return Failure("timeout", "The upstream did not answer within the call's deadline.")
        return outcome

    async def _exchange(self, plan: _Plan, wire: _Wire, call: Invocation, deadline: float) -> Outcome:
        credentials = tuple(call.credentials)
        refreshed = False
        retries = 0
        while True:
            call.record.attempts += 1
            request = _with_credentials(wire, plan, credentials)
            if len(request.url) > MAX_URL_LENGTH:  # e.g. a 10 MB path value
                message = f"the arguments make an upstream URL longer than {MAX_URL_LENGTH:,} characters"
                return invalid_arguments(message, [{"path": "", "message": message}])
            try:
                response, url = await self._send(request, plan.origin)
            except httpx.HTTPError as exc:
                failure = transport_failure(exc, plan.idempotent, plan.origin)
                if not (failure.is_retryable and plan.idempotent and retries < self._settings.retries):
                    return failure
                if failure.category == "timeout" or (delay := self._delay(retries, None, deadline)) is None:
                    return failure
                retries += 1
                await anyio.sleep(delay)
                continue
            try:
                status = call.record.status = response.status
                if status == 401 and not refreshed and call.refresh_credentials is not None:
                    refreshed = True
                    fresh = await call.refresh_credentials()
                    if fresh is not None:
                        credentials = fresh
                        continue
                if status in RETRY_STATUSES and plan.idempotent and retries < self._settings.retries:
                    delay = self._delay(retries, retry_after(response.headers), deadline)
                    if delay is not None:
                        retries += 1
                        await response.aclose()
                        await anyio.sleep(delay)
                        continue
                if 200 <= status < 300:
                    limit = self._settings.max_response_bytes
                    return await success_outcome(response, plan.method, limit, call.redact)
                return await failure_outcome(response, url, plan.idempotent)
            except httpx.HTTPError as exc:  # the body broke off after the status line: never repeated
                return transport_failure(exc, plan.idempotent, plan.origin)
            finally:
                await response.aclose()

    def _delay(self, retries: int, asked: float | None, deadline: float) -> float | None:
        """How long to wait before the next attempt, or None when it would not fit."""
        if asked is not None:
            if asked > self._settings.max_retry_after:
                return None
            delay = asked
        else:
            delay = min(BACKOFF_BASE * 2**retries, BACKOFF_CAP) * random.uniform(0.5, 1.0)
        return delay if anyio.current_time() + delay < deadline else None

    async def _send(self, request: Outgoing, home: str) -> tuple[Answer, str]:
        """Send, following redirects within ``home`` (an origin) only; the answer and its request's URL."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._pool.send(request)
            target = redirect_target(response, request.url)
            if target is None or origin(target) != home:
                return response, request.url
            await response.aclose()
            method, content, headers = request.method, request.content, request.headers
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, content = ("HEAD" if method == "HEAD" else "GET"), None
                headers = tuple(h for h in headers if h[0].lower() not in ("content-type", "content-length"))
            request = Outgoing(method, str(target), headers, content)
        return response, request.url

    async def aclose(self) -> None:
        await self._pool.aclose()


def create_invoker(manifest: Manifest, settings: InvokerSettings) -> HttpInvoker:
    return HttpInvoker(manifest, settings)
