"""Compiler passes over the IR, shared by every adapter. ``PASSES`` is the order, top to bottom.

Why this order:

1. ``naming`` runs over *every* operation, before selection. A tool's name must not depend on
   which other operations a filter keeps: otherwise excluding an operation could rename a kept
   one (a collision disappears) and break every client and prompt that used the old name. So a
   build with ``--include-tag pets`` names ``listPets`` exactly as the full build does. Overrides
   also name tools by these full-set names.
2. ``selection`` then drops excluded operations, early, so no later (costlier) pass works on them.
3. ``arguments`` flattens parameters and bodies (request view of schemas, clash resolution).
4. ``results`` builds relaxed, bounded output schemas.
5. ``descriptions`` and 6. ``annotations`` derive what the agent reads from the operation.
7. ``overrides`` comes after everything it can override (names, descriptions, annotations,
   arguments to pin) and checks the result (renamed tools must stay unique).
8. ``emit`` lowers the drafts into manifest models.
"""

from __future__ import annotations

from collections.abc import Callable

from virtualize.passes.annotations import annotate_tools
from virtualize.passes.arguments import plan_arguments
from virtualize.passes.descriptions import describe_tools
from virtualize.passes.emit import emit_manifest
from virtualize.passes.naming import name_tools
from virtualize.passes.overrides import apply_overrides
from virtualize.passes.results import shape_results
from virtualize.passes.selection import select_operations
from virtualize.passes.state import Build

Pass = Callable[[Build], Build]

PASSES: tuple[Pass, ...] = (
    name_tools,
    select_operations,
    plan_arguments,
    shape_results,
    describe_tools,
    annotate_tools,
    apply_overrides,
    emit_manifest,
)

__all__ = ["PASSES", "Build", "Pass"]
