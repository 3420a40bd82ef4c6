"""Lint a manifest: what an agent will see, judged by the client profiles asked for.

For each tool: the text checks (``text``) on every description and title, the invisible
character, instruction and credential checks on every string of the tool (names, enum values, defaults and
examples included), the
name, length and description rules of each profile, and the schema dialect of each profile
(``schemas``). For the server: tool count and the token cost of the tool list.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

from virtualize.lint import text
from virtualize.lint.findings import Finding, Settings
from virtualize.lint.profiles import PROFILES, Profile
from virtualize.lint.schemas import property_names, schema_problems, walk
from virtualize.manifest.model import GraphQLBinding, GrpcBinding, HttpBinding, Manifest, Tool
from virtualize.review.changes import pointer_token

_PROSE_KEYS = ("description", "title")


def lint_manifest(manifest: Manifest, settings: Settings, *, file: str = "") -> list[Finding]:
    """Every finding for one manifest, in tools.json order, server-wide findings last; rules set
    to "off" are left out and the others carry their configured level."""
    profiles = [PROFILES[name] for name in settings.profiles]
    server = settings.server_name or manifest.name
    sites = _own_sites(manifest)
    found: list[Finding] = []
    seen: set[tuple[str, str, str, str]] = set()

    def add(rule: str, tool: str, index: int | None, pointer: str, message: str) -> None:
        level = settings.level_of(rule)
        key = (rule, tool, pointer, message)
        if level == "off" or key in seen:
            return
        seen.add(key)
        found.append(Finding(rule, level, server, tool, pointer, message, file=file, index=index))

    for index, tool in enumerate(manifest.tools):
        data = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        prose = dict(_prose(data))
        for pointer, value in _strings(data):
            for rule, message in (*text.invisible_characters(value), *text.secrets(value)):
                add(rule, tool.name, index, pointer, message)
            if pointer not in prose:  # an enum value, a default or an example reaches the model too
                for rule, message in text.instructions(value, what_text="text"):
                    add(rule, tool.name, index, pointer, message)
        for pointer, value in prose.items():
            for rule, message in (
                *text.instructions(value),
                *text.markup(value),
                *text.unexpected_hosts(value, sites, settings.allow_hosts),
            ):
                add(rule, tool.name, index, pointer, message)
        for rule, pointer, message in _descriptions(tool):
            add(rule, tool.name, index, pointer, message)
        for profile in profiles:
            for rule, pointer, message in _tool_limits(tool, server, profile):
                add(rule, tool.name, index, pointer, message)
            for rule, pointer, message in schema_problems(tool.input_schema, profile):
                add(rule, tool.name, index, pointer, message)
    for profile in profiles:
        for rule, message in _server_limits(manifest, profile, settings.token_budget):
            add(rule, "", None, "", message)
    return found


def _strings(value: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a JSON value, keys included (a key is reported at its own pointer)."""
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, dict):
        for key, item in value.items():
            at = f"{pointer}/{pointer_token(key)}"
            yield at, key
            yield from _strings(item, at)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{pointer}/{i}")


def _prose(tool: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The descriptions and titles of a tool and of every schema in it."""
    for key in _PROSE_KEYS:
        if isinstance(tool.get(key), str):
            yield f"/{key}", tool[key]
    annotations = tool.get("annotations") or {}
    if isinstance(annotations.get("title"), str):
        yield "/annotations/title", annotations["title"]
    for part in ("inputSchema", "outputSchema"):
        for place in walk(tool.get(part), f"/{part}"):
            for key in _PROSE_KEYS:
                if isinstance(place.schema.get(key), str):
                    yield f"{place.pointer}/{key}", place.schema[key]


def _descriptions(tool: Tool) -> Iterator[tuple[str, str, str]]:
    if not tool.description.strip():
        yield "VZ106", "/description", "the tool has no description; the model has only its name to go on"
    declared = tool.input_schema.get("properties")
    if not isinstance(declared, dict):
        return
    defs = tool.input_schema.get("$defs")
    defs = defs if isinstance(defs, dict) else {}
    for name, schema in declared.items():
        if not isinstance(schema, dict):
            continue
        target = schema
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = {**(defs.get(ref.removeprefix("#/$defs/")) or {}), **schema}
        if not str(target.get("description", "")).strip():
            yield "VZ107", f"/inputSchema/properties/{pointer_token(name)}", f"argument `{name}` has no description"


def _tool_limits(tool: Tool, server: str, profile: Profile) -> Iterator[tuple[str, str, str]]:
    name = tool.name
    if profile.name_pattern is not None and not profile.name_pattern.match(name):
        yield "VZ201", "/name", f"{profile.title} rejects the name `{name}` (must match {profile.name_pattern.pattern})"
    if profile.max_name_length is not None and len(name) > profile.max_name_length:
        yield (
            "VZ202",
            "/name",
            f"{profile.title} allows names of at most {profile.max_name_length} characters; `{name}` has {len(name)}",
        )
    combined = len(server) + 1 + len(name)
    if profile.max_combined_name_length is not None and combined > profile.max_combined_name_length:
        yield (
            "VZ202",
            "/name",
            f"{profile.title}: the server and tool names together (`{server}` + `{name}`) are {combined} "
            f"characters, over {profile.max_combined_name_length} (Cursor counts both)",
        )
    limit = profile.max_description_length
    if limit is not None and len(tool.description) > limit:
        yield (
            "VZ203",
            "/description",
            f"{profile.title} accepts descriptions of at most {limit:,} characters; this one has "
            f"{len(tool.description):,}",
        )
    if profile.property_name_pattern is not None:
        for pointer, prop in property_names(tool.input_schema):
            if not profile.property_name_pattern.match(prop):
                yield (
                    "VZ206",
                    pointer,
                    f"{profile.title} rejects the property name `{prop}` "
                    f"(must match {profile.property_name_pattern.pattern})",
                )


def _server_limits(manifest: Manifest, profile: Profile, budget: int) -> Iterator[tuple[str, str]]:
    count = len(manifest.tools)
    if profile.max_tools is not None and count > profile.max_tools:
        yield "VZ204", f"{profile.title} loads at most {profile.max_tools} tools; this server has {count}"
    tokens = tool_list_tokens(manifest.tools)
    if tokens > budget:
        yield (
            "VZ205",
            f"the tool list costs about {tokens:,} tokens on every request, over the budget of {budget:,}",
        )


def tool_list_tokens(tools: tuple[Tool, ...]) -> int:
    """Estimated tokens of the tool list as sent (compact JSON bytes / 4, as the build reports)."""
    data = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]
    return math.ceil(len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()) / 4)


def _own_sites(manifest: Manifest) -> frozenset[str]:
    """The sites of the hosts the API is reached at: links there are expected."""
    urls: list[str] = []
    for binding in manifest.bindings.tools.values():
        if isinstance(binding, HttpBinding):
            urls.extend(server.url for server in binding.servers)
        elif isinstance(binding, GraphQLBinding):
            urls.append(binding.endpoint)
        elif isinstance(binding, GrpcBinding):
            urls.append(f"grpc://{binding.target}")
    urls.extend(scheme.token_url for scheme in manifest.auth.schemes.values() if scheme.token_url)
    hosts = {text.host_of(url.replace("{", "").replace("}", "")) for url in urls}
    return frozenset(text.site_of(host) for host in hosts if host)
