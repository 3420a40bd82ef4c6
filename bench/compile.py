"""Compile benchmark: virtualize against FastMCP's OpenAPI server build, on the same file, in one run.

    .venv/bin/python bench/compile.py                 # the largest OpenAPI document of the corpus
    .venv/bin/python bench/compile.py --spec FILE --runs 5

Each measurement runs in a fresh process, so both sides pay the same cold costs (imports aside:
they are timed separately and left out) and peak memory (``ru_maxrss``) is the build's own:
- virtualize: ``compile_spec(path)`` (read, parse, compile into the in-memory manifest: what
  FastMCP's build does too, and the figure the ratio uses), then ``result.files()`` (the bytes of
  every file of the manifest folder), timed apart;
- FastMCP: read and parse the same file, then ``FastMCP.from_openapi(spec, client)``.

FastMCP runs from ``.venv-bench/`` (``bench/fastmcp_env.py``: created and filled on first use,
never the project's venv). Results go to ``bench/results/compile.json``.
Aim (issue 2): the largest corpus spec compiles in under 2 s and at least 3x faster than FastMCP.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from fastmcp_env import bench_python

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
RESULTS = REPO / "bench" / "results" / "compile.json"

VIRTUALIZE = """
import json, resource, sys, time
from pathlib import Path
from virtualize.compiler import compile_spec
path = Path(sys.argv[1])
start = time.perf_counter()
result = compile_spec(path, project=Path.cwd())
compiled = time.perf_counter()
size = sum(len(text) for text in result.files().values())
rendered = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": compiled - start, "render_seconds": rendered - compiled, "peak_mb": peak,
                  "tools": len(result.manifest.tools), "bytes": size}))
"""

FASTMCP = """
import json, resource, sys, time
import yaml
from fastmcp import FastMCP
try:  # fastmcp 4 speaks httpx2, earlier versions httpx
    import httpx2 as httpx
except ImportError:
    import httpx
path = sys.argv[1]
start = time.perf_counter()
with open(path, encoding="utf-8") as handle:
    text = handle.read()
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
spec = json.loads(text) if path.endswith(".json") else yaml.load(text, Loader=loader)
server = FastMCP.from_openapi(openapi_spec=spec, client=httpx.AsyncClient(base_url="http://127.0.0.1:9"))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak}))
"""


def largest_document() -> tuple[Path, int]:
    """The corpus's largest OpenAPI document by size, and its operation count."""
    entries = json.loads((CORPUS / "counts.json").read_text(encoding="utf-8"))
    largest = max((e for e in entries if e["kind"] == "openapi"), key=lambda e: e["size"])
    return CORPUS / largest["file"], int(largest["operations"])


def measure(python: Path | str, script: str, spec: Path, runs: int) -> dict[str, float]:
    """Median time and peak memory over ``runs`` fresh processes."""
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [str(python), "-c", script, str(spec)], capture_output=True, text=True, check=True, cwd=REPO, timeout=900
        )
        samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    timed = {key: statistics.median(s[key] for s in samples) for key in samples[0] if key.endswith("seconds")}
    return {**samples[-1], **timed, "peak_mb": max(s["peak_mb"] for s in samples)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, help="an OpenAPI document (default: the corpus's largest)")
    parser.add_argument("--operations", type=int, help="its operation count (default: from corpus/counts.json)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-fastmcp", action="store_true")
    args = parser.parse_args()
    spec, operations = largest_document()
    if args.spec is not None:
        spec, operations = args.spec.resolve(), args.operations or 0
    ours = measure(sys.executable, VIRTUALIZE, spec, args.runs)
    operations = operations or int(ours["tools"])
    report: dict[str, object] = {
        "spec": spec.relative_to(CORPUS.parent).as_posix() if spec.is_relative_to(CORPUS.parent) else str(spec),
        "operations": operations,
        "runs": args.runs,
        "virtualize": {**ours, "operations_per_second": operations / ours["seconds"]},
    }
    if not args.skip_fastmcp:
        theirs = measure(bench_python(), FASTMCP, spec, args.runs)
        report["fastmcp"] = {**theirs, "operations_per_second": operations / theirs["seconds"]}
        report["speedup_vs_fastmcp"] = theirs["seconds"] / ours["seconds"]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"{report['spec']}: {operations} operations, median of {args.runs} fresh processes")
    print(
        f"  virtualize  {ours['seconds']:.2f} s  {operations / ours['seconds']:,.0f} ops/s  "
        f"peak {ours['peak_mb']:.0f} MB  ({ours['tools']} tools; rendering the "
        f"{ours['bytes']:,} bytes of the folder takes {ours['render_seconds']:.2f} s more)"
    )
    if "fastmcp" in report:
        print(
            f"  FastMCP     {theirs['seconds']:.2f} s  {operations / theirs['seconds']:,.0f} ops/s  "
            f"peak {theirs['peak_mb']:.0f} MB"
        )
        print(f"  virtualize is {report['speedup_vs_fastmcp']:.1f}x faster than FastMCP.from_openapi")
    return 0


if __name__ == "__main__":
    sys.exit(main())
