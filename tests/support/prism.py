"""Stoplight Prism as an independent judge of the HTTP requests virtualize sends.

``Prism(spec)`` runs ``prism mock SPEC --errors`` on a free 127.0.0.1 port (a context manager; it
waits for Prism's "listening" line, bounded). ``JudgingProxy(prism.url)`` sits in front of it and
records every exchange: the request exactly as it arrived (raw path, query, headers, body) and
Prism's verdict, read from its ``sl-violations`` header. Point the gateway's upstream at the
proxy, not at Prism, so that what the gateway sent and what Prism thought of it can be asserted
together.

Prism reports request violations (location ``["request", ...]``) and complaints about its own
example responses (``["response", ...]``) in the same header; ``Exchange.request_violations``
keeps only the former (with severity Error). A missing credential (Prism checks presence, not
value) and a wrong content type are request violations too; a request Prism cannot route comes
back as one of its own problem types (``NO_PATH_MATCHED_ERROR``...), also a rejection.

Install Prism with ``./run test`` (or ``cd .tools && npm install --prefix . @stoplight/prism-cli@5``).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn

REPO = Path(__file__).resolve().parents[2]
PRISM = REPO / ".tools" / "node_modules" / ".bin" / "prism"
INSTALL_HINT = "install it with ./run test, or: cd .tools && npm install --prefix . @stoplight/prism-cli@5"


def prism_installed() -> bool:
    return PRISM.exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Prism:
    """``prism mock SPEC --errors`` on 127.0.0.1, started on enter and stopped on exit."""

    def __init__(self, spec: Path, *, startup_timeout: float = 300.0) -> None:
        self.spec = spec
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[str] | None = None
        self._ready = threading.Event()
        self._listening = False
        self.log: deque[str] = deque(maxlen=200)  # Prism's last lines, for failure messages

    def __enter__(self) -> Self:
        if not prism_installed():
            raise RuntimeError(f"Prism is not installed at {PRISM}; {INSTALL_HINT}")
        self._start()
        return self

    def revive(self) -> bool:
        """Start Prism again, on the same port, if a request crashed it (some do: a judge defect).
        True when it had died and runs again."""
        if self._process is None or self._process.poll() is None:
            return False
        self.log.append("[virtualize tests] Prism had exited; starting it again")
        self._ready.clear()
        self._listening = False
        self._start()
        return True

    def _start(self) -> None:
        self._process = subprocess.Popen(
            [str(PRISM), "mock", str(self.spec), "-h", "127.0.0.1", "-p", str(self.port), "--errors"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        # Prism logs every request; the pipe must be drained for as long as it runs.
        threading.Thread(target=self._drain, daemon=True).start()
        # Not process.poll(): a Prism that exited at once may not be reaped yet.
        if not self._ready.wait(self._startup_timeout) or not self._listening:
            self.__exit__(None, None, None)
            fatal = [line for line in self.log if "fatal" in line or "Error:" in line]
            why = (
                fatal[0].split("fatal", 1)[-1].strip()
                if fatal
                else f"not listening after {self._startup_timeout:.0f} s"
            )
            raise RuntimeError(f"Prism did not start on {self.spec}: {why}\n" + "\n".join(self.log))

    def _drain(self) -> None:
        assert self._process is not None
        stdout = self._process.stdout  # kept here: __exit__ drops self._process while this runs
        assert stdout is not None
        with stdout:  # closed at EOF, else filterwarnings=error turns its ResourceWarning into a failure
            for line in stdout:
                self.log.append(line.rstrip())
                if "Prism is listening" in line:
                    self._listening = True
                    self._ready.set()
        self._ready.set()  # exited: wake the waiter, which then sees the exit status

    def __exit__(self, *_: object) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


#: Prism's own problem types for a request it could not route or answer as asked: rejections.
ROUTING_ERRORS = frozenset(
    {"NO_PATH_MATCHED_ERROR", "NO_METHOD_MATCHED_ERROR", "NO_SERVER_MATCHED_ERROR", "NOT_ACCEPTABLE"}
)
PROBLEM_TYPE_PREFIX = "https://stoplight.io/prism/errors#"


@dataclass(frozen=True)
class Violation:
    location: tuple[str, ...]
    severity: str
    code: str
    message: str

    def render(self) -> str:
        return f"{'.'.join(self.location)}: {self.message}"


@dataclass(frozen=True)
class Exchange:
    """One request as it reached the judge, and Prism's answer."""

    method: str
    raw_path: str  # percent-encoded, exactly as sent
    query: str
    headers: tuple[tuple[str, str], ...]  # names lower-cased, in order
    body: bytes
    status: int
    violations: tuple[Violation, ...]
    response_body: bytes = b""
    judge_error: str = ""  # the proxy could not get Prism's verdict (then the request was not judged)

    @property
    def request_violations(self) -> tuple[Violation, ...]:
        """Prism's errors about the request (security and content type included), not about its own examples."""
        return tuple(v for v in self.violations if v.location[:1] == ("request",) and v.severity == "Error")

    @property
    def problem_type(self) -> str | None:
        """Prism's own error type (``NO_PATH_MATCHED_ERROR``...) when it answered with one."""
        try:
            problem = json.loads(self.response_body)
        except ValueError:
            return None
        kind = problem.get("type") if isinstance(problem, dict) else None
        if isinstance(kind, str) and kind.startswith(PROBLEM_TYPE_PREFIX):
            return kind.removeprefix(PROBLEM_TYPE_PREFIX)
        return None

    @property
    def accepted(self) -> bool:
        """Prism found nothing wrong with the request (complaints about its own examples aside)."""
        return not self.request_violations and self.problem_type not in ROUTING_ERRORS

    def reason(self) -> str:
        if self.judge_error:
            return f"not judged: {self.judge_error}"
        if self.request_violations:
            return "; ".join(v.render() for v in self.request_violations)
        return f"{self.status} {self.problem_type}" if self.problem_type else str(self.status)

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]


