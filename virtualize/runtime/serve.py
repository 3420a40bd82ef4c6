"""``virtualize serve``: the run-time pipeline on one screen.

    manifest folders ──read──▶ VirtualServer (invokers + credentials + settings) ──▶ Router ──▶ transport
                                                                                   (one MCP Server)  stdio | HTTP

Everything that can be wrong is found before the first request: unreadable manifests, names
given on the command line or in the configuration that match no loaded server, an upstream
that is not an http(s) URL, a credential override naming no scheme or role of its server, client
keys that cannot be read, a non-loopback bind without client keys. A credential that is missing is not
fatal (other servers, and tools that need none, still work): it is reported here per server, and
at call time as an ``unauthorized`` result naming the variable to set.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import anyio

from virtualize.errors import ConfigError
from virtualize.manifest import find_manifest_folders, read_manifest
from virtualize.manifest.model import Manifest
from virtualize.runtime.access import Access, check_bind
from virtualize.runtime.credentials import ROLES, CredentialStore
from virtualize.runtime.invokers import Invoker, invoker_for
from virtualize.runtime.router import Router, VirtualServer
from virtualize.runtime.settings import ServeSettings
from virtualize.runtime.transports import bind, serve_http, serve_stdio

logger = logging.getLogger("virtualize.serve")


def load_servers(directories: Sequence[Path], settings: ServeSettings) -> list[VirtualServer]:
    """Read every manifest folder under ``directories`` and prepare it for serving."""
    folders = [folder for directory in directories for folder in find_manifest_folders(directory)]
    servers = []
    for folder in folders:
        manifest = read_manifest(folder)
        options = settings.invoker_settings(manifest.name)
        protocols = sorted({binding.protocol for binding in manifest.bindings.tools.values()})
        _check_upstream(manifest.name, options.base_url, protocols, settings)
        _check_overrides(manifest, settings)
        invokers: dict[str, Invoker] = {protocol: invoker_for(protocol)(manifest, options) for protocol in protocols}
        credentials = CredentialStore(
            manifest.name,
            manifest.auth,
            overrides=settings.credential_overrides(manifest.name),
            tls=options.tls_verify(),
        )
        for line in credentials.missing():
            logger.warning("server %s: missing upstream credential: %s", manifest.name, line)
        servers.append(VirtualServer(manifest, invokers, credentials, options))
    loaded = {server.name for server in servers}
    named = set(settings.upstreams) | set(settings.file.servers)
    unknown = sorted(named - loaded)
    if unknown:
        raise ConfigError(
            f"configuration names servers that are not loaded: {', '.join(unknown)}",
            hint=f"loaded: {', '.join(sorted(loaded))}",
        )
    return servers


def _check_upstream(server: str, url: str | None, protocols: Sequence[str], settings: ServeSettings) -> None:
    """An HTTP or GraphQL upstream is an absolute http(s) URL with a host: anything else would fail
    every call (gRPC takes HOST:PORT, which its invoker reads)."""
    if url is None or not {"http", "graphql"} & set(protocols):
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        given = f"--upstream {server}=" if server in settings.upstreams else f"servers.{server}.upstream = "
        raise ConfigError(
            f"{given}{url!r} is not an http(s) URL with a host",
            hint="e.g. http://127.0.0.1:4010/v1 (the base the operations' paths are appended to)",
        )


def _check_overrides(manifest: Manifest, settings: ServeSettings) -> None:
    """A credential override names a scheme of the server and a role of that scheme: a misspelt
    one would leave the manifest's own source in force without a word."""
    for scheme, override in settings.credential_overrides(manifest.name).items():
        where = f"servers.{manifest.name}.credentials.{scheme}"
        known = manifest.auth.schemes.get(scheme)
        if known is None:
            schemes = ", ".join(sorted(manifest.auth.schemes)) or "none"
            raise ConfigError(
                f"{where}: server {manifest.name} has no auth scheme {scheme!r}", hint=f"its schemes: {schemes}"
            )
        roles = ROLES.get(known.kind, ())
        unknown = sorted((set(override.sources) | set(override.files)) - set(roles))
        if unknown:
            raise ConfigError(
                f"{where}: {', '.join(unknown)} is not a role of scheme {scheme!r} ({known.kind})",
                hint=f"its roles: {', '.join(roles)} (and forward_caller)",
            )


def serve(
    directories: Sequence[Path],
    settings: ServeSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    stdio: bool = False,
) -> None:
    """Serve until interrupted (HTTP) or until the client closes stdin (stdio)."""
    configure_logging()
    router = Router(load_servers(directories, settings))
    if stdio:
        anyio.run(serve_stdio, router)
        return
    access = Access.from_config(settings.file.clients, router.servers)
    check_bind(host, access, allow_anonymous=settings.allow_anonymous)
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    with sock:
        anyio.run(serve_http, router, access, sock, host, backend_options=_loop_options())


def _loop_options() -> dict[str, bool]:
    """uvloop where installed (not on Windows): the event loop is a good share of per-call cost."""
    return {"use_uvloop": importlib.util.find_spec("uvloop") is not None}


def configure_logging(level: int = logging.INFO) -> None:
    """Call lines as bare JSON on stderr (stdout belongs to the stdio transport); the rest prefixed."""
    calls = logging.getLogger("virtualize.calls")
    if not calls.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        calls.addHandler(handler)
        calls.propagate = False
    calls.setLevel(level)
    root = logging.getLogger("virtualize")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("virtualize: %(levelname)s %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
