"""Arguments on the wire: OpenAPI 3.1 §4.8.12.4 parameter styles and request bodies, to the byte.

Every function here is pure: values in, percent-encoded text or bytes out. A value that cannot be
sent faithfully raises ``ArgumentProblem`` (the invoker turns it into ``invalid_arguments`` and
nothing leaves the gateway).

- Path values are percent-encoded with nothing kept but RFC 3986 unreserved characters, so a
  value can never add a segment (``/``), start a query or fragment, or name another host (``@``,
  ``//``). A value that is ``.`` or ``..`` is refused: clients and servers remove dot segments
  before routing, and WHATWG URL parsers (Node, browsers) treat ``%2E%2E`` as ``..`` too, so no
  encoding of it is safe.
- Query names and values are percent-encoded except the style's own delimiters (``,`` of form,
  ``%20`` of spaceDelimited, ``%7C`` of pipeDelimited, ``[...]`` of deepObject); ``allowReserved``
  keeps RFC 3986 reserved characters that do not split a query (``&``, ``=``, ``#``, ``+`` are
  still encoded).
- Header values are not encoded (RFC 9110 has no escape); CR, LF and other control characters, and
  non-ASCII text, are refused instead of sent.
- ``null`` is a value: ``name=`` in a query, an empty header, a JSON ``null`` in a body. Only an
  absent argument is omitted.
- Content-typed parameters (``content`` instead of ``schema``) and non-scalar items where the
  style has no rule for them are written as compact JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from virtualize.runtime.outcomes import compact_json

#: RFC 3986 reserved characters kept by ``allowReserved``, minus those that would split the query.
_RESERVED_KEPT = ":/?[]@!$'()*,;"
#: cookie-octet (RFC 6265 §4.1.1) minus ``%`` (kept for escapes we make ourselves).
_COOKIE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"


class ArgumentProblem(Exception):
    """An argument value the upstream call cannot carry. ``path`` is a JSON pointer into arguments."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Param:
    """One argument's wire rules, precomputed from its ``ArgumentBinding``."""

    argument: str
    name: str
    style: str
    explode: bool
    allow_reserved: bool = False
    content_type: str | None = None
    binary: bool = False  # a base64 / data: URI string that travels as bytes

    @property
    def pointer(self) -> str:
        return "/" + self.argument.replace("~", "~0").replace("/", "~1")


def is_json_media(media_type: str | None) -> bool:
    if not media_type:
        return False
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or essence.endswith("+json")


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return compact_json(value)


def _as_content(param: Param, value: Any) -> Any:
    """A content-typed parameter's value as the one string its media type says."""
    if param.content_type is None:
        return value
    if isinstance(value, str) and not is_json_media(param.content_type):
        return value
    return compact_json(value)


def _enc(text: str, allow_reserved: bool = False) -> str:
    return quote(text, safe=_RESERVED_KEPT if allow_reserved else "")


def _path_enc(text: str) -> str:
    return quote(text, safe="")


# -- path -----------------------------------------------------------------------------------


def path_value(param: Param, value: Any) -> str:
    """The text that replaces ``{name}`` in the path template (simple, label or matrix style)."""
    value = _as_content(param, value)
    if value is None or value in ("", [], {}):
        raise ArgumentProblem(param.pointer, f"path parameter {param.name!r} must not be empty")
    name = _path_enc(param.name)
    if isinstance(value, list):
        items = [_path_enc(_scalar(v)) for v in value]
        if param.style == "label":
            return "." + (".".join(items) if param.explode else ",".join(items))
        if param.style == "matrix":
            return "".join(f";{name}={i}" for i in items) if param.explode else f";{name}=" + ",".join(items)
        if not any(items):  # [""] would be an empty segment too
            raise ArgumentProblem(param.pointer, f"path parameter {param.name!r} must not be empty")
        return ",".join(items)
    if isinstance(value, dict):
        pairs = [(_path_enc(str(k)), _path_enc(_scalar(v))) for k, v in value.items()]
        if param.style == "label":
            if param.explode:
                return "." + ".".join(f"{k}={v}" for k, v in pairs)
            return "." + ",".join(f"{k},{v}" for k, v in pairs)
        if param.style == "matrix":
            if param.explode:
                return "".join(f";{k}={v}" for k, v in pairs)
            return f";{name}=" + ",".join(f"{k},{v}" for k, v in pairs)
        return ",".join(f"{k}={v}" if param.explode else f"{k},{v}" for k, v in pairs)
    text = _path_enc(_scalar(value))
    if param.style == "label":
        return "." + text
    if param.style == "matrix":
        return f";{name}={text}"
    return text


