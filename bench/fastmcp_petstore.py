"""FastMCP's OpenAPI server on a spec, for bench/serve.py's comparison. Runs in .venv-bench (pip install fastmcp).

.venv-bench/bin/python bench/fastmcp_petstore.py SPEC UPSTREAM_URL PORT API_KEY
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx2
import yaml
from fastmcp import FastMCP


def main() -> None:
    spec_path, upstream, port, key = sys.argv[1:5]
    spec = yaml.safe_load(Path(spec_path).read_text(encoding="utf-8"))
    client = httpx2.AsyncClient(base_url=upstream, headers={"X-API-Key": key}, timeout=30.0)
    server = FastMCP.from_openapi(spec, client=client, name="petstore")
    server.run(
        transport="http",
        host="127.0.0.1",
        port=int(port),
        json_response=True,
        stateless_http=True,
        show_banner=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
