"""Root fields and user documents → operations: queries by default, mutations when enabled,
subscriptions left out with a note, named document operations taking precedence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from virtualize.adapters import AdapterOptions
from virtualize.adapters.graphql import load
from virtualize.diagnostics import Diagnostics, Severity
from virtualize.ir import Api, GraphQLCall, Location, Semantics

SDL = """
type Book { id: ID! title: String! }
type Query { book(id: ID!): Book books: [Book!]! }
type Mutation { addBook(title: String!): Book! deleteBook(id: ID!): Boolean! }
type Subscription { bookAdded: Book! }
"""


def compile_ir(tmp_path: Path, sdl: str = SDL, **options: Any) -> tuple[Api | None, Diagnostics]:
    path = tmp_path / "schema.graphql"
    path.write_text(sdl, encoding="utf-8")
    diagnostics = Diagnostics()
    api = load(path, AdapterOptions(endpoint="http://127.0.0.1/graphql", **options), diagnostics)
    return api, diagnostics


def keys(api: Api | None) -> list[str]:
    assert api is not None
    return [op.key for op in api.operations]


def test_every_query_field_is_a_read_only_tool_and_mutations_are_off_by_default(tmp_path: Path) -> None:
    api, _ = compile_ir(tmp_path)

    assert keys(api) == ["Query.book", "Query.books"]
    assert api is not None
    book = api.operations[0]
    assert book.semantics == Semantics(read_only=True, idempotent=True)
    assert book.arguments[0].location is Location.VARIABLE
    assert book.call == GraphQLCall(
        endpoint="http://127.0.0.1/graphql",
        document="query book($id: ID!) {\n  book(id: $id) {\n    id\n    title\n  }\n}",
        operation_name="book",
        operation_type="query",
    )


def test_mutations_can_be_enabled_all_at_once_or_by_name_and_are_destructive(tmp_path: Path) -> None:
    every, _ = compile_ir(tmp_path, mutations=True)
    some, diagnostics = compile_ir(tmp_path, mutations=("deleteBook", "nope"))

    assert keys(every) == ["Query.book", "Query.books", "Mutation.addBook", "Mutation.deleteBook"]
    assert keys(some) == ["Query.book", "Query.books", "Mutation.deleteBook"]
    assert some is not None
    assert some.operations[-1].semantics == Semantics(read_only=False, destructive=True, idempotent=False)
    assert next(d.message for d in diagnostics.warnings) == "--mutation 'nope' names no field of Mutation"


def test_subscriptions_are_left_out_with_a_warning_at_their_line(tmp_path: Path) -> None:
    _, diagnostics = compile_ir(tmp_path)

    [note] = diagnostics.items
    assert (note.severity, note.line) == (Severity.WARNING, 5)
    assert note.message == "1 subscription field(s) left out: bookAdded"


def test_named_operations_of_documents_become_tools_and_replace_the_generated_ones(tmp_path: Path) -> None:
    document = tmp_path / "ops.graphql"
    document.write_text(
        """
# A book and its title only.
query book($id: ID!) { book(id: $id) { title } }

fragment Bits on Book { id }
query Shelf($id: ID = "10") { book(id: $id) { ...Bits } books { ...Bits name: title } }

mutation Remove($id: ID!) { deleteBook(id: $id) }
""",
        encoding="utf-8",
    )

    api, diagnostics = compile_ir(tmp_path, documents=(document,))

    assert keys(api) == ["operation book", "operation Shelf", "operation Remove", "Query.books"]
    assert api is not None
    book, shelf, remove, _ = api.operations
    assert book.description == "A book and its title only."
    assert isinstance(shelf.call, GraphQLCall)
    assert "fragment Bits on Book" in shelf.call.document
    assert shelf.arguments[0].schema_["default"] == "10"
    assert shelf.arguments[0].required is False
    assert shelf.result is not None
    assert shelf.result["properties"]["books"]["items"]["properties"] == {
        "id": {"type": "string"},
        "name": {"type": "string"},
    }
    assert remove.semantics.destructive is True  # documents enable their own mutations
    assert [d.message for d in diagnostics.warnings] == ["1 subscription field(s) left out: bookAdded"]


def test_document_operations_that_do_not_validate_are_errors_at_their_line(tmp_path: Path) -> None:
    document = tmp_path / "ops.graphql"
    document.write_text(
        "query Fine { books { id } }\n\nquery Broken { books { isbn } }\n{ books { id } }\n", encoding="utf-8"
    )

    api, diagnostics = compile_ir(tmp_path, documents=(document,))

    assert api is not None
    assert [(d.file, d.line, d.message) for d in diagnostics.errors] == [
        (str(document), 3, "Broken: Cannot query field 'isbn' on type 'Book'."),
        (str(document), 4, "an anonymous operation cannot become a tool"),
    ]


def test_a_schema_without_an_endpoint_or_with_bad_syntax_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "schema.graphql"
    path.write_text("type Query { a: Int }\n", encoding="utf-8")
    missing = Diagnostics()
    assert load(path, AdapterOptions(), missing) is None
    assert missing.errors[0].message == "no GraphQL endpoint: a schema does not say where it is served"

    broken, diagnostics = compile_ir(tmp_path, "type Query {\n  a: Int\n  b(: Int\n}\n")
    assert broken is None
    assert [(d.line, d.message) for d in diagnostics.errors] == [(3, "Syntax Error: Expected Name, found ':'.")]


def test_an_introspection_result_without_a_schema_names_the_pointer(tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text('{"data": {"other": 1}}', encoding="utf-8")
    diagnostics = Diagnostics()

    assert load(path, AdapterOptions(endpoint="http://127.0.0.1/graphql"), diagnostics) is None
    [error] = diagnostics.errors
    assert (error.pointer, error.message) == ("/data", "not an introspection result: no __schema object")


def test_auth_declarations_become_security_schemes_every_operation_requires(tmp_path: Path) -> None:
    api, diagnostics = compile_ir(tmp_path, auth=("bearer", "header:X-Api-Key", "nonsense"))

    assert api is not None
    assert sorted(api.security_schemes) == ["api_key_x_api_key", "bearer"]
    assert {use.scheme for use in api.operations[0].security[0]} == {"bearer", "api_key_x_api_key"}
    assert diagnostics.errors[0].message == "unknown auth declaration 'nonsense'"


def test_directives_the_sdl_uses_without_declaring_are_noted_once_and_ignored(tmp_path: Path) -> None:
    sdl = (
        'type Product @key(fields: "id") { id: ID! name: String @external }\n'
        "type Query { product(id: ID!): Product @key }\n"
    )

    api, diagnostics = compile_ir(tmp_path, sdl)

    assert keys(api) == ["Query.product"]
    assert [(d.severity, d.line, d.message) for d in diagnostics.items] == [
        (Severity.WARNING, 1, "directive @key is used but not declared; ignored"),
        (Severity.WARNING, 1, "directive @external is used but not declared; ignored"),
    ]


def test_an_undescribed_field_or_operation_still_says_what_it_is(tmp_path: Path) -> None:
    document = tmp_path / "ops.graphql"
    document.write_text("query Titles { books { title } }\n", encoding="utf-8")

    api, _ = compile_ir(tmp_path, documents=(document,))

    assert api is not None
    assert [op.description for op in api.operations] == [
        "The query Titles of ops.graphql.",
        "The book field of Query; returns Book.",  # Query.books: replaced by Titles, which selects it
    ]
