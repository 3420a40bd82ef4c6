"""HTTP answers -> outcomes: success bodies by media type, error statuses by category, broken exchanges.

Reading is streamed and stops past a limit, so a 50 MB answer costs neither memory nor time.
The category table is ARCHITECTURE's "A normalized error" for HTTP; an error body is kept (trimmed
by ``to_result``) and its human part (problem+json ``detail``/``title``, or a ``message``) goes
into the sentence the agent reads.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from virtualize.runtime.credentials import redact_sent
from virtualize.runtime.invokers.http_serialization import is_json_media
from virtualize.runtime.invokers.http_transport import Answer
from virtualize.runtime.outcomes import (
    BinaryValue,
    Category,
    EmptyValue,
    Failure,
    JsonValue,
    Outcome,
    TextValue,
)

logger = logging.getLogger(__name__)

#: How much of an error body is read (the envelope keeps a trimmed part of it).
ERROR_BODY_LIMIT = 64 * 1024
_TEXT_TYPES = frozenset(
    {
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/x-www-form-urlencoded",
        "application/yaml",
        "application/x-yaml",
        "application/graphql",
        "application/sql",
        "application/x-ndjson",
    }
)


async def read_bounded(answer: Answer, limit: int) -> tuple[bytes, bool, int | None]:
    """At most ``limit`` bytes of the body; whether it was cut; the whole size when known."""
    data, truncated = await answer.read(limit)
    if not truncated:
        return data, False, None
    declared = answer.headers.get("content-length")
    total = int(declared) if declared and declared.isdigit() and "content-encoding" not in answer.headers else None
    return data, True, total


def _media_type(headers: Mapping[str, str]) -> tuple[str, str | None]:
    value = headers.get("content-type", "")
    essence, _, parameters = value.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        key, _, val = parameter.partition("=")
        if key.strip().lower() == "charset" and val.strip():
            charset = val.strip().strip('"')
    return essence.strip().lower(), charset


def _is_text(media_type: str, charset: str | None) -> bool:
    return (
        media_type.startswith("text/")
        or media_type in _TEXT_TYPES
        or media_type.endswith(("+xml", "+yaml"))
        or charset is not None
    )


def _decode(data: bytes, charset: str | None) -> str:
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _not_json(constant: str) -> None:
    # Python's json accepts NaN and Infinity; JSON (and every client) does not.
    raise ValueError(f"{constant} is not JSON")


#: Built once: ``json.loads`` with options builds a new decoder per call.
_STRICT = json.JSONDecoder(parse_constant=_not_json)
_SURROGATE = re.compile("[\ud800-\udfff]")


def parse_json(text: str) -> Any:
    """An upstream's JSON, as clients can read it back: ``NaN`` and ``Infinity`` refused, and a
    lone surrogate escape (``"\\ud800"``, which Python's reader keeps and strict JSON readers such
    as the official client's refuse, failing the whole call) read as U+FFFD."""
    value = _STRICT.decode(text)
    if "\\ud" in text or "\\uD" in text:  # only then can a string hold one: a pair decodes whole
        value = _without_lone_surrogates(value)
    return value


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    return value


async def success_outcome(answer: Answer, method: str, limit: int, sent: Sequence[str] = ()) -> Outcome:
    """The value of a 2xx answer; ``sent`` are the secrets the call must not hand the agent
    (``Invocation.redact``), taken out of any text the answer carries."""
    status = answer.status
    if status in (204, 205) or method == "HEAD":
        return EmptyValue(status)
    data, truncated, total = await read_bounded(answer, limit)
    if not data:
        return EmptyValue(status)
    media_type, charset = _media_type(answer.headers)
    if is_json_media(media_type) or (not media_type and data.lstrip()[:1] in (b"{", b"[")):
        text = redact_sent(_decode(data, charset), sent)
        if truncated:
            return TextValue(text, media_type or "application/json", truncated=True, total_bytes=total, status=status)
        try:
            return JsonValue(parse_json(text), status=status)
        except RecursionError:
            return Failure(
                "invalid_response",
                "The upstream answered with JSON nested too deeply to read; the call may have taken effect.",
                status=status,
                upstream_message=text,
            )
        except ValueError as exc:
            if "integer string conversion" in str(exc):  # valid JSON, a number beyond Python's digit limit
                return Failure(
                    "invalid_response",
                    "The upstream answered with a number of more than 4,300 digits, which is not read; "
                    "the call may have taken effect.",
                    status=status,
                    upstream_message=text,
                )
            if media_type:
                return Failure(
                    "invalid_response",
                    "The upstream answered with a body that is not the JSON its Content-Type says; "
                    "the call may have taken effect.",
                    status=status,
                    upstream_message=text,
                )
    if not media_type:
        try:
            return TextValue(redact_sent(data.decode("utf-8"), sent), "text/plain", truncated, total, status)
        except UnicodeDecodeError:
            return BinaryValue(data, "application/octet-stream", truncated, total, status)
    if _is_text(media_type, charset):
        return TextValue(redact_sent(_decode(data, charset), sent), media_type, truncated, total, status)
    return BinaryValue(data, media_type, truncated, total, status)


_CATEGORY_SENTENCES: Mapping[Category, str] = {
    "invalid_arguments": "The upstream rejected the arguments",
    "unauthorized": "The upstream did not accept the credentials",
    "forbidden": "The upstream forbids this call with the configured credentials",
    "not_found": "The upstream found no such resource",
    "conflict": "The upstream reported a conflict with the resource's current state",
    "rate_limited": "The upstream is limiting the rate of calls",
    "timeout": "The upstream timed out",
    "unimplemented": "The upstream does not implement this operation",
    "upstream_error": "The upstream failed",
}


def status_category(status: int) -> Category:
    """The normalized category of an HTTP error status (ARCHITECTURE "A normalized error")."""
    if status in (400, 413, 414, 415, 422, 431):
        return "invalid_arguments"
    if status == 401:
        return "unauthorized"
    if status == 403:
        return "forbidden"
    if status in (404, 410):
        return "not_found"
    if status in (409, 412):
        return "conflict"
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status == 501:
        return "unimplemented"
    return "upstream_error"


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (delay-seconds or an HTTP-date), when present."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:  # "inf" and "nan" parse as floats, and say nothing about when to come back
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(tz=UTC)).total_seconds(), 0.0)


