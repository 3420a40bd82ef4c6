"""A petstore manifest built by hand from the manifest models (what the compiler writes for specs/petstore.yaml).

The serve tests use it so that they exercise the runtime alone: a compiler change cannot break them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support import manifests
from virtualize.manifest.model import (
    ArgumentBinding,
    AuthMap,
    AuthScheme,
    HttpBinding,
    HttpBody,
    Manifest,
    SecurityUse,
    ServerUrl,
    Tool,
    ToolAnnotations,
)
from virtualize.manifest.write import manifest_files, write_folder

API_KEY = "demo-key-123"
KEY_VARIABLE = "PETSTORE_API_KEY"
_KEY = ((SecurityUse(scheme="api_key"),),)


def _tool(name: str, properties: dict[str, Any], required: tuple[str, ...] = (), output: bool = True) -> Tool:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return Tool(
        name=name,
        description=f"{name} (hand-built petstore)",
        inputSchema=schema,
        outputSchema={"type": "object"} if output else None,
        annotations=ToolAnnotations(readOnlyHint=name.startswith(("get", "list", "search"))),
    )


def petstore_manifest(name: str = "petstore") -> Manifest:
    """The petstore API of specs/petstore.yaml, as the compiler lowers it (built by hand)."""
    pet_id = ArgumentBinding(argument="petId", location="path", name="petId", required=True)
    tools = (
        _tool("createPet", {"name": {"type": "string"}, "tag": {"type": ["string", "null"]}}, ("name",)),
        _tool("deletePet", {"petId": {"type": "integer"}}, ("petId",), output=False),
        _tool("getHealth", {}),
        _tool("getPet", {"petId": {"type": "integer", "format": "int64"}}, ("petId",)),
        _tool(
            "listPets",
            {
                "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                "tags": {"type": "array", "items": {"type": "string"}},
                "status": {"enum": ["available", "pending", "sold"]},
            },
        ),
        _tool(
            "searchPets",
            {
                "filter": {
                    "type": "object",
                    "properties": {"status": {"type": "string"}, "minAge": {"type": "integer"}},
                },
                "session": {"type": "string"},
                "X-Request-Id": {"type": "string"},
            },
        ),
    )
    bindings = {
        "createPet": HttpBinding(
            method="POST",
            path="/pets",
            operation="POST /pets",
            body=HttpBody(media_type="application/json", required=True),
            arguments=(
                ArgumentBinding(argument="name", location="body_field", name="name", required=True),
                ArgumentBinding(argument="tag", location="body_field", name="tag"),
            ),
            security=_KEY,
            success_media_types=("application/json",),
        ),
        "deletePet": HttpBinding(
            method="DELETE", path="/pets/{petId}", operation="DELETE /pets/{petId}", arguments=(pet_id,), security=_KEY
        ),
        "getHealth": HttpBinding(method="GET", path="/health", operation="GET /health"),
        "getPet": HttpBinding(
            method="GET", path="/pets/{petId}", operation="GET /pets/{petId}", arguments=(pet_id,), security=_KEY
        ),
        "listPets": HttpBinding(
            method="GET",
            path="/pets",
            operation="GET /pets",
            arguments=(
                ArgumentBinding(argument="limit", location="query", name="limit", style="form", explode=True),
                ArgumentBinding(argument="tags", location="query", name="tags", style="form", explode=False),
                ArgumentBinding(argument="status", location="query", name="status", style="form", explode=True),
            ),
            security=_KEY,
            wraps_result=True,
        ),
        "searchPets": HttpBinding(
            method="GET",
            path="/pets/search",
            operation="GET /pets/search",
            arguments=(
                ArgumentBinding(argument="filter", location="query", name="filter", style="deepObject", explode=True),
                ArgumentBinding(argument="session", location="cookie", name="session"),
                ArgumentBinding(argument="X-Request-Id", location="header", name="X-Request-Id"),
            ),
            security=_KEY,
            wraps_result=True,
        ),
    }
    servers = (ServerUrl(url="http://localhost:4010/v1"),)
    bindings = {k: v.model_copy(update={"servers": servers}) for k, v in bindings.items()}
    key = AuthScheme(kind="api_key", **{"in": "header"}, parameter="X-API-Key", sources={"value": KEY_VARIABLE})
    return manifests.manifest(
        tools, bindings, name=name, auth=AuthMap(schemes={"api_key": key}), source="specs/petstore.yaml"
    )


def write_manifest(manifest: Manifest, folder: Path) -> Path:
    write_folder(folder, manifest_files(manifest))
    return folder
