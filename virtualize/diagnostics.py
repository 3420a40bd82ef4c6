"""Diagnostics: located findings about a descriptor, and the collector adapters report into.

A diagnostic names the file, a JSON pointer (for JSON/YAML descriptors) or a line (for SDL and
.proto files), the problem and a hint. Errors stop a build; warnings leave the affected
operation out (or note a lossy conversion) and the build goes on, unless ``--strict``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict

from virtualize.errors import SpecError


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Diagnostic(BaseModel):
    model_config = ConfigDict(frozen=True)

    severity: Severity
    file: str
    message: str
    pointer: str = ""
    line: int | None = None
    hint: str = ""

    def where(self) -> str:
        if self.line is not None:
            return f"{self.file}:{self.line}"
        return f"{self.file}#{self.pointer}" if self.pointer else self.file

    def render(self) -> str:
        text = f"{self.severity}: {self.where()}: {self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class Diagnostics:
    """Collects diagnostics for one build, in the order they were found."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def error(self, file: str, message: str, *, pointer: str = "", line: int | None = None, hint: str = "") -> None:
        self._items.append(
            Diagnostic(severity=Severity.ERROR, file=file, pointer=pointer, line=line, message=message, hint=hint)
        )

    def warning(self, file: str, message: str, *, pointer: str = "", line: int | None = None, hint: str = "") -> None:
        self._items.append(
            Diagnostic(severity=Severity.WARNING, file=file, pointer=pointer, line=line, message=message, hint=hint)
        )

    def extend(self, other: Self) -> None:
        self._items.extend(other._items)

    @property
    def items(self) -> tuple[Diagnostic, ...]:
        return tuple(self._items)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self._items if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self._items if d.severity is Severity.WARNING)

    def raise_if_errors(self, *, strict: bool = False) -> None:
        """Raise ``SpecError`` with every diagnostic when an error (or, if strict, a warning) exists."""
        if self.errors or (strict and self._items):
            raise SpecError(self.items)
