"""Gateway access: which HTTP clients may use which virtual servers.

Clients are listed in the serve configuration (``[[clients]]``), each with a key and the servers
it may use. A client presents its key as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.
With a list configured, a request without a known key gets 401; a per-server endpoint the client
may not use gets 403; on the aggregate endpoint the tools of servers it may not use are absent
from its tool list and refused on call (the router reads the ``Grant`` this guard leaves in the
ASGI scope). Keys are compared as SHA-256 digests in constant time and are never logged.

This gateway key is the gateway's own credential: it is never passed upstream. Only when no client
list is configured can a scheme marked ``forward_caller`` receive the caller's bearer token
(the router reads ``Grant.caller_token``).

Binding to an address other than loopback without a client list is refused unless
``--allow-anonymous`` says so (``check_bind``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from virtualize.errors import ConfigError
from virtualize.runtime.credentials import process_environment
from virtualize.runtime.settings import ClientSection

GRANT_SCOPE_KEY = "virtualize.grant"


@dataclass(frozen=True, slots=True)
class Grant:
    """What one request may use: ``servers`` None means every server."""

    client: str | None = None
    servers: frozenset[str] | None = None
    caller_token: str | None = None  # set only when gateway access is off (see module docstring)

    def allows(self, server: str) -> bool:
        return self.servers is None or server in self.servers


ANONYMOUS = Grant()


@dataclass(frozen=True, slots=True)
class _Client:
    name: str
    digest: bytes
    servers: frozenset[str] | None


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class Access:
    """The configured client list (empty: anonymous access)."""

    def __init__(self, clients: tuple[_Client, ...] = ()) -> None:
        self._clients = clients

    @property
    def enabled(self) -> bool:
        return bool(self._clients)

    @classmethod
    def from_config(cls, sections: tuple[ClientSection, ...], servers: Collection[str]) -> Access:
        environ = process_environment()
        clients = []
        for section in sections:
            if section.key_sha256:
                try:
                    digest = bytes.fromhex(section.key_sha256)
                except ValueError:
                    digest = b""
                if len(digest) != 32:
                    raise ConfigError(f"client {section.name!r}: key_sha256 is not 64 hex digits")
            elif section.key_env:
                key = environ.get(section.key_env, "")
                if not key:
                    raise ConfigError(
                        f"client {section.name!r}: environment variable {section.key_env} is not set",
                        hint="set it, or remove the client from the serve configuration",
                    )
                digest = _digest(key)
            else:
                assert section.key_file is not None  # ClientSection validates exactly one source
                try:
                    key = Path(section.key_file).read_text(encoding="utf-8").strip()
                except OSError:
                    key = ""
                if not key:
                    raise ConfigError(f"client {section.name!r}: key file {section.key_file} is unreadable or empty")
                digest = _digest(key)
            unknown = sorted(set(section.servers or ()) - set(servers))
            if unknown:
                raise ConfigError(
                    f"client {section.name!r} names servers that are not loaded: {', '.join(unknown)}",
                    hint=f"loaded: {', '.join(sorted(servers))}",
                )
            allowed = None if section.servers is None else frozenset(section.servers)
            clients.append(_Client(section.name, digest, allowed))
        return cls(tuple(clients))

    def grant(self, authorization: str | None, api_key: str | None) -> Grant | None:
        """The grant of a request's headers, or None when access is on and no key matches."""
        bearer = _bearer(authorization)
        if not self._clients:
            return Grant(caller_token=bearer) if bearer else ANONYMOUS
        for presented in (bearer, api_key):
            if not presented:
                continue
            digest = _digest(presented)
            for client in self._clients:
                if hmac.compare_digest(digest, client.digest):
                    return Grant(client=client.name, servers=client.servers)
        return None


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, access: Access, *, allow_anonymous: bool) -> None:
    if not is_loopback(host) and not access.enabled and not allow_anonymous:
        raise ConfigError(
            f"refusing to serve on {host} without client credentials",
            hint="list [[clients]] in a --config file, pass --allow-anonymous, or bind 127.0.0.1",
        )


class GatewayGuard:
    """ASGI wrapper of an MCP endpoint: checks the client's key and the requested server.

    ``servers`` are the loaded virtual servers; the per-server route's ``{server}`` path
    parameter must name one of them (404 otherwise, before the MCP layer sees the request).
    """

    def __init__(self, app: ASGIApp, access: Access, servers: Collection[str]) -> None:
        self.app = app
        self.access = access
        self.servers = frozenset(servers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("path_params", {}).get("server")
        if server is not None and server not in self.servers:
            await _reject(send, 404, f"no virtual server named {server!r}")
            return
        authorization = api_key = None
        for name, value in scope.get("headers", ()):  # the last of repeated headers wins, as in a dict
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"x-api-key":
                api_key = value.decode("latin-1")
        grant = self.access.grant(authorization, api_key)
        if grant is None:
            await _reject(
                send,
                401,
                "a client key is required (Authorization: Bearer <key> or X-API-Key)",
                [(b"www-authenticate", b'Bearer realm="virtualize"')],
            )
            return
        if server is not None and not grant.allows(server):
            await _reject(send, 403, f"this client may not use server {server!r}")
            return
        scope[GRANT_SCOPE_KEY] = grant
        await self.app(scope, receive, send)


async def _reject(send: Send, status: int, message: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error": message}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode("ascii"))]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
