"""A real GraphQL upstream for tests: graphql-core executing a schema with resolvers, behind a
small Starlette app served by uvicorn on 127.0.0.1, recording every request it receives.

The socket is bound (port 0) and listening before uvicorn starts, so a client can connect at once:
connections wait in the backlog until the server thread accepts them; no polling, no sleeps.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from graphql import GraphQLError, GraphQLSchema, build_schema, graphql_sync
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass(frozen=True)
class Received:
    """One request as the upstream saw it."""

    headers: Mapping[str, str]  # lower-case names
    params: Mapping[str, str]
    body: Any  # the parsed JSON body

    @property
    def variables(self) -> Any:
        return self.body.get("variables")


@dataclass
class Upstream:
    url: str
    received: list[Received] = field(default_factory=list)
    # Answer every request with this (status, JSON body) instead of executing it, when set.
    canned: tuple[int, Any] | None = None


def _app(schema: GraphQLSchema, root: Any, upstream: Upstream, require: Mapping[str, str]) -> Starlette:
    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return JSONResponse({"errors": [{"message": "the body is not JSON"}]}, status_code=400)
        upstream.received.append(Received(dict(request.headers), dict(request.query_params), body))
        if upstream.canned is not None:
            status, answer = upstream.canned
            return JSONResponse(answer, status_code=status)
        for name, value in require.items():
            if request.headers.get(name) != value:
                error = {"message": "not signed in", "extensions": {"code": "UNAUTHENTICATED"}}
                return JSONResponse({"errors": [error]}, status_code=200)
        result = graphql_sync(
            schema,
            body.get("query", ""),
            root_value=root,
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        answer = JSONResponse(result.formatted)
        answer.set_cookie("session", "set-by-upstream")  # never to come back: the gateway keeps no cookies
        return answer

    return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])


@contextmanager
def serve_graphql(
    schema: GraphQLSchema, root: Any, *, require_headers: Mapping[str, str] | None = None
) -> Iterator[Upstream]:
    """Run the upstream on a free port for the duration of the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    upstream = Upstream(url=f"http://127.0.0.1:{port}/graphql")
    config = uvicorn.Config(
        _app(schema, root, upstream, require_headers or {}), log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


# -- the library: the golden case's schema (every type kind), and its resolvers ------------

LIBRARY_SDL_PATH = Path(__file__).resolve().parents[1] / "golden" / "cases" / "graphql-every-kind" / "input.graphql"

AUTHORS: dict[str, dict[str, Any]] = {
    "1": {"id": "1", "name": "Ursula K. Le Guin", "born": "1929-10-21T00:00:00Z"},
    "2": {"id": "2", "name": "Stanisław Lem", "born": None},
}
BOOKS: dict[str, dict[str, Any]] = {
    "10": {
        "id": "10",
        "title": "The Dispossessed",
        "binding": "PAPERBACK",
        "price": "1299",
        "rating": 4.5,
        "pages": 387,
        "authorId": "1",
        "isbn": "978-0-06-051275-0",
    },
    "11": {
        "id": "11",
        "title": "Solaris",
        "binding": "HARDCOVER",
        "price": "1999",
        "rating": 4.2,
        "pages": 204,
        "authorId": "2",
        "isbn": "978-0-15-602760-1",
    },
    "12": {
        "id": "12",
        "title": "Unknown Author",
        "binding": None,
        "price": None,
        "rating": None,
        "pages": None,
        "authorId": "404",
        "isbn": "0",
    },
}


def _book(data: dict[str, Any]) -> dict[str, Any]:
    def author(info: Any) -> dict[str, Any]:
        found = AUTHORS.get(data["authorId"])
        if found is None:
            raise GraphQLError("author not found", extensions={"code": "NOT_FOUND"})
        return _author(found)

    return {**data, "author": author, "__typename": "Book"}


def _author(data: dict[str, Any]) -> dict[str, Any]:
    def books(info: Any, first: int) -> list[dict[str, Any]]:
        return [_book(b) for b in BOOKS.values() if b["authorId"] == data["id"]][:first]

    return {**data, "books": books, "__typename": "Author"}


def library_schema() -> GraphQLSchema:
    schema = build_schema(LIBRARY_SDL_PATH.read_text(encoding="utf-8"))
    for name in ("Node", "SearchResult"):
        abstract = schema.get_type(name)
        abstract.resolve_type = lambda value, info, type_: value["__typename"]  # type: ignore[union-attr]
    return schema


def library_root(store: dict[str, dict[str, Any]] | None = None) -> dict[str, Callable[..., Any]]:
    """Root resolvers; ``store`` (default: a copy of BOOKS) is what mutations change."""
    books = {k: dict(v) for k, v in BOOKS.items()} if store is None else store

    def book(info: Any, key: dict[str, Any]) -> dict[str, Any] | None:
        if "id" in key:
            found = books.get(key["id"])
        else:
            found = next((b for b in books.values() if b["isbn"] == key["isbn"]), None)
        return _book(found) if found else None

    def books_(info: Any, first: int, filter: dict[str, Any] | None = None, after: str | None = None) -> Any:
        kept = list(books.values())
        if filter and filter.get("title"):
            kept = [b for b in kept if filter["title"].lower() in b["title"].lower()]
        if filter and filter.get("bindings"):
            kept = [b for b in kept if b["binding"] in filter["bindings"]]
        page = kept[:first]
        return {
            "edges": [{"cursor": b["id"], "node": _book(b)} for b in page],
            "pageInfo": {"hasNextPage": len(kept) > first, "endCursor": page[-1]["id"] if page else None},
            "totalCount": len(kept),
        }

    def node(info: Any, id: str) -> Any:
        if id in books:
            return _book(books[id])
        if id in AUTHORS:
            return _author(AUTHORS[id])
        return None

    def search(info: Any, text: str, limit: int | None = None) -> list[Any]:
        found: list[Any] = [_book(b) for b in books.values() if text.lower() in b["title"].lower()]
        found += [_author(a) for a in AUTHORS.values() if text.lower() in a["name"].lower()]
        if "magazine" in text.lower():
            found.append({"__typename": "Magazine", "issue": 7, "title": "Locus"})
        return found[:limit] if limit is not None else found

    def authors(info: Any, ids: list[str] | None = None) -> list[Any]:
        return [_author(a) for i, a in AUTHORS.items() if ids is None or i in ids]

    def echo(info: Any, ids: list[str], note: str, **rest: Any) -> str:
        return json.dumps({"ids": ids, "note": note, **rest}, sort_keys=True)

    def add_book(info: Any, input: dict[str, Any]) -> dict[str, Any]:
        if input["authorId"] not in AUTHORS:
            raise GraphQLError("no such author", extensions={"code": "BAD_USER_INPUT", "field": "authorId"})
        new_id = str(100 + len(books))
        books[new_id] = {
            "id": new_id,
            "title": input["title"],
            "binding": input["binding"],
            "price": None,
            "rating": None,
            "pages": None,
            "authorId": input["authorId"],
            "isbn": "",
        }
        return _book(books[new_id])

    def delete_book(info: Any, id: str) -> bool:
        if id not in books:
            raise GraphQLError(f"book {id} not found", extensions={"code": "NOT_FOUND"})
        del books[id]
        return True

    return {
        "book": book,
        "books": books_,
        "node": node,
        "search": search,
        "authors": authors,
        "echo": echo,
        "now": lambda info: "2026-11-23T12:00:00Z",
        "addBook": add_book,
        "deleteBook": delete_book,
    }
