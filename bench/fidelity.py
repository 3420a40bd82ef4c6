"""Fidelity over the whole OpenAPI corpus, judged by Stoplight Prism (issue 4).

For every document under ../shared/corpus/openapi: compile, serve against Prism, call every tool
with schema-valid arguments through the official client, and count what Prism accepted. The
logic lives in tests/fidelity/sweep.py (the CI test runs a subset of it); this script runs it all
and writes the Markdown table to bench/results/fidelity.md (and prints it).

    python bench/fidelity.py                          # everything (an hour or so on 2 cores)
    python bench/fidelity.py --only 'petstore/*' --draws 4
    python bench/fidelity.py --only 'huge/stripe/*' --judge openapi-core   # where Prism cannot load the document
"""

from __future__ import annotations

import argparse
import fnmatch
import signal
import sys
import tempfile
from pathlib import Path

import anyio

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support / tests.fidelity, as pytest's pythonpath does

from tests.fidelity.sweep import SpecReport, corpus_documents, render_table, sweep_spec  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "openapi"
RESULTS = REPO / "bench" / "results"


JUDGES = {"prism": "Stoplight Prism", "openapi-core": "openapi-core"}


def write(reports: list[SpecReport], output: Path, judge: str) -> str:
    table = f"# Fidelity: requests judged by {JUDGES[judge]}\n\n" + render_table(reports, CORPUS)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(table, encoding="utf-8")
    return table


async def run(patterns: list[str], draws: int, output: Path, judge: str) -> list[SpecReport]:
    reports = []
    documents = [
        path
        for path in corpus_documents(CORPUS)
        if not patterns or any(fnmatch.fnmatch(path.relative_to(CORPUS).as_posix(), p) for p in patterns)
    ]
    for index, spec in enumerate(documents, 1):
        print(f"[{index}/{len(documents)}] {spec.relative_to(CORPUS)}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                report = await sweep_spec(spec, Path(tmp), random_draws=draws, judge=judge)
            except Exception as error:  # one broken run must not hide the rest of the table
                report = SpecReport(spec=str(spec), compile_error=f"sweep failed: {type(error).__name__}: {error}")
        reports.append(report)
        write(reports, output, judge)  # after every document, so that a long run's partial table survives
        print(
            f"    {report.operations} operations, {len(report.calls)} calls, {report.count('accepted')} accepted, "
            f"{report.count('rejected')} rejected, {report.count('refused')} refused, {report.count('failed')} failed"
            + (f" ({report.compile_error})" if report.compile_error else ""),
            file=sys.stderr,
            flush=True,
        )
    return reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", default=[], help="glob relative to the corpus (repeatable)")
    parser.add_argument("--draws", type=int, default=2, help="random argument sets per operation (plus 2 fixed)")
    parser.add_argument("--output", type=Path, default=RESULTS / "fidelity.md")
    parser.add_argument("--judge", choices=sorted(JUDGES), default="prism", help="openapi-core: OpenAPI 3.x only")
    args = parser.parse_args()
    # A terminated run still stops its Prism and gateway processes (their context managers run).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    reports = anyio.run(run, args.only, args.draws, args.output, args.judge)
    print(write(reports, args.output, args.judge))
    bad = sum(r.count("rejected") + r.count("refused") + r.count("failed") for r in reports)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
