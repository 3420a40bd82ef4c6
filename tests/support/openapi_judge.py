"""openapi-core as a second, in-process judge of the HTTP requests virtualize sends.

For documents Prism cannot judge (it never finishes loading Stripe's 4.2 MB document), the
recording proxy asks openapi-core instead: it finds the operation by method and path, then
deserializes and validates every parameter (each style) and the body against the document.
Its errors become the same ``Violation`` records as Prism's, located ``request.<what>``.

openapi-core reads OpenAPI 3.x only; the document's servers are replaced by the proxy's URL, so
that the path the gateway sent is matched as the operation's path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml_rs
from openapi_core import OpenAPI
from openapi_core.contrib.starlette import StarletteOpenAPIRequest
from openapi_core.templating.paths.exceptions import PathError
from starlette.requests import Request

from tests.support.prism import Violation


class OpenAPICoreJudge:
    """Validates requests against ``spec`` (a single-file OpenAPI 3.x document)."""

    def __init__(self, spec: Path) -> None:
        text = spec.read_text(encoding="utf-8")
        document: dict[str, Any] = yaml_rs.loads(text, parse_datetime=False)  # JSON has no dates
        if not str(document.get("openapi", "")).startswith("3."):
            raise ValueError(f"{spec}: openapi-core judges OpenAPI 3.x documents only")
        self._document = document
        self._api: OpenAPI | None = None

    def serve_at(self, url: str) -> None:
        """Match request paths as the document's own paths, on the proxy at ``url``."""
        paths = {
            key: _without_servers(item) if isinstance(item, dict) else item
            for key, item in (self._document.get("paths") or {}).items()
        }
        document = {**self._document, "servers": [{"url": url}], "paths": paths}
        self._api = OpenAPI.from_dict(document, base_uri=url)

    def judge(self, scope: dict[str, Any], body: bytes) -> tuple[Violation, ...]:
        if self._api is None:
            raise RuntimeError("serve_at(url) first")
        request = StarletteOpenAPIRequest(Request(scope), body=body)
        result = self._api.unmarshal_request(request)
        return tuple(_violation(error) for error in result.errors)


def _without_servers(path_item: dict[str, Any]) -> dict[str, Any]:
    """A path item without its own servers or its operations' (Stripe's /v1/files is on files.stripe.com)."""
    return {
        key: {k: v for k, v in value.items() if k != "servers"} if isinstance(value, dict) else value
        for key, value in path_item.items()
        if key != "servers"
    }


def _violation(error: Exception) -> Violation:
    where = "path" if isinstance(error, PathError) else _place(error)
    causes = []
    cause: BaseException | None = error.__cause__ or error.__context__
    while cause is not None and len(causes) < 3:
        nested = getattr(cause, "schema_errors", None)
        if nested:
            causes.extend(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in nested[:3])
            break
        causes.append(str(cause))
        cause = cause.__cause__ or cause.__context__
    message = f"{type(error).__name__}: {error}" + (f" ({'; '.join(causes)})" if causes else "")
    return Violation(("request", where), "Error", type(error).__name__, message[:600])


def _place(error: Exception) -> str:
    name = type(error).__name__.lower()
    for place in ("body", "parameter", "security", "server", "operation"):
        if place in name:
            return place
    return "request"
