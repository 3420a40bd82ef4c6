"""What every part of the OpenAPI adapter shares while reading one document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from virtualize.adapters.openapi.load import Documents, Located
from virtualize.adapters.openapi.schemas import BrokenSchema, Dialect, SchemaConverter
from virtualize.ir import JsonSchema, SecurityScheme


class SkipOperation(Exception):
    """This operation cannot be compiled; it is left out with a warning saying why and where."""

    def __init__(self, message: str, place: Located | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.place = place


@dataclass
class Context:
    documents: Documents
    schemas: SchemaConverter
    dialect: Dialect
    root: dict[str, Any]
    schemes: dict[str, SecurityScheme]  # the usable security schemes, by name

    @property
    def entry(self) -> str:
        return self.documents.entry

    def follow(self, place: Located) -> Located:
        """The object at ``place`` with its ``$ref``s followed; a broken one skips the operation."""
        followed = self.documents.follow(place)
        if followed is None:
            raise SkipOperation("it uses a $ref that cannot be resolved (reported above)", place)
        return followed

    def schema(self, place: Located) -> JsonSchema:
        """The converted schema; one that uses a broken ``$ref`` (reported) skips the operation."""
        try:
            return self.schemas.convert(place)
        except BrokenSchema:
            raise SkipOperation("its schema uses a $ref that cannot be resolved (reported above)", place) from None


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one (shape errors are reported by the caller)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""
