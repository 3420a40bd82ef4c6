"""Tool annotations from what the operation does (MCP ``ToolAnnotations``, all hints).

Adapters decide ``ir.Semantics`` from their protocol's own signals (HTTP method semantics of
RFC 9110 §9.2, GraphQL query vs mutation, the gRPC ``idempotency_level`` option). The hints are
written out explicitly, except ``destructiveHint`` and ``idempotentHint`` on read-only tools,
where the MCP schema says they are meaningless. Overrides come later (``overrides``).
"""

from __future__ import annotations

import dataclasses

from virtualize import ir
from virtualize.manifest.model import ToolAnnotations
from virtualize.passes.state import Build


def annotations_for(semantics: ir.Semantics) -> ToolAnnotations:
    if semantics.read_only:
        return ToolAnnotations(read_only_hint=True, open_world_hint=semantics.open_world)
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=semantics.destructive,
        idempotent_hint=semantics.idempotent,
        open_world_hint=semantics.open_world,
    )


def annotate_tools(build: Build) -> Build:
    drafts = tuple(dataclasses.replace(d, annotations=annotations_for(d.operation.semantics)) for d in build.drafts)
    return dataclasses.replace(build, drafts=drafts)
