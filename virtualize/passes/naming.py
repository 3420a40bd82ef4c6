"""Tool names: derived, sanitized to ``^[A-Za-z0-9_-]{1,limit}$``, unique, and stable.

Stability is the point (ARCHITECTURE, "A tool"): a name a client or a prompt already uses must
not change because an unrelated operation was added, removed or reordered. So duplicates are
never numbered in spec order. A name is the operation's first name candidate (operationId, else
method and path, GraphQL field, gRPC method) with every run of other characters replaced by
``_``. When that name is too long, or collides with another operation's, a disambiguator is
derived from the operation's own key (a short sha256 of ``Operation.key``): only a collision
with another operation can change a name, never an unrelated edit. In a collision, an operation
whose candidate needed no sanitizing keeps the plain name (an explicit operationId wins over a
sanitized or derived one); the others take the hash suffix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import defaultdict

from virtualize import ir
from virtualize.passes.state import Build

_INVALID = re.compile(r"[^A-Za-z0-9_-]+")
_HASH_LENGTH = 6


def sanitize(candidate: str) -> str:
    return _INVALID.sub("_", candidate).strip("_")


def _hashed(base: str, key: str, limit: int, length: int) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:length]
    if length + 2 > limit:
        return digest[:limit]
    stem = base[: limit - length - 1].rstrip("_-") or "op"
    return f"{stem}_{digest}"


def derive_names(operations: tuple[ir.Operation, ...], limit: int) -> dict[str, str]:
    """Operation key -> tool name for every operation, as described in the module docstring."""
    bases: dict[str, str] = {}
    exact: dict[str, bool] = {}
    for op in operations:
        candidate = next((c for c in op.name_candidates if c), op.key)
        bases[op.key] = sanitize(candidate) or "op"
        exact[op.key] = bases[op.key] == candidate
    groups: dict[str, list[str]] = defaultdict(list)
    for key, base in bases.items():
        if len(base) <= limit:
            groups[base].append(key)
    names: dict[str, str] = {}
    for base, keys in groups.items():
        keepers = [key for key in keys if exact[key]]
        if len(keys) == 1:
            names[keys[0]] = base
        elif len(keepers) == 1:
            names[keepers[0]] = base
    plain = set(names.values())
    hashed_keys = sorted(key for key in bases if key not in names)
    length = _HASH_LENGTH
    pending = hashed_keys
    while pending and length <= 64:
        proposals = {key: _hashed(bases[key], key, limit, length) for key in pending}
        counts: dict[str, int] = defaultdict(int)
        for name in proposals.values():
            counts[name] += 1
        pending = []
        for key, name in proposals.items():
            if counts[name] == 1 and name not in plain:
                names[key] = name
            else:
                pending.append(key)
        plain |= {names[key] for key in proposals if key in names}
        length += 4
    return names


def name_tools(build: Build) -> Build:
    """Names every operation of the Api, before selection (see ``virtualize.passes``)."""
    keys = [op.key for op in build.api.operations]
    duplicates = sorted({key for key in keys if keys.count(key) > 1}) if len(set(keys)) != len(keys) else []
    for key in duplicates:
        build.diagnostics.error(
            build.target.source_file,
            f"two operations share the key {key!r}, so they cannot be told apart",
            hint="this is a bug in the adapter that read the descriptor; please report it",
        )
    names = derive_names(build.api.operations, build.name_limit)
    return dataclasses.replace(build, names=names)
