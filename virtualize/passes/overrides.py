"""Overrides from the spec's configuration: rename, retitle, redescribe, re-annotate, pin.

A ``[tools.<key>]`` table names a tool by its derived name, its operationId or its operation key.
A key that names nothing is an error (a typo must not pass silently); one that names an operation
the selection left out is a warning. A pinned (``fixed``) argument leaves ``inputSchema``, keeps
its binding, and its value is checked against the argument's schema now rather than upstream later.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections import defaultdict

from jsonschema import Draft202012Validator

from virtualize.config import ToolOverride
from virtualize.passes.schemas import Mode
from virtualize.passes.state import Build, Draft


def _lookup(build: Build) -> dict[str, str]:
    """Every name a user may use for an operation -> its key (derived names win over ids)."""
    lookup: dict[str, str] = {}
    for op in build.api.operations:
        lookup.setdefault(build.names.get(op.key, op.key), op.key)
    for op in build.api.operations:
        for alias in (*op.name_candidates[:1], op.key):
            lookup.setdefault(alias, op.key)
    return lookup


def _apply(build: Build, draft: Draft, key: str, override: ToolOverride) -> Draft:
    where = build.target.config_file or build.target.source_file
    if override.name is not None and len(override.name) > build.name_limit:
        build.diagnostics.error(
            where, f"tools.{key}.name: {override.name!r} is longer than the name limit {build.name_limit}"
        )
    annotations = draft.annotations
    if override.annotations is not None and annotations is not None:
        annotations = annotations.model_copy(update=override.annotations.model_dump(exclude_none=True))
    fixed = dict(draft.fixed)
    by_name = {arg.argument: arg for arg in draft.arguments}
    for argument, value in override.fixed.items():
        planned = by_name.get(argument)
        if planned is None:
            build.diagnostics.error(
                where,
                f"tools.{key}.fixed: tool {draft.name!r} has no argument {argument!r}",
                hint=f"its arguments are: {', '.join(sorted(by_name)) or '(none)'}",
            )
            continue
        schema = build.views.document(planned.schema, Mode.REQUEST)
        error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
        if error is not None:
            build.diagnostics.error(where, f"tools.{key}.fixed.{argument}: {error.message}")
            continue
        fixed[argument] = value
    return dataclasses.replace(
        draft,
        name=override.name if override.name is not None else draft.name,
        title=override.title if override.title is not None else draft.title,
        description=override.description.strip() if override.description is not None else draft.description,
        annotations=annotations,
        fixed=fixed,
    )


def apply_overrides(build: Build) -> Build:
    where = build.target.config_file or build.target.source_file
    lookup = _lookup(build)
    kept = {draft.operation.key: draft for draft in build.drafts}
    for key, override in build.config.tools.items():
        op_key = lookup.get(key)
        if op_key is None:
            close = difflib.get_close_matches(key, list(lookup), n=1)
            build.diagnostics.error(
                where,
                f"tools.{key}: no tool or operation is named {key!r}",
                hint=f"did you mean {close[0]!r}?" if close else "use a tool name from TOOLS.md or an operationId",
            )
        elif op_key not in kept:
            build.diagnostics.warning(where, f"tools.{key}: the selection leaves this operation out; override unused")
        else:
            kept[op_key] = _apply(build, kept[op_key], key, override)
    drafts = tuple(kept.values())
    owners: dict[str, list[str]] = defaultdict(list)
    for draft in drafts:
        owners[draft.name].append(draft.operation.key)
    for name, keys in owners.items():
        if len(keys) > 1:
            build.diagnostics.error(
                where, f"tool name {name!r} is given to {len(keys)} operations: {', '.join(sorted(keys))}"
            )
    return dataclasses.replace(build, drafts=drafts)
