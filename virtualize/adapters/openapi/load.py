"""Read OpenAPI documents (YAML or JSON, one file or many) and follow their ``$ref``s.

Documents are parsed once and kept as the plain objects the parser built; nothing is copied.
Every place is named by a ``Located``: the node, the file it lives in and its JSON pointer there
(RFC 6901), so diagnostics can say where a problem is even three files deep.

Why hand-written rather than prance or openapi-core: both resolve by inlining, which loses the
source pointers and cannot represent recursive schemas. ``referencing`` keeps pointers but
resolves JSON Schema dialects by ``$id``/``$schema``, which OpenAPI 3.0 and Swagger 2.0 do not
follow, and it would fetch remote documents through a retriever we must gate anyway.

Safety (the document is untrusted input):
- remote ``$ref``s (http, https) are refused unless ``allow_remote_refs``: fetching arbitrary
  URLs at build time is a server-side request forgery hole;
- local ``$ref``s must stay under the ref root (``ref_root``; the compiler's default is the
  project folder, or the spec's own folder when the spec lies outside the project), so a spec
  under review cannot read ``/etc/passwd`` or ``~/.aws/credentials`` into a manifest; only
  regular files are read (not ``/dev/zero`` or a FIFO), and none larger than ``MAX_FILE_BYTES``;
- YAML is read as YAML 1.2, which OpenAPI recommends (section "Format"): ``no`` and ``off``
  stay strings and ``18:00`` is not a number of minutes, as YAML 1.1 readers make them. The
  reader, yaml-rs, bounds alias expansion (``_ALIAS_LIMITS``: the "billion laughs" is refused)
  and nesting depth;
- parser exceptions, invalid UTF-8 and deep JSON nesting (``RecursionError``) become diagnostics.
"""

from __future__ import annotations

import contextlib
import json
import os.path
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import yaml_rs

from virtualize.diagnostics import Diagnostics

MAX_REF_CHAIN = 64  # a $ref to a $ref to ... this deep is a mistake, not a design
REMOTE_TIMEOUT_SECONDS = 10.0
REMOTE_MAX_BYTES = 20 * 1024 * 1024
MAX_FILE_BYTES = 64 * 1024 * 1024  # 15 times Stripe's 4.2 MB, the largest description we know

# Aliases are expanded by the parser; past this many replayed events a document is an alias
# bomb ("billion laughs"), not an API description (stripe, the largest in the corpus, needs none).
_ALIAS_LIMITS = yaml_rs.AliasLimits(max_total_replayed_events=1_000_000)
_YAML_LOCATION = re.compile(r"line (\d+), column (\d+)")


class Located(NamedTuple):
    """A node of a document and where it is: the file (path or URL) and the JSON pointer in it."""

    node: Any
    file: str
    pointer: str


_DUPLICATE_KEY = re.compile(r"duplicate mapping key: (.*)")


def _yaml(text: str, duplicates: yaml_rs.DuplicateKeyPolicy) -> Any:
    return yaml_rs.loads(
        text,
        parse_datetime=False,  # JSON has no dates: `2024-01-01` in an example stays as written
        alias_limits=_ALIAS_LIMITS,
        duplicate_key_policy=duplicates,
    )


_REPEATS_SHOWN = 10


def _differences(first: Any, last: Any, pointer: str) -> Iterator[str]:
    """Pointers of the places two readings of a document differ, each as shallow as it can be:
    a key with a scalar or list value that changed, or present in only one reading, is the key
    itself; two mappings are compared key by key."""
    if isinstance(first, dict) and isinstance(last, dict):
        for key in dict.fromkeys([*last, *first]):
            if key not in first or key not in last:
                yield child(pointer, key)
            else:
                yield from _differences(first[key], last[key], child(pointer, key))
    elif first != last or type(first) is not type(last):
        yield pointer


def child(pointer: str, *tokens: object) -> str:
    for token in tokens:
        text = token if isinstance(token, str) else str(token)
        if "~" in text or "/" in text:
            text = text.replace("~", "~0").replace("/", "~1")
        pointer = f"{pointer}/{text}"
    return pointer


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


class _Unreadable(Exception):
    """A document could not be read or parsed; the diagnostic is already reported."""


