"""The demo: ``python -m virtualize.demo`` (``./run demo``) and its petstore upstream."""
