"""The HTTP invoker against httpx.MockTransport: what goes on the wire, and what each answer becomes."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest

from tests.support import manifests
from virtualize.manifest.model import (
    ArgumentBinding,
    HttpBinding,
    HttpBody,
    Manifest,
    ServerUrl,
)
from virtualize.runtime.credentials import ResolvedCredential
from virtualize.runtime.invokers import Invocation, InvokerSettings
from virtualize.runtime.invokers.http import BACKOFF_BASE, create_invoker
from virtualize.runtime.invokers.http_responses import retry_after
from virtualize.runtime.outcomes import BinaryValue, EmptyValue, Failure, JsonValue, Outcome, TextValue

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], Awaitable[httpx.Response] | httpx.Response]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def manifest(binding: HttpBinding, input_schema: dict[str, Any] | None = None) -> Manifest:
    return manifests.manifest([manifests.tool("op", schema=input_schema)], binding)


def binding(method: str = "GET", path: str = "/pets", *args: ArgumentBinding, **extra: Any) -> HttpBinding:
    return HttpBinding(method=method, path=path, arguments=args, operation=f"{method} {path}", **extra)


async def call(
    handler: Handler,
    bound: HttpBinding,
    arguments: dict[str, Any] | None = None,
    *,
    schema: dict[str, Any] | None = None,
    credentials: tuple[ResolvedCredential, ...] = (),
    base_url: str | None = "https://api.example/v1",
    deadline: float = float("inf"),
    refresh: Callable[[], Awaitable[tuple[ResolvedCredential, ...] | None]] | None = None,
    **settings: Any,
) -> tuple[Outcome, Invocation]:
    settings_ = InvokerSettings(base_url=base_url, http_transport=httpx.MockTransport(handler), **settings)
    invoker = create_invoker(manifest(bound, schema), settings_)
    invocation = Invocation(
        server="pets",
        tool="op",
        binding=bound,
        arguments=arguments or {},
        credentials=credentials,
        deadline=deadline,
        refresh_credentials=refresh,
    )
    with anyio.fail_after(10):
        outcome = await invoker.invoke(invocation)
    await invoker.aclose()
    return outcome, invocation


def recorder(response: httpx.Response | None = None) -> tuple[list[httpx.Request], Handler]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return response if response is not None else httpx.Response(200, json={"ok": True})

    return seen, handler


async def test_parameters_of_every_location_reach_the_wire_as_declared() -> None:
    seen, handler = recorder()
    bound = binding(
        "GET",
        "/pets/{petId}/photos{size}",
        ArgumentBinding(argument="petId", location="path", name="petId", style="simple"),
        ArgumentBinding(argument="size", location="path", name="size", style="matrix"),
        ArgumentBinding(argument="tags", location="query", name="tags", style="form", explode=False),
        ArgumentBinding(argument="filter", location="query", name="filter", style="deepObject", explode=True),
        ArgumentBinding(argument="requestId", location="header", name="X-Request-Id"),
        ArgumentBinding(argument="session", location="cookie", name="session"),
    )
    outcome, invocation = await call(
        handler,
        bound,
        {
            "petId": "7/../8",
            "size": "big",
            "tags": ["a b", "c"],
            "filter": {"status": "sold"},
            "requestId": "r1",
            "session": "s 1",
        },
    )
    assert outcome == JsonValue({"ok": True}, status=200)
    [request] = seen
    assert request.url.raw_path == b"/v1/pets/7%2F..%2F8/photos;size=big?tags=a%20b,c&filter%5Bstatus%5D=sold"
    assert request.url.host == "api.example"
    assert request.headers["x-request-id"] == "r1"
    assert request.headers["cookie"] == "session=s%201"
    assert (invocation.record.status, invocation.record.attempts) == (200, 1)


async def test_a_constant_query_in_the_path_template_is_sent_as_a_query_before_the_parameters() -> None:
    seen, handler = recorder()
    bound = binding(
        "GET",
        "/responses/{id}?beta=true",
        ArgumentBinding(argument="id", location="path", name="id", style="simple"),
        ArgumentBinding(argument="limit", location="query", name="limit", style="form", explode=True),
    )
    await call(handler, bound, {"id": "r?1", "limit": 3})
    await call(handler, bound, {"id": "r2"})
    assert [request.url.raw_path for request in seen] == [
        b"/v1/responses/r%3F1?beta=true&limit=3",
        b"/v1/responses/r2?beta=true",
    ]


async def test_server_variables_fill_the_declared_server_url_when_no_upstream_is_given() -> None:
    seen, handler = recorder()
    servers = (ServerUrl(url="https://{region}.api.example/{version}", variables={"region": "eu", "version": "v2"}),)
    await call(handler, binding(servers=servers), base_url=None)
    assert str(seen[0].url) == "https://eu.api.example/v2/pets"


async def test_a_relative_server_url_without_an_upstream_is_reported_not_guessed() -> None:
    seen, handler = recorder()
    outcome, _ = await call(handler, binding(servers=(ServerUrl(url="/v1"),)), base_url=None)
    assert isinstance(outcome, Failure) and outcome.category == "unavailable" and not outcome.is_retryable
    assert "--upstream" in outcome.message and seen == []


async def test_an_upstream_url_with_a_password_is_refused_and_the_password_never_quoted() -> None:
    seen, handler = recorder()
    outcome, _ = await call(handler, binding(), base_url="https://ann:hunter2@api.example/v1")
    assert isinstance(outcome, Failure) and outcome.category == "unavailable" and not outcome.is_retryable
    assert "https://api.example/v1" in outcome.message and "hunter2" not in outcome.message and seen == []


async def test_json_bodies_keep_explicit_null_apart_from_an_omitted_field() -> None:
    seen, handler = recorder()
    bound = binding(
        "PATCH",
        "/pets/1",
        ArgumentBinding(argument="name", location="body_field", name="name"),
        ArgumentBinding(argument="tag", location="body_field", name="tag"),
        ArgumentBinding(argument="owner", location="body_field", name="owner"),
        body=HttpBody(media_type="application/merge-patch+json"),
    )
    await call(handler, bound, {"name": "Rex", "tag": None})
    assert seen[0].content == b'{"name":"Rex","tag":null}'
    assert seen[0].headers["content-type"] == "application/merge-patch+json"


async def test_an_optional_body_with_no_fields_given_is_not_sent() -> None:
    seen, handler = recorder()
    bound = binding(
        "POST",
        "/pets",
        ArgumentBinding(argument="name", location="body_field", name="name"),
        body=HttpBody(media_type="application/json"),
    )
    await call(handler, bound, {})
    assert seen[0].content == b"" and "content-type" not in seen[0].headers


async def test_a_whole_body_argument_is_sent_as_it_is_even_when_it_is_an_array() -> None:
    seen, handler = recorder()
    bound = binding(
        "POST",
        "/pets/bulk",
        ArgumentBinding(argument="body", location="body", name="body"),
        body=HttpBody(media_type="application/json", required=True, argument="body"),
    )
    await call(handler, bound, {"body": [{"name": "a"}, {"name": "b"}]})
    assert seen[0].content == b'[{"name":"a"},{"name":"b"}]'


async def test_form_urlencoded_bodies_use_each_fields_encoding() -> None:
    seen, handler = recorder()
    bound = binding(
        "POST",
        "/login",
        ArgumentBinding(argument="user", location="body_field", name="user"),
        ArgumentBinding(argument="scopes", location="body_field", name="scope", style="spaceDelimited", explode=False),
        body=HttpBody(media_type="application/x-www-form-urlencoded"),
    )
    await call(handler, bound, {"user": "a@b", "scopes": ["read", "write"]})
    assert seen[0].content == b"user=a%40b&scope=read%20write"
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"


async def test_multipart_files_given_as_base64_arrive_as_bytes() -> None:
    seen, handler = recorder()
    bound = binding(
        "POST",
        "/pets/{petId}/photo",
        ArgumentBinding(argument="petId", location="path", name="petId"),
        ArgumentBinding(argument="file", location="body_field", name="file", content_type="image/png"),
        ArgumentBinding(argument="caption", location="body_field", name="caption"),
        body=HttpBody(media_type="multipart/form-data", required=True),
    )
    schema = {"type": "object", "properties": {"file": {"type": "string", "contentEncoding": "base64"}}}
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    await call(handler, bound, {"petId": 3, "file": base64.b64encode(png).decode(), "caption": "hi"}, schema=schema)
    request = seen[0]
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="file"\r\nContent-Type: image/png\r\n\r\n' + png + b"\r\n" in request.content
    assert b'name="caption"\r\n\r\nhi\r\n' in request.content


async def test_a_raw_octet_stream_body_is_decoded_from_base64() -> None:
    seen, handler = recorder()
    bound = binding(
        "PUT",
        "/blobs/1",
        ArgumentBinding(argument="body", location="body", name="body"),
        body=HttpBody(media_type="application/octet-stream", required=True, argument="body"),
    )
    schema = {"type": "object", "properties": {"body": {"type": "string", "contentEncoding": "base64"}}}
    await call(handler, bound, {"body": base64.b64encode(b"\x00\x01\x02").decode()}, schema=schema)
    assert seen[0].content == b"\x00\x01\x02"
    assert seen[0].headers["content-type"] == "application/octet-stream"


async def test_a_header_value_with_crlf_is_refused_and_nothing_is_sent() -> None:
    seen, handler = recorder()
    bound = binding("GET", "/pets", ArgumentBinding(argument="rid", location="header", name="X-Request-Id"))
    outcome, _ = await call(handler, bound, {"rid": "x\r\nX-Admin: 1"})
    assert isinstance(outcome, Failure) and outcome.category == "invalid_arguments"
    assert outcome.details[0]["path"] == "/rid"
    assert seen == []


def path_arg(name: str, style: str = "simple") -> ArgumentBinding:
    return ArgumentBinding(argument=name, location="path", name=name, style=style)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "style", "value"),
    [
        ("/files/{name}/meta", "simple", ".."),
        ("/files/{name}", "simple", "."),
        ("/files/{name}/meta", "simple", [".."]),  # an array of one item is the item
        ("/files/{name}/meta", "label", [""]),  # label adds the dot: "."
        ("/files/{name}/meta", "label", ["."]),  # ".."
        ("/files/{name}/meta", "label", "."),
        ("/files/.{name}/meta", "simple", "."),  # a dot of the template's own, and one of the value's
    ],
)
async def test_a_value_that_makes_a_dot_segment_is_refused_and_nothing_is_sent(
    path: str, style: str, value: object
) -> None:
    seen, handler = recorder()
    outcome, _ = await call(handler, binding("GET", path, path_arg("name", style)), {"name": value})
    assert isinstance(outcome, Failure) and outcome.category == "invalid_arguments"
    assert outcome.details[0]["path"] == "/name" and "dot segment" in outcome.details[0]["message"]
    assert seen == []


async def test_two_values_that_share_a_segment_cannot_make_a_dot_segment_together() -> None:
    seen, handler = recorder()
    bound = binding("GET", "/x/{a}{b}/y", path_arg("a"), path_arg("b"))
    outcome, _ = await call(handler, bound, {"a": ".", "b": "."})
    assert isinstance(outcome, Failure) and outcome.details[0]["path"] == "/a"
    assert seen == []


@pytest.mark.parametrize(
    ("path", "value", "raw_path"),
    [
        ("/.well-known/{name}", "x", b"/v1/.well-known/x"),
        ("/files/{name}", "...", b"/v1/files/..."),
        ("/files/{name}", ".x", b"/v1/files/.x"),
        ("/files/{name}.json", ".", b"/v1/files/..json"),
    ],
)
async def test_dots_that_make_no_dot_segment_are_sent_as_they_are(path: str, value: str, raw_path: bytes) -> None:
    seen, handler = recorder()
    outcome, _ = await call(handler, binding("GET", path, path_arg("name")), {"name": value})
    assert not isinstance(outcome, Failure)
    assert seen[0].url.raw_path == raw_path


async def test_credentials_are_placed_in_header_query_and_cookie() -> None:
    seen, handler = recorder()
    bound = binding("GET", "/pets", ArgumentBinding(argument="session", location="cookie", name="session"))
    credentials = (
        ResolvedCredential("key", "api_key", "header", "X-API-Key", "k1"),
        ResolvedCredential("q", "api_key", "query", "api_key", "k 2"),
        ResolvedCredential("c", "api_key", "cookie", "token", "k3"),
        ResolvedCredential("b", "http_bearer", "header", "Authorization", "Bearer t"),
    )
    await call(handler, bound, {"session": "s"}, credentials=credentials)
    request = seen[0]
    assert request.headers["x-api-key"] == "k1"
    assert request.headers["authorization"] == "Bearer t"
    assert request.url.query == b"api_key=k%202"
    assert request.headers["cookie"] == "session=s; token=k3"


async def test_idempotent_calls_are_retried_on_503_and_connection_errors() -> None:
    answers = iter([httpx.ConnectError("refused"), httpx.Response(503), httpx.Response(200, json=[1])])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    outcome, invocation = await call(handler, binding("GET"), retries=2)
    assert outcome == JsonValue([1], status=200)
    assert invocation.record.attempts == 3


def recorded_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the invoker sleeps for, recorded instead of slept."""
    waits: list[float] = []

    async def sleep(delay: float) -> None:
        waits.append(delay)

    monkeypatch.setattr(anyio, "sleep", sleep)
    return waits


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_each_retried_status_backs_off_exponentially(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    waits = recorded_waits(monkeypatch)
    answers = iter([httpx.Response(status), httpx.Response(status), httpx.Response(200, json={})])
    outcome, invocation = await call(lambda _: next(answers), binding("GET"), retries=2)
    assert outcome == JsonValue({}, status=200) and invocation.record.attempts == 3
    first, second = waits
    assert BACKOFF_BASE / 2 <= first <= BACKOFF_BASE <= second <= 2 * BACKOFF_BASE


async def test_a_retry_waits_as_long_as_retry_after_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    waits = recorded_waits(monkeypatch)
    answers = iter([httpx.Response(503, headers={"Retry-After": "3"}), httpx.Response(200, json={})])
    outcome, _ = await call(lambda _: next(answers), binding("GET"), retries=1)
    assert outcome == JsonValue({}, status=200) and waits == [3.0]


async def test_a_retry_after_that_fits_is_waited_for_then_retried() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"}), httpx.Response(200, json={})])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return next(answers)

    outcome, _ = await call(handler, binding("DELETE"), retries=1)
    assert outcome == JsonValue({}, status=200) and len(seen) == 2


async def test_a_post_is_never_retried() -> None:
    seen, handler = recorder(httpx.Response(503, headers={"Retry-After": "0"}))
    outcome, _ = await call(handler, binding("POST"), retries=2)
    assert isinstance(outcome, Failure) and outcome.category == "upstream_error" and outcome.status == 503
    assert len(seen) == 1


async def test_a_retry_after_longer_than_allowed_is_reported_instead_of_waited_for() -> None:
    seen, handler = recorder(httpx.Response(503, headers={"Retry-After": "120"}))
    outcome, _ = await call(handler, binding("GET"), retries=2, max_retry_after=10.0)
    assert isinstance(outcome, Failure) and outcome.retry_after == 120.0
    assert len(seen) == 1


async def test_rate_limiting_reports_when_to_retry() -> None:
    _, handler = recorder(httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "slow down"}))
    outcome, _ = await call(handler, binding("GET"))
    assert isinstance(outcome, Failure)
    assert (outcome.category, outcome.retry_after, outcome.is_retryable) == ("rate_limited", 7.0, True)
    assert "slow down" in outcome.message


