"""Characters a reader cannot see: what ``lint`` reports (VZ102) and the review pages reveal.

Controls (but tab, newline and carriage return), format characters (zero-width, bidirectional,
tags), line and paragraph separators, private and unassigned code points, variation selectors,
and the letters and marks that draw nothing. One definition for both, so a reviewer sees
``[U+202E]`` wherever lint finds one.
"""

from __future__ import annotations

import re
import unicodedata

_ALLOWED_CONTROLS = frozenset("\n\t\r")
# Characters that draw nothing but are letters or marks to Unicode, so their category does not
# give them away: the combining grapheme joiner, Hangul fillers, the blank Braille pattern, Khmer
# inherent vowels, Mongolian variation selectors.
_BLANK = frozenset("\u034f\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5\u180b\u180c\u180d\u180f")
_EMOJI_STYLE = frozenset("\ufe0e\ufe0f")  # text/emoji presentation: legitimate right after a symbol


def is_invisible(char: str) -> bool:
    if char in _ALLOWED_CONTROLS:
        return False
    code = ord(char)
    if 0xE0000 <= code <= 0xE007F or 0xE0100 <= code <= 0xE01EF:  # tags (ASCII smuggling), variation selectors
        return True
    if char in _BLANK or 0xFE00 <= code <= 0xFE0F:  # variation selectors: data can ride on them too
        return True
    # Cf: format (zero-width, bidi, BOM, word joiner ...); Cc: controls; Co/Cn: private or unassigned.
    return unicodedata.category(char) in {"Cf", "Cc", "Co", "Cn", "Zl", "Zp"}


def hidden_characters(text: str) -> set[str]:
    """The invisible characters of ``text``, but a presentation selector right after a symbol (❤️)."""
    return {char for index, char in enumerate(text) if _hidden_at(text, index)}


def _hidden_at(text: str, index: int) -> bool:
    char = text[index]
    return is_invisible(char) and not (
        char in _EMOJI_STYLE and index and unicodedata.category(text[index - 1]) in {"So", "Sm"}
    )


def revealed(text: str) -> str:
    """``text`` with each character ``hidden_characters`` finds written as its code point
    (``[U+202E]``): what the review pages print, so that a reader sees what a model reads. A
    description could otherwise say one thing on screen and another to the model."""
    return "\n".join(line if _plain(line) else _revealed(line) for line in text.split("\n"))


# What str.isprintable lets through that is_invisible still reports (it refuses the rest).
_DRAWN_BLANK = re.compile("[" + "".join(sorted(_BLANK)) + "\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def _plain(line: str) -> bool:
    # The fast path for the usual line: str.isprintable refuses every control, format, separator,
    # private and unassigned character (and spaces other than U+0020, which _revealed keeps).
    return line.replace("\t", " ").replace("\r", " ").isprintable() and not _DRAWN_BLANK.search(line)


def _revealed(line: str) -> str:
    return "".join(f"[U+{ord(c):04X}]" if _hidden_at(line, i) else c for i, c in enumerate(line))
