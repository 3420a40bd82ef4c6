"""No credential value ever appears in what the gateway logs or answers, on any error path.

A spec with one operation per credential placement (API key in a query parameter, in a cookie,
HTTP bearer, HTTP basic) is served over HTTP with a distinct secret in every variable its auth map
names. Each operation is driven through every error path the gateway has (invalid arguments,
4xx/5xx with and without Retry-After, a hang past the timeout, a dropped connection, invalid
JSON, an oversized body, an unreachable upstream, a missing credential) and through an upstream
that echoes the credential back in its error body (a separate test). Every text the client receives (content,
structured content, ``_meta``) and every line the gateway wrote must be free of each secret, and
of its base64 and percent-encoded forms.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import pytest

from tests.support.mcp_client import http_client, served
from tests.support.upstream import Recorded, RecordingUpstream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SPEC = """
openapi: 3.0.3
info: {title: leaky, version: "1"}
servers: [{url: "http://localhost:9/api"}]
components:
  securitySchemes:
    inQuery: {type: apiKey, in: query, name: api_key}
    inCookie: {type: apiKey, in: cookie, name: sid}
    bearer: {type: http, scheme: bearer}
    basic: {type: http, scheme: basic}
paths:
  /q/{case}:
    get: {operationId: viaQuery, security: [{inQuery: []}], parameters: [{$ref: "#/components/parameters/case"}],
          responses: {"200": {description: ok, content: {application/json: {schema: {type: object}}}}}}
  /c/{case}:
    get: {operationId: viaCookie, security: [{inCookie: []}], parameters: [{$ref: "#/components/parameters/case"}],
          responses: {"200": {description: ok, content: {application/json: {schema: {type: object}}}}}}
  /b/{case}:
    get: {operationId: viaBearer, security: [{bearer: []}], parameters: [{$ref: "#/components/parameters/case"}],
          responses: {"200": {description: ok, content: {application/json: {schema: {type: object}}}}}}
  /basic/{case}:
    get: {operationId: viaBasic, security: [{basic: []}], parameters: [{$ref: "#/components/parameters/case"}],
          responses: {"200": {description: ok, content: {application/json: {schema: {type: object}}}}}}
"""
SPEC_PARAMETERS = """
  parameters:
    case: {name: case, in: path, required: true, schema: {type: string, minLength: 1}}
