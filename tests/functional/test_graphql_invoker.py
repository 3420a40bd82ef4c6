"""The GraphQL invoker against a real GraphQL server on 127.0.0.1 (graphql-core behind Starlette):
what the server receives for each kind of argument, and how each kind of answer comes back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.support.graphql_upstream import LIBRARY_SDL_PATH, Upstream, library_root, library_schema, serve_graphql
from virtualize.compiler import compile_spec
from virtualize.config import BuildOptions
from virtualize.manifest.model import Manifest
from virtualize.runtime.credentials import ResolvedCredential
from virtualize.runtime.invokers import Invocation, InvokerSettings
from virtualize.runtime.invokers.graphql import create_invoker
from virtualize.runtime.outcomes import Failure, JsonValue, Outcome, TextValue

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Manifest:
    spec = tmp_path_factory.mktemp("library") / "library.graphql"
    spec.write_text(LIBRARY_SDL_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    options = BuildOptions(adapter={"endpoint": "http://127.0.0.1:9/graphql", "mutations": True})
    return compile_spec(spec, options, project=spec.parent).manifest


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with serve_graphql(library_schema(), library_root()) as running:
        yield running


async def call(
    manifest: Manifest,
    url: str,
    tool: str,
    arguments: dict[str, Any],
    *,
    credentials: tuple[ResolvedCredential, ...] = (),
    settings: dict[str, Any] | None = None,
    **invocation: Any,
) -> tuple[Outcome, Invocation]:
    invoker = create_invoker(manifest, InvokerSettings(base_url=url, **(settings or {})))
    invocation = Invocation(
        server="library",
        tool=tool,
        binding=manifest.bindings.tools[tool],
        arguments=arguments,
        credentials=credentials,
        **invocation,
    )
    try:
        with anyio.fail_after(10):
            return await invoker.invoke(invocation), invocation
    finally:
        await invoker.aclose()


async def test_a_query_posts_its_document_operation_name_and_only_the_given_variables(
    manifest: Manifest, upstream: Upstream
) -> None:
    outcome, invocation = await call(manifest, upstream.url, "echo", {"ids": ["1"], "binding": None})

    body = upstream.received[0].body
    assert body["operationName"] == "echo"
    assert body["query"] == manifest.bindings.tools["echo"].document  # type: ignore[union-attr]
    assert body["variables"] == {"ids": ["1"], "binding": None}  # note and count absent, binding an explicit null
    assert isinstance(outcome, JsonValue)
    assert json.loads(outcome.value["echo"]) == {"binding": None, "ids": ["1"], "note": "none"}
    assert invocation.record.status == 200
    assert invocation.record.attempts == 1
    headers = upstream.received[0].headers
    assert headers["content-type"] == "application/json"
    assert headers["accept"].startswith("application/graphql-response+json")


async def test_integer_ids_become_strings_and_single_values_become_lists(
    manifest: Manifest, upstream: Upstream
) -> None:
    outcome, _ = await call(manifest, upstream.url, "echo", {"ids": 7, "count": 3.0, "when": "2026-01-01T00:00:00Z"})

    assert upstream.received[0].variables == {"ids": ["7"], "count": 3, "when": "2026-01-01T00:00:00Z"}
    assert isinstance(outcome, JsonValue)
    assert json.loads(outcome.value["echo"])["ids"] == ["7"]


async def test_input_objects_enums_and_oneof_inputs_reach_the_server_as_given(
    manifest: Manifest, upstream: Upstream
) -> None:
    by_isbn, _ = await call(manifest, upstream.url, "book", {"key": {"isbn": "978-0-15-602760-1"}})
    filtered, _ = await call(
        manifest, upstream.url, "books", {"filter": {"title": "sol", "bindings": ["HARDCOVER"]}, "first": 5}
    )

    assert upstream.received[0].variables == {"key": {"isbn": "978-0-15-602760-1"}}
    assert isinstance(by_isbn, JsonValue)
    assert by_isbn.value["book"]["title"] == "Solaris"
    assert by_isbn.value["book"]["author"] == {"id": "2", "name": "Stanisław Lem", "born": None}
    assert upstream.received[1].variables == {"filter": {"title": "sol", "bindings": ["HARDCOVER"]}, "first": 5}
    assert isinstance(filtered, JsonValue)
    assert filtered.value["books"]["totalCount"] == 1
    assert filtered.value["books"]["edges"][0]["node"]["id"] == "11"
    assert filtered.value["books"]["pageInfo"] == {"hasNextPage": False, "endCursor": "11"}


async def test_unions_and_interfaces_come_back_with_their_typename(manifest: Manifest, upstream: Upstream) -> None:
    found, _ = await call(manifest, upstream.url, "search", {"text": "magazine"})
    node, _ = await call(manifest, upstream.url, "node", {"id": 1})

    assert isinstance(found, JsonValue)
    assert found.value == {"search": [{"__typename": "Magazine", "issue": 7, "title": "Locus"}]}
    assert isinstance(node, JsonValue)
    assert node.value["node"]["__typename"] == "Author"
    assert node.value["node"]["name"] == "Ursula K. Le Guin"
    assert upstream.received[1].variables == {"id": "1"}


async def test_partial_data_of_a_query_comes_back_flagged_with_the_errors_and_their_paths(
    manifest: Manifest, upstream: Upstream
) -> None:
    outcome, _ = await call(manifest, upstream.url, "search", {"text": "unknown"})

    assert isinstance(outcome, JsonValue)
    assert outcome.partial is True
    assert outcome.value["search"][0]["author"] is None
    assert outcome.details == ({"message": "author not found", "path": "/search/0/author", "code": "NOT_FOUND"},)


async def test_errors_without_data_become_a_failure_with_the_code_mapped(
    manifest: Manifest, upstream: Upstream
) -> None:
    outcome, invocation = await call(manifest, upstream.url, "addBook", {"input": {"title": "X", "authorId": 99}})

    assert upstream.received[0].variables == {"input": {"title": "X", "authorId": 99}}  # nested: the server coerces
    assert isinstance(outcome, Failure)
    assert outcome.category == "invalid_arguments"
    assert outcome.status == "BAD_USER_INPUT"
    assert outcome.details == (
        {
            "message": "no such author",
            "path": "/addBook",
            "code": "BAD_USER_INPUT",
            "extensions": {"field": "authorId"},
        },
    )
    assert invocation.record.status == "BAD_USER_INPUT"


async def test_a_mutation_runs_once_and_its_result_comes_back(manifest: Manifest, upstream: Upstream) -> None:
    added, _ = await call(manifest, upstream.url, "addBook", {"input": {"title": "Eden", "authorId": "2"}})
    deleted, _ = await call(manifest, upstream.url, "deleteBook", {"id": "10"})
    missing, _ = await call(manifest, upstream.url, "deleteBook", {"id": "10"})

    assert isinstance(added, JsonValue)
    assert added.value["addBook"]["title"] == "Eden"
    assert added.value["addBook"]["binding"] == "PAPERBACK"  # the input field's default, applied by the server
    assert isinstance(deleted, JsonValue)
    assert deleted.value == {"deleteBook": True}
    assert isinstance(missing, Failure)
    assert (missing.category, missing.status) == ("not_found", "NOT_FOUND")
    assert len(upstream.received) == 3


async def test_any_error_on_a_mutation_is_a_failure_even_with_data(manifest: Manifest, upstream: Upstream) -> None:
    upstream.canned = (
        200,
        {"data": {"deleteBook": True}, "errors": [{"message": "audit log down", "path": ["deleteBook"]}]},
    )

    outcome, _ = await call(manifest, upstream.url, "deleteBook", {"id": "10"})

    assert isinstance(outcome, Failure)
    assert outcome.category == "upstream_error"
    assert "part of it may have taken effect" in outcome.message
    assert outcome.details == (
        {"message": "audit log down", "path": "/deleteBook"},
        {"message": "data returned with the errors", "data": {"deleteBook": True}},
    )
    assert not outcome.is_retryable  # it did something: the agent must not be told to repeat it


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("BAD_USER_INPUT", "invalid_arguments"),
        ("UNAUTHENTICATED", "unauthorized"),
        ("FORBIDDEN", "forbidden"),
        ("NOT_FOUND", "not_found"),
        ("access-denied", "forbidden"),
        ("THROTTLED", "rate_limited"),
        ("GRAPHQL_VALIDATION_FAILED", "upstream_error"),
        ("SOMETHING_ELSE", "upstream_error"),
    ],
)
async def test_extension_codes_map_to_the_shared_categories(
    manifest: Manifest, upstream: Upstream, code: str, category: str
) -> None:
    upstream.canned = (200, {"data": None, "errors": [{"message": "no", "extensions": {"code": code}}]})

    outcome, _ = await call(manifest, upstream.url, "now", {}, settings={"retries": 0})

    assert isinstance(outcome, Failure)
    assert outcome.category == category
    assert outcome.status == code.upper().replace("-", "_")


async def test_a_schema_change_on_the_server_is_not_retryable_and_says_to_rebuild(
    manifest: Manifest, upstream: Upstream
) -> None:
    upstream.canned = (
        400,
        {"errors": [{"message": 'Cannot query field "now"', "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]},
    )

    outcome, _ = await call(manifest, upstream.url, "now", {})

    assert isinstance(outcome, Failure)
    assert outcome.is_retryable is False
    assert "rebuild the manifest" in outcome.message
    assert len(upstream.received) == 1


async def test_a_variable_the_server_rejects_is_invalid_arguments(manifest: Manifest, upstream: Upstream) -> None:
    outcome, _ = await call(manifest, upstream.url, "echo", {"ids": ["1"], "count": 2**40})

    assert isinstance(outcome, Failure)
    assert outcome.category == "invalid_arguments"
    assert outcome.upstream_message is not None
    assert "$count" in outcome.upstream_message


async def test_credentials_go_in_headers_query_parameters_and_cookies(manifest: Manifest, upstream: Upstream) -> None:
    credentials = (
        ResolvedCredential("bearer", "http_bearer", "header", "Authorization", "Bearer s3cret"),
        ResolvedCredential("api_key_key", "api_key", "query", "key", "k1"),
        ResolvedCredential("api_key_sid", "api_key", "cookie", "sid", "c1"),
        ResolvedCredential("api_key_tenant", "api_key", "cookie", "tenant", "t1"),
    )

    outcome, _ = await call(manifest, upstream.url, "now", {}, credentials=credentials)

    assert isinstance(outcome, JsonValue)
    received = upstream.received[0]
    assert received.headers["authorization"] == "Bearer s3cret"
    assert received.params == {"key": "k1"}
    assert received.headers["cookie"] == "sid=c1; tenant=t1"


async def test_an_unauthenticated_answer_refreshes_the_credentials_once_and_retries() -> None:
    stale = (ResolvedCredential("oauth", "oauth2_client_credentials", "header", "Authorization", "Bearer old"),)
    fresh = (ResolvedCredential("oauth", "oauth2_client_credentials", "header", "Authorization", "Bearer new"),)
    refreshes = 0

    async def refresh() -> tuple[ResolvedCredential, ...] | None:
        nonlocal refreshes
        refreshes += 1
        return fresh

    with serve_graphql(library_schema(), library_root(), require_headers={"authorization": "Bearer new"}) as server:
        spec_manifest = await anyio.to_thread.run_sync(_compile_library)
        outcome, invocation = await call(
            spec_manifest, server.url, "now", {}, credentials=stale, refresh_credentials=refresh
        )

    assert isinstance(outcome, JsonValue)
    assert refreshes == 1
    assert invocation.record.attempts == 2
    assert [r.headers["authorization"] for r in server.received] == ["Bearer old", "Bearer new"]


async def test_unauthenticated_without_a_way_to_refresh_is_an_unauthorized_failure() -> None:
    with serve_graphql(library_schema(), library_root(), require_headers={"x-api-key": "right"}) as server:
        outcome, invocation = await call(await anyio.to_thread.run_sync(_compile_library), server.url, "now", {})

    assert isinstance(outcome, Failure)
    assert (outcome.category, outcome.status) == ("unauthorized", "UNAUTHENTICATED")
    assert invocation.record.attempts == 1


async def test_a_non_graphql_error_answer_is_mapped_by_its_http_status(manifest: Manifest, upstream: Upstream) -> None:
    upstream.canned = (503, "<html>maintenance</html>")

    outcome, invocation = await call(manifest, upstream.url, "now", {}, settings={"retries": 1})

    assert isinstance(outcome, Failure)
    assert (outcome.category, outcome.status) == ("upstream_error", 503)
    assert outcome.upstream_message == '"<html>maintenance</html>"'
    assert invocation.record.attempts == 2  # a query is retried on 503
    assert outcome.is_retryable


async def test_a_mutation_is_not_retried(manifest: Manifest, upstream: Upstream) -> None:
    upstream.canned = (503, "busy")

    outcome, invocation = await call(manifest, upstream.url, "deleteBook", {"id": "10"}, settings={"retries": 2})

    assert isinstance(outcome, Failure)
    assert invocation.record.attempts == 1
    assert len(upstream.received) == 1
    assert not outcome.is_retryable  # nor is the agent told to retry what may have taken effect


async def test_a_mutation_that_failed_with_errors_alone_is_not_retryable_a_query_is(
    manifest: Manifest, upstream: Upstream
) -> None:
    upstream.canned = (200, {"data": None, "errors": [{"message": "resolver crashed"}]})

    mutation, _ = await call(manifest, upstream.url, "deleteBook", {"id": "10"})
    query, _ = await call(manifest, upstream.url, "now", {})

    assert isinstance(mutation, Failure) and isinstance(query, Failure)
    assert (mutation.category, query.category) == ("upstream_error", "upstream_error")
    assert (mutation.is_retryable, query.is_retryable) == (False, True)

    throttled = {"message": "slow down", "path": ["deleteBook"], "extensions": {"code": "THROTTLED"}}
    upstream.canned = (200, {"data": {"deleteBook": True}, "errors": [throttled]})
    partly, _ = await call(manifest, upstream.url, "deleteBook", {"id": "10"})
    assert isinstance(partly, Failure) and partly.category == "rate_limited"
    assert not partly.is_retryable  # rate limited after it had deleted: repeating it deletes again


async def test_a_wrong_endpoint_says_so(manifest: Manifest, upstream: Upstream) -> None:
    outcome, _ = await call(manifest, upstream.url.replace("/graphql", "/nope"), "now", {})

    assert isinstance(outcome, Failure)
    assert outcome.status == 404
    assert "endpoint URL" in outcome.message
    assert outcome.is_retryable is False


async def test_an_unreachable_endpoint_is_unavailable(manifest: Manifest) -> None:
    outcome, _ = await call(manifest, "http://127.0.0.1:9/graphql", "now", {}, settings={"retries": 0})

    assert isinstance(outcome, Failure)
    assert outcome.category == "unavailable"
    assert outcome.status is None


async def test_a_passed_deadline_sends_nothing(manifest: Manifest, upstream: Upstream) -> None:
    outcome, _ = await call(manifest, upstream.url, "now", {}, deadline=anyio.current_time() - 1)

    assert isinstance(outcome, Failure)
    assert outcome.category == "timeout"
    assert upstream.received == []


async def test_an_answer_past_the_size_cap_is_cut(manifest: Manifest, upstream: Upstream) -> None:
    outcome, _ = await call(manifest, upstream.url, "books", {}, settings={"max_response_bytes": 100})

    assert isinstance(outcome, TextValue)
    assert outcome.truncated is True
    assert len(outcome.text) == 100


def _compile_library() -> Manifest:
    import tempfile  # noqa: PLC0415 - only these two tests need a private build

    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder) / "library.graphql"
        spec.write_text(LIBRARY_SDL_PATH.read_text(encoding="utf-8"), encoding="utf-8")
        options = BuildOptions(adapter={"endpoint": "http://127.0.0.1:9/graphql", "mutations": True})
        return compile_spec(spec, options, project=spec.parent).manifest


async def test_an_invalid_endpoint_url_is_a_failure_not_a_crash(manifest: Manifest) -> None:
    outcome, _ = await call(manifest, "http://[::1/graphql", "now", {})

    assert isinstance(outcome, Failure)
    assert outcome.category == "upstream_error"
    assert outcome.is_retryable is False


async def test_errors_that_nulled_every_root_field_are_a_failure_not_partial_data(
    manifest: Manifest, upstream: Upstream
) -> None:
    error = {"message": "not for you", "path": ["now"], "extensions": {"code": "FORBIDDEN"}}
    upstream.canned = (200, {"data": {"now": None}, "errors": [error]})

    outcome, _ = await call(manifest, upstream.url, "now", {})

    assert isinstance(outcome, Failure)
    assert (outcome.category, outcome.status) == ("forbidden", "FORBIDDEN")
    assert outcome.details == ({"message": "not for you", "path": "/now", "code": "FORBIDDEN"},)


async def test_a_cookie_the_upstream_sets_is_not_sent_back(manifest: Manifest, upstream: Upstream) -> None:
    invoker = create_invoker(manifest, InvokerSettings(base_url=upstream.url))
    for _ in range(2):
        invocation = Invocation(
            server="library",
            tool="echo",
            binding=manifest.bindings.tools["echo"],
            arguments={"ids": ["1"]},
            credentials=(),
        )
        with anyio.fail_after(10):
            assert isinstance(await invoker.invoke(invocation), JsonValue)
    await invoker.aclose()
    assert len(upstream.received) == 2
    assert "cookie" not in upstream.received[1].headers


async def test_an_endpoint_url_with_a_password_is_refused_unsent(manifest: Manifest, upstream: Upstream) -> None:
    url = upstream.url.replace("http://", "http://ann:hunter2@")
    outcome, _ = await call(manifest, url, "echo", {"ids": ["1"]})
    assert isinstance(outcome, Failure) and outcome.category == "unavailable"
    assert "hunter2" not in outcome.message and upstream.received == []