# -- query ----------------------------------------------------------------------------------


def query_pairs(param: Param, value: Any) -> list[str]:
    """``name=value`` items (already encoded) for one query parameter, in order."""
    value = _as_content(param, value)
    reserved = param.allow_reserved

    def enc(text: str) -> str:
        return _enc(text, reserved)

    name = _enc(param.name)
    if param.style == "deepObject" and isinstance(value, dict):
        return _deep_object(param.name, value, reserved)
    if isinstance(value, list):
        items = [enc(_scalar(v)) for v in value]
        if param.explode:
            return [f"{name}={i}" for i in items]
        delimiter = {"spaceDelimited": "%20", "pipeDelimited": "%7C"}.get(param.style, ",")
        return [f"{name}={delimiter.join(items)}"]
    if isinstance(value, dict):
        pairs = [(enc(str(k)), enc(_scalar(v))) for k, v in value.items()]
        if param.explode:
            return [f"{k}={v}" for k, v in pairs]
        delimiter = {"spaceDelimited": "%20", "pipeDelimited": "%7C"}.get(param.style, ",")
        return [f"{name}=" + delimiter.join(f"{k}{delimiter}{v}" for k, v in pairs)]
    return [f"{name}={enc(_scalar(value))}"]


def _deep_object(prefix: str, value: Mapping[str, Any], reserved: bool) -> list[str]:
    items: list[str] = []
    for key, inner in value.items():
        name = f"{prefix}[{key}]"
        if isinstance(inner, dict):
            items.extend(_deep_object(name, inner, reserved))
        elif isinstance(inner, list):
            items.extend(f"{_enc(name)}={_enc(_scalar(v), reserved)}" for v in inner)
        else:
            items.append(f"{_enc(name)}={_enc(_scalar(inner), reserved)}")
    return items


# -- header and cookie ------------------------------------------------------------------------


def header_value(param: Param, value: Any) -> str:
    """A header parameter's value (simple style); refuses what would break the header."""
    value = _as_content(param, value)
    if isinstance(value, list):
        text = ",".join(_scalar(v) for v in value)
    elif isinstance(value, dict):
        text = ",".join(f"{k}={_scalar(v)}" if param.explode else f"{k},{_scalar(v)}" for k, v in value.items())
    else:
        text = _scalar(value)
    check_header_text(param.pointer, param.name, text)
    # RFC 9110 §5.5: whitespace around a field value is not part of it (parsers drop it, and h11
    # refuses to send it), so "abc " reaches the upstream as "abc" whatever we do.
    return text.strip(" \t")


def check_header_text(pointer: str, name: str, text: str) -> None:
    for char in text:
        if char != "\t" and (ord(char) < 0x20 or ord(char) == 0x7F):
            raise ArgumentProblem(pointer, f"header {name!r} cannot carry control characters (CR, LF, ...)")
        if ord(char) > 0x7E:
            raise ArgumentProblem(pointer, f"header {name!r} can only carry ASCII text")


