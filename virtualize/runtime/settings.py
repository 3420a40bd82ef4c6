"""The serve configuration: one TOML file (``virtualize serve --config FILE``) plus command-line flags.

    [defaults]                      # every server, unless its own table says otherwise
    timeout = 30.0                  # seconds for a whole call (also its deadline)
    connect_timeout = 5.0
    max_response_bytes = 1000000
    http2 = false                   # offered to https upstreams (ALPN); plain http stays HTTP/1.1
    retries = 2
    ca_file = "internal-ca.pem"     # CAs to trust for TLS upstreams, instead of the default bundle
                                    # (relative to this file)
    max_stream_messages = 100       # gRPC server streams are cut (with a marker) after this many

    [servers.petstore]              # one table per virtual server (manifest name)
    upstream = "http://127.0.0.1:4010/v1"   # replaces the manifest's server URL
    timeout = 10.0
    [servers.petstore.credentials.api_key]  # per auth scheme: override where credentials come from
    value = "MY_PETSTORE_KEY"       # role -> environment variable (``<VAR>_FILE`` names a file),
                                    # or a file: value = {file = "/run/secrets/petstore-key"}
    forward_caller = false

    [[clients]]                     # gateway access: who may call which servers over HTTP
    name = "ci"
    key_env = "VIRTUALIZE_CI_KEY"   # or key_file = "/run/secrets/ci" or key_sha256 = "<hex>"
    servers = ["petstore"]          # omitted: every server

Like the build configuration it names secrets, never holds them (``key_sha256`` is a digest).
Relative file paths are relative to this file.
Unknown keys are errors naming the file and the key, never silently ignored.
"""

from __future__ import annotations

import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, model_validator

from virtualize.errors import ConfigError
from virtualize.runtime.credentials import SchemeOverride
from virtualize.runtime.invokers import InvokerSettings


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Limits(_Strict):
    timeout: float | None = Field(default=None, gt=0)
    connect_timeout: float | None = Field(default=None, gt=0)
    max_response_bytes: int | None = Field(default=None, ge=1024)
    http2: StrictBool | None = None  # TOML has booleans: "yes" is a typo, not true
    retries: int | None = Field(default=None, ge=0, le=10)
    ca_file: str | None = None
    max_stream_messages: int | None = Field(default=None, ge=1)


class CredentialOverride(_Strict):
    model_config = ConfigDict(frozen=True, extra="allow")  # role names are open: value, token, username, ...

    forward_caller: StrictBool | None = None

    def sources(self) -> dict[str, str]:
        """Role -> the environment variable to read instead of the map's."""
        return {role: source for role, source in self._roles().items() if isinstance(source, str)}

    def files(self) -> dict[str, str]:
        """Role -> the file to read it from (``read_serve_file`` makes the path absolute)."""
        return {role: source["file"] for role, source in self._roles().items() if isinstance(source, dict)}

    def _roles(self) -> dict[str, str | dict[str, str]]:
        extra = self.model_extra or {}
        bad = [role for role, source in extra.items() if not (isinstance(source, str) or _names_a_file(source))]
        if bad:
            raise ValueError(
                'a credential role names an environment variable (a string) or a file ({file = "path"}): '
                + ", ".join(bad)
            )
        return extra


def _names_a_file(source: object) -> bool:
    return (
        isinstance(source, dict)
        and list(source) == ["file"]
        and isinstance(source["file"], str)
        and bool(source["file"])
    )


class ServerSection(Limits):
    upstream: str | None = None
    credentials: dict[str, CredentialOverride] = {}


class ClientSection(_Strict):
    name: str
    key_env: str | None = None
    key_file: str | None = None
    key_sha256: str | None = None
    servers: tuple[str, ...] | None = None  # None: every server

    @model_validator(mode="after")
    def _one_key(self) -> ClientSection:
        given = [k for k in (self.key_env, self.key_file, self.key_sha256) if k]
        if len(given) != 1:
            raise ValueError(f"client {self.name!r} needs exactly one of key_env, key_file, key_sha256")
        return self


