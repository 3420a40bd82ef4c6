"""Emit: lower the finished drafts into the manifest models (tools, bindings, auth map, header).

Tools are sorted by name, the order an MCP client receives them in. ``inputSchema`` is assembled
here from the planned arguments minus the pinned ones, with exactly the ``$defs`` it reaches.
"""

from __future__ import annotations

import dataclasses
import json
import math

from virtualize import __version__, ir
from virtualize.manifest.model import (
    ArgumentBinding,
    Binding,
    Bindings,
    Counts,
    GraphQLBinding,
    GrpcBinding,
    Header,
    HttpBinding,
    HttpBody,
    Manifest,
    SecurityUse,
    ServerUrl,
    Source,
    Tool,
)
from virtualize.passes.auth import auth_map
from virtualize.passes.schemas import Mode
from virtualize.passes.state import Build, Draft, PlannedArgument


def input_schema(build: Build, draft: Draft) -> ir.JsonSchema:
    shown = [arg for arg in draft.arguments if arg.argument not in draft.fixed]
    root: ir.JsonSchema = {
        "type": "object",
        "properties": {arg.argument: arg.schema for arg in shown},
        "additionalProperties": False,
    }
    required = [arg.argument for arg in shown if arg.required]
    if required:
        root["required"] = required
    if dependent := _dependent_required(shown):
        root["dependentRequired"] = dependent
    return build.views.document(root, Mode.REQUEST)


def _dependent_required(shown: list[PlannedArgument]) -> dict[str, list[str]]:
    """An optional body flattened into arguments may be left out whole, but once any of its fields
    is sent, the fields the body requires must be sent too: said per field, in argument order."""
    needed = [arg.argument for arg in shown if arg.required_in_body]
    if not needed:
        return {}
    fields = [arg.argument for arg in shown if arg.source.location is ir.Location.BODY_FIELD]
    dependent = {name: [other for other in needed if other != name] for name in fields}
    return {name: others for name, others in dependent.items() if others}


def _arguments(draft: Draft) -> tuple[ArgumentBinding, ...]:
    bindings = []
    for arg in draft.arguments:
        serialization = arg.source.serialization
        bindings.append(
            ArgumentBinding(
                argument=arg.argument,
                location=arg.source.location.value,
                name=arg.source.name,
                required=arg.required,
                style=serialization.style if serialization else None,
                explode=serialization.explode if serialization else None,
                allow_reserved=serialization.allow_reserved if serialization else False,
                content_type=arg.content_type,
            )
        )
    return tuple(bindings)


def binding_for(build: Build, draft: Draft) -> Binding:
    op = draft.operation
    arguments = _arguments(draft)
    security = tuple(
        tuple(SecurityUse(scheme=use.scheme, scopes=use.scopes) for use in alternative) for alternative in op.security
    )
    server = build.config.server.url if build.config.server else None
    call = op.call
    if isinstance(call, ir.HttpCall):
        servers = (
            (ServerUrl(url=server),)
            if server
            else tuple(
                ServerUrl(url=s.url, variables={k: v.default for k, v in s.variables.items()}) for s in call.servers
            )
        )
        body = None
        if call.body is not None:
            whole = next((a.argument for a in draft.arguments if a.source.location is ir.Location.BODY), None)
            body = HttpBody(media_type=call.body.media_type, required=call.body.required, argument=whole)
        success = tuple(
            dict.fromkeys(r.media_type for r in call.responses if r.status.startswith("2") and r.media_type)
        )
        errors = tuple(
            dict.fromkeys(r.media_type for r in call.responses if not r.status.startswith("2") and r.media_type)
        )
        return HttpBinding(
            method=call.method.upper(),
            path=call.path,
            servers=servers,
            body=body,
            success_media_types=success,
            error_media_types=errors,
            wraps_result=draft.wraps_result,
            arguments=arguments,
            fixed=draft.fixed,
            security=security,
            operation=op.key,
        )
    if isinstance(call, ir.GraphQLCall):
        return GraphQLBinding(
            endpoint=server or call.endpoint,
            document=call.document,
            operation_name=call.operation_name,
            operation_type=call.operation_type,
            arguments=arguments,
            fixed=draft.fixed,
            security=security,
            operation=op.key,
        )
    return GrpcBinding(
        target=server or call.target,
        full_method=call.full_method,
        input_type=call.input_type,
        output_type=call.output_type,
        client_streaming=call.client_streaming,
        server_streaming=call.server_streaming,
        tls=call.tls,
        http_rule=call.http_rule,
        arguments=arguments,
        fixed=draft.fixed,
        security=security,
        operation=op.key,
    )


def tool_list_bytes(tools: tuple[Tool, ...]) -> int:
    """Bytes of the compact JSON tool list an MCP client receives (as ``Tool.model_dump`` with
    aliases and no ``None`` fields, built directly: dumping large schemas through pydantic first
    doubles the cost of this pass on big APIs)."""
    data = []
    for tool in tools:
        fields: dict[str, object] = {"name": tool.name, "title": tool.title, "description": tool.description}
        fields |= {"inputSchema": tool.input_schema, "outputSchema": tool.output_schema}
        if tool.annotations is not None:
            fields["annotations"] = tool.annotations.model_dump(by_alias=True, exclude_none=True)
        data.append({key: value for key, value in fields.items() if value is not None})
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


def emit_manifest(build: Build) -> Build:
    drafts = tuple(sorted(build.drafts, key=lambda d: d.name))
    tools = tuple(
        Tool(
            name=d.name,
            title=d.title,
            description=d.description,
            input_schema=input_schema(build, d),
            output_schema=d.output_schema,
            annotations=d.annotations,
        )
        for d in drafts
    )
    bindings = Bindings(tools={d.name: binding_for(build, d) for d in drafts}, descriptors=build.api.descriptors)
    auth = auth_map(build, drafts)
    if build.views.unresolved:
        for ref in sorted(build.views.unresolved):
            build.diagnostics.error(build.target.source_file, f"schema reference {ref!r} does not resolve")
    if build.views.truncated_descriptions:
        build.diagnostics.warning(
            build.target.source_file,
            f"{build.views.truncated_descriptions} schema descriptions were cut to their length limit (marked)",
        )
    size = tool_list_bytes(tools)
    api = build.api
    header = Header(
        compiler=f"virtualize {__version__}",
        name=build.target.name,
        family=api.family,
        title=api.title,
        api_version=api.version,
        source=Source(path=build.target.source_path, sha256=build.target.source_sha256, format=api.format),
        counts=Counts(
            tools=len(tools),
            tool_list_bytes=size,
            tool_list_tokens=math.ceil(size / 4),
            skipped_operations=build.skipped,
        ),
        regenerate=build.target.regenerate,
    )
    manifest = Manifest(manifest=header, tools=tools, bindings=bindings, auth=auth)
    return dataclasses.replace(build, manifest=manifest)
