"""The exceptions virtualize raises, as one small tree.

    VirtualizeError                 base; carries a hint and a process exit code
    ├── SpecError                   a descriptor could not be compiled; holds its diagnostics
    ├── ConfigError                 a configuration file or option is wrong
    ├── ManifestError               a manifest is unreadable, of another format version, or stale
    └── CredentialError             a credential source named by an auth map is missing at serve time

Only ``virtualize.cli`` catches ``VirtualizeError`` (to render it and exit); anything else
escaping is a bug. Tool-call failures at run time are never exceptions: they are results
(see ``virtualize.runtime.outcomes``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from virtualize.diagnostics import Diagnostic


class VirtualizeError(Exception):
    """Base of every error virtualize raises on purpose."""

    exit_code: ClassVar[int] = 1

    def __init__(self, message: str, *, hint: str = "", location: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and isinstance(other, VirtualizeError)
            and (self.message, self.hint, self.location) == (other.message, other.hint, other.location)
        )

    def __hash__(self) -> int:
        return hash((type(self), self.message, self.hint, self.location))

    def render(self) -> str:
        where = f"{self.location}: " if self.location else ""
        text = f"error: {where}{self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class SpecError(VirtualizeError):
    """A descriptor failed to compile. ``diagnostics`` holds every problem found."""

    exit_code: ClassVar[int] = 2

    def __init__(self, diagnostics: tuple[Diagnostic, ...]) -> None:
        first = diagnostics[0] if diagnostics else None
        super().__init__(
            first.message if first else "the descriptor could not be compiled",
            hint=first.hint if first else "",
            location=first.where() if first else "",
        )
        self.diagnostics = diagnostics

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


class ConfigError(VirtualizeError):
    """A configuration file or command-line option is wrong."""

    exit_code: ClassVar[int] = 2


class ManifestError(VirtualizeError):
    """A manifest is unreadable, of an unsupported format version, or stale."""

    exit_code: ClassVar[int] = 3


class CredentialError(VirtualizeError):
    """A credential source named by an auth map cannot be read."""

    exit_code: ClassVar[int] = 4