async def test_a_connection_that_cannot_be_made_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    outcome, invocation = await call(handler, binding("GET"), retries=0)
    assert isinstance(outcome, Failure) and outcome.category == "unavailable" and outcome.is_retryable
    assert invocation.record.attempts == 1


async def test_a_post_whose_connection_dropped_is_not_called_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    outcome, _ = await call(handler, binding("POST"))
    assert isinstance(outcome, Failure) and outcome.category == "unavailable" and not outcome.is_retryable
    assert "may or may not have taken effect" in outcome.message


async def test_a_request_the_http_client_refuses_to_send_is_our_error_and_quotes_nothing() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError("Illegal header value b'secret-key '")

    outcome, _ = await call(handler, binding("GET"))
    assert isinstance(outcome, Failure) and outcome.category == "internal_error" and not outcome.is_retryable
    assert "secret" not in outcome.message


async def test_an_upstream_slower_than_the_deadline_times_out() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    outcome, _ = await call(handler, binding("GET"), deadline=anyio.current_time() + 0.05)
    assert isinstance(outcome, Failure) and outcome.category == "timeout"


async def test_a_read_timeout_is_a_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    outcome, _ = await call(handler, binding("GET"))
    assert isinstance(outcome, Failure) and outcome.category == "timeout"


async def test_same_origin_redirects_are_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/pets":
            return httpx.Response(301, headers={"Location": "/v1/animals"})
        return httpx.Response(200, json={"moved": True})

    credentials = (ResolvedCredential("key", "api_key", "header", "X-API-Key", "k1"),)
    outcome, _ = await call(handler, binding("GET"), credentials=credentials)
    assert outcome == JsonValue({"moved": True}, status=200)
    assert [r.url.path for r in seen] == ["/v1/pets", "/v1/animals"]
    assert seen[1].headers["x-api-key"] == "k1"


