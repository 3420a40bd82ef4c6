"""The run time: load manifests, route MCP calls to invokers, normalize every outcome.

``serve`` is the whole pipeline (``virtualize.runtime.serve``); the rest is reached through it.
"""

from virtualize.runtime.serve import serve
from virtualize.runtime.settings import ServeSettings

__all__ = ["ServeSettings", "serve"]
