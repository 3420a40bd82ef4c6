"""Media types: which one of several a request uses, and which responses carry JSON.

A tool has one body shape, so when a request body offers several media types one is picked,
always the same way: JSON first (the shape agents write best), then other ``+json`` types, then
``application/x-www-form-urlencoded``, then ``multipart/form-data``, then the rest in declared
order.
"""

from __future__ import annotations

from collections.abc import Iterable

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
JSON = "application/json"
_BINARY_PREFIXES = ("image/", "audio/", "video/", "font/")
_BINARY = frozenset({
    "application/octet-stream", "application/pdf", "application/zip", "application/gzip", "application/x-tar",
})  # fmt: skip


def base(media_type: str) -> str:
    """The media type without parameters, lower case (RFC 9110 §8.3.1: type and subtype are case-insensitive)."""
    return media_type.split(";", 1)[0].strip().lower()


def is_json(media_type: str) -> bool:
    kind = base(media_type)
    return kind == JSON or kind.endswith(("+json", "/json")) or kind == "application/json-patch+json"


def is_binary(media_type: str) -> bool:
    kind = base(media_type)
    return kind in _BINARY or kind.startswith(_BINARY_PREFIXES)


def rank(media_type: str) -> int:
    kind = base(media_type)
    if kind == JSON:
        return 0
    if is_json(kind):
        return 1
    if kind == FORM:
        return 2
    if kind == MULTIPART:
        return 3
    return 4


def choose(media_types: Iterable[str]) -> str | None:
    """The preferred media type of a request body (declared order breaks ties)."""
    ordered = list(media_types)
    if not ordered:
        return None
    return min(enumerate(ordered), key=lambda item: (rank(item[1]), item[0]))[1]