def cookie_pairs(param: Param, value: Any) -> list[str]:
    """``name=value`` items for one cookie parameter (form style), cookie-safe encoded."""
    value = _as_content(param, value)

    def enc(text: str) -> str:
        return quote(text, safe=_COOKIE_SAFE)

    name = enc(param.name)
    if isinstance(value, list):
        items = [enc(_scalar(v)) for v in value]
        return [f"{name}={i}" for i in items] if param.explode else [f"{name}={','.join(items)}"]
    if isinstance(value, dict):
        pairs = [(enc(str(k)), enc(_scalar(v))) for k, v in value.items()]
        if param.explode:
            return [f"{k}={v}" for k, v in pairs]
        return [f"{name}=" + ",".join(f"{k},{v}" for k, v in pairs)]
    return [f"{name}={enc(_scalar(value))}"]


# -- binary values ------------------------------------------------------------------------------


def decode_binary(pointer: str, value: Any) -> tuple[bytes, str | None]:
    """Bytes and media type (from a data: URI) of a base64 or ``data:`` argument."""
    if not isinstance(value, str):
        raise ArgumentProblem(pointer, "a file must be given as a base64 string or a data: URI")
    if value.startswith("data:"):
        header, comma, data = value.partition(",")
        if not comma:
            raise ArgumentProblem(pointer, "a data: URI needs a ',' before its data")
        fields = header[5:].split(";")
        media_type = fields[0] or None
        if "base64" in fields[1:]:
            return _b64(pointer, data), media_type
        return unquote_to_bytes(data), media_type
    return _b64(pointer, value), None


def _b64(pointer: str, text: str) -> bytes:
    compact = "".join(text.split())
    try:
        if "-" in compact or "_" in compact:
            return base64.urlsafe_b64decode(compact + "=" * (-len(compact) % 4))
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ArgumentProblem(pointer, "not valid base64 (or a data: URI)") from None


# -- bodies -------------------------------------------------------------------------------------


def json_body(value: Any) -> bytes:
    return compact_json(value).encode("utf-8")


def form_body(fields: Sequence[tuple[Param, Any]]) -> bytes:
    """application/x-www-form-urlencoded: each field by its encoding (form, explode by default)."""
    items: list[str] = []
    for param, value in fields:
        items.extend(query_pairs(param, value))
    return "&".join(items).encode("ascii")


def multipart_body(fields: Sequence[tuple[Param, Any]]) -> tuple[bytes, str]:
    """multipart/form-data (RFC 7578): the body and its Content-Type with the boundary."""
    boundary = "virtualize-" + secrets.token_hex(16)
    out = bytearray()
    for param, value in fields:
        values = value if isinstance(value, list) and (param.binary or not _is_json_part(param)) else [value]
        for item in values:
            data, media_type, filename = _part(param, item)
            disposition = f'form-data; name="{_quoted(param.name)}"'
            if filename is not None:
                disposition += f'; filename="{_quoted(filename)}"'
            out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
            if media_type is not None:
                check_header_text(param.pointer, "Content-Type", media_type)
                out += f"Content-Type: {media_type}\r\n".encode()
            out += b"\r\n" + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def _is_json_part(param: Param) -> bool:
    return param.content_type is not None and is_json_media(param.content_type)


def _part(param: Param, value: Any) -> tuple[bytes, str | None, str | None]:
    if param.binary:
        data, media_type = decode_binary(param.pointer, value)
        return data, param.content_type or media_type or "application/octet-stream", param.name
    if isinstance(value, dict | list) or _is_json_part(param):
        return json_body(value), param.content_type or "application/json", None
    return _scalar(value).encode("utf-8"), param.content_type, None


def _quoted(text: str) -> str:
    # The HTML form-data encoding (which RFC 7578 §4.2 points at) escapes these three.
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def raw_body(param: Param, value: Any) -> bytes:
    """A whole body of a non-JSON, non-form media type (text/*, octet-stream, ...)."""
    if param.binary:
        return decode_binary(param.pointer, value)[0]
    if isinstance(value, str):
        return value.encode("utf-8")
    if value is None:
        return b""
    return json_body(value)
