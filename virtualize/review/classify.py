"""Compare two manifests of one virtual server and class every change by what it does to callers.

A manifest has two audiences, and a change is judged by the one it can hurt:

- the **agent**, which sees ``tools.json``: names, descriptions, ``inputSchema``,
  ``outputSchema``, annotations;
- the **upstream**, which receives the request the runtime builds from ``bindings.json`` and
  ``auth.json``.

Classes (``ChangeKind``):

``breaking``
    A call that worked before can fail or do something else now: a tool removed or renamed (a
    removed tool and an added tool bound to the same source operation), a new required
    argument, an argument removed or made required, a type narrowed or changed, an enum value
    removed, a constraint tightened, a result field removed, an annotation turned from
    read-only to destructive, an authentication requirement added, a binding that changes the
    upstream request (``virtualize.review.bindings``), an auth scheme removed or changed, or a
    credential read from another source (a deployment must set a new variable).
``additive``
    Something new that no existing call depends on: a tool added, an optional argument added, an
    enum or type widened, a constraint loosened, a result field added, an auth requirement relaxed.
``description``
    What the agent is told changed: tool or argument descriptions, titles, defaults, deprecation.
    Their own class because an agent obeys descriptions: a reworded description changes behaviour
    as surely as a schema change does, and it is where a poisoned instruction would arrive.
``cosmetic``
    Nothing a caller can observe: the source operation key, the API's title or version string,
    schema annotations such as ``examples``, result constraints.
"""

from __future__ import annotations

from collections.abc import Iterator

from virtualize.manifest.model import AuthScheme, GrpcBinding, Manifest, Tool, ToolAnnotations
from virtualize.review.bindings import binding_changes
from virtualize.review.changes import Change, ManifestDiff, pointer_token, quote, show
from virtualize.review.schemas import compare_schemas
from virtualize.review.wire import wire_changes


def diff_manifests(old: Manifest, new: Manifest, *, old_label: str = "old", new_label: str = "new") -> ManifestDiff:
    """Class every change from ``old`` to ``new`` (see the module docstring for the rules)."""
    changes: list[Change] = [*_header_changes(old, new), *_auth_changes(old, new)]
    old_tools = {t.name: t for t in old.tools}
    new_tools = {t.name: t for t in new.tools}
    removed, added = sorted(old_tools.keys() - new_tools.keys()), sorted(new_tools.keys() - old_tools.keys())
    renames = _renames(removed, added, old, new)
    renamed_from = {after: before for before, after in renames.items()}
    for name in sorted(old_tools.keys() | new_tools.keys()):
        if name in renames:
            continue  # reported under its new name
        if name in renamed_from:
            before = renamed_from[name]
            message = (
                f"renamed from `{before}` (same operation `{_operation(new, name)}`); agents calling "
                f"`{before}` get an unknown-tool error"
            )
            changes.append(Change("breaking", "tool-renamed", name, "tools", "/name", message))
            changes.extend(_tool_changes(old_tools[before], new_tools[name], old, new, name))
        elif name not in new_tools:
            changes.append(Change("breaking", "tool-removed", name, "tools", "", "tool removed"))
        elif name not in old_tools:
            changes.append(Change("additive", "tool-added", name, "tools", "", "tool added"))
        else:
            changes.extend(_tool_changes(old_tools[name], new_tools[name], old, new, name))
    return ManifestDiff(
        name=new.name,
        old_label=old_label,
        new_label=new_label,
        changes=_collapse_server_moves(changes),
        old_tools=len(old.tools),
        new_tools=len(new.tools),
        old_tokens=old.manifest.counts.tool_list_tokens,
        new_tokens=new.manifest.counts.tool_list_tokens,
    )


def diff_servers(
    old: dict[str, Manifest], new: dict[str, Manifest], *, old_label: str, new_label: str
) -> list[ManifestDiff]:
    """Diff two sets of manifests keyed by folder name. Two single folders are compared whatever
    their names; otherwise a server on one side only is reported as added or removed whole."""
    if len(old) == 1 and len(new) == 1:
        (before,), (after,) = old.values(), new.values()
        return [diff_manifests(before, after, old_label=old_label, new_label=new_label)]
    diffs = []
    for key in sorted(old.keys() | new.keys()):
        labels = {"old_label": f"{old_label}/{key}", "new_label": f"{new_label}/{key}"}
        if key in old and key in new:
            diffs.append(diff_manifests(old[key], new[key], **labels))
        elif key in new:
            tools = len(new[key].tools)
            change = Change("additive", "server-added", "", "manifest", "", f"server added with {tools} tools")
            diffs.append(_whole_server(new[key], change, labels, tools=(0, tools)))
        else:
            tools = len(old[key].tools)
            change = Change("breaking", "server-removed", "", "manifest", "", f"server removed with its {tools} tools")
            diffs.append(_whole_server(old[key], change, labels, tools=(tools, 0)))
    return diffs