"""
TOOLS = {"viaQuery": "q", "viaCookie": "c", "viaBearer": "b", "viaBasic": "basic"}
STATUS_CASES = {"s400": 400, "s401": 401, "s403": 403, "s404": 404, "s409": 409, "s429": 429, "s500": 500, "s503": 503}
FAULT_CASES = ("hang", "close", "invalid_json", "huge")


def _compile(tmp_path: Path) -> Path:
    from virtualize.compiler import compile_spec  # noqa: PLC0415
    from virtualize.config import BuildOptions  # noqa: PLC0415

    spec = tmp_path / "leaky.yaml"
    spec.write_text(SPEC.replace("components:\n", "components:" + SPEC_PARAMETERS, 1), encoding="utf-8")
    return compile_spec(spec, BuildOptions(output=tmp_path / "out")).write(tmp_path / "out")


def _secrets(folder: Path) -> dict[str, str]:
    auth = json.loads((folder / "auth.json").read_text(encoding="utf-8"))
    variables = sorted({v for scheme in auth["schemes"].values() for v in scheme["sources"].values()})
    assert len(variables) >= 5, variables  # query, cookie, bearer, basic username + password
    secrets = {variable: f"S3cr3t-{index}-{variable.lower()}-9f8e7d" for index, variable in enumerate(variables)}
    user = [v for v in variables if "USER" in v]
    password = [v for v in variables if "PASS" in v]
    if user and password:  # basic auth travels as base64("user:password"): that whole form is a secret too
        secrets["BASIC_PAIR"] = f"{secrets[user[0]]}:{secrets[password[0]]}"
    return secrets


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}


def _texts(result: Any) -> list[str]:
    texts = [getattr(block, "text", "") or "" for block in result.content]
    texts.append(json.dumps(result.structured_content))
    texts.append(json.dumps(result.meta, default=str))
    return texts


def _leaks(texts: list[str], secrets: dict[str, str]) -> list[str]:
    found = []
    for variable, secret in secrets.items():
        for form in _forms(secret):
            found.extend(f"{variable} ({form[:12]}…) in: {text[:300]}" for text in texts if form in text)
    return found


def _env(secrets: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in secrets.items() if k != "BASIC_PAIR"}


def _assert_placed(upstream: RecordingUpstream, folder: Path, secrets: dict[str, str]) -> None:
    """Each operation's requests carry exactly its own scheme's credential, where the scheme puts it."""
    auth = json.loads((folder / "auth.json").read_text(encoding="utf-8"))["schemes"]
    own = {name: [secrets[variable] for variable in scheme["sources"].values()] for name, scheme in auth.items()}
    user, password = (secrets[auth["basic"]["sources"][role]] for role in ("username", "password"))
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    expected: dict[str, tuple[str, Callable[[Recorded], bool]]] = {
        "q": ("inQuery", lambda r: r.query == f"api_key={quote(own['inQuery'][0], safe='')}"),
        "c": ("inCookie", lambda r: r.cookies == {"sid": own["inCookie"][0]}),
        "b": ("bearer", lambda r: r.headers.get("authorization") == f"Bearer {own['bearer'][0]}"),
        "basic": ("basic", lambda r: r.headers.get("authorization") == f"Basic {basic}"),
    }
    for prefix, (scheme, placed) in expected.items():
        requests = [r for r in upstream.requests if r.path.startswith(f"/api/{prefix}/")]
        assert requests and all(placed(r) for r in requests), (prefix, requests[:1])
        others = [secret for name, values in own.items() if name != scheme for secret in values]
        carried = " ".join(f"{r.path}?{r.query} {r.headers} {r.cookies}" for r in requests)
        assert not [secret for secret in others if secret in carried], prefix


async def _exercise(url: str, calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    texts: list[str] = []
    async with http_client(url) as client:
        for tool, arguments in calls:
            with anyio.fail_after(60):
                result = await client.call_tool(tool, arguments)
            texts.extend(_texts(result))
    return texts


async def test_no_credential_appears_in_any_answer_or_log_line_on_any_error_path(tmp_path: Path) -> None:
    folder = _compile(tmp_path)
    secrets = _secrets(folder)
    config = tmp_path / "serve.toml"
    config.write_text("[defaults]\ntimeout = 1.0\nretries = 1\nmax_response_bytes = 100000\n", encoding="utf-8")
    calls: list[tuple[str, dict[str, Any]]] = []
    texts: list[str] = []
    with RecordingUpstream() as upstream:
        for tool, prefix in TOOLS.items():
            for case, status in STATUS_CASES.items():
                headers = {"Retry-After": "0"} if status in {429, 503} else {}
                upstream.reply("GET", f"/api/{prefix}/{case}", status=status, json={"detail": case}, headers=headers)
                calls.append((tool, {"case": case}))
            for fault in FAULT_CASES:
                upstream.reply("GET", f"/api/{prefix}/{fault}", fault=fault, size=2_000_000)  # type: ignore[arg-type]
                calls.append((tool, {"case": fault}))
            calls += [(tool, {}), (tool, {"case": ""}), (tool, {"case": "ok", "x": 1})]
        with served(
            [folder], upstreams={"leaky": upstream.url + "/api"}, env=_env(secrets), args=["--config", str(config)]
        ) as gateway:
            texts += await _exercise(gateway.url("leaky"), calls)
            texts += gateway.log_lines()
        # The credentials did travel, each where its scheme puts it: the test would prove nothing if they had not.
        _assert_placed(upstream, folder, secrets)
    # An unreachable upstream, and every credential missing.
    with served([folder], upstreams={"leaky": "http://127.0.0.1:1/api"}, env=_env(secrets)) as gateway:
        texts += await _exercise(gateway.url("leaky"), [(tool, {"case": "x"}) for tool in TOOLS])
        texts += gateway.log_lines()
    with served([folder], upstreams={"leaky": "http://127.0.0.1:1/api"}) as gateway:
        texts += await _exercise(gateway.url("leaky"), [(tool, {"case": "x"}) for tool in TOOLS])
        texts += gateway.log_lines()

    assert len(texts) > 100
    assert _leaks(texts, secrets) == []


@pytest.mark.parametrize("status", [401, 200])  # an error quoting the key, or an account page showing it
async def test_an_upstream_that_quotes_the_credential_back_does_not_make_the_gateway_repeat_it(
    tmp_path: Path, status: int
) -> None:
    folder = _compile(tmp_path)
    secrets = _secrets(folder)
    echo = " ".join(secrets.values())
    with RecordingUpstream() as upstream:
        for prefix in TOOLS.values():
            upstream.reply("GET", f"/api/{prefix}/echo", status=status, json={"detail": f"your credentials: {echo}"})
        with served([folder], upstreams={"leaky": upstream.url + "/api"}, env=_env(secrets)) as gateway:
            texts = await _exercise(gateway.url("leaky"), [(tool, {"case": "echo"}) for tool in TOOLS])
            texts += gateway.log_lines()
    assert _leaks(texts, secrets) == []
