"""An answer's head and body leave in one write; nothing is held past the event loop's turn."""

from __future__ import annotations

import asyncio

import pytest

from virtualize.runtime.transports import _OneWriteTransport

pytestmark = pytest.mark.anyio

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"
STREAMED = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


class Recorder:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def one_write(recorder: Recorder) -> _OneWriteTransport:
    return _OneWriteTransport(recorder)  # type: ignore[arg-type]


async def test_a_head_with_a_length_goes_out_with_the_body() -> None:
    recorder = Recorder()
    transport = one_write(recorder)

    transport.write(HEAD)
    transport.write(b"{}")
    await asyncio.sleep(0)

    assert recorder.writes == [HEAD + b"{}"]


async def test_a_head_without_a_body_write_goes_out_on_the_next_turn_of_the_loop() -> None:
    recorder = Recorder()
    transport = one_write(recorder)

    transport.write(HEAD)  # a HEAD answer: uvicorn writes no body
    assert recorder.writes == []
    await asyncio.sleep(0)

    assert recorder.writes == [HEAD]


async def test_streamed_heads_and_interim_answers_are_not_held() -> None:
    recorder = Recorder()
    transport = one_write(recorder)

    transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    transport.write(STREAMED)

    assert recorder.writes == [b"HTTP/1.1 100 Continue\r\n\r\n", STREAMED]


async def test_closing_sends_a_held_head_first_and_the_rest_is_the_transports() -> None:
    recorder = Recorder()
    transport = one_write(recorder)

    transport.write(HEAD)
    transport.close()
    await asyncio.sleep(0)

    assert recorder.writes == [HEAD]
    assert recorder.closed
    assert transport.get_extra_info("peername") == "info:peername"
