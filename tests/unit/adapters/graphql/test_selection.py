"""Generated selection sets: depth, cycles, required arguments, Relay connections, abstract types;
every generated document validates against its schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphql import build_schema, parse, validate

from virtualize.adapters import AdapterOptions
from virtualize.adapters.graphql import load
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Api, GraphQLCall


def compile_ir(tmp_path: Path, sdl: str, **options: Any) -> tuple[Api, Diagnostics]:
    path = tmp_path / "schema.graphql"
    path.write_text(sdl, encoding="utf-8")
    diagnostics = Diagnostics()
    api = load(path, AdapterOptions(endpoint="http://127.0.0.1/graphql", **options), diagnostics)
    assert api is not None, [d.render() for d in diagnostics.items]
    for op in api.operations:
        assert isinstance(op.call, GraphQLCall)
        assert validate(build_schema(sdl), parse(op.call.document)) == []
    return api, diagnostics


def documents(api: Api) -> dict[str, str]:
    found = {}
    for op in api.operations:
        assert isinstance(op.call, GraphQLCall)
        found[op.key] = " ".join(op.call.document.split())
    return found


TREE = """
type Person { name: String! address: Address friends: [Person!]! }
type Address { city: String! country: Country! }
type Country { code: String! }
type Query { me: Person! }
"""


def test_nested_objects_are_entered_down_to_the_configured_depth(tmp_path: Path) -> None:
    shallow, _ = compile_ir(tmp_path, TREE, selection_depth=1)
    default, _ = compile_ir(tmp_path, TREE)
    deep, _ = compile_ir(tmp_path, TREE, selection_depth=3)

    assert documents(shallow)["Query.me"] == "query me { me { name } }"
    assert documents(default)["Query.me"] == "query me { me { name address { city } friends { name } } }"
    assert documents(deep)["Query.me"] == (
        "query me { me { name address { city country { code } } friends { name } } }"  # Person again: a cycle
    )


def test_a_type_met_again_on_the_way_down_contributes_only_its_scalars(tmp_path: Path) -> None:
    sdl = "type A { id: ID! b: B } type B { id: ID! a: A } type Query { a: A }"
    api, _ = compile_ir(tmp_path, sdl, selection_depth=5)

    assert documents(api)["Query.a"] == "query a { a { id b { id a { id } } } }"


def test_fields_that_need_a_required_argument_or_are_deprecated_are_left_out(tmp_path: Path) -> None:
    sdl = """
    type Book { title: String! excerpt(chars: Int!): String cover(size: Int = 1): String old: Int @deprecated }
    type Query { book: Book }
    """
    api, _ = compile_ir(tmp_path, sdl)

    assert documents(api)["Query.book"] == "query book { book { title cover } }"


def test_relay_connections_select_edges_node_and_page_info(tmp_path: Path) -> None:
    sdl = """
    type PageInfo { hasNextPage: Boolean! endCursor: String }
    type Ship { id: ID! name: String! pilot: Pilot }
    type Pilot { name: String! }
    type ShipEdge { cursor: String! node: Ship }
    type ShipConnection { edges: [ShipEdge] pageInfo: PageInfo! totalCount: Int }
    type Query { ships(first: Int, after: String): ShipConnection! }
    """
    api, _ = compile_ir(tmp_path, sdl)

    assert documents(api)["Query.ships"] == (
        "query ships($first: Int, $after: String) { ships(first: $first, after: $after) { totalCount "
        "edges { node { id name pilot { name } } } pageInfo { hasNextPage endCursor } } }"
    )


def test_unions_and_interfaces_are_read_through_typename_and_inline_fragments(tmp_path: Path) -> None:
    sdl = """
    interface Node { id: ID! }
    type User implements Node { id: ID! login: String! }
    type Repo implements Node { id: ID! stars: Int! }
    union Hit = User | Repo
    type Query { node(id: ID!): Node hits: [Hit!]! }
    """
    api, _ = compile_ir(tmp_path, sdl)
    found = documents(api)

    assert found["Query.node"] == (
        "query node($id: ID!) { node(id: $id) { __typename id ... on User { login } ... on Repo { stars } } }"
    )
    assert found["Query.hits"] == (
        "query hits { hits { __typename ... on User { id login } ... on Repo { id stars } } }"
    )
    hits = api.operations[1].result
    assert hits is not None
    assert set(hits["properties"]["hits"]["items"]["properties"]) == {"__typename", "id", "login", "stars"}


def test_same_named_fields_of_different_shapes_in_fragments_get_their_own_response_names(tmp_path: Path) -> None:
    sdl = """
    type A { value: Int! } type B { value: String }
    union U = A | B
    type Query { u: U }
    """
    api, _ = compile_ir(tmp_path, sdl)

    assert documents(api)["Query.u"] == "query u { u { __typename ... on A { value } ... on B { value_B: value } } }"
    result = api.operations[0].result
    assert result is not None
    assert result["properties"]["u"]["properties"]["value_B"] == {"type": ["string", "null"]}


def test_an_object_whose_fields_all_need_arguments_is_selected_by_its_typename(tmp_path: Path) -> None:
    sdl = "type Search { find(q: String!): [String!]! } type Query { search: Search! }"
    api, _ = compile_ir(tmp_path, sdl)

    assert documents(api)["Query.search"] == "query search { search { __typename } }"


def test_a_selection_past_the_size_budget_is_made_shallower_with_one_warning(tmp_path: Path) -> None:
    scalars = " ".join(f"field{i}: String" for i in range(2000))
    sdl = f"type Wide {{ {scalars} }} type Item {{ id: ID! wide: Wide }} type Query {{ item: Item small: Item }}"

    api, diagnostics = compile_ir(tmp_path, sdl.replace("small: Item", "small: Wide"))

    found = documents(api)
    assert found["Query.item"] == "query item { item { id } }"  # Wide alone is past the budget one level down
    assert found["Query.small"].startswith("query small { small { field0 field1 ")  # a root's own leaves stay
    assert [d.message for d in diagnostics.warnings] == [
        "2 generated selection(s) made shallower or without fragments, to validate and stay under 16,000 "
        "characters: Query.item, Query.small"
    ]
