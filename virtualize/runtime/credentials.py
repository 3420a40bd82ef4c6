"""Credentials: the auth-translation map applied at run time, and the only door secrets come in by.

A manifest's ``auth.json`` names, per upstream security scheme, where the credential goes and the
environment variables it is read from (``AuthScheme.sources``: role -> variable; a variable
``<VAR>_FILE`` naming a file is read instead when ``<VAR>`` is unset). The serve configuration may
override the sources (another variable, or a file it names) and turn on ``forward_caller`` per
scheme. This module reads the sources, fetches OAuth2 client-credentials tokens (RFC 6749 §4.4)
and caches them until shortly before expiry, and hands invokers protocol-neutral ``ResolvedCredential``s:

    ResolvedCredential(scheme, kind, placement, name, value)
        placement "header"   -> an HTTP header ``name: value`` (GraphQL over HTTP too)
        placement "query"    -> a query parameter
        placement "cookie"   -> a cookie ``name=value``
        placement "metadata" -> gRPC metadata (lower-case key)

A gRPC invoker maps "header" placements to metadata with the lower-cased name (an HTTP bearer
scheme then travels as ``authorization: Bearer …`` metadata); an HTTP invoker treats
"metadata" as a header.

The caller's own token is never passed upstream unless a scheme says ``forward_caller`` (MCP
2026-07-28 security best practices, "Token Passthrough"). Values never appear in ``repr``, logs or
error texts: errors name the *variable*, never its content.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import re
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import anyio
import httpx

from virtualize.manifest.model import AuthMap, AuthScheme, SecurityUse
from virtualize.runtime.outcomes import Category, Failure

logger = logging.getLogger(__name__)

Placement = Literal["header", "query", "cookie", "metadata"]
#: Refresh an OAuth2 token this many seconds before the upstream says it expires.
TOKEN_EXPIRY_MARGIN = 30.0
#: Lifetime assumed for a token whose endpoint gives no ``expires_in``.
DEFAULT_TOKEN_LIFETIME = 3600.0
TOKEN_REQUEST_TIMEOUT = 10.0
REDACTED = "***"
#: The roles each scheme kind reads (``AuthScheme.sources`` keys), as the compiler names them.
ROLES: Mapping[str, tuple[str, ...]] = {
    "api_key": ("value",),
    "grpc_metadata": ("value",),
    "http_bearer": ("token",),
    "oauth2_token": ("token",),
    "http_basic": ("username", "password"),
    "oauth2_client_credentials": ("client_id", "client_secret"),
}


def process_environment() -> Mapping[str, str]:
    """The process environment: the one read of ``os.environ`` in virtualize (ruff TID251)."""
    return os.environ


@dataclass(slots=True)  # not frozen: built per call (see outcomes.JsonValue)
class ResolvedCredential:
    """One credential ready to place on an upstream request. ``value`` is secret (not in repr)."""

    scheme: str
    kind: str  # AuthScheme.kind: api_key, http_bearer, http_basic, oauth2_client_credentials, ...
    placement: Placement
    name: str  # header / query parameter / cookie / metadata key
    value: str = field(repr=False)


MIN_SECRET_LENGTH = 4  # shorter would redact ordinary words; no real secret is that short


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def redact_sent(text: str, forms: Sequence[str]) -> str:
    """``text`` with each of ``forms`` (``CredentialStore.forms``) replaced by ``***``: a success
    body that echoes a key the gateway holds for the agent (an account page, a debug echo) must
    not hand the agent that key."""
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def redact_value(value: Any, forms: Sequence[str]) -> Any:
    """JSON data with ``forms`` taken out of every string in it, keys included (``redact_sent``
    for an answer that arrives as data, as gRPC's does, rather than as text)."""
    if isinstance(value, str):
        return redact_sent(value, forms)
    if isinstance(value, dict):
        return {redact_sent(key, forms): redact_value(item, forms) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item, forms) for item in value]
    return value


def _redact(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, REDACTED)
    return text


@dataclass(frozen=True, slots=True)
class SchemeOverride:
    """What a serve configuration may change about one scheme."""

    sources: Mapping[str, str] = field(default_factory=dict)  # role -> variable, replacing the map's
    files: Mapping[str, str] = field(default_factory=dict)  # role -> file holding it, replacing either
    forward_caller: bool | None = None


@dataclass(slots=True)
class _Token:
    value: str
    expires_at: float  # time.monotonic()


