"""Selection: which operations become tools (include/exclude by tag, operation, path, method).

Declarative matches in the spirit of FastMCP's RouteMap: an operation is kept when, for each
kind of rule, it matches one of the include patterns (if any are given) and none of the exclude
patterns. A pattern that matches no operation at all is reported: it is almost always a typo.
"""

from __future__ import annotations

import dataclasses
from fnmatch import fnmatchcase

from virtualize import ir
from virtualize.config import Selection
from virtualize.passes.state import Build, Draft


def _path(op: ir.Operation) -> str:
    call = op.call
    if isinstance(call, ir.HttpCall):
        return call.path
    if isinstance(call, ir.GrpcCall):
        return call.full_method
    return op.key


def _method(op: ir.Operation) -> str:
    call = op.call
    if isinstance(call, ir.HttpCall):
        return call.method.upper()
    if isinstance(call, ir.GraphQLCall):
        return call.operation_type.upper()
    return "RPC"


def _op_ids(op: ir.Operation, name: str) -> tuple[str, ...]:
    return (*op.name_candidates[:1], name)


def _rules(selection: Selection) -> list[tuple[str, tuple[str, ...], bool]]:
    """(field, patterns, is_include) for each rule list that is set."""
    return [
        (field, getattr(selection, field), field.startswith("include") or field == "methods")
        for field in Selection.model_fields
        if getattr(selection, field)
    ]


def _values(field: str, op: ir.Operation, name: str) -> tuple[str, ...]:
    if field.endswith("tags"):
        return op.tags
    if field.endswith("ops"):
        return _op_ids(op, name)
    if field.endswith("paths"):
        return (_path(op),)
    return (_method(op),)


def _matches(pattern: str, field: str, values: tuple[str, ...]) -> bool:
    if field == "methods":
        return pattern.upper() in values
    return any(fnmatchcase(value, pattern) for value in values)


def select_operations(build: Build) -> Build:
    """Drafts for the kept operations, named by ``build.names``."""
    rules = _rules(build.selection)
    used: set[tuple[str, str]] = set()
    drafts: list[Draft] = []
    for op in build.api.operations:
        name = build.names.get(op.key)
        if name is None:
            continue
        keep = True
        for field, patterns, include in rules:
            values = _values(field, op, name)
            hits = [p for p in patterns if _matches(p, field, values)]
            used.update((field, p) for p in hits)
            if (include and not hits) or (not include and hits):
                keep = False
        if keep:
            drafts.append(Draft(operation=op, name=name))
    for field, patterns, _ in rules:
        for pattern in patterns:
            if (field, pattern) not in used:
                build.diagnostics.warning(
                    build.target.source_file,
                    f"selection {field} pattern {pattern!r} matches no operation",
                    hint="check the spelling; patterns are case-sensitive fnmatch globs",
                )
    if rules and build.api.operations and not drafts:
        # Each pattern may match something and the rules together still keep nothing: an empty
        # server is almost never what was meant, and its manifest would look like a success.
        build.diagnostics.warning(
            build.target.source_file,
            f"the selection keeps none of the {len(build.api.operations)} operations: the server has no tools",
            hint="check the include and exclude patterns together",
        )
    skipped = len(build.api.operations) - len(drafts)
    return dataclasses.replace(build, drafts=tuple(drafts), skipped=skipped)