class Documents:
    """Every document reachable from the entry file, parsed on first use and kept by file key."""

    def __init__(
        self, entry: Path, *, allow_remote: bool, diagnostics: Diagnostics, ref_root: Path | None = None
    ) -> None:
        self.entry = os.path.normpath(str(entry))
        self._allow_remote = allow_remote
        self._ref_root = os.path.realpath(ref_root if ref_root is not None else Path(self.entry).parent)
        self._diagnostics = diagnostics
        self._roots: dict[str, Any] = {}
        self._failed: set[str] = set()
        self._reported: set[tuple[str, str, str]] = set()
        self._ids: dict[str, dict[str, Located]] = {}
        self._depth = 0  # references being resolved inside the resolution of another

    # -- diagnostics, each reported once -----------------------------------------------------

    def error(self, file: str, pointer: str, message: str, hint: str = "", line: int | None = None) -> None:
        if (file, pointer, message) not in self._reported:
            self._reported.add((file, pointer, message))
            self._diagnostics.error(file, message, pointer=pointer, line=line, hint=hint)

    def warning(self, file: str, pointer: str, message: str, hint: str = "") -> None:
        if (file, pointer, message) not in self._reported:
            self._reported.add((file, pointer, message))
            self._diagnostics.warning(file, message, pointer=pointer, hint=hint)

    @property
    def includes(self) -> tuple[str, ...]:
        """The local files read besides the entry, in a stable order."""
        return tuple(sorted(f for f in self._roots if f != self.entry and not _is_remote(f)))

    # -- reading -----------------------------------------------------------------------------

    def root(self, file: str) -> Any:
        """The parsed document ``file``; raises ``_Unreadable`` (already reported) when it cannot be."""
        if file in self._roots:
            return self._roots[file]
        if file in self._failed:
            raise _Unreadable(file)
        try:
            data = self._fetch(file) if _is_remote(file) else self._read(file)
            document = self._parse(file, data)
        except _Unreadable:
            self._failed.add(file)
            raise
        self._roots[file] = document
        return document

    def entry_root(self) -> Any:
        """The entry document, or None when it is unreadable or empty (reported)."""
        try:
            document = self.root(self.entry)
        except _Unreadable:
            return None
        if document is None:
            self.error(self.entry, "", "the document is empty", hint="is this the right file?")
        return document

    def _fetch(self, url: str) -> bytes:
        try:
            with (
                httpx.Client(timeout=REMOTE_TIMEOUT_SECONDS, follow_redirects=True, max_redirects=3) as client,
                client.stream("GET", url) as response,
            ):
                response.raise_for_status()
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > REMOTE_MAX_BYTES:
                        self.error(url, "", f"remote document is larger than {REMOTE_MAX_BYTES} bytes")
                        raise _Unreadable(url)
                    chunks.append(chunk)
                return b"".join(chunks)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            self.error(url, "", f"cannot fetch remote document: {exc}", hint="check the URL, or vendor the file")
            raise _Unreadable(url) from exc

    def _read(self, file: str) -> bytes:
        """A local file's bytes. A missing file other than the entry is reported where it is referenced."""
        try:
            # Non-blocking, so that opening a FIFO does not wait for a writer; only its kind is read then.
            descriptor = os.open(file, os.O_RDONLY | os.O_NONBLOCK)
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in a $ref'd path
            if file == self.entry:
                reason = exc.strerror if isinstance(exc, OSError) else str(exc)
                self.error(file, "", f"cannot read the file: {reason}", hint="check the path")
            raise _Unreadable(file) from exc
        with os.fdopen(descriptor, "rb") as stream:
            status = os.fstat(stream.fileno())
            if not stat.S_ISREG(status.st_mode):
                self.error(file, "", "not a regular file (a device, FIFO or socket is never read)")
                raise _Unreadable(file)
            if status.st_size > MAX_FILE_BYTES:
                self.error(file, "", f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB")
                raise _Unreadable(file)
            return stream.read(MAX_FILE_BYTES + 1)

    def _parse(self, file: str, data: bytes) -> Any:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            self.error(
                file, "", f"invalid UTF-8 at byte {exc.start} (line {line})", hint="save the file as UTF-8", line=line
            )
            raise _Unreadable(file) from exc
        try:
            if file.lower().endswith(".json") or text.lstrip().startswith(("{", "[")):
                try:
                    return json.loads(text)
                except json.JSONDecodeError as exc:
                    if file.lower().endswith(".json"):
                        self.error(
                            file,
                            "",
                            f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                            line=exc.lineno,
                            hint="fix the syntax at that line",
                        )
                        raise _Unreadable(file) from exc
                    # not JSON after all; JSON is a subset of YAML, so let the YAML parser say why
            return self._parse_yaml(file, text)
        except RecursionError as exc:
            self.error(
                file,
                "",
                "the document is nested too deeply to read",
                hint="real API descriptions nest a few dozen levels at most",
            )
            raise _Unreadable(file) from exc

    def _parse_yaml(self, file: str, text: str) -> Any:
        try:
            try:
                return _yaml(text, yaml_rs.DuplicateKeyPolicy.Error)
            except yaml_rs.YAMLDecodeError as exc:
                repeated = _DUPLICATE_KEY.match(str(exc))
                if repeated is None:
                    raise
            # YAML forbids it, but hand-edited documents do it: the last value is used, as
            # json.loads does. The parser names the first repeated key only, without a place:
            # the places are where reading the first or the last of each value differs.
            last = _yaml(text, yaml_rs.DuplicateKeyPolicy.LastWins)
            first = _yaml(text, yaml_rs.DuplicateKeyPolicy.FirstWins)
            self._warn_repeated(file, repeated.group(1), list(_differences(first, last, "")))
            return last
        except yaml_rs.YAMLDecodeError as exc:
            message = str(exc)
            found = _YAML_LOCATION.search(message)
            line = int(found.group(1)) if found else None
            problem = next((part for part in reversed(message.splitlines()) if part.strip()), "syntax error")
            where = f" (line {found.group(1)}, column {found.group(2)})" if found else ""
            if "alias" in problem:
                hint = "this looks like an alias bomb (billion laughs): use $ref instead of YAML aliases"
            elif "recursion" in problem:
                hint = "real API descriptions nest a few dozen levels at most"
            else:
                hint = "fix the syntax at that line"
            self.error(file, "", f"invalid YAML: {problem.strip()}{where}", line=line, hint=hint)
            raise _Unreadable(file) from exc
        except TypeError as exc:  # a mapping or sequence used as a mapping key
            self.error(file, "", f"invalid YAML: {exc}", hint="mapping keys must be plain values")
            raise _Unreadable(file) from exc

    def _warn_repeated(self, file: str, key: str, places: list[str]) -> None:
        hint = "YAML keys are unique: remove the one that is not meant"
        if not places:  # every repeated key repeats its value: nothing is lost, but say which
            self.warning(file, "", f"a mapping repeats the key {key}, with the same value", hint=hint)
        for place in places[:_REPEATS_SHOWN]:
            message = "this value depends on which of a repeated key's values is read; the last one is used"
            self.warning(file, place, message, hint=hint)
        if len(places) > _REPEATS_SHOWN:
            self.warning(file, "", f"{len(places) - _REPEATS_SHOWN} more repeated keys change a value", hint=hint)

    # -- references ----------------------------------------------------------------------------

    def target(self, ref: object, site: Located) -> Located | None:
        """Where ``ref`` (the value of a ``$ref`` at ``site``) points; None when it points to nothing.

        ``site`` is the object holding the ``$ref``. Problems are reported at ``<site>/$ref``: a
        refused remote reference is an error (the build's policy, lifted by a flag); a broken one is
        a warning, because the operations that use it are left out (each with its own warning) and
        the rest of the API still compiles.
        """
        where = child(site.pointer, "$ref")
        if not isinstance(ref, str):
            self.warning(
                site.file, where, f"$ref must be a string, not {type(ref).__name__}",
                hint="quote it: in YAML an unquoted '#...' starts a comment",
            )  # fmt: skip
            return None
        if self._depth >= MAX_REF_CHAIN:
            # a pointer that passes through a reference that passes through the pointer...
            self.warning(
                site.file, where, f"$ref {ref!r} cannot be resolved: it leads back to itself",
                hint="a reference must end at an object that is not itself only a reference",
            )  # fmt: skip
            return None
        self._depth += 1
        try:
            return self._target(ref, site, where)
        except ValueError:  # urllib on a malformed URL, e.g. an unclosed IPv6 bracket
            self.warning(site.file, where, f"$ref {ref!r} is not a valid URI reference", hint="fix the reference")
            return None
        finally:
            self._depth -= 1

    def _target(self, ref: str, site: Located, where: str) -> Located | None:
        address, _, fragment = ref.partition("#")
        file = site.file
        outside = False
        if address:
            if _is_remote(address) or _is_remote(site.file):
                file = urljoin(site.file, address) if _is_remote(site.file) else address
                if not self._allow_remote:
                    self.error(
                        site.file, where, f"remote $ref {ref!r} refused",
                        hint="fetching URLs at build time is off by default (server-side request forgery); "
                        "download the file next to the spec and refer to it by a relative path, "
                        "or pass --allow-remote-refs",
                    )  # fmt: skip
                    return None
            elif len(urlsplit(address).scheme) > 1:  # one letter is a Windows drive, not a scheme
                self.warning(
                    site.file, where, f"$ref {ref!r} uses an unsupported URL scheme",
                    hint="refer to other files by a relative path",
                )  # fmt: skip
                return None
            else:
                file = os.path.normpath(Path(site.file).parent / unquote(address))
                outside = not self._under_ref_root(file)
        current: Located | None = None
        if not outside:
            with contextlib.suppress(_Unreadable):
                current = Located(self.root(file), file, "")
        if current is None:
            # JSON Schema 2020-12 §8.2.1 (OpenAPI 3.1): a reference may name a schema by its `$id`
            # (`/schemas/pet` is then an identifier, not a file, even outside the ref root)
            identified = self._identified(address, site) if address else None
            if identified is None:
                if outside:
                    self.error(
                        site.file, where, f"$ref {ref!r} leads outside the ref root {self._ref_root}",
                        hint="a spec may only refer to files under its project (or its own folder); "
                        "if the file is meant to be read, name a higher folder with --ref-root",
                    )  # fmt: skip
                elif file != site.file:
                    self.warning(
                        site.file, where, f"$ref {ref!r} points to a file that cannot be read: {file}",
                        hint="check the path, relative to the file that holds the $ref",
                    )  # fmt: skip
                return None
            current, file = identified, identified.file
        pointer = unquote(fragment)
        if pointer and not pointer.startswith("/"):
            anchored = _anchored(current, pointer)
            if anchored is None:
                self.warning(
                    site.file, where, f"$ref {ref!r} points to nothing: no $anchor {pointer!r} there",
                    hint="check the spelling of the anchor, or use a JSON pointer",
                )  # fmt: skip
            return anchored
        for token in pointer.split("/")[1:] if pointer else ():
            key = _unescape(token)
            value = current.node
            if isinstance(value, dict) and "$ref" in value and key not in value:
                # the pointer passes through a reference: continue in its target
                followed = self.follow(current)
                if followed is None:
                    return None
                current = followed
                value = current.node
            if isinstance(value, dict) and key in value:
                current = Located(value[key], current.file, child(current.pointer, key))
            elif isinstance(value, dict) and _int_key(key) in value:
                current = Located(value[_int_key(key)], current.file, child(current.pointer, key))
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                current = Located(value[int(key)], current.file, child(current.pointer, key))
            else:
                self.warning(
                    site.file, where, f"$ref {ref!r} points to nothing: {file} has no {pointer!r}",
                    hint="check the spelling of the name and the path of the file",
                )  # fmt: skip
                return None
        return current

    def _under_ref_root(self, file: str) -> bool:
        """Whether ``file``, symbolic links followed, lies under the ref root (the entry always may)."""
        if file == self.entry:
            return True
        real = os.path.realpath(file)
        return real == self._ref_root or real.startswith(self._ref_root.rstrip(os.sep) + os.sep)

    def _identified(self, address: str, site: Located) -> Located | None:
        """The schema whose ``$id`` is exactly ``address``, in the referring document or the entry.

        Only exact matches: resolving ``$id``s against nested base URIs is more than real
        documents use (they write the same absolute path in ``$id`` and ``$ref``).
        """
        for file in dict.fromkeys((site.file, self.entry)):
            if file not in self._ids:
                self._ids[file] = _index_ids(file, self._roots.get(file))
            if address in self._ids[file]:
                return self._ids[file][address]
        return None

    def follow(self, place: Located) -> Located | None:
        """Follow ``$ref``s from ``place`` until a node that is not a reference; None when one is broken.

        Used for every object that is inlined (parameters, bodies, responses, path items...):
        a chain that comes back to itself is a cycle, reported, since nothing would end it.
        """
        seen: set[tuple[str, str]] = set()
        while isinstance(place.node, dict) and "$ref" in place.node:
            key = (place.file, place.pointer)
            if key in seen or len(seen) >= MAX_REF_CHAIN:
                self.warning(
                    place.file, child(place.pointer, "$ref"), "$ref cycle: this reference leads back to itself",
                    hint="a reference must end at an object that is not itself only a reference",
                )  # fmt: skip
                return None
            seen.add(key)
            target = self.target(place.node["$ref"], place)
            if target is None:
                return None
            place = target
        return place


def _index_ids(file: str, document: Any) -> dict[str, Located]:
    """Every ``$id`` in ``document``, to the object that declares it (first declaration wins)."""
    found: dict[str, Located] = {}
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, dict):
            identifier = node.get("$id")
            if isinstance(identifier, str) and identifier not in found:
                found[identifier] = Located(node, file, pointer)
            stack.extend((v, child(pointer, k)) for k, v in node.items() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, child(pointer, i)) for i, v in enumerate(node) if isinstance(v, dict | list))
    return found


def _anchored(place: Located, anchor: str) -> Located | None:
    """The object under ``place`` whose ``$anchor`` is ``anchor`` (JSON Schema 2020-12 §8.2.2)."""
    stack: list[Located] = [place]
    while stack:
        current = stack.pop()
        node = current.node
        if isinstance(node, dict):
            if node.get("$anchor") == anchor:
                return current
            stack.extend(Located(v, current.file, child(current.pointer, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(Located(v, current.file, child(current.pointer, i)) for i, v in enumerate(node))
    return None


def _int_key(token: str) -> object:
    """YAML reads an unquoted ``200:`` as an integer key; a pointer always spells it as text."""
    return int(token) if token.isdigit() else token


def _is_remote(address: str) -> bool:
    return address.startswith(("http://", "https://"))