class _Unusable(Exception):
    """A scheme whose credential cannot be had now; ``failure`` says why, naming sources only."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def _missing(server: str, scheme: str, what: str) -> _Unusable:
    return _Unusable(
        Failure(
            "unauthorized",
            f"No upstream credential is configured for scheme {scheme!r} of server {server!r}: {what}.",
            details=({"scheme": scheme, "missing": what},),
        )
    )


class CredentialStore:
    """Credentials of one virtual server.

    Built once at start-up; ``missing()`` lists schemes whose sources are absent (the server still
    starts; calls that need them fail ``unauthorized`` naming the variable). ``resolve`` is called
    per tool call with the binding's security alternatives (any one alternative suffices; each
    lists schemes that must all apply). Sources are read per call, so a rotated secret file or a
    variable set later takes effect without a restart.
    """

    def __init__(
        self,
        server: str,
        auth: AuthMap,
        *,
        overrides: Mapping[str, SchemeOverride] | None = None,
        environ: Mapping[str, str] | None = None,
        token_client: httpx.AsyncClient | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.server = server
        self._tls = tls
        self._environ = process_environment() if environ is None else environ
        self._schemes: dict[str, AuthScheme] = {}
        self._files: dict[str, Mapping[str, str]] = {}  # scheme -> role -> file named by the serve configuration
        overrides = overrides or {}
        for name, scheme in auth.schemes.items():
            override = overrides.get(name)
            effective = scheme
            if override is not None:
                self._files[name] = override.files
                updates: dict[str, object] = {}
                if override.sources:
                    updates["sources"] = {**scheme.sources, **override.sources}
                if override.forward_caller is not None:
                    updates["forward_caller"] = override.forward_caller
                effective = scheme.model_copy(update=updates)
            self._schemes[name] = effective
        self._token_client = token_client
        self._owns_token_client = token_client is None
        self._tokens: dict[str, _Token] = {}
        self._forms_of: tuple[frozenset[str], tuple[str, ...]] = (frozenset(), ())
        self._locks: dict[str, anyio.Lock] = {}

    # -- sources ---------------------------------------------------------------------------

    def _read(self, scheme: str, variable: str) -> str:
        """The value of ``variable``, else of the file ``<variable>_FILE`` names (whitespace-stripped)."""
        value = self._environ.get(variable)
        if value:
            return self._checked(scheme, value, variable)
        file_name = self._environ.get(f"{variable}_FILE")
        if not file_name:
            raise _missing(self.server, scheme, f"set {variable} or {variable}_FILE")
        return self._read_file(scheme, file_name, f"the file named by {variable}_FILE")

    def _read_file(self, scheme: str, path: str, described: str) -> str:
        try:
            value = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise _missing(self.server, scheme, f"{described} cannot be read") from None
        return self._checked(scheme, value, described)

    def _checked(self, scheme: str, value: str, described: str) -> str:
        value = value.strip()
        if not value:
            raise _missing(self.server, scheme, f"{described} is empty")
        if _CONTROL.search(value):
            raise _missing(self.server, scheme, f"{described} holds control characters")
        return value

    def _role(self, name: str, scheme: AuthScheme, role: str) -> str:
        files = self._files.get(name)
        path = files.get(role) if files else None
        if path is not None:
            return self._read_file(name, path, f"the file {path}")
        variable = scheme.sources.get(role)
        if variable is None:
            raise _missing(self.server, name, f"auth.json names no source for its {role!r}")
        return self._read(name, variable)

    def missing(self) -> list[str]:
        """One line per scheme whose credential cannot be read now (names only, never values)."""
        lines = []
        for name, scheme in sorted(self._schemes.items()):
            if scheme.forward_caller:
                continue
            try:
                for role in ROLES.get(scheme.kind, ("value",)):
                    self._role(name, scheme, role)
                if scheme.kind == "oauth2_client_credentials" and not scheme.token_url:
                    raise _missing(self.server, name, "auth.json names no token_url")
            except _Unusable as exc:
                lines.append(exc.failure.message)
        return lines

    def scrub(self, failure: Failure, used: Sequence[ResolvedCredential] = ()) -> Failure:
        """``failure`` with every credential value it quotes replaced by ``***``.

        An upstream that echoes the token it refused (``invalid token abc...``) must not make the
        gateway repeat it to the agent or its logs: the values this store knows, the values sent
        on this call (an OAuth2 token, a Basic pair) and their percent-encoded forms all go.
        """
        secrets = set(self.forms(used))
        texts = [failure.message, failure.upstream_message or "", json.dumps(failure.details, ensure_ascii=False)]
        if not any(secret in text for secret in secrets if len(secret) >= MIN_SECRET_LENGTH for text in texts):
            return failure
        details = tuple(json.loads(_redact(json.dumps(d, ensure_ascii=False), secrets)) for d in failure.details)
        upstream = _redact(failure.upstream_message, secrets) if failure.upstream_message else failure.upstream_message
        return replace(failure, message=_redact(failure.message, secrets), upstream_message=upstream, details=details)

    def forms(self, used: Sequence[ResolvedCredential] = ()) -> tuple[str, ...]:
        """Every secret this store can read, and those ``used`` on a call (an OAuth2 token, a
        ``Bearer``/``Basic`` value and its token), with their percent-encoded forms: longest
        first, none shorter than ``MIN_SECRET_LENGTH``."""
        secrets = self._secrets()
        for credential in used:
            secrets.add(credential.value)
            scheme, _, token = credential.value.partition(" ")
            if scheme.lower() in ("bearer", "basic") and token:
                secrets.add(token)
        key = frozenset(secrets)
        if key != self._forms_of[0]:  # the secrets rarely change: derive their forms once per change
            secrets |= {quote(secret, safe="") for secret in secrets}
            forms = tuple(sorted((s for s in secrets if len(s) >= MIN_SECRET_LENGTH), key=len, reverse=True))
            self._forms_of = (key, forms)
        return self._forms_of[1]

    def _secrets(self) -> set[str]:
        """Every value this store can read now, from whichever source (a variable, or a file)."""
        secrets = {token.value for token in self._tokens.values()}
        for name, scheme in self._schemes.items():
            for role in ROLES.get(scheme.kind, ("value",)):
                try:  # noqa: SIM105 -- runs on every call: contextlib.suppress builds an object, try costs nothing
                    secrets.add(self._role(name, scheme, role))
                except _Unusable:
                    pass
        return secrets

    # -- resolution ------------------------------------------------------------------------

    async def resolve(
        self,
        security: tuple[tuple[SecurityUse, ...], ...],
        caller_token: str | None = None,
        *,
        deadline: float = math.inf,
    ) -> tuple[ResolvedCredential, ...] | Failure:
        """Credentials for the first satisfiable alternative, or the first alternative's failure.

        ``deadline`` (``anyio.current_time()`` seconds) bounds fetching an OAuth2 token, and waiting
        for another call's fetch of it: past it the credential is a ``timeout`` failure."""
        if not security:
            return ()
        problems: list[Failure] = []
        for alternative in security:
            try:
                resolved = []
                for use in alternative:
                    # A loop, not a comprehension: one with ``await`` is a nested function called per call.
                    resolved.append(await self._credential(use.scheme, caller_token, deadline))  # noqa: PERF401
                return tuple(resolved)
            except _Unusable as exc:
                problems.append(exc.failure)
        if len(problems) == 1:
            return problems[0]
        first = problems[0]
        details = tuple(item for problem in problems for item in problem.details)
        return Failure(first.category, first.message, retryable=first.retryable, details=details)

    async def refresh(self, credentials: tuple[ResolvedCredential, ...]) -> bool:
        """After an upstream 401: forget the OAuth2 tokens among ``credentials``; whether any was.

        Single-flight: a token is dropped only if it is still the one the failed call used, so N
        concurrent calls that all got a 401 cause one token request (the next ``resolve`` fetches
        under the scheme's lock), not N.
        """
        refreshable = False
        for credential in credentials:
            if credential.kind != "oauth2_client_credentials":
                continue
            refreshable = True
            cached = self._tokens.get(credential.scheme)
            if cached is not None and credential.value == f"Bearer {cached.value}":
                del self._tokens[credential.scheme]
        return refreshable

    async def _credential(self, name: str, caller_token: str | None, deadline: float) -> ResolvedCredential:
        scheme = self._schemes.get(name)
        if scheme is None:
            raise _missing(self.server, name, "the scheme is not in auth.json")
        if scheme.forward_caller:
            if not caller_token:
                raise _missing(self.server, name, "the caller sent no bearer token to forward")
            return self._place(name, scheme, caller_token)
        kind = scheme.kind
        if kind == "http_basic":
            user = self._role(name, scheme, "username")
            password = self._role(name, scheme, "password")
            encoded = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            return ResolvedCredential(name, kind, "header", "Authorization", f"Basic {encoded}")
        if kind == "oauth2_client_credentials":
            token = await self._client_credentials_token(name, scheme, deadline)
            return ResolvedCredential(name, kind, "header", "Authorization", f"Bearer {token}")
        role = ROLES.get(kind, ("value",))[0]
        return self._place(name, scheme, self._role(name, scheme, role))

    @staticmethod
    def _place(name: str, scheme: AuthScheme, value: str) -> ResolvedCredential:
        if scheme.kind == "grpc_metadata":
            key = (scheme.parameter or "authorization").lower()
            return ResolvedCredential(name, scheme.kind, "metadata", key, value)
        if scheme.kind == "api_key":
            return ResolvedCredential(name, scheme.kind, scheme.in_ or "header", scheme.parameter or "X-API-Key", value)
        return ResolvedCredential(name, scheme.kind, "header", "Authorization", f"Bearer {value}")

    async def _client_credentials_token(self, name: str, scheme: AuthScheme, deadline: float) -> str:
        cached = self._tokens.get(name)
        if cached is not None and cached.expires_at > time.monotonic():
            return cached.value
        lock = self._locks.setdefault(name, anyio.Lock())
        # The token client's own timeouts bound each read, not an answer dripped a byte at a time.
        with anyio.CancelScope(deadline=deadline):
            async with lock:
                # Whoever held the lock may have fetched a token meanwhile (single-flight).
                cached = self._tokens.get(name)
                if cached is not None and cached.expires_at > time.monotonic():
                    return cached.value
                client_id = self._role(name, scheme, "client_id")
                client_secret = self._role(name, scheme, "client_secret")
                if not scheme.token_url:
                    raise _missing(self.server, name, "auth.json names no token_url")
                token = await self._fetch_token(name, scheme.token_url, scheme.scopes, client_id, client_secret)
                self._tokens[name] = token
                return token.value
        raise _Unusable(
            Failure("timeout", f"The token endpoint of scheme {name!r} did not answer within the call's deadline.")
        )

    async def _fetch_token(
        self, name: str, token_url: str, scopes: tuple[str, ...], client_id: str, client_secret: str
    ) -> _Token:
        if self._token_client is None:
            # The token endpoint is checked against the same CAs as the upstream (``ca_file``).
            self._token_client = httpx.AsyncClient(
                timeout=TOKEN_REQUEST_TIMEOUT, follow_redirects=False, trust_env=False, verify=self._tls or True
            )
        form = {"grant_type": "client_credentials"}
        if scopes:
            form["scope"] = " ".join(scopes)
        try:
            # RFC 6749 §2.3.1: client authentication with HTTP Basic is the one servers MUST support.
            response = await self._token_client.post(token_url, data=form, auth=(client_id, client_secret))
        except httpx.HTTPError as exc:
            logger.warning("token request for scheme %r of server %r failed: %s", name, self.server, type(exc).__name__)
            raise _Unusable(
                Failure("unavailable", f"The token endpoint of scheme {name!r} could not be reached.")
            ) from None
        if response.status_code != 200:
            logger.warning("token endpoint of scheme %r answered %d", name, response.status_code)
            category: Category = "unavailable" if response.status_code >= 500 else "unauthorized"
            raise _Unusable(
                Failure(
                    category,
                    f"The token endpoint of scheme {name!r} refused the client credentials.",
                    status=response.status_code,
                    retryable=category == "unavailable",
                )
            )
        try:
            body = response.json()
            access = body["access_token"]
            expires_in = _lifetime(body.get("expires_in"))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            access = None
            expires_in = 0.0
        if not isinstance(access, str) or not access or any(ord(c) < 0x21 for c in access):
            raise _Unusable(
                Failure("unavailable", f"The token endpoint of scheme {name!r} returned no usable access_token.")
            )
        return _Token(access, time.monotonic() + max(expires_in - TOKEN_EXPIRY_MARGIN, 0.0))

    async def aclose(self) -> None:
        if self._owns_token_client and self._token_client is not None:
            await self._token_client.aclose()


def _lifetime(expires_in: Any) -> float:
    """Seconds a token lives (RFC 6749 §5.1 ``expires_in``, a positive number); the default when
    it is absent or says nothing usable (``true``, ``-5``, ``1e400``, 400 digits)."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float | str):
        return DEFAULT_TOKEN_LIFETIME
    try:
        seconds = float(expires_in)
    except (ValueError, OverflowError):
        return DEFAULT_TOKEN_LIFETIME
    return seconds if math.isfinite(seconds) and seconds > 0 else DEFAULT_TOKEN_LIFETIME