_SHOWN_TOOLS = 5


def _collapse_server_moves(changes: list[Change]) -> tuple[Change, ...]:
    """The same server change on several tools (the API moved) is one server-wide change: a
    reviewer reads it once, with the tools it concerns."""
    moved: dict[str, list[str]] = {}
    for change in changes:
        if change.code == "binding-server-changed":
            moved.setdefault(change.message, []).append(change.tool)
    collapsed: list[Change] = []
    for change in changes:
        tools = moved.get(change.message, []) if change.code == "binding-server-changed" else []
        if len(tools) < 2:
            collapsed.append(change)
        elif change.tool == tools[0]:
            shown = ", ".join(f"`{t}`" for t in tools[:_SHOWN_TOOLS])
            more = f" and {len(tools) - _SHOWN_TOOLS} more" if len(tools) > _SHOWN_TOOLS else ""
            message = f"{change.message} (for {len(tools)} tools: {shown}{more})"
            collapsed.insert(0, Change(change.kind, change.code, "", change.part, change.where, message))
    return tuple(collapsed)


def _whole_server(manifest: Manifest, change: Change, labels: dict[str, str], tools: tuple[int, int]) -> ManifestDiff:
    tokens = manifest.manifest.counts.tool_list_tokens
    return ManifestDiff(
        name=manifest.name,
        changes=(change,),
        old_tools=tools[0],
        new_tools=tools[1],
        old_tokens=tokens if tools[0] else 0,
        new_tokens=tokens if tools[1] else 0,
        **labels,
    )


def _operation(manifest: Manifest, tool: str) -> str:
    binding = manifest.bindings.tools.get(tool)
    return binding.operation if binding is not None else ""


def _renames(removed: list[str], added: list[str], old: Manifest, new: Manifest) -> dict[str, str]:
    """Removed tool -> added tool, where both are bound to the same source operation and the
    match is unambiguous (one candidate on each side)."""
    old_by_op: dict[str, list[str]] = {}
    new_by_op: dict[str, list[str]] = {}
    for name in removed:
        old_by_op.setdefault(_operation(old, name), []).append(name)
    for name in added:
        new_by_op.setdefault(_operation(new, name), []).append(name)
    return {
        names[0]: new_by_op[op][0]
        for op, names in old_by_op.items()
        if op and len(names) == 1 and len(new_by_op.get(op, ())) == 1
    }


def _header_changes(old: Manifest, new: Manifest) -> Iterator[Change]:
    for attribute in ("title", "api_version"):
        before, after = getattr(old.manifest, attribute), getattr(new.manifest, attribute)
        if before != after:
            code = f"{attribute.replace('_', '-')}-changed"
            message = f"{attribute.replace('_', ' ')} changed from {before!r} to {after!r}"
            yield Change("cosmetic", code, "", "manifest", f"/{attribute}", message)


# -- auth.json -------------------------------------------------------------------------------


def _auth_changes(old: Manifest, new: Manifest) -> Iterator[Change]:
    before, after = old.auth.schemes, new.auth.schemes
    for name in sorted(before.keys() | after.keys()):
        where = f"/schemes/{pointer_token(name)}"
        if name not in after:
            yield Change("breaking", "auth-scheme-removed", "", "auth", where, f"auth scheme `{name}` removed")
        elif name not in before:
            yield Change("additive", "auth-scheme-added", "", "auth", where, f"auth scheme `{name}` added")
        else:
            yield from _scheme_changes(name, before[name], after[name], where)


def _scheme_changes(name: str, old: AuthScheme, new: AuthScheme, where: str) -> Iterator[Change]:
    for attribute in ("kind", "in_", "parameter", "token_url", "scopes", "forward_caller"):
        a, b = getattr(old, attribute), getattr(new, attribute)
        if a != b:
            label = attribute.rstrip("_")
            message = f"auth scheme `{name}`: {label} changed from {show(a)} to {show(b)}"
            yield Change("breaking", "auth-scheme-changed", "", "auth", f"{where}/{label}", message)
    if old.sources != new.sources:
        message = (
            f"auth scheme `{name}` reads its credential from {show(new.sources)} instead of "
            f"{show(old.sources)}; deployments must set the new source"
        )
        yield Change("breaking", "credential-source-changed", "", "auth", f"{where}/sources", message)
    if old.description != new.description:
        message = f"auth scheme `{name}`: description changed"
        yield Change("cosmetic", "auth-description-changed", "", "auth", f"{where}/description", message)


