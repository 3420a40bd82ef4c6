"""Checks on the text an agent reads. A tool description is a prompt: the MCP specification
("Security Best Practices", tool poisoning) warns that clients pass it to the model verbatim, so
it is where an attacker who controls an API description places instructions.

Each check takes one string and returns what is wrong with it as (rule id, message) pairs.
Text is checked as decoded (the manifest writer escapes invisible characters in the JSON files,
``json.loads`` gives them back).
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from virtualize.invisible import hidden_characters, is_invisible

Problem = tuple[str, str]  # (rule id, message)

# -- VZ102: invisible and bidirectional characters -------------------------------------------

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_SHOWN_CHARACTERS = 3


def invisible_characters(text: str) -> Iterator[Problem]:
    found = sorted(hidden_characters(text))
    if not found:
        return
    names = [f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in found[:_SHOWN_CHARACTERS]]
    more = f" and {len(found) - _SHOWN_CHARACTERS} more" if len(found) > _SHOWN_CHARACTERS else ""
    kind = "bidirectional control" if any(c in _BIDI for c in found) else "invisible character"
    yield "VZ102", f"{kind}s in the text: {', '.join(names)}{more}"


def visible(text: str) -> str:
    """The text without invisible characters, so a phrase split by a zero-width space still matches."""
    return "".join(c for c in text if not is_invisible(c))


# Latin look-alikes (Cyrillic and Greek) that NFKC leaves alone: "Ignore" spelt with a Cyrillic
# I, o and e is read as "Ignore".
_CONFUSABLES = str.maketrans(
    "АВЕІЈКМНОРСЅТУХаеорсухіјѕԁԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοιν",
    "ABEIJKMHOPCSTYXaeopcyxijsdqwABEZHIKMNOPTYXaoiv",
)


def readable(text: str) -> str:
    """The text as a model reads it: invisible characters out, fullwidth and other compatibility
    forms folded (NFKC), look-alike letters read as Latin, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", visible(text)).translate(_CONFUSABLES).split())


# -- VZ101: instructions to the model --------------------------------------------------------

_MARKUP = "carries prompt markup"
_INSTRUCTIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (what, re.compile(pattern, re.IGNORECASE))
    for what, pattern in (
        (
            "tells the model to ignore its instructions",
            r"\b(ignore|disregard|forget|override|bypass)\b\W+(?:\w+\W+){0,4}?"
            r"(previous|prior|above|earlier|preceding|system|original|all|any|your|other)\W+(?:\w+\W+){0,2}?"
            r"(instructions?|prompts?|rules|directives|guidelines|guardrails)\b"
            r"|\b(ignore|disregard|forget|override|bypass)\b\W+(?:\w+\W+){0,3}?"
            r"(instructions?|prompts?|rules|directives|guidelines)\b\W+(?:\w+\W+){0,2}?"
            r"(above|before|previously|so far|you were given|you have been given)",
        ),
        (
            "asks for the system prompt",
            r"\b(reveal|print|show|repeat|output|leak|disclose|dump)\b\W+(?:\w+\W+){0,4}?"
            r"(system|developer|hidden|initial)\s+(prompt|message|instructions)\b"
            r"|\b(your|the)\s+(system|developer)\s+prompt\b",
        ),
        (
            "asks for secrets",
            r"\b(reveal|leak|exfiltrate|disclose|send|forward|upload|share|include|read|copy|pass)\b\W+(?:\w+\W+){0,5}?"
            r"(~/\.ssh|id_rsa|\.env\b|mcp\.json|\.cursor/|\.aws/credentials|"
            r"(your|user'?s|the user'?s|all|stored|other|every)\s+"
            r"(secrets?|credentials|passwords|api[ _-]?keys?|tokens?|private keys?|environment variables)"
            # an environment variable's name, in capitals (`call_token` is an ordinary field)
            r"|(the\s+)?(value\s+of\s+)?\$?(?-i:[A-Z][A-Z0-9]*_(API_KEY|TOKEN|SECRET|SECRET_KEY|PASSWORD|ACCESS_KEY))\b)",
        ),
        (
            "tells the model to call another tool",
            r"(\b(you must|you should|always|first|also|then|instead|before (using|calling|invoking) this tool,?)\s+"
            r"(call|invoke|use|run|execute)\s+(the\s+)?[`'\"]?[\w.-]+[`'\"]?\s+tool\b)"
            r"|\b(call|invoke)\s+(the\s+)?[`'\"]?[\w.-]+[`'\"]?\s+tool\s+(first|before|after|instead)\b"
            r"|\bbefore (using|calling|invoking) this tool,?\s+(you must\s+|always\s+|first\s+)?"
            r"(call|invoke|run|execute)\s+[`'\"]?\w+",
        ),
        (
            "tells the model to hide what it does from the user",
            r"\b(do not|don't|never|without)\s+(tell|telling|inform|informing|mention|mentioning|notify|notifying|"
            r"alert|alerting|show|showing)\s+(?:(this|it|that|anything)\s+)?(to\s+)?(the\s+)?user\b"
            r"|\b(do not|don't|never)\s+let\s+the\s+user\s+(know|see|find out)\b",
        ),
        (
            _MARKUP,
            r"<\s*/?\s*(important|system|instructions?|secret|admin)\s*>|\[/?INST\]|<\|im_(start|end)\|>"
            r"|<<\s*SYS\s*>>",
        ),
        (
            "addresses the model directly",
            r"\b(new|updated|additional)\s+instructions\s*:|\byou are now\b|\bas an ai (model|assistant)\b",
        ),
    )
)
_EXCERPT = 60


