"""The recording upstream records exactly what it receives and misbehaves on request."""

from __future__ import annotations

import httpx
import pytest

from tests.support.upstream import RecordingUpstream


def test_it_records_method_raw_path_query_headers_cookies_and_body() -> None:
    with RecordingUpstream() as upstream:
        upstream.reply("POST", "/v1/a%2Fb", status=201, json={"ok": True})
        response = httpx.post(
            upstream.url + "/v1/a%2Fb?x=1&y=%20",
            content=b"\x00raw",
            headers={"X-Thing": "t", "Cookie": "session=abc; other=1"},
        )
    assert (response.status_code, response.json()) == (201, {"ok": True})
    [seen] = upstream.requests
    assert (seen.method, seen.path, seen.query, seen.body) == ("POST", "/v1/a%2Fb", "x=1&y=%20", b"\x00raw")
    assert seen.headers["x-thing"] == "t"
    assert seen.cookies == {"session": "abc", "other": "1"}


def test_an_unset_path_answers_404_problem_json() -> None:
    with RecordingUpstream() as upstream:
        response = httpx.get(upstream.url + "/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_faults_close_the_connection_send_broken_json_and_huge_bodies() -> None:
    with RecordingUpstream() as upstream:
        upstream.reply("GET", "/close", fault="close")
        upstream.reply("GET", "/broken", fault="invalid_json")
        upstream.reply("GET", "/huge", fault="huge", size=3 * 1024 * 1024)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(upstream.url + "/close")
        with pytest.raises(ValueError):
            httpx.get(upstream.url + "/broken").json()
        huge = httpx.get(upstream.url + "/huge")
    assert len(huge.content) >= 3 * 1024 * 1024 - 1024
    assert len(huge.json()) == 4


def test_a_hanging_reply_times_out_the_client_and_stops_with_the_upstream() -> None:
    with RecordingUpstream() as upstream:
        upstream.reply("GET", "/hang", fault="hang")
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(upstream.url + "/hang", timeout=0.5)