# One complete violation object of Prism's header (their fields are flat; messages may hold escaped quotes).
_ITEM = re.compile(
    r'\{"location":\[[^\]]*\],"severity":"[A-Za-z]+","code":(?:"[^"]*"|\d+),"message":"(?:[^"\\]|\\.)*"\}'
)


def _violations(header: str | None) -> tuple[Violation, ...]:
    if not header:
        return ()
    try:
        items: Any = json.loads(header)
    except ValueError:  # "Too many violations! [..." is cut mid-JSON: keep the complete items
        items = [json.loads(match) for match in _ITEM.findall(header)]
        if not items or (
            '"location":["request"' in header and not any(i["location"][:1] == ["request"] for i in items)
        ):
            return (Violation(("request",), "Error", "", "unreadable violations: " + header[:500]),)
    return tuple(
        Violation(
            tuple(str(part) for part in item.get("location", ())),
            str(item.get("severity", "")),
            str(item.get("code", "")),
            str(item.get("message", "")),
        )
        for item in items
        if isinstance(item, dict)
    )


TOKEN_PATH = "/__fidelity/token"
# Not forwarded (recorded all the same): they describe this connection, not the request Prism judges.
HOP_BY_HOP = frozenset(
    {"host", "content-length", "connection", "keep-alive", "upgrade", "te", "trailer", "transfer-encoding"}
)


async def _send_json(send: Any, value: Any, status: int = 200) -> None:
    body = json.dumps(value).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


@dataclass
class JudgingProxy:
    """An ASGI app forwarding to Prism and recording every exchange (run it with ``serve``)."""

    target: str
    exchanges: list[Exchange] = field(default_factory=list)
    judge: Prism | None = None  # to revive when a request crashed it
    # Judges in process instead of forwarding (tests/support/openapi_judge.py), answering 200 {}.
    local_judge: Callable[[dict[str, Any], bytes], tuple[Violation, ...]] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        raw_path = scope.get("raw_path") or scope["path"].encode()
        headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"])
        forward = [(k, v) for k, v in headers if k not in HOP_BY_HOP]
        url = httpx.URL(self.target).copy_with(
            raw_path=raw_path + (b"?" + scope["query_string"] if scope["query_string"] else b"")
        )
        if scope["path"] == TOKEN_PATH:  # OAuth2 client credentials: the spec's token URL is on the internet
            await _send_json(send, {"access_token": "fidelity-token", "token_type": "Bearer", "expires_in": 3600})
            return
        seen = {
            "method": scope["method"],
            "raw_path": raw_path.decode("latin-1"),
            "query": scope["query_string"].decode("latin-1"),
            "headers": headers,
            "body": body,
        }
        if self.local_judge is not None:
            try:
                violations = self.local_judge(scope, body)
            except Exception as error:  # the judge's own failure: not judged, never accepted
                self.exchanges.append(Exchange(**seen, status=500, violations=(), judge_error=repr(error)[:300]))
                await _send_json(send, {"title": "the judge failed"}, status=500)
                return
            self.exchanges.append(Exchange(**seen, status=200, violations=violations, response_body=b"{}"))
            await _send_json(send, {})
            return
        try:
            async with httpx.AsyncClient(timeout=120) as client:
                response = await client.request(scope["method"], url, headers=forward, content=body)
        except httpx.HTTPError as error:  # the judge failed, not the request: say so, never count it as judged
            self.exchanges.append(Exchange(**seen, status=502, violations=(), judge_error=repr(error)))
            await _send_json(send, {"title": "Prism did not answer"}, status=502)
            return
        self.exchanges.append(
            Exchange(
                **seen,
                status=response.status_code,
                violations=_violations(response.headers.get("sl-violations")),
                response_body=response.content,
            )
        )
        passed = [
            (k.encode(), v.encode())
            for k, v in response.headers.items()
            if k not in {"content-length", "transfer-encoding", "connection", "content-encoding"}
        ]
        await send({"type": "http.response.start", "status": response.status_code, "headers": passed})
        await send({"type": "http.response.body", "body": response.content})

    def take(self) -> list[Exchange]:
        """The exchanges recorded since the last ``take``."""
        taken, self.exchanges = self.exchanges, []
        return taken


class ServedInThread:
    """Run an ASGI app with uvicorn on a free 127.0.0.1 port in a background thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:  # uvicorn sets this flag once it listens; bounded wait
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the proxy did not start")
            self._thread.join(0.01)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(30)


@contextlib.contextmanager
def judged(spec: Path, judge: str = "prism") -> Iterator[tuple[str, JudgingProxy]]:
    """Prism (or openapi-core) on ``spec`` behind a recording proxy: yields (the URL to send to, the proxy)."""
    if judge == "openapi-core":
        from tests.support.openapi_judge import OpenAPICoreJudge  # noqa: PLC0415 -- it imports this module

        local = OpenAPICoreJudge(spec)
        proxy = JudgingProxy("", local_judge=local.judge)
        with ServedInThread(proxy) as served:
            local.serve_at(served.url)
            yield served.url, proxy
        return
    with Prism(spec) as prism:
        proxy = JudgingProxy(prism.url, judge=prism)
        with ServedInThread(proxy) as served:
            yield served.url, proxy
