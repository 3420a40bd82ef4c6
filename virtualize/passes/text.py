"""Cleaning descriptions for an agent: markup noise out, length bounded with a visible marker.

Descriptions in API documents are written for HTML renderers: tags, images and link targets
cost context and carry no meaning for a model. Link and image *text* is kept; URLs are dropped.
Only known HTML tag names are stripped, so ``List<String>`` in prose survives.
"""

from __future__ import annotations

import html
import re

TRUNCATION_MARKER = " … [truncated]"

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()]|\([^)]*\))*\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")
_TAGS = (
    "a|abbr|b|blockquote|br|center|code|dd|del|details|div|dl|dt|em|font|h[1-6]|hr|i|img|kbd|li|ol|p|pre|"
    "s|section|small|span|strong|sub|summary|sup|table|tbody|td|th|thead|tr|u|ul"
)
_BREAK = re.compile(r"<\s*(?:br|hr)\s*/?\s*>|<\s*/\s*(?:p|div|h[1-6]|tr|ul|ol|pre|blockquote|table)\s*>", re.IGNORECASE)
_ITEM = re.compile(r"<\s*li(?:\s[^<>]*)?>", re.IGNORECASE)
_TAG = re.compile(rf"<\s*/?\s*(?:{_TAGS})(?:\s[^<>]*)?/?\s*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean(text: str) -> str:
    """Markup noise removed, whitespace normalized; meaning (words, list items, paragraphs) kept."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "<" in text:
        text = _COMMENT.sub("", text)
        text = _AUTOLINK.sub(r"\1", text)
        text = _BREAK.sub("\n", text)
        text = _ITEM.sub("\n- ", text)
        text = _TAG.sub("", text)
    if "](" in text:
        text = _IMAGE.sub(r"\1", text)
        text = _LINK.sub(r"\1", text)
    if "&" in text:
        text = html.unescape(text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def bound(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` characters, ending in the truncation marker if cut."""
    if len(text) <= limit:
        return text, False
    room = limit - len(TRUNCATION_MARKER)
    cut = text[:room]
    space = cut.rfind(" ", room * 4 // 5)
    if space > 0:
        cut = cut[:space]
    return cut.rstrip() + TRUNCATION_MARKER, True
