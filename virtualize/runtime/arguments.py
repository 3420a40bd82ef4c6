"""Argument validation: every call is checked against its tool's ``inputSchema`` before any upstream call.

Validators are compiled once per tool at load (``ArgumentCheck``). The dialect is the schema's
``$schema`` or JSON Schema 2020-12 (MCP 2026-07-28 "JSON Schema Usage"), with format assertions on
(a ``date`` that is not a date is refused here, not upstream). OpenAPI's ``byte`` is asserted too:
base64 as RFC 4648 §4 writes it (standard alphabet, padded), what the OpenAPI format registry
says and what validating upstreams check.

Two validators per tool, for speed: ``jsonschema-rs`` decides (about a microsecond for a
typical call, against hundreds for the pure-Python ``jsonschema``), and ``jsonschema`` explains
the rare invalid call with the paths and messages below. It never fetches a remote ``$ref``
(``offline``); a schema ``jsonschema-rs`` cannot compile is left to ``jsonschema`` alone.
A bad call becomes ``invalid_arguments`` whose details name each offending field by JSON pointer
(RFC 6901), so the model can fix exactly that field. Values pinned by configuration
(``binding.fixed``) are merged after validation: the agent never sees or sets them.

A number with a zero fraction is passed on as an integer (``3.0`` -> ``3``): JSON does not tell
the two apart (RFC 8259 §6; JSON Schema's ``integer`` accepts ``3.0``), models write either, and
strict upstreams refuse the fraction (a GraphQL ``Int``, a protobuf ``int32``, ``?limit=3.0``).
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Mapping
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from virtualize.runtime.outcomes import Failure, invalid_arguments, pointer

#: At most this many violations are reported per call (the first ones by path).
MAX_REPORTED = 20
_MESSAGE_LIMIT = 300
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _is_byte(value: object) -> bool:
    return not isinstance(value, str) or _BASE64.fullmatch(value) is not None


def _format_checker(dialect: Any) -> FormatChecker:
    """The dialect's format checker plus OpenAPI's ``byte``."""
    checker: FormatChecker = copy.copy(dialect.FORMAT_CHECKER)
    checker.checkers = {**checker.checkers, "byte": (_is_byte, ())}
    return checker


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "…"


def _violations(error: ValidationError) -> list[dict[str, Any]]:
    """One detail per field: a missing required property is reported at its own path, not its parent's."""
    at = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        required = error.validator_value if isinstance(error.validator_value, list) else []
        return [
            {"path": pointer([*at, name]), "message": "is required", "keyword": "required"}
            for name in required
            if name not in error.instance
        ]
    if error.validator == "dependentRequired" and isinstance(error.instance, Mapping):
        # An optional request body, flattened: once one field is sent, the body's required ones must be.
        dependencies = error.validator_value if isinstance(error.validator_value, Mapping) else {}
        given = sorted(name for name in dependencies if name in error.instance)
        missing = sorted({need for name in given for need in dependencies[name] if need not in error.instance})
        return [
            {"path": pointer([*at, need]), "message": f"is required once {given[0]!r} is given", "keyword": "required"}
            for need in missing
        ]
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        extras = [name for name in error.instance if name not in known]
        if extras:
            return [
                {
                    "path": pointer([*at, name]),
                    "message": "is not an accepted argument",
                    "keyword": "additionalProperties",
                }
                for name in extras
            ]
    return [{"path": pointer(at), "message": _short(error.message), "keyword": str(error.validator)}]


class ArgumentCheck:
    """The compiled validator of one tool, plus its pinned values."""

    __slots__ = ("_fast", "_fixed", "_validator", "schema")

    def __init__(self, input_schema: Mapping[str, Any], fixed: Mapping[str, Any] | None = None) -> None:
        self.schema = input_schema
        cls = validator_for(input_schema, default=Draft202012Validator)
        self._validator: Validator = cls(input_schema, format_checker=_format_checker(cls))
        try:
            self._fast: jsonschema_rs.Validator | None = jsonschema_rs.validator_for(
                dict(input_schema), validate_formats=True, offline=True, formats={"byte": _is_byte}
            )
        except ValueError:
            self._fast = None
        self._fixed = dict(fixed or {})

    def check(self, arguments: Mapping[str, Any] | None) -> dict[str, Any] | Failure:
        """The arguments to invoke with (``fixed`` merged in), or an ``invalid_arguments`` failure."""
        given = {} if arguments is None else arguments
        if self._fast is not None and self._fast.is_valid(given):
            return self._accepted(given)
        errors = list(itertools.islice(self._validator.iter_errors(given), MAX_REPORTED))
        if errors:
            unique = {(d["path"], d["keyword"], d["message"]): d for error in errors for d in _violations(error)}
            details = [unique[key] for key in sorted(unique)][:MAX_REPORTED]
            first = details[0]
            where = first["path"] or "the arguments"
            more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
            return invalid_arguments(f"argument {where}: {first['message']}{more}", details)
        return self._accepted(given)

    def _accepted(self, given: Mapping[str, Any]) -> dict[str, Any]:
        accepted = {name: _integral(value) for name, value in given.items()}
        return {**accepted, **self._fixed} if self._fixed else accepted


def _integral(value: Any) -> Any:
    """``value`` with every number that has a zero fraction written as an integer."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value
