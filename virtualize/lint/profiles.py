"""Client profiles: the limits each model client enforces on the tool list it is given.

Sources (checked 2026-11): Anthropic Messages API errors ("input_schema does not support oneOf,
allOf, or anyOf at the top level"; tool names ``^[a-zA-Z0-9_-]{1,64}$``; property names of letters,
digits, ``_ . -`` up to 64); OpenAI function calling (names ``^[a-zA-Z0-9_-]{1,64}$``, descriptions up
to 1,024 characters, at most 128 tools) and its Structured Outputs strict subset (every property
required, ``additionalProperties: false`` on every object, ``anyOf`` but no ``allOf``/``oneOf``/``not``/
``if``, no ``patternProperties``/``propertyNames``/``min|maxProperties``/``min|maxLength``/
``uniqueItems``/``contains``/``default``, formats date-time, time, date, duration, email, hostname,
ipv4, ipv6, uuid; at most 5,000 properties, 10 levels, 1,000 enum values); Gemini's
``FunctionDeclaration.parameters`` (an OpenAPI 3.0 ``Schema`` subset: type, format, title,
description, nullable, enum, items, min/maxItems, properties, required, min/maxProperties,
min/maxLength, pattern, example, anyOf, propertyOrdering, default, minimum, maximum: no ``$ref``,
``$defs``, ``additionalProperties``, ``oneOf``, ``allOf`` or type arrays; names start with a letter or
``_``); Cursor (server and tool name together under 60 characters, at most 40 tools).

``default`` is the strictest value of every limit that *all* clients share in kind (names,
lengths, counts, the root of inputSchema, property names), so a manifest that passes it loads in
each of them. The dialect restrictions of OpenAI strict mode and Gemini's Schema subset reject most
real-world schemas and matter only when you target that client: ask for them with ``--profile``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_TOKEN_BUDGET = 25_000  # ours, not a client's: about an eighth of a 200k context window


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    title: str
    name_pattern: re.Pattern[str] | None = None
    max_name_length: int | None = None
    max_combined_name_length: int | None = None  # the server name counts too (Cursor)
    max_tools: int | None = None
    token_budget: int | None = DEFAULT_TOKEN_BUDGET
    max_description_length: int | None = None
    property_name_pattern: re.Pattern[str] | None = None
    rejects_top_level_combinators: bool = False
    allowed_keywords: frozenset[str] | None = None  # None: any keyword
    all_required: bool = False
    closed_objects: bool = False
    allowed_formats: frozenset[str] | None = None
    max_properties: int | None = None
    max_depth: int | None = None
    max_enum_values: int | None = None
    rejects_type_arrays: bool = False
    checks_untyped: bool = False


_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CLAUDE_PROPERTY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_GEMINI_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
_GEMINI_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Keywords that only annotate: clients ignore them, so they are never reported as unsupported.
_ANNOTATIONS = frozenset({"description", "title", "examples", "deprecated", "$comment", "$schema"})

OPENAI_STRICT_KEYWORDS = _ANNOTATIONS | {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf",
    "$ref", "$defs", "definitions", "pattern", "format", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "multipleOf", "minItems", "maxItems",
}  # fmt: skip
OPENAI_STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
GEMINI_KEYWORDS = _ANNOTATIONS | {
    "type", "format", "nullable", "enum", "items", "maxItems", "minItems", "properties", "required",
    "minProperties", "maxProperties", "minLength", "maxLength", "pattern", "example", "anyOf",
    "propertyOrdering", "default", "minimum", "maximum",
}  # fmt: skip

_OPENAI = Profile(
    name="openai",
    title="OpenAI",
    name_pattern=_TOOL_NAME,
    max_name_length=64,
    max_tools=128,
    max_description_length=1024,
    rejects_top_level_combinators=True,
)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="default",
            title="default profile (all clients)",
            name_pattern=_TOOL_NAME,
            max_name_length=64,
            max_combined_name_length=60,
            max_tools=40,
            max_description_length=1024,
            property_name_pattern=_CLAUDE_PROPERTY,
            rejects_top_level_combinators=True,
            checks_untyped=True,
        ),
        Profile(
            name="claude",
            title="Claude",
            name_pattern=_TOOL_NAME,
            max_name_length=64,
            property_name_pattern=_CLAUDE_PROPERTY,
            rejects_top_level_combinators=True,
        ),
        _OPENAI,
        Profile(
            name="openai-strict",
            title="OpenAI strict mode",
            name_pattern=_TOOL_NAME,
            max_name_length=64,
            max_tools=128,
            max_description_length=1024,
            rejects_top_level_combinators=True,
            allowed_keywords=OPENAI_STRICT_KEYWORDS,
            all_required=True,
            closed_objects=True,
            allowed_formats=OPENAI_STRICT_FORMATS,
            max_properties=5000,
            max_depth=10,
            max_enum_values=1000,
            checks_untyped=True,
        ),
        Profile(
            name="gemini",
            title="Gemini",
            name_pattern=_GEMINI_NAME,
            max_name_length=64,
            property_name_pattern=_GEMINI_PROPERTY,
            allowed_keywords=GEMINI_KEYWORDS,
            rejects_type_arrays=True,
        ),
        Profile(
            name="cursor",
            title="Cursor",
            max_combined_name_length=60,
            max_tools=40,
        ),
    )
}
