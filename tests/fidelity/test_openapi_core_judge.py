"""openapi-core, the second judge (for documents Prism cannot load), tells good requests from bad ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS
from tests.fidelity.sweep import sweep_spec
from tests.support.openapi_judge import OpenAPICoreJudge

BASE = "http://127.0.0.1:4010"


def scope(method: str, path: str, query: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "scheme": "http",
        "server": ("127.0.0.1", 4010),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:4010")]
        + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }


@pytest.fixture
def judge(tmp_path: Path) -> OpenAPICoreJudge:
    spec = tmp_path / "pets.json"
    pet = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    spec.write_text(
        json.dumps(
            {
                "openapi": "3.0.3",
                "info": {"title": "pets", "version": "1"},
                "servers": [{"url": "https://pets.example.com/v1"}],
                "paths": {
                    "/pets": {
                        "get": {
                            "parameters": [
                                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 10}},
                                {
                                    "name": "tags",
                                    "in": "query",
                                    "style": "pipeDelimited",
                                    "explode": False,
                                    "schema": {"type": "array", "items": {"type": "string"}},
                                },
                            ],
                            "responses": {"200": {"description": "ok"}},
                        },
                        "post": {
                            "requestBody": {"required": True, "content": {"application/json": {"schema": pet}}},
                            "responses": {"201": {"description": "made"}},
                        },
                    },
                    "/photos": {
                        "servers": [{"url": "https://photos.example.com"}],
                        "get": {"responses": {"200": {"description": "ok"}}},
                    },
                },
            }
        ),
        encoding="utf-8",
    )
    judged = OpenAPICoreJudge(spec)
    judged.serve_at(BASE)
    return judged


def test_a_request_the_document_allows_has_no_violations(judge: OpenAPICoreJudge) -> None:
    assert judge.judge(scope("GET", "/pets", "limit=3&tags=a|b"), b"") == ()
    assert judge.judge(scope("GET", "/photos"), b"") == ()  # its own server is the proxy too
    json_body = {"content-type": "application/json"}
    assert judge.judge(scope("POST", "/pets", headers=json_body), b'{"name": "Rex"}') == ()


@pytest.mark.parametrize(
    ("request_scope", "body", "where"),
    [
        (scope("GET", "/pets", "limit=11"), b"", "parameter"),
        (scope("GET", "/pets", "limit=many"), b"", "parameter"),
        (scope("POST", "/pets", headers={"content-type": "application/json"}), b'{"nickname": "Rex"}', "body"),
        (scope("POST", "/pets", headers={"content-type": "application/json"}), b"", "body"),
        (scope("GET", "/cats"), b"", "path"),
    ],
)
def test_a_request_the_document_forbids_is_named_with_its_place(
    judge: OpenAPICoreJudge, request_scope: dict[str, Any], body: bytes, where: str
) -> None:
    violations = judge.judge(request_scope, body)

    assert violations
    assert violations[0].location == ("request", where)


def test_swagger_2_documents_are_not_for_this_judge() -> None:
    with pytest.raises(ValueError, match=r"OpenAPI 3\.x"):
        OpenAPICoreJudge(CORPUS / "openapi" / "oai-examples/v2.0/json/petstore.json")


@pytest.mark.anyio
@pytest.mark.e2e
@pytest.mark.corpus
async def test_the_sweep_can_be_judged_by_openapi_core(tmp_path: Path) -> None:
    report = await sweep_spec(
        CORPUS / "openapi" / "oai-examples/v3.0/petstore-expanded.yaml", tmp_path, random_draws=1, judge="openapi-core"
    )

    assert report.count("accepted") > 0
    assert report.reasons("rejected") == {}
    assert report.reasons("failed") == {}
