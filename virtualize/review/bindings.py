"""Binding changes: the same arguments now produce a different upstream request.

The agent sees no difference, which is exactly why such a change must be reviewed: unless the
upstream changed the same way, every call fails or, worse, reaches another endpoint (a changed
server also sends the credentials elsewhere). So every change to where or how a call goes is
breaking; a response media type accepted in addition is additive; the source operation key is
cosmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from virtualize.manifest.model import ArgumentBinding, GraphQLBinding, GrpcBinding, HttpBinding, SecurityUse
from virtualize.review.changes import Change, show

BindingModel = HttpBinding | GraphQLBinding | GrpcBinding
_Upstream = Callable[[str, str, str], Change]  # (code, where, message) -> a breaking binding change
_GRAPHQL_FIELDS = ("endpoint", "operation_type", "operation_name", "document")
_GRPC_FIELDS = (
    "target",
    "full_method",
    "input_type",
    "output_type",
    "client_streaming",
    "server_streaming",
    "tls",
    "http_rule",
)
_ARGUMENT_FIELDS = (
    ("location", "location"),
    ("name", "wire name"),
    ("style", "style"),
    ("explode", "explode"),
    ("allow_reserved", "allowReserved"),
    ("content_type", "content type"),
)


def binding_changes(old: BindingModel, new: BindingModel, tool: str) -> Iterator[Change]:
    def upstream(code: str, where: str, message: str) -> Change:
        return Change("breaking", code, tool, "bindings", where, f"{message}; the upstream request changes")

    if old.protocol != new.protocol:
        message = f"protocol changed from {old.protocol} to {new.protocol}"
        yield upstream("binding-protocol-changed", "/protocol", message)
        return
    if old.operation != new.operation:
        message = f"source operation key changed from `{old.operation}` to `{new.operation}`"
        yield Change("cosmetic", "binding-operation-changed", tool, "bindings", "/operation", message)
    if isinstance(old, HttpBinding) and isinstance(new, HttpBinding):
        yield from _http_changes(old, new, tool, upstream)
    elif isinstance(old, GraphQLBinding) and isinstance(new, GraphQLBinding):
        for attribute in _GRAPHQL_FIELDS:
            a, b = getattr(old, attribute), getattr(new, attribute)
            if a != b:
                shown = "changed" if attribute == "document" else f"changed from {show(a)} to {show(b)}"
                label = attribute.replace("_", "-")
                yield upstream(f"binding-{label}-changed", f"/{attribute}", f"GraphQL {label} {shown}")
    elif isinstance(old, GrpcBinding) and isinstance(new, GrpcBinding):
        for attribute in _GRPC_FIELDS:
            a, b = getattr(old, attribute), getattr(new, attribute)
            if a != b:
                label = attribute.replace("_", "-")
                message = f"gRPC {label} changed from {show(a)} to {show(b)}"
                yield upstream(f"binding-{label}-changed", f"/{attribute}", message)
    yield from _argument_changes(old.arguments, new.arguments, tool)
    if old.fixed != new.fixed:
        message = f"pinned values changed from {show(old.fixed)} to {show(new.fixed)}"
        yield upstream("binding-fixed-values-changed", "/fixed", message)
    yield from security_changes(old.security, new.security, tool)


def _http_changes(old: HttpBinding, new: HttpBinding, tool: str, upstream: _Upstream) -> Iterator[Change]:
    if old.method != new.method:
        yield upstream("binding-method-changed", "/method", f"HTTP method changed from {old.method} to {new.method}")
    if old.path != new.path:
        yield upstream("binding-path-changed", "/path", f"path changed from `{old.path}` to `{new.path}`")
    if old.servers != new.servers:
        before = ", ".join(s.url for s in old.servers) or "none"
        after = ", ".join(s.url for s in new.servers) or "none"
        message = f"server changed from {before} to {after} (credentials go there too)"
        yield upstream("binding-server-changed", "/servers", message)
    if old.body != new.body:
        if (
            old.body is None
            or new.body is None
            or old.body.model_copy(update={"required": new.body.required}) != new.body
        ):
            yield upstream("binding-body-changed", "/body", f"request body changed from {_body(old)} to {_body(new)}")
        elif new.body.required:  # only `required` changed
            yield upstream("binding-body-made-required", "/body/required", "the request body is now required")
        else:
            message = "the request body is now optional"
            yield Change("additive", "binding-body-made-optional", tool, "bindings", "/body/required", message)
    lost = [t for t in old.success_media_types if t not in new.success_media_types]
    gained = [t for t in new.success_media_types if t not in old.success_media_types]
    if lost:
        message = f"no longer accepts {', '.join(lost)} responses"
        yield upstream("binding-response-media-removed", "/success_media_types", message)
    if gained:
        message = f"also accepts {', '.join(gained)} responses"
        yield Change("additive", "binding-response-media-added", tool, "bindings", "/success_media_types", message)
    if old.error_media_types != new.error_media_types:
        message = f"error responses now read as {', '.join(new.error_media_types) or 'undeclared'}"
        yield Change("cosmetic", "binding-error-media-changed", tool, "bindings", "/error_media_types", message)
    if old.wraps_result != new.wraps_result:
        message = "the result is now " + ("wrapped under `result`" if new.wraps_result else "not wrapped")
        yield Change("breaking", "binding-result-wrapping-changed", tool, "bindings", "/wraps_result", message)


def _body(binding: HttpBinding) -> str:
    if binding.body is None:
        return "none"
    required = "required" if binding.body.required else "optional"
    return f"{binding.body.media_type} ({required})"


def _argument_changes(
    old: tuple[ArgumentBinding, ...], new: tuple[ArgumentBinding, ...], tool: str
) -> Iterator[Change]:
    # Arguments appearing or disappearing are reported from inputSchema; here only where an
    # argument that exists on both sides goes on the wire.
    before = {a.argument: a for a in old}
    for index, after in enumerate(new):
        previous = before.get(after.argument)
        if previous is None or previous == after:
            continue
        differences = [
            f"{label} {show(getattr(previous, attr))} -> {show(getattr(after, attr))}"
            for attr, label in _ARGUMENT_FIELDS
            if getattr(previous, attr) != getattr(after, attr)
        ]
        if differences:
            message = (
                f"argument `{after.argument}` is sent differently ({'; '.join(differences)}); "
                "the upstream request changes"
            )
            yield Change("breaking", "binding-argument-changed", tool, "bindings", f"/arguments/{index}", message)


def security_changes(
    old: tuple[tuple[SecurityUse, ...], ...], new: tuple[tuple[SecurityUse, ...], ...], tool: str
) -> Iterator[Change]:
    """An alternative is the set of (scheme, scope) a caller must hold. The change is breaking
    when some old alternative no longer satisfies any new one (OpenAPI 3.1 §4.8.30: requirements
    in one object are ANDed, the objects of the list are ORed)."""
    before, after = _alternatives(old), _alternatives(new)
    if set(before) == set(after):
        return
    stricter = any(not any(alt_new <= alt_old for alt_new in after) for alt_old in before)
    if stricter:
        message = (
            f"authentication requirement changed from {_describe(before)} to {_describe(after)}; "
            "callers configured for the old requirement may be refused"
        )
        yield Change("breaking", "auth-requirement-added", tool, "bindings", "/security", message)
    else:
        message = f"authentication requirement relaxed from {_describe(before)} to {_describe(after)}"
        yield Change("additive", "auth-requirement-relaxed", tool, "bindings", "/security", message)


def _alternatives(security: tuple[tuple[SecurityUse, ...], ...]) -> list[frozenset[tuple[str, str]]]:
    if not security:
        return [frozenset()]
    return [
        frozenset((use.scheme, scope) for use in alternative for scope in (use.scopes or ("",)))
        for alternative in security
    ]


def _describe(alternatives: list[frozenset[tuple[str, str]]]) -> str:
    shown = [" + ".join(sorted(f"{s}[{c}]" if c else s for s, c in alt)) or "none" for alt in alternatives]
    return " or ".join(shown)