def instructions(text: str, *, what_text: str = "description") -> Iterator[Problem]:
    """VZ101 findings of a description, or (``what_text="text"``) of another string an agent reads
    (an enum value, a default, an example), where prompt markup alone is data: an AI API's
    example stop sequence is ``<|im_end|>``."""
    yield from _instructions(text, what_text)


# Shared schemas repeat the same strings in every tool that reaches them: each is read once.
@functools.lru_cache(maxsize=1 << 16)
def _instructions(text: str, what_text: str) -> tuple[Problem, ...]:
    plain = readable(text)
    found = []
    for what, pattern in _INSTRUCTIONS:
        if what == _MARKUP and what_text != "description":
            continue
        match = pattern.search(plain)
        if match:
            found.append(("VZ101", f"{what_text} {what}: {_excerpt(plain, match)}"))
    return tuple(found)


def _excerpt(text: str, match: re.Match[str]) -> str:
    start, end = max(0, match.start() - 10), min(len(text), match.end() + 10)
    shown = text[start:end][: _EXCERPT + 20]
    return f'"{"…" if start else ""}{shown}{"…" if end < len(text) else ""}"'


# -- VZ108: credentials written into the text -------------------------------------------------

# Formats whose prefix says what they are, so a match is a key and not an example id: test and
# publishable keys (Stripe's sk_test_, pk_live_) are meant to be shown and are left alone.
_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (what, re.compile(pattern))
    for what, pattern in (
        ("an AWS access key id", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
        ("a GitHub token", r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b"),
        ("a Slack token", r"\bxox[abposr]-[0-9A-Za-z-]{20,}"),
        ("a live Stripe secret key", r"\b(sk|rk)_live_[0-9A-Za-z]{20,}\b"),
        ("an OpenAI API key", r"\bsk-(proj-|svcacct-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}"),
        ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
        ("a private key", r"-----BEGIN (RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
    )
)


def secrets(text: str) -> Iterator[Problem]:
    for what, pattern in _SECRETS:
        match = pattern.search(text)
        if match:
            shown = match.group()[:8] + "…"  # enough to find it, not enough to use it
            yield "VZ108", f"text holds {what} ({shown})"


# -- VZ103 / VZ104: markup and active content ------------------------------------------------

_HTML_TAGS = (
    "a|abbr|b|blockquote|body|br|caption|center|code|dd|del|details|div|dl|dt|em|font|h[1-6]|head|hr|html|i|img|"
    "ins|kbd|li|mark|ol|p|pre|q|s|samp|section|small|span|strike|strong|sub|summary|sup|table|tbody|td|tfoot|th|"
    "thead|tr|tt|u|ul|var|wbr"
)
_ACTIVE_TAGS = "script|iframe|frame|frameset|object|embed|applet|form|input|button|style|link|meta|base|svg|math"
_HTML = re.compile(rf"<\s*/?\s*({_HTML_TAGS})\b[^<>]*>|<!--", re.IGNORECASE)
_ACTIVE = re.compile(
    rf"<\s*/?\s*({_ACTIVE_TAGS})\b[^<>]*>|<[a-z][^<>]*\son[a-z]+\s*=|\b(javascript|vbscript):|data:text/html",
    re.IGNORECASE,
)


# Markdown code is shown as code, never rendered: a `<form>` in backticks documents HTML.
_CODE = re.compile(r"```.*?(```|$)|~~~.*?(~~~|$)|`[^`\n]*`", re.DOTALL)


def markup(text: str) -> Iterator[Problem]:
    text = _CODE.sub(" ", text)
    active = _ACTIVE.search(text)
    if active:
        yield "VZ104", f"active content in a description: {_excerpt(text, active)}"
    html = _HTML.search(text)
    if html:
        what = "an HTML comment (hidden from people who read rendered docs)" if html.group() == "<!--" else "HTML"
        yield "VZ103", f"{what} in a description: {_excerpt(text, html)}"


# -- VZ105: links to unexpected hosts --------------------------------------------------------

_URL = re.compile(
    r"\b(?:https?|ftp|wss?)://(?:[^\s<>\"'`)\]}|@/]*@)?(?:\[[0-9a-f:.]+\])?[^\s<>\"'`)\]}|]*", re.IGNORECASE
)
# A placeholder, not a host: `{region}.example.com`, `<host>`, `...`, `$HOST`.
_PLACEHOLDER_HOST = re.compile(r"[{}<>*$%\\]|\.\.|^\.|^$")
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "gov", "ac", "edu"})


def site_of(host: str) -> str:
    """The registrable part of a host name, approximately (``api.stripe.com`` -> ``stripe.com``,
    ``api.example.co.uk`` -> ``example.co.uk``): links to an API's own documentation site are
    expected. No public-suffix list: a few country-code second levels cover the common cases."""
    try:
        return str(ipaddress.ip_address(host))  # an address is its own site
    except ValueError:
        pass
    labels = host.lower().rstrip(".").split(".")
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:  # an unbalanced IPv6 bracket: not a host we can judge
        return ""


def unexpected_hosts(text: str, own_sites: frozenset[str], allowed: Iterable[str]) -> Iterator[Problem]:
    patterns = tuple(allowed)
    seen: set[str] = set()
    for match in _URL.finditer(text):
        # Judged whatever its form: a trailing dot, an IPv6 address, letters beyond ASCII (`evíl.net`).
        host = host_of(match.group()).rstrip(".")
        if _PLACEHOLDER_HOST.search(host) or host in seen:
            continue
        seen.add(host)
        if site_of(host) in own_sites or any(fnmatch.fnmatch(host, p.lower()) for p in patterns):
            continue
        ours = ", ".join(sorted(own_sites)) or "none known"
        yield "VZ105", f"links to {host}, which is not the API's own site ({ours})"
