"""What lint reports, and the settings that decide levels: a ``Finding`` per problem, located by
server, tool and JSON pointer; ``Settings`` from the command line and the ``[lint]`` table of
``virtualize.toml``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from virtualize.errors import ConfigError
from virtualize.lint.profiles import DEFAULT_TOKEN_BUDGET, PROFILES
from virtualize.lint.rules import LEVEL_RANK, RULES, Level

LevelSetting = Level | Literal["off"]
_LEVEL_SETTINGS: dict[str, LevelSetting] = {"error": "error", "warning": "warning", "note": "note", "off": "off"}


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    level: Level
    server: str
    tool: str  # "" when the finding concerns the whole server (tool count, token budget)
    pointer: str  # JSON pointer into the tool's entry of tools.json ("" for the whole tool)
    message: str
    file: str = ""  # the tools.json the finding is in, as given on the command line
    index: int | None = None  # the tool's position in tools.json

    @property
    def file_pointer(self) -> str:
        """The pointer from the root of tools.json."""
        return f"/{self.index}{self.pointer}" if self.index is not None else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "name": RULES[self.rule].name,
            "level": self.level,
            "server": self.server,
            "tool": self.tool,
            "pointer": self.pointer,
            "file": self.file,
            "file_pointer": self.file_pointer,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Settings:
    profiles: tuple[str, ...] = ("default",)
    levels: dict[str, LevelSetting] = field(default_factory=dict)  # rule id -> level or "off"
    allow_hosts: tuple[str, ...] = ()  # fnmatch patterns of hosts descriptions may link to
    token_budget: int = DEFAULT_TOKEN_BUDGET
    server_name: str | None = None  # the name clients give the server (default: the manifest's)

    def level_of(self, rule: str) -> LevelSetting:
        return self.levels.get(rule, RULES[rule].level)


def rule_id(key: str) -> str:
    """A rule's id from its id or its name (``VZ105`` or ``unexpected-url-host``)."""
    if key.upper() in RULES:
        return key.upper()
    for rule in RULES.values():
        if rule.name == key:
            return rule.id
    raise ConfigError(f"unknown lint rule {key!r}", hint="see README, section Review, for the rule ids")


def parse_levels(pairs: list[str] | tuple[str, ...] | dict[str, str]) -> dict[str, LevelSetting]:
    """``RULE=level`` pairs (or a mapping) as rule id -> level; level is error, warning, note or off."""
    items = pairs.items() if isinstance(pairs, dict) else (_split(pair) for pair in pairs)
    levels: dict[str, LevelSetting] = {}
    for key, value in items:
        if value not in _LEVEL_SETTINGS:
            raise ConfigError(f"level {value!r} for {key} is not one of error, warning, note, off")
        levels[rule_id(key)] = _LEVEL_SETTINGS[value]
    return levels


def _split(pair: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    if not sep:
        raise ConfigError(f"--severity {pair!r} must be RULE=LEVEL", hint="e.g. --severity VZ105=error")
    return key.strip(), value.strip().lower()


def read_settings(path: Path) -> dict[str, Any]:
    """The ``[lint]`` table of a project file as keyword arguments of ``Settings``; other tables
    belong to the build and are not read here."""
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get("lint", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"unreadable configuration: {exc}", location=str(path)) from None
    known = {"profile", "severity", "allow-hosts", "token-budget", "server-name"}
    unknown = sorted(set(table) - known)
    if unknown:
        hint = f"known: {', '.join(sorted(known))}"
        raise ConfigError(f"lint.{unknown[0]}: unknown key", location=str(path), hint=hint)
    settings: dict[str, Any] = {}
    try:
        if "profile" in table:
            profile = table["profile"]
            settings["profiles"] = tuple([profile] if isinstance(profile, str) else profile)
        if "severity" in table:
            settings["levels"] = parse_levels({str(k): str(v).lower() for k, v in dict(table["severity"]).items()})
        if "allow-hosts" in table:
            settings["allow_hosts"] = tuple(str(h) for h in table["allow-hosts"])
        if "token-budget" in table:
            settings["token_budget"] = int(table["token-budget"])
        if "server-name" in table:
            settings["server_name"] = str(table["server-name"])
    except ConfigError as exc:
        raise ConfigError(exc.message, location=str(path), hint=exc.hint) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"lint: {exc}", location=str(path)) from None
    check_profiles(settings.get("profiles", ()), where=str(path))
    return settings


def check_profiles(names: tuple[str, ...] | list[str], *, where: str = "") -> None:
    for name in names:
        if name not in PROFILES:
            raise ConfigError(f"unknown lint profile {name!r}", location=where, hint=f"one of: {', '.join(PROFILES)}")


def at_or_above(level: Level, threshold: Level) -> bool:
    return LEVEL_RANK[level] >= LEVEL_RANK[threshold]