def _problem_text(text: str) -> str | None:
    """The human part of an error body: problem+json ``detail``/``title`` or a ``message``."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    candidates = [body.get("detail"), body.get("title"), body.get("message"), error]
    if isinstance(error, dict):
        candidates.append(error.get("message"))
    return next((c.strip() for c in candidates if isinstance(c, str) and c.strip()), None)


async def failure_outcome(answer: Answer, url: str, idempotent: bool) -> Failure:
    """``url``: the request's, against which a redirect's ``Location`` is read."""
    status = answer.status
    if 300 <= status < 400:
        target = redirect_target(answer, url)
        where = origin(target) if target is not None else "an unknown or invalid location"
        return Failure(
            "upstream_error",
            f"The upstream redirected to {where}, which virtualize does not follow: it follows at most a few "
            "redirects, and only within the same origin, so that credentials never reach another host.",
            status=status,
            retryable=False,
        )
    data, _, _ = await read_bounded(answer, ERROR_BODY_LIMIT)
    text = _decode(data, _media_type(answer.headers)[1]).strip()
    category = status_category(status)
    message = _CATEGORY_SENTENCES[category]
    said = _problem_text(text) if text else None
    if said:
        message += f": {said[:300]}"
    # A 4xx outside the taxonomy will not change on its own; a failed POST is not ours to repeat.
    retryable = False if category == "upstream_error" and (status < 500 or not idempotent) else None
    return Failure(
        category,
        message + ".",
        status=status,
        upstream_message=text or None,
        retry_after=retry_after(answer.headers) if status in (429, 503) else None,
        retryable=retryable,
    )


# How each client names a certificate it does not trust: aiohttp's error kind, httpx's ssl message.
_UNTRUSTED = ("CertificateError", "CERTIFICATE_VERIFY_FAILED")


def transport_failure(exc: httpx.HTTPError, idempotent: bool, host: str) -> Failure:
    """The outcome of an exchange that broke before a whole answer arrived."""
    logger.debug("upstream %s: %s", host, type(exc).__name__)
    if isinstance(exc, httpx.ConnectError) and any(m in str(exc) for m in _UNTRUSTED):
        # Not a passing fault: the same certificate fails the same way on every retry.
        return Failure(
            "unavailable",
            f"The upstream's TLS certificate is not trusted ({host}); ca_file names the CAs to trust.",
            retryable=False,
        )
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout | httpx.ConnectError):
        return Failure("unavailable", f"Could not connect to the upstream ({host}).")
    if isinstance(exc, httpx.TimeoutException):
        return Failure("timeout", f"The upstream did not answer in time ({type(exc).__name__}).")
    if isinstance(exc, httpx.LocalProtocolError):  # nothing was sent: a request we built wrong is our bug
        # Its text may quote a header value, a credential included, so it is not repeated.
        return Failure("internal_error", "The gateway built a request its HTTP client refused to send.")
    if isinstance(exc, httpx.DecodingError):
        return Failure("invalid_response", "The upstream's answer could not be decoded (its Content-Encoding).")
    # Closed or broken mid-exchange: the request may have arrived, so only an idempotent call may be repeated.
    return Failure(
        "unavailable",
        "The upstream closed the connection before answering"
        + ("." if idempotent else "; the call may or may not have taken effect."),
        retryable=idempotent,
    )


def origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def redirect_target(answer: Answer, url: str) -> httpx.URL | None:
    """Where a redirect from ``url`` points, or None when ``answer`` is not one (or points nowhere valid)."""
    location = answer.headers.get("location")
    if answer.status not in (301, 302, 303, 307, 308) or not location:
        return None
    try:
        return httpx.URL(url).join(location)
    except httpx.InvalidURL:
        return None
