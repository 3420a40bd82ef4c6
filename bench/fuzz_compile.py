"""Compiler robustness fuzzer: mutate real OpenAPI documents, compile every mutant.

A mutant may compile (its warnings located), or fail with ``SpecError`` whose every error
diagnostic names the file and a location (a JSON pointer or a line). Anything else is a bug:

    crash      an exception other than SpecError escaped the compiler
    traceback  the compiler printed or logged a traceback while failing "cleanly"
    unlocated  a diagnostic without file, or (for a structural mutation) without a place
    hang       one case ran past the per-case time limit (the worker is killed)
    died       the worker process died (memory limit hit, segfault, recursion in C)
    fetched    the compiler fetched a remote ``$ref`` although remote refs are off by default

Mutations: dropped keys, values of the wrong type, dangling / cyclic / remote ``$ref``s, huge
strings, deep nesting (of YAML and of schemas), invalid UTF-8, truncation, YAML alias bombs and
recursive aliases. Every case runs in a worker subprocess under ``RLIMIT_AS``; the parent holds the
per-case wall-clock limit, so a hang or a memory blow-up is one reported case, not a stuck run.

    python bench/fuzz_compile.py --cases 5000 --seed 7      # the bench run: thousands of cases
    python bench/fuzz_compile.py --cases 100 --seed 1       # what tests/robustness runs

Prints one JSON line per bug and a summary table; exits 1 when any case is a bug.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import logging
import random
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "openapi"
SEEDS = (
    "petstore/oas-3.0/swagger-petstore-openapi.yaml",
    "petstore/oas-3.1/swagger-petstore-code-first.json",
    "petstore/swagger-2.0/petstore.json",
    "oai-examples/v3.0/petstore-expanded.yaml",
    "oai-examples/v3.0/link-example.yaml",
    "oai-examples/v3.0/callback-example.yaml",
    "oai-examples/v3.1/webhook-example.yaml",
    "oai-examples/v2.0/json/uber.json",
    "oai-examples/v2.0/yaml/petstore-separate/spec/swagger.yaml",
    "real/redocly-museum/openapi.yaml",
    "apis-guru/googleapis.com/tasks.json",
)
MEMORY_LIMIT = 2 * 1024**3  # address space of the worker: generous for a 2 MB mutant, fatal for a bomb
CASE_TIMEOUT = 30.0  # seconds per case: a hang detector, not a performance bound (see the summary)
BUGS = frozenset({"crash", "traceback", "unlocated", "hang", "died", "fetched"})
# Mutations that damage one place of the document: a diagnostic about them must point somewhere.
STRUCTURAL = frozenset({"drop_key", "wrong_type", "dangling_ref", "cyclic_ref", "remote_ref"})

Doc = dict[str, Any]


# -- mutations ---------------------------------------------------------------------------------


def _nodes(value: Any) -> Iterator[Any]:
    stack = [value]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _slot(doc: Doc, rng: random.Random) -> tuple[Any, Any]:
    """A random (container, key) pair of the document."""
    candidates = [
        (node, key)
        for node in _nodes(doc)
        if isinstance(node, dict | list) and node
        for key in (sorted(node, key=str) if isinstance(node, dict) else range(len(node)))
    ]
    return rng.choice(candidates)


def drop_key(doc: Doc, rng: random.Random, _: str) -> Doc:
    node = rng.choice([n for n in _nodes(doc) if isinstance(n, dict) and n])
    del node[rng.choice(sorted(node, key=str))]
    return doc


def wrong_type(doc: Doc, rng: random.Random, _: str) -> Doc:
    node, key = _slot(doc, rng)
    node[key] = rng.choice([42, -1.5, "x", [], {}, None, True, [1, "a"], {"$ref": 7}, {"type": ["nope"]}])
    return doc


def dangling_ref(doc: Doc, rng: random.Random, _: str) -> Doc:
    node, key = _slot(doc, rng)
    targets = ["#/components/schemas/Nope", "#/definitions/Nope", "./missing.yaml#/X", "#/paths/~1nope", "#", "#x"]
    node[key] = {"$ref": rng.choice(targets)}
    return doc


def cyclic_ref(doc: Doc, rng: random.Random, _: str) -> Doc:
    if "swagger" in doc:
        doc.setdefault("parameters", {}).update({"A": {"$ref": "#/parameters/B"}, "B": {"$ref": "#/parameters/A"}})
        doc.setdefault("definitions", {})["Loop"] = {"$ref": "#/definitions/Loop"}
        doc.setdefault("responses", {})["R"] = {"$ref": "#/responses/R"}
        param, loop, response = "#/parameters/A", "#/definitions/Loop", "#/responses/R"
    else:
        components = doc.setdefault("components", {})
        components.setdefault("parameters", {}).update(
            {"A": {"$ref": "#/components/parameters/B"}, "B": {"$ref": "#/components/parameters/A"}}
        )
        components.setdefault("schemas", {})["Loop"] = {"$ref": "#/components/schemas/Loop"}
        components.setdefault("responses", {})["R"] = {"$ref": "#/components/responses/R"}
        param, loop, response = "#/components/parameters/A", "#/components/schemas/Loop", "#/components/responses/R"
    operations = [
        op
        for item in (doc.get("paths") or {}).values()
        if isinstance(item, dict)
        for op in item.values()
        if isinstance(op, dict)
    ]
    if operations:
        op = rng.choice(operations)
        choice = rng.randrange(3)
        if choice == 0:
            op["parameters"] = [{"$ref": param}]
        elif choice == 1:
            op["responses"] = {"200": {"$ref": response}}
        elif "swagger" in doc:
            op["parameters"] = [{"name": "b", "in": "body", "schema": {"$ref": loop}}]
        else:
            op["requestBody"] = {"content": {"application/json": {"schema": {"$ref": loop}}}}
    return doc


def remote_ref(doc: Doc, rng: random.Random, trap: str) -> Doc:
    node, key = _slot(doc, rng)
    node[key] = {"$ref": rng.choice([f"{trap}/spec.yaml#/A", f"{trap}/x.json", "https://example.invalid/x.yaml#/A"])}
    return doc


def huge_string(doc: Doc, rng: random.Random, _: str) -> Doc:
    node, key = _slot(doc, rng)
    node[key] = "x" * rng.choice([100_000, 2_000_000])
    return doc


MUTATORS: dict[str, Callable[[Doc, random.Random, str], Doc]] = {
    "drop_key": drop_key,
    "wrong_type": wrong_type,
    "dangling_ref": dangling_ref,
    "cyclic_ref": cyclic_ref,
    "remote_ref": remote_ref,
    "huge_string": huge_string,
}


NESTING_DEPTHS = [200, 3_000, 50_000]


def deep_nesting(text: str, rng: random.Random) -> str:
    depth = rng.choice(NESTING_DEPTHS)
    return text.rstrip() + "\nx-deep: " + "[" * depth + "]" * depth + "\n"


def deep_schema(doc: Doc, rng: random.Random) -> str:
    """A request schema nested thousands of levels deep, spliced in as text (json.dumps would recurse)."""
    depth = rng.choice([500, 5_000])
    schema = '{"type":"object","properties":{"a":' * depth + '{"type":"string"}' + "}}" * depth
    if "swagger" in doc:
        operation = '{"post": {"parameters": [{"name": "b", "in": "body", "schema": ' + schema + "}], "
    else:
        operation = '{"post": {"requestBody": {"content": {"application/json": {"schema": ' + schema + "}}}, "
    operation += '"responses": {"200": {"description": "ok"}}}}'
    doc = {**doc, "paths": {"/deep": {}, **(doc.get("paths") or {})}}
    return json.dumps(doc).replace('"/deep": {}', '"/deep": ' + operation, 1)


def yaml_bomb(text: str, rng: random.Random) -> str:
    if rng.random() < 0.2:  # an alias that contains itself
        return text.rstrip() + "\nx-loop: &loop [*loop]\n"
    levels = rng.choice([6, 9, 12])
    lines = ['x-bomb-0: &b0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"x-bomb-{i}: &b{i} [" + ",".join([f"*b{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return text.rstrip() + "\n" + "\n".join(lines) + "\n"


def truncate(text: str, rng: random.Random) -> str:
    return text[: rng.randrange(1, max(2, len(text)))]


TEXT_MUTATORS: dict[str, Callable[[str, random.Random], str]] = {
    "deep_nesting": deep_nesting,
    "yaml_bomb": yaml_bomb,
    "truncate": truncate,
}


def invalid_utf8(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(0, max(1, len(data)))
    return data[:at] + rng.choice([b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80"]) + data[at:]


KINDS = (*MUTATORS, *TEXT_MUTATORS, "deep_schema", "invalid_utf8")


def make_case(seed_doc: Doc, seed_is_json: bool, rng: random.Random, trap: str) -> tuple[str, str, bytes]:
    """One mutant: (kind, suffix, bytes)."""
    kind = rng.choice(KINDS)
    doc = copy.deepcopy(seed_doc)
    if kind in MUTATORS:
        doc = MUTATORS[kind](doc, rng, trap)
        if seed_is_json:
            return kind, ".json", json.dumps(doc).encode()
        return kind, ".yaml", yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()
    if kind == "deep_schema":
        return kind, ".json", deep_schema(doc, rng).encode()
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    if kind in TEXT_MUTATORS:
        return kind, ".yaml", TEXT_MUTATORS[kind](text, rng).encode()
    return kind, ".yaml", invalid_utf8(text.encode(), rng)


# -- the worker: compiles one case per input line, in its own process ---------------------------


def _compiler() -> Callable[[Path, Path], tuple[Any, ...]]:
    """Compile and write the manifest folder: emission and rendering run on every mutant that builds."""
    from virtualize.compiler import compile_spec  # noqa: PLC0415 (the worker imports after its limits are set)
    from virtualize.config import BuildOptions  # noqa: PLC0415

    def compile_one(path: Path, output: Path) -> tuple[Any, ...]:
        result = compile_spec(path, BuildOptions(output=output))
        result.write(output)
        return result.warnings

    return compile_one


def _located(diagnostic: Any, path: Path, kind: str) -> bool:
    if not diagnostic.file:
        return False
    if diagnostic.line is not None or diagnostic.pointer.startswith("/"):
        return True
    # The whole document is a fair place for a document-level problem (cannot parse, alias bomb),
    # not for one damaged node.
    return kind not in STRUCTURAL and Path(diagnostic.file).resolve() == path.resolve()


def _judge(
    path: Path, kind: str, output: Path, compile_one: Callable[[Path, Path], tuple[Any, ...]]
) -> tuple[str, str]:
    from virtualize.errors import SpecError  # noqa: PLC0415

    captured = io.StringIO()
    logged: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info:
                logged.append(record)

    handler = _Keep()
    logging.getLogger().addHandler(handler)
    try:
        with contextlib.redirect_stderr(captured), contextlib.redirect_stdout(captured):
            warnings = compile_one(path, output)
    except SpecError as error:
        bad = [d for d in error.diagnostics if d.severity == "error" and not _located(d, path, kind)]
        if bad:
            return "unlocated", bad[0].render()[:300]
        if not error.diagnostics:
            return "unlocated", "SpecError without diagnostics"
        verdict, detail = "diagnosed", error.diagnostics[0].message[:120]
    except Exception as exc:  # a fuzzer's whole point is to catch what escapes
        return "crash", f"{type(exc).__name__}: {str(exc)[:300]}"
    else:
        # A warning may be about the whole document ("describes no operations"): a file is enough.
        bad = [d for d in warnings if not d.file]
        if bad:
            return "unlocated", "warning: " + bad[0].render()[:300]
        verdict, detail = ("warned", warnings[0].message[:120]) if warnings else ("ok", "")
    finally:
        logging.getLogger().removeHandler(handler)
    if "Traceback (most recent call last)" in captured.getvalue() or logged:
        return "traceback", (captured.getvalue() or logged[0].getMessage())[-300:]
    return verdict, detail


def worker(output: Path) -> None:
    """Read one case path per line on stdin, answer one JSON verdict per line on stdout."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    compile_one = _compiler()
    for line in sys.stdin:
        request = json.loads(line)
        verdict, detail = _judge(Path(request["path"]), request["kind"], output, compile_one)
        rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        sys.stdout.write(json.dumps({"verdict": verdict, "detail": detail, "peak_rss_mib": rss_mib}) + "\n")
        sys.stdout.flush()


