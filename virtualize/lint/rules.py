"""The lint rules: a stable id, a default level, and what each one protects against.

Ids are stable: CI configurations and SARIF baselines refer to them. VZ1xx concern the text an
agent reads (descriptions are instructions to a model, so they are an attack surface: see the MCP
specification, "Security Best Practices", on tool poisoning), VZ2xx the names and sizes clients
enforce, VZ3xx the schema dialects strict clients accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning", "note"]
LEVELS: tuple[Level, ...] = ("error", "warning", "note")
LEVEL_RANK: dict[str, int] = {"note": 1, "warning": 2, "error": 3}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    level: Level
    summary: str
    help: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("VZ101", "instruction-in-description", "error",
             "A description carries instructions to the model.",
             "Descriptions reach the model verbatim and are obeyed like a prompt. Remove phrases that tell the "
             "agent to ignore its instructions, call other tools, reveal secrets or the system prompt, hide what "
             "it does from the user, or send data to a URL."),
        Rule("VZ102", "invisible-character", "error",
             "Text holds invisible or bidirectional Unicode characters.",
             "Zero-width, bidi-override/isolate, Unicode tag (U+E0000 block) and other format characters are "
             "invisible to reviewers but read by the model; they hide instructions (Trojan Source, CVE-2021-42574; "
             "ASCII smuggling). Remove them from the source description."),
        Rule("VZ103", "html-markup", "warning",
             "A description holds HTML markup or comments.",
             "Agents read markup as text: tags cost tokens and HTML comments hide text from people who read the "
             "rendered docs. Write plain text or Markdown."),
        Rule("VZ104", "active-content", "error",
             "A description holds script, frames or javascript: URLs.",
             "Script and frame elements, event-handler attributes and javascript: URLs have no place in a tool "
             "description and are a common carrier of injected content."),
        Rule("VZ105", "unexpected-url-host", "warning",
             "A description links to a host that is neither the tool's upstream nor allowed.",
             "Links to unexpected hosts are how injected descriptions exfiltrate data or pull in further "
             "instructions. Allow legitimate hosts with --allow-host or [lint] allow-hosts."),
        Rule("VZ106", "missing-description", "warning",
             "A tool has no description.",
             "The model picks tools by their descriptions; a tool without one is guessed at or ignored. Add a "
             "summary or description to the operation."),
        Rule("VZ107", "missing-argument-description", "note",
             "An argument has no description.",
             "Arguments without descriptions are filled in by guessing from their names."),
        Rule("VZ108", "secret-in-text", "warning",
             "Text holds what looks like a live credential.",
             "A key written into a description, default or example (an AWS access key id, a GitHub, Slack, "
             "OpenAI, Google or live Stripe key, a private key block) is sent to every model and every client "
             "that lists the tools, and is committed with the manifest. Replace it with a placeholder and "
             "revoke it. A warning by default: vendors publish example keys in real formats (DigitalOcean's "
             "example private key); make it an error with --severity VZ108=error."),
        Rule("VZ201", "invalid-tool-name", "error",
             "A tool name has characters a client rejects.",
             "Clients reject the whole tool list when one name breaks their pattern. Rename the tool with an "
             "override."),
        Rule("VZ202", "tool-name-too-long", "error",
             "A tool name is longer than a client allows.",
             "Cursor counts the server name too and drops tools over 60 characters; Claude and OpenAI refuse names "
             "over 64. Shorten the name with an override, or the server name in the client configuration."),
        Rule("VZ203", "description-too-long", "warning",
             "A tool description is longer than a client accepts.",
             "OpenAI refuses function descriptions over 1,024 characters. Shorten the source description."),
        Rule("VZ204", "too-many-tools", "warning",
             "The server has more tools than a client loads.",
             "Cursor loads at most 40 tools across all servers; OpenAI accepts at most 128 per request. Select "
             "fewer operations (include/exclude) or split the server."),
        Rule("VZ205", "tool-list-over-budget", "warning",
             "The tool list costs more tokens than the budget.",
             "Every tool definition is sent with every request. Select fewer operations or shorten descriptions; "
             "raise the budget with --token-budget if the cost is intended."),
        Rule("VZ206", "invalid-property-name", "error",
             "An argument name has characters a client rejects.",
             "Anthropic accepts property names of letters, digits, '_', '.' and '-' (1-64); Gemini needs a letter or "
             "'_' first and no '.' or '-'."),
        Rule("VZ301", "input-not-object", "error",
             "An inputSchema is not an object schema.",
             "MCP requires inputSchema to be a JSON Schema with type 'object', and every model API refuses others."),
        Rule("VZ302", "top-level-combinator", "error",
             "An inputSchema has anyOf/oneOf/allOf at its root.",
             "Anthropic ('input_schema does not support oneOf, allOf, or anyOf at the top level') and OpenAI refuse "
             "the request. Flatten the alternatives into optional properties."),
        Rule("VZ303", "unsupported-keyword", "error",
             "A schema uses a keyword the client's schema dialect does not support.",
             "OpenAI strict mode and Gemini's OpenAPI-subset Schema accept only listed keywords and refuse the "
             "request otherwise."),
        Rule("VZ304", "strict-optional-property", "error",
             "OpenAI strict mode needs every property listed in required.",
             "In strict mode optional properties are expressed as required ones that accept null."),
        Rule("VZ305", "strict-open-object", "error",
             "OpenAI strict mode needs additionalProperties: false on every object.",
             "Strict mode refuses object schemas that allow undeclared properties."),
        Rule("VZ306", "unsupported-format", "error",
             "A string format is outside the client's supported set.",
             "OpenAI strict mode supports date-time, time, date, duration, email, hostname, ipv4, ipv6 and uuid."),
        Rule("VZ307", "schema-over-limits", "error",
             "A schema exceeds a client's size limits.",
             "OpenAI strict mode allows at most 5,000 object properties, 10 levels of nesting and 1,000 enum "
             "values per schema."),
        Rule("VZ308", "untyped-schema", "warning",
             "A property schema has no type.",
             "Untyped schemas are refused by OpenAI strict mode and by several clients (wundergraph/cosmo#3147)."),
        Rule("VZ309", "type-array", "error",
             "A schema lists several types in 'type'.",
             "Gemini's Schema takes one type; express null with nullable: true."),
    )
}  # fmt: skip
