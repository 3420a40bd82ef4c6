"""Stoplight Prism, an independent OpenAPI validator, judges every request the HTTP invoker builds.

For each example spec: compile it, start ``prism mock SPEC --errors`` behind a recording proxy
(``tests.support.prism``), and call every tool through the invoker with schema-valid arguments
that use every argument the tool has (so each serialization form is exercised). Each request must
reach Prism and draw no request violation. Credentials are dummy values in every variable the
auth map names: Prism checks that a credential is present, not its value.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import anyio
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from tests.support.prism import INSTALL_HINT, judged, prism_installed
from virtualize.compiler import BuildOptions, compile_spec
from virtualize.manifest.model import HttpBinding, Manifest
from virtualize.runtime.credentials import CredentialStore
from virtualize.runtime.invokers import Invocation, InvokerSettings
from virtualize.runtime.invokers.http import create_invoker
from virtualize.runtime.outcomes import Failure

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.anyio,
    pytest.mark.skipif(not prism_installed(), reason=f"Prism is not installed; {INSTALL_HINT}"),
]
REPO = Path(__file__).resolve().parents[2]
SPECS = sorted([*REPO.glob("specs/*.yaml"), *REPO.glob("specs/*/openapi.yaml")])
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR").decode()
FORMATTED = {
    "date": "2020-02-29",
    "date-time": "2020-02-29T12:00:00Z",
    "time": "12:00:00Z",
    "email": "ann@example.com",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "uri": "https://example.com/a",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def example(schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """A value valid for ``schema`` that fills every property it declares (to exercise serialization)."""
    if not isinstance(schema, dict):
        return "x"
    if "$ref" in schema:
        target = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
        return example({**target, **{k: v for k, v in schema.items() if k != "$ref"}}, root, depth + 1)
    for keyword in ("const", "default"):
        if keyword in schema:
            return schema[keyword]
    if schema.get("enum"):
        return schema["enum"][0]
    if schema.get("examples"):
        return schema["examples"][0]
    for keyword in ("oneOf", "anyOf", "allOf"):
        branches = [b for b in schema.get(keyword, []) if not (isinstance(b, dict) and b.get("type") == "null")]
        if branches:
            return example(branches[0], root, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        if depth > 3:
            return {}
        properties = schema.get("properties", {})
        return {name: example(sub, root, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        return [example(schema.get("items", {}), root, depth + 1)] * max(schema.get("minItems", 1), 1)
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if schema.get("contentEncoding") == "base64" or schema.get("format") == "binary":
        return PNG
    text = FORMATTED.get(schema.get("format", ""), "abc")
    return text.ljust(schema.get("minLength", 0), "x")


def compiled(spec: Path) -> Manifest:
    return compile_spec(spec, BuildOptions(), project=REPO).manifest


@pytest.mark.parametrize("spec", SPECS, ids=[str(s.relative_to(REPO / "specs")) for s in SPECS])
async def test_prism_accepts_every_request_built_from_schema_valid_arguments(spec: Path) -> None:
    manifest = compiled(spec)
    environ = {variable: "dummy-credential" for s in manifest.auth.schemes.values() for variable in s.sources.values()}
    rejected: list[str] = []
    with judged(spec) as (url, proxy):
        invoker = create_invoker(manifest, InvokerSettings(base_url=url, retries=0, timeout=30.0))
        store = CredentialStore(manifest.name, manifest.auth, environ=environ)
        try:
            for tool in manifest.tools:
                binding = manifest.bindings.tools[tool.name]
                assert isinstance(binding, HttpBinding)
                arguments = example(tool.input_schema, tool.input_schema)
                Draft202012Validator(tool.input_schema, format_checker=FormatChecker()).validate(arguments)
                credentials = await store.resolve(binding.security)
                assert not isinstance(credentials, Failure), credentials
                call = Invocation(
                    server=manifest.name,
                    tool=tool.name,
                    binding=binding,
                    arguments={**arguments, **binding.fixed},
                    credentials=credentials,
                )
                with anyio.fail_after(60):
                    outcome = await invoker.invoke(call)
                exchanges = proxy.take()
                if len(exchanges) != 1:
                    rejected.append(f"{tool.name}: {len(exchanges)} requests sent ({outcome})")
                elif not exchanges[0].accepted:
                    exchange = exchanges[0]
                    rejected.append(
                        f"{tool.name}: {exchange.method} {exchange.raw_path}?{exchange.query}: {exchange.reason()}"
                    )
        finally:
            await invoker.aclose()
            await store.aclose()
    assert rejected == []