async def test_a_redirect_to_another_host_is_not_followed_so_credentials_stay_home() -> None:
    seen, handler = recorder(httpx.Response(302, headers={"Location": "https://evil.example/steal?x=1"}))
    credentials = (ResolvedCredential("key", "api_key", "header", "X-API-Key", "k1"),)
    outcome, _ = await call(handler, binding("GET"), credentials=credentials)
    assert isinstance(outcome, Failure) and outcome.category == "upstream_error" and not outcome.is_retryable
    assert "https://evil.example" in outcome.message and "steal" not in outcome.message
    assert [r.url.host for r in seen] == ["api.example"]


async def test_a_401_is_retried_once_with_refreshed_credentials() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        ok = request.headers["authorization"] == "Bearer new"
        return httpx.Response(200 if ok else 401, json={})

    refreshed: list[int] = []

    async def refresh() -> tuple[ResolvedCredential, ...]:
        refreshed.append(1)
        return (ResolvedCredential("oauth", "oauth2_client_credentials", "header", "Authorization", "Bearer new"),)

    old = (ResolvedCredential("oauth", "oauth2_client_credentials", "header", "Authorization", "Bearer old"),)
    outcome, _ = await call(handler, binding("GET"), credentials=old, refresh=refresh)
    assert outcome == JsonValue({}, status=200)
    assert [r.headers["authorization"] for r in seen] == ["Bearer old", "Bearer new"]
    assert refreshed == [1]


