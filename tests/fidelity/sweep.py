"""The fidelity sweep: does every request virtualize builds from schema-valid arguments pass Prism?

For one OpenAPI document: compile it, start Prism (``--errors``) on the same document behind a
recording proxy, serve the manifest with ``virtualize serve --stdio`` pointed at the proxy, and
call every tool through the official ``mcp`` client with arguments drawn from its ``inputSchema``
by hypothesis-jsonschema (the required-only minimum, every top-level argument at once, and random
draws, which take the optional and null-able branches). Each call is classed:

    accepted   the request reached Prism and Prism found no request violation
    rejected   Prism named violations (or could not route the request): Prism's reason is kept
    refused    virtualize answered an error without sending anything (schema-valid arguments!)
    failed     the client raised (an output-schema mismatch, a protocol error)

``bench/fidelity.py`` runs this over the whole corpus and prints the table; tests/fidelity runs a
fast subset in CI. Credentials are dummy values placed in every variable the auth map names:
Prism checks that a credential is present, not its value.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import dataclasses
import json
import math
import multiprocessing
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any, Self

import anyio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from hypothesis_jsonschema import from_schema
from jsonschema import ValidationError

from tests.support.mcp_client import stdio_client
from tests.support.prism import TOKEN_PATH, Exchange, judged

REF_DEPTH = 2  # a recursive schema is unrolled this many times, then the recursion is cut
INLINE_BUDGET = 2_000  # schema nodes after inlining: hypothesis-jsonschema draws from that many in seconds
CALL_TIMEOUT = 60.0
# hypothesis-jsonschema can take many minutes to canonicalise a huge schema (OpenSearch's query DSL)
GENERATION_TIMEOUT = 120.0
# Formats OpenAPI adds to JSON Schema's: any string / number will do for them.
CUSTOM_FORMATS = {
    name: st.text(alphabet=st.characters(codec="ascii", categories=("L", "N")), max_size=12)
    for name in ("binary", "password", "int32", "int64", "float", "double", "decimal")
} | {
    "uuid": st.uuids().map(str),
    "url": st.just("https://example.com/fidelity"),
    "byte": st.binary(max_size=12).map(lambda data: base64.b64encode(data).decode("ascii")),
}


@dataclass
class Call:
    tool: str
    arguments: dict[str, Any]
    verdict: str  # accepted | rejected | refused | failed
    reason: str = ""
    exchanges: tuple[Exchange, ...] = ()


@dataclass
class SpecReport:
    spec: str
    operations: int = 0
    ungenerated: list[tuple[str, str]] = field(default_factory=list)  # (tool, why no arguments could be drawn)
    calls: list[Call] = field(default_factory=list)
    compile_error: str = ""
    seconds: float = 0.0

    def count(self, verdict: str) -> int:
        return sum(1 for call in self.calls if call.verdict == verdict)

    def reasons(self, verdict: str) -> Counter[str]:
        return Counter(f"{call.tool}: {call.reason}" for call in self.calls if call.verdict == verdict)


# -- argument generation -------------------------------------------------------------------------


class _TooBig(Exception):
    pass


def inline_refs(
    schema: dict[str, Any], depth: int = REF_DEPTH, nesting: int | None = None, budget: float = math.inf
) -> dict[str, Any]:
    """The schema with local ``#/$defs/...`` refs inlined; recursion unrolled ``depth`` times, then cut.

    hypothesis-jsonschema refuses recursive references; a cut branch becomes ``false`` (never
    generated), which is satisfiable wherever the recursion was optional, as real APIs make it.
    Below ``nesting`` inlined refs, optional properties that hold refs are cut the same way.
    Annotations (descriptions, titles, examples) are dropped: nothing is drawn from them.

    Raises ``_TooBig`` past ``budget`` schema nodes: inlining turns shared definitions into
    copies, and Xero's createPayment grows to 88 MB, which hypothesis-jsonschema re-encodes as
    JSON at every level of its canonicalisation (hours).
    """
    defs: dict[str, Any] = schema.get("$defs", {})
    nodes = 0

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        nonlocal nodes
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        nodes += 1
        if nodes > budget:
            raise _TooBig
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if seen.count(name) >= depth or name not in defs:
                return False
            target = walk(defs[name], (*seen, name))
            siblings = walk({k: v for k, v in node.items() if k != "$ref"}, seen)
            return {"allOf": [target, siblings]} if siblings else target
        walked = {
            k: v if k in _DATA else walk(v, seen)
            for k, v in node.items()
            if k not in ("$defs", "properties") and not _annotation(k, v)
        }
        properties = node.get("properties")
        if isinstance(properties, dict):
            cut = nesting is not None and len(seen) >= nesting
            required = set(node.get("required", ()))
            walked["properties"] = {
                name: False if cut and name not in required and _holds_ref(value) else walk(value, seen)
                for name, value in properties.items()
            }
        return walked

    result: dict[str, Any] = walk(schema, ())
    return result


def bounded_inline(schema: dict[str, Any]) -> dict[str, Any]:
    """``inline_refs`` with the deepest ``nesting`` that stays within ``INLINE_BUDGET``."""
    for nesting in (None, 4, 3, 2, 1):
        with contextlib.suppress(_TooBig):
            return inline_refs(schema, nesting=nesting, budget=INLINE_BUDGET)
    return inline_refs(schema, nesting=0)  # only what is required, whatever its size


_DATA = frozenset({"const", "enum", "default", "example", "required", "dependentRequired"})  # values, not schemas


def _annotation(key: str, value: Any) -> bool:
    # A property *named* "description" maps to a schema (a dict), never to a string.
    return (key in ("description", "title") and isinstance(value, str)) or (
        key == "examples" and isinstance(value, list)
    )


def _holds_ref(node: Any) -> bool:
    if isinstance(node, dict):
        return "$ref" in node or any(_holds_ref(value) for value in node.values())
    if isinstance(node, list):
        return any(_holds_ref(item) for item in node)
    return False


def _draw(schema: dict[str, Any], count: int) -> list[dict[str, Any]]:
    drawn: list[dict[str, Any]] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(from_schema(schema, custom_formats=CUSTOM_FORMATS))
    def collect(value: dict[str, Any]) -> None:
        drawn.append(value)

    collect()
    return drawn


JS_SAFE = 2**53 - 1  # Prism is JavaScript: it cannot judge an integer beyond this, so none is drawn


def drawable(node: Any) -> Any:
    """The schema as the judge can judge it and hypothesis-jsonschema can draw it.

    - ``contentEncoding: base64`` strings are drawn as base64: hypothesis-jsonschema ignores the
      keyword (an annotation in 2020-12), but the runtime rightly refuses text it cannot decode;
    - integers stay within JavaScript's safe range, the most Prism can represent (int64 bounds
      are wider, and Prism would "reject" a correct request for its own rounding).
    """
    if isinstance(node, list):
        return [drawable(item) for item in node]
    if not isinstance(node, dict):
        return node
    walked = {key: drawable(value) for key, value in node.items()}
    if walked.get("contentEncoding") == "base64" and "format" not in walked:
        walked["format"] = "byte"
    kind = walked.get("type")
    if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
        minimum, maximum = walked.get("minimum"), walked.get("maximum")
        walked["minimum"] = max(minimum, -JS_SAFE) if isinstance(minimum, int | float) else -JS_SAFE
        walked["maximum"] = min(maximum, JS_SAFE) if isinstance(maximum, int | float) else JS_SAFE
    return walked


class Drawer:
    """``generate_arguments`` in a worker process that is killed and replaced when a draw runs past
    ``GENERATION_TIMEOUT`` (a thread could only be abandoned, and would keep the GIL busy)."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._pool: Pool | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()

    def draw(self, schema: dict[str, Any], random_draws: int) -> list[dict[str, Any]] | None:
        """The argument sets, or ``None`` when drawing took too long."""
        if self._pool is None:
            self._pool = self._context.Pool(1)
        pending = self._pool.apply_async(generate_arguments, (schema, random_draws))
        try:
            drawn: list[dict[str, Any]] = pending.get(GENERATION_TIMEOUT)
        except multiprocessing.TimeoutError:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
            return None
        return drawn


