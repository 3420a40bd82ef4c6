"""Tool descriptions: summary and description, cleaned of markup, bounded, never silently cut.

The summary leads (it is what a model reads first), followed by the description unless the
description merely repeats it. A description over ``description_limit`` characters is cut at a
word boundary, ends in a visible marker, and the build warns with the operation's location. An
operation with neither gets its key (``GET /pets/{petId}``), so no tool is left undescribed.
"""

from __future__ import annotations

import dataclasses

from virtualize.passes.state import Build, Draft
from virtualize.passes.text import bound, clean

TITLE_LIMIT = 60


def compose(summary: str, description: str) -> str:
    summary, description = clean(summary), clean(description)
    if not summary:
        return description
    if not description or description.startswith(summary.rstrip(".")):
        return description or summary
    return f"{summary}\n\n{description}"


def describe(build: Build, draft: Draft) -> Draft:
    op = draft.operation
    text = compose(op.summary, op.description) or op.key
    if op.deprecated:
        text = f"Deprecated. {text}"
    text, truncated = bound(text, build.config.description_limit)
    if truncated:
        build.diagnostics.warning(
            build.target.source_file,
            f"the description of tool {draft.name!r} was cut to {build.config.description_limit} characters",
            pointer=op.pointer,
            hint="shorten it in the spec, raise description_limit, or override it in the spec's .virtualize.toml",
        )
    summary = clean(op.summary)
    title = summary.rstrip(".") if summary and "\n" not in summary and len(summary) <= TITLE_LIMIT else None
    return dataclasses.replace(draft, description=text, title=title)


def describe_tools(build: Build) -> Build:
    return dataclasses.replace(build, drafts=tuple(describe(build, d) for d in build.drafts))