async def test_a_401_after_refreshing_is_unauthorized() -> None:
    seen, handler = recorder(httpx.Response(401, json={"title": "bad token"}))

    async def refresh() -> tuple[ResolvedCredential, ...]:
        return (ResolvedCredential("oauth", "oauth2_client_credentials", "header", "Authorization", "Bearer new"),)

    outcome, _ = await call(handler, binding("GET"), refresh=refresh)
    assert isinstance(outcome, Failure) and outcome.category == "unauthorized"
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("status", "category", "retryable"),
    [
        (400, "invalid_arguments", False),
        (422, "invalid_arguments", False),
        (401, "unauthorized", False),
        (403, "forbidden", False),
        (404, "not_found", False),
        (409, "conflict", False),
        (429, "rate_limited", True),
        (500, "upstream_error", True),
        (502, "upstream_error", True),
        (501, "unimplemented", False),
        (405, "upstream_error", False),
    ],
)
async def test_error_statuses_map_to_the_normalized_categories(status: int, category: str, retryable: bool) -> None:
    problem = {"type": "about:blank", "title": "Nope", "status": status, "detail": "pet 9 is gone"}
    response = httpx.Response(status, json=problem, headers={"Content-Type": "application/problem+json"})
    _, handler = recorder(response)
    outcome, _ = await call(handler, binding("GET"), retries=0)
    assert isinstance(outcome, Failure)
    assert (outcome.category, outcome.status, outcome.is_retryable) == (category, status, retryable)
    assert outcome.message.endswith(": pet 9 is gone.")
    assert json.loads(outcome.upstream_message or "") == problem


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(204), EmptyValue(204)),
        (httpx.Response(200, text="plain"), TextValue("plain", "text/plain", status=200)),
        (
            httpx.Response(200, content=b"\x89PNG", headers={"Content-Type": "image/png"}),
            BinaryValue(b"\x89PNG", "image/png", status=200),
        ),
        (
            httpx.Response(200, content=b"<a/>", headers={"Content-Type": "application/xml"}),
            TextValue("<a/>", "application/xml", status=200),
        ),
        (httpx.Response(201, json={"id": 1}), JsonValue({"id": 1}, status=201)),
        (httpx.Response(200, content=b'{"a":1}'), JsonValue({"a": 1}, status=200)),
    ],
)
async def test_success_bodies_become_values_by_media_type(response: httpx.Response, expected: Outcome) -> None:
    _, handler = recorder(response)
    outcome, _ = await call(handler, binding("GET"))
    assert outcome == expected


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"a":', "not the JSON"),
        ('{"a": NaN}', "not the JSON"),
        ("[" * 5000 + "]" * 5000, "nested too deeply"),  # a RecursionError: internal_error before
        ('{"a": ' + "9" * 5000 + "}", "more than 4,300 digits"),  # valid JSON, once called invalid
    ],
    ids=["cut", "nan", "deep", "digits"],
)
async def test_json_that_does_not_parse_is_an_invalid_response_saying_why(body: str, says: str) -> None:
    _, handler = recorder(httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/json"}))
    outcome, _ = await call(handler, binding("GET"))
    assert isinstance(outcome, Failure) and outcome.category == "invalid_response"
    assert says in outcome.message
    assert outcome.upstream_message == body


async def test_a_body_past_the_limit_is_cut_and_says_how_big_it_was() -> None:
    big = json.dumps(["x" * 100] * 100).encode()
    _, handler = recorder(httpx.Response(200, content=big, headers={"Content-Type": "application/json"}))
    outcome, _ = await call(handler, binding("GET"), max_response_bytes=1000)
    assert isinstance(outcome, TextValue)
    assert (outcome.truncated, outcome.total_bytes, len(outcome.text)) == (True, len(big), 1000)


class BrokenBody(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"partial": '
        raise httpx.ReadError("connection reset")


async def test_a_body_that_breaks_off_midway_is_unavailable_not_a_crash() -> None:
    _, handler = recorder(httpx.Response(200, headers={"Content-Type": "application/json"}, stream=BrokenBody()))
    outcome, invocation = await call(handler, binding("GET"), retries=2)
    assert isinstance(outcome, Failure) and outcome.category == "unavailable"
    assert invocation.record.attempts == 1


async def test_an_invalid_upstream_url_is_reported_at_call_time() -> None:
    seen, handler = recorder()
    outcome, _ = await call(handler, binding("GET"), base_url="http://[::1")
    assert isinstance(outcome, Failure) and outcome.category == "unavailable" and not outcome.is_retryable
    assert seen == []


async def test_literal_path_text_and_the_server_path_are_kept_and_encoded() -> None:
    seen, handler = recorder()
    bound = binding("GET", "/files/ü x/{name}", ArgumentBinding(argument="name", location="path", name="name"))
    await call(handler, bound, {"name": "a b"}, base_url="https://api.example/base%20path/")
    assert seen[0].url.raw_path == b"/base%20path/files/%C3%BC%20x/a%20b"


async def test_accept_asks_for_the_success_types_first_and_the_declared_error_types_below_them() -> None:
    seen, handler = recorder()
    bound = binding(success_media_types=("application/json",), error_media_types=("application/xml",))
    await call(handler, bound)
    assert seen[0].headers["accept"] == "application/json, application/xml;q=0.9, */*;q=0.5"

    seen, handler = recorder()
    await call(handler, binding(success_media_types=("application/json",)))
    assert seen[0].headers["accept"] == "application/json, application/problem+json;q=0.9, */*;q=0.5"


async def test_arguments_that_make_a_url_past_any_limit_are_refused_unsent() -> None:
    seen, handler = recorder()
    bound = binding("GET", "/pets/{petId}", ArgumentBinding(argument="petId", location="path", name="petId"))
    outcome, invocation = await call(handler, bound, {"petId": "x" * 70_000})
    assert isinstance(outcome, Failure) and outcome.category == "invalid_arguments"
    assert "65,536" in outcome.message
    assert seen == [] and invocation.record.attempts == 1


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("-3", 0.0), ("inf", None), ("nan", None), ("soon", None)])
def test_retry_after_reads_seconds_and_ignores_what_says_no_time(header: str, seconds: float | None) -> None:
    assert retry_after({"retry-after": header}) == seconds  # "inf" made the agent read "retry after inf s"