# -- the parent: makes cases, runs the worker under limits, judges hangs and deaths ----------------


class Worker:
    """One worker subprocess under RLIMIT_AS, restarted after a hang or death."""

    def __init__(self, output: Path, memory_limit: int) -> None:
        self._output = output
        self._memory_limit = memory_limit
        self._process: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        limit = self._memory_limit

        def cap() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        return subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker", str(self._output)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=cap,  # noqa: PLW1509 -- the fuzzer's parent runs no threads
            cwd=REPO,
        )

    def run(self, path: Path, kind: str, timeout: float) -> dict[str, Any]:
        if self._process is None or self._process.poll() is not None:
            self._process = self._start()
        process = self._process
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(json.dumps({"path": str(path), "kind": kind}) + "\n")
            process.stdin.flush()
        except BrokenPipeError:
            self.stop()
            return {"verdict": "died", "detail": "worker gone before the case"}
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout)
        if not ready:
            self.stop()
            return {"verdict": "hang", "detail": f"no verdict within {timeout:.0f} s"}
        line = process.stdout.readline()
        if not line:
            code = process.wait()
            self._process = None
            return {"verdict": "died", "detail": f"worker exit status {code}"}
        result: dict[str, Any] = json.loads(line)
        return result

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


def _trap() -> socket.socket:
    """A listening socket standing in for a remote host: any connection means a $ref was fetched."""
    trap = socket.socket()
    trap.bind(("127.0.0.1", 0))
    trap.listen(16)
    trap.setblocking(False)
    return trap