def generate_arguments(input_schema: dict[str, Any], random_draws: int) -> list[dict[str, Any]]:
    """Schema-valid argument sets: the minimum, all top-level arguments at once, then random draws."""
    schema = bounded_inline(input_schema)
    schema.setdefault("additionalProperties", False)  # an argument the tool does not declare goes nowhere
    if "dependentRequired" in schema:  # hypothesis-jsonschema knows only its draft-7 spelling
        schema["dependencies"] = schema.pop("dependentRequired")
    schema = drawable(schema)
    everything = copy.deepcopy(schema)
    if isinstance(everything.get("properties"), dict):
        everything["required"] = sorted(everything["properties"])
    found: list[dict[str, Any]] = []
    for variant, count in ((schema, 1), (everything, 1), (schema, random_draws)):
        with contextlib.suppress(HypothesisException):  # "all arguments at once" may be unsatisfiable
            found.extend(_draw(variant, count))
    unique: list[dict[str, Any]] = []
    for arguments in found:
        if arguments not in unique:
            unique.append(arguments)
    return unique


# -- one spec ------------------------------------------------------------------------------------


def credential_environment(auth: dict[str, Any]) -> dict[str, str]:
    """A dummy value for every variable the auth map reads (Prism checks presence, not value)."""
    return {
        variable: f"fidelity-{role}-value"
        for scheme in auth.get("schemes", {}).values()
        for role, variable in scheme.get("sources", {}).items()
    }