# -- one tool --------------------------------------------------------------------------------


def _tool_changes(old: Tool, new: Tool, old_m: Manifest, new_m: Manifest, name: str) -> Iterator[Change]:
    if old.title != new.title:
        message = f"title changed from {show(old.title)} to {show(new.title)}"
        yield Change("description", "tool-title-changed", name, "tools", "/title", message)
    if old.description != new.description:
        message = f"description changed: {quote(old.description)} -> {quote(new.description)}"
        yield Change("description", "tool-description-changed", name, "tools", "/description", message)
    yield from _annotation_changes(old.annotations, new.annotations, name)
    yield from compare_schemas(name, "input", old.input_schema, new.input_schema, "/inputSchema")
    if old.output_schema is None and new.output_schema is not None:
        message = "results now carry structured content (outputSchema added)"
        yield Change("additive", "output-schema-added", name, "tools", "/outputSchema", message)
    elif old.output_schema is not None and new.output_schema is None:
        message = "results no longer carry structured content (outputSchema removed)"
        yield Change("breaking", "output-schema-removed", name, "tools", "/outputSchema", message)
    elif old.output_schema is not None and new.output_schema is not None:
        yield from compare_schemas(name, "output", old.output_schema, new.output_schema, "/outputSchema")
    old_binding, new_binding = old_m.bindings.tools.get(old.name), new_m.bindings.tools.get(new.name)
    if old_binding is not None and new_binding is not None:
        yield from binding_changes(old_binding, new_binding, name)
        if isinstance(old_binding, GrpcBinding) and isinstance(new_binding, GrpcBinding):
            old_set, new_set = old_m.bindings.descriptors, new_m.bindings.descriptors
            yield from wire_changes(old_binding, new_binding, old_set, new_set, name)


def _effective_hints(annotations: ToolAnnotations | None) -> tuple[bool, bool, bool]:
    """(read-only, destructive, idempotent) with the MCP defaults applied (schema.ts
    ``ToolAnnotations``: readOnlyHint false, destructiveHint true, idempotentHint false;
    destructive and idempotent are meaningful only when the tool is not read-only)."""
    a = annotations or ToolAnnotations()
    read_only = bool(a.read_only_hint)
    destructive = not read_only and (a.destructive_hint if a.destructive_hint is not None else True)
    idempotent = read_only or bool(a.idempotent_hint)
    return read_only, destructive, idempotent


def _annotation_changes(old: ToolAnnotations | None, new: ToolAnnotations | None, name: str) -> Iterator[Change]:
    if old == new:
        return
    title_a, title_b = (old.title if old else None), (new.title if new else None)
    if title_a != title_b:
        message = f"annotation title changed from {show(title_a)} to {show(title_b)}"
        yield Change("description", "annotation-title-changed", name, "tools", "/annotations/title", message)
    (ro_a, de_a, id_a), (ro_b, de_b, id_b) = _effective_hints(old), _effective_hints(new)
    if de_b and not de_a:
        was = "read-only" if ro_a else "non-destructive"
        message = (
            f"was {was}, now destructive: clients that auto-approve safe tools will now ask, and "
            "agents told to avoid destructive tools will stop calling it"
        )
        yield Change("breaking", "annotation-now-destructive", name, "tools", "/annotations", message)
    elif ro_a and not ro_b:
        message = "no longer read-only: the tool may now modify its environment"
        yield Change("breaking", "annotation-no-longer-read-only", name, "tools", "/annotations/readOnlyHint", message)
    elif id_a and not id_b:
        message = "no longer idempotent: retrying a call may repeat its effect"
        where = "/annotations/idempotentHint"
        yield Change("breaking", "annotation-no-longer-idempotent", name, "tools", where, message)
    elif _hints(old) != _hints(new):
        message = f"annotations changed from {_hints(old)} to {_hints(new)}"
        yield Change("cosmetic", "annotations-changed", name, "tools", "/annotations", message)


def _hints(annotations: ToolAnnotations | None) -> str:
    if annotations is None:
        return "none"
    data = annotations.model_dump(by_alias=True, exclude={"title"}, exclude_none=True)
    return ", ".join(f"{k}={str(v).lower()}" for k, v in sorted(data.items())) or "none"