class ServeFile(_Strict):
    defaults: Limits = Limits()
    servers: dict[str, ServerSection] = {}
    clients: tuple[ClientSection, ...] = ()


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """Everything ``serve`` needs besides the manifests, resolved from the file and the flags."""

    file: ServeFile = field(default_factory=ServeFile)
    upstreams: Mapping[str, str] = field(default_factory=dict)  # --upstream NAME=URL (wins over the file)
    allow_anonymous: bool = False

    def invoker_settings(self, server: str) -> InvokerSettings:
        section = self.file.servers.get(server, ServerSection())
        defaults = self.file.defaults

        # A limit the server's table sets wins over [defaults]; neither set leaves InvokerSettings' own default.
        chosen: dict[str, Any] = {}
        for name in Limits.model_fields:
            value = getattr(section, name)
            if value is None:
                value = getattr(defaults, name)
            if value is not None:
                chosen[name] = value
        return InvokerSettings(base_url=self.upstreams.get(server) or section.upstream, **chosen)

    def credential_overrides(self, server: str) -> dict[str, SchemeOverride]:
        section = self.file.servers.get(server)
        if section is None:
            return {}
        return {
            name: SchemeOverride(
                sources=override.sources(), files=override.files(), forward_caller=override.forward_caller
            )
            for name, override in section.credentials.items()
        }


def read_serve_file(path: Path) -> ServeFile:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("no such serve configuration file", location=str(path)) from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:  # TOML is UTF-8
        raise ConfigError(f"unreadable serve configuration: {exc}", location=str(path)) from None
    try:
        parsed = ServeFile.model_validate(data)
        for server in parsed.servers.values():
            for override in server.credentials.values():
                override.sources()
    except (ValidationError, ValueError) as exc:
        raise ConfigError(_first_problem(exc), location=str(path), hint="see `virtualize serve --help`") from None
    return _with_paths_resolved(parsed, path)


def _with_paths_resolved(parsed: ServeFile, path: Path) -> ServeFile:
    """Every file the configuration names, resolved against the configuration file's folder.

    A ``ca_file`` must be present: a missing CA bundle is a start-up error, not a TLS failure on
    every call. A credential file is read per call (a secret may be mounted or rotated later, and
    a missing one is a missing credential); a client key file at start-up (``Access``).
    """

    def resolved(name: str) -> str:
        return str((path.parent / name).resolve())

    def found(limits: Limits, where: str) -> str | None:
        if limits.ca_file is None:
            return None
        ca_file = path.parent / limits.ca_file
        if not ca_file.is_file():
            raise ConfigError(f"{where}.ca_file: no such file {str(ca_file)!r}", location=str(path))
        try:  # loaded once here, so that a file of no certificates is said at start-up, by name
            ssl.create_default_context(cafile=str(ca_file))
        except (ssl.SSLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise ConfigError(
                f"{where}.ca_file: {str(ca_file)!r} holds no usable PEM certificate ({reason})",
                location=str(path),
                hint="give a PEM bundle of the CAs that sign the upstream's certificate",
            ) from None
        return str(ca_file.resolve())

    def credentials(section: ServerSection) -> dict[str, CredentialOverride]:
        return {
            scheme: override.model_copy(update={role: {"file": resolved(f)} for role, f in override.files().items()})
            for scheme, override in section.credentials.items()
        }

    return parsed.model_copy(
        update={
            "defaults": parsed.defaults.model_copy(update={"ca_file": found(parsed.defaults, "defaults")}),
            "servers": {
                name: section.model_copy(
                    update={"ca_file": found(section, f"servers.{name}"), "credentials": credentials(section)}
                )
                for name, section in parsed.servers.items()
            },
            "clients": tuple(
                client.model_copy(update={"key_file": resolved(client.key_file)}) if client.key_file else client
                for client in parsed.clients
            ),
        }
    )


def _first_problem(exc: ValidationError | ValueError) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)


def parse_upstreams(pairs: list[str]) -> dict[str, str]:
    """``--upstream NAME=URL`` flags as a mapping; a malformed one is a ``ConfigError``."""
    upstreams: dict[str, str] = {}
    for pair in pairs:
        name, sep, url = pair.partition("=")
        if not sep or not name or not url:
            raise ConfigError(
                f"--upstream {pair!r} is not NAME=URL", hint="e.g. --upstream petstore=http://127.0.0.1:4010/v1"
            )
        upstreams[name] = url
    return upstreams