def _fetched(trap: socket.socket) -> bool:
    try:
        connection, _ = trap.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def fuzz(cases: int, seed: int, *, timeout: float = CASE_TIMEOUT, memory_limit: int = MEMORY_LIMIT) -> int:
    rng = random.Random(seed)
    seeds = []
    for name in SEEDS:
        raw = (CORPUS / name).read_text(encoding="utf-8")
        seeds.append((json.loads(raw) if name.endswith(".json") else yaml.safe_load(raw), name.endswith(".json")))
    outcomes: Counter[tuple[str, str]] = Counter()
    bugs = 0
    slowest = 0.0
    peak = 0
    trap = _trap()
    host, port = trap.getsockname()
    started_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        runner = Worker(Path(tmp) / "out", memory_limit)
        try:
            for index in range(cases):
                doc, is_json = seeds[index % len(seeds)]
                kind, suffix, data = make_case(doc, is_json, rng, f"http://{host}:{port}")
                path = Path(tmp) / f"case{index}{suffix}"
                path.write_bytes(data)
                started = time.perf_counter()
                result = runner.run(path, kind, timeout)
                slowest = max(slowest, time.perf_counter() - started)
                peak = max(peak, int(result.get("peak_rss_mib", 0)))
                verdict = result["verdict"]
                if _fetched(trap):
                    verdict, result["detail"] = "fetched", "a remote $ref was fetched without allow_remote_refs"
                outcomes[(kind, verdict)] += 1
                if verdict in BUGS:
                    bugs += 1
                    bug = {"case": index, "seed": seed, "seed_doc": SEEDS[index % len(SEEDS)], "kind": kind}
                    print(json.dumps({**bug, "verdict": verdict, "detail": result.get("detail", "")}), flush=True)
                path.unlink()
        finally:
            runner.stop()
            trap.close()
    for (kind, verdict), count in sorted(outcomes.items()):
        print(f"{kind:14} {verdict:10} {count}")
    elapsed = time.perf_counter() - started_all
    print(
        f"cases={cases} bugs={bugs} seconds={elapsed:.1f} slowest_case_s={slowest:.2f} "
        f"worker_peak_rss_mib={peak} memory_limit_mib={memory_limit // 1024**2}"
    )
    return 1 if bugs else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=CASE_TIMEOUT, help="seconds per case before it is a hang")
    parser.add_argument("--memory-mib", type=int, default=MEMORY_LIMIT // 1024**2, help="worker address space cap")
    parser.add_argument("--max-nesting", type=int, default=max(NESTING_DEPTHS), help="deepest YAML nesting to try")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    NESTING_DEPTHS[:] = [depth for depth in NESTING_DEPTHS if depth <= args.max_nesting]
    if args.worker is not None:
        worker(args.worker)
        return 0
    return fuzz(args.cases, args.seed, timeout=args.timeout, memory_limit=args.memory_mib * 1024**2)


if __name__ == "__main__":
    raise SystemExit(main())