def _local_token_endpoints(folder: Path, auth: dict[str, Any], proxy_url: str) -> None:
    """Point OAuth2 client-credentials token URLs (on the internet) at the proxy's token endpoint."""
    changed = False
    for scheme in auth.get("schemes", {}).values():
        if scheme.get("token_url"):
            scheme["token_url"] = proxy_url + TOKEN_PATH
            changed = True
    if changed:
        (folder / "auth.json").write_text(json.dumps(auth, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def error_envelope(result: Any) -> dict[str, Any]:
    """The normalized error of a failed call (in ``_meta`` when the tool's outputSchema describes successes)."""
    structured = result.structured_content if isinstance(result.structured_content, dict) else {}
    error = structured.get("error") or (result.meta or {}).get("dev.virtualize/error") or {}
    return error if isinstance(error, dict) else {}


def _classify(tool: str, arguments: dict[str, Any], result: Any, exchanges: list[Exchange]) -> Call:
    unjudged = [exchange for exchange in exchanges if exchange.judge_error]
    if unjudged:
        return Call(tool, arguments, "failed", unjudged[0].reason(), tuple(exchanges))
    if exchanges:
        rejected = [exchange for exchange in exchanges if not exchange.accepted]
        if rejected:
            return Call(tool, arguments, "rejected", rejected[0].reason(), tuple(exchanges))
        return Call(tool, arguments, "accepted", "", tuple(exchanges))
    if result.is_error:
        error = error_envelope(result)
        reason = f"{error.get('category', '?')}: {error.get('message', '')}"
        if error.get("category") != "invalid_arguments":  # it was sent, but no verdict came back
            return Call(tool, arguments, "failed", f"not judged: the gateway answered {reason}"[:300])
        return Call(tool, arguments, "refused", reason[:300])
    return Call(tool, arguments, "refused", "a success result without any upstream request")


async def sweep_spec(
    spec: Path, workdir: Path, *, random_draws: int = 2, tools: set[str] | None = None, judge: str = "prism"
) -> SpecReport:
    """Compile ``spec`` into ``workdir``, then judge every call of every (selected) tool."""
    from virtualize.compiler import compile_spec  # noqa: PLC0415 (bench and tests import this module early)
    from virtualize.config import BuildOptions  # noqa: PLC0415
    from virtualize.errors import VirtualizeError  # noqa: PLC0415

    started = time.perf_counter()
    report = SpecReport(spec=str(spec))
    try:
        result = compile_spec(spec, BuildOptions(output=workdir))
    except VirtualizeError as error:
        report.compile_error = error.render().splitlines()[0]
        return report
    if not result.manifest.tools:  # webhooks only: nothing to call, and Prism refuses to start
        report.seconds = time.perf_counter() - started
        return report
    folder = result.write(workdir)
    auth = json.loads((folder / "auth.json").read_text(encoding="utf-8"))
    with judged(spec, judge) as (url, proxy), Drawer() as drawer:
        _local_token_endpoints(folder, auth, url)
        async with stdio_client([folder], upstreams={result.name: url}, env=credential_environment(auth)) as client:
            listed = await _all_tools(client)
            for tool in listed:
                if tools is not None and tool.name not in tools:
                    continue
                report.operations += 1
                try:
                    argument_sets = await anyio.to_thread.run_sync(drawer.draw, tool.input_schema, random_draws)
                except Exception as error:  # hypothesis-jsonschema's own limits (an unsupported keyword)
                    report.ungenerated.append((tool.name, f"{type(error).__name__}: {str(error)[:200]}"))
                    continue
                if argument_sets is None:
                    report.ungenerated.append((tool.name, f"drawing arguments took over {GENERATION_TIMEOUT:.0f} s"))
                    continue
                if not argument_sets:
                    report.ungenerated.append((tool.name, "no satisfiable arguments"))
                for arguments in argument_sets:
                    proxy.take()
                    try:
                        with anyio.fail_after(CALL_TIMEOUT):
                            called = await client.call_tool(tool.name, arguments)
                    except Exception as error:  # the official client refused the result: a finding
                        reason = _failure_reason(error)
                        report.calls.append(Call(tool.name, arguments, "failed", reason, tuple(proxy.take())))
                        if proxy.judge is not None:
                            proxy.judge.revive()
                        continue
                    call = _classify(tool.name, arguments, called, proxy.take())
                    if call.verdict == "failed" and proxy.judge is not None and proxy.judge.revive():
                        call = dataclasses.replace(call, reason="Prism crashed on this request: " + call.reason)
                    report.calls.append(call)
    report.seconds = time.perf_counter() - started
    return report


def _failure_reason(error: Exception) -> str:
    """Why the client refused: for an outputSchema mismatch, where and what (not the whole value)."""
    cause = error.__cause__
    if isinstance(cause, ValidationError):
        return f"result breaks outputSchema at {cause.json_path}: {cause.message[:200]} (schema: {cause.validator})"
    return f"{type(error).__name__}: {str(error)[:300]}"


async def _all_tools(client: Any) -> list[Any]:
    tools: list[Any] = []
    cursor = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


# -- the table -----------------------------------------------------------------------------------


def corpus_documents(root: Path) -> Iterator[Path]:
    """Every OpenAPI entry document under ``root`` (multi-file trees by their entry points)."""
    for path in sorted(root.rglob("*")):
        if path.suffix not in {".yaml", ".yml", ".json"} or not path.is_file():
            continue
        relative = path.relative_to(root).as_posix()
        if (
            relative.startswith("multi-file/digitalocean/")
            and relative != "multi-file/digitalocean/DigitalOcean-public.v2.yaml"
        ):
            continue
        if relative.startswith("multi-file/opensearch/") and not relative.startswith(
            "multi-file/opensearch/namespaces/"
        ):
            continue
        if "/petstore-separate/" in relative and not relative.endswith(("spec/swagger.yaml", "spec/swagger.json")):
            continue
        yield path


def render_table(reports: list[SpecReport], root: Path) -> str:
    lines = [
        "| spec | operations | calls | accepted | rejected | refused | failed | no arguments | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    totals = Counter[str]()
    for report in reports:
        name = Path(report.spec).relative_to(root).as_posix() if Path(report.spec).is_relative_to(root) else report.spec
        if report.compile_error:
            problem = report.compile_error.splitlines()[0][:160].replace("|", "/")
            lines.append(f"| {name} | not run: {problem} | | | | | | | |")
            totals["compile_errors"] += 1
            continue
        row = {
            "operations": report.operations,
            "calls": len(report.calls),
            "accepted": report.count("accepted"),
            "rejected": report.count("rejected"),
            "refused": report.count("refused"),
            "failed": report.count("failed"),
            "ungenerated": len(report.ungenerated),
        }
        totals.update(row)
        lines.append(
            f"| {name} | {row['operations']} | {row['calls']} | {row['accepted']} | {row['rejected']} | "
            f"{row['refused']} | {row['failed']} | {row['ungenerated']} | {report.seconds:.0f} |"
        )
    lines.append(
        f"| **total** ({len(reports)} specs, {totals['compile_errors']} not compiled) | {totals['operations']} | "
        f"{totals['calls']} | {totals['accepted']} | {totals['rejected']} | {totals['refused']} | "
        f"{totals['failed']} | {totals['ungenerated']} | |"
    )
    details = []
    for report in reports:
        problems = [(v, r, n) for v in ("rejected", "refused", "failed") for r, n in report.reasons(v).items()]
        if not problems and not report.ungenerated:
            continue
        details.append(f"\n### {report.spec}\n")
        details.extend(f"- {verdict} ×{count}: {reason[:400]}" for verdict, reason, count in problems)
        details.extend(f"- no arguments: {tool}: {why}" for tool, why in report.ungenerated)
    return "\n".join(lines) + ("\n\n## Reasons\n" + "\n".join(details) if details else "") + "\n"
