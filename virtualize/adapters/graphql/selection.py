"""Selection sets: generated for root-field tools, and read back into result schemas.

A generated selection takes every scalar and enum field, enters nested objects down to a depth,
and reaches abstract types through ``__typename`` and inline fragments (GraphQL spec §5.3.2,
"Field Selection Merging": same-named fields from fragments on different types must have the
same response shape, so a clashing field is given a type-qualified alias). It leaves out
deprecated fields, and fields with a required argument (nothing could supply it). A type met
again on the way down (a cycle) contributes its scalars only. Relay connections (Relay Cursor
Connections spec §2) are shaped as ``edges { node { … } }`` plus ``pageInfo``, and the two
wrapper levels do not count toward the depth.

Because the rules above cannot foresee every schema, each generated document is checked with
graphql-core's ``validate()``; ``STRATEGIES`` lists simpler shapes to fall back on, and the caller
(``operations``) also lowers the depth of a selection too long to send.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)

from virtualize.adapters.graphql.types import default_json, output_leaf, output_nullable
from virtualize.ir import JsonSchema

MAX_INTERFACE_FRAGMENTS = 8  # beyond this, an interface is read through its own fields only


@dataclass(frozen=True)
class Strategy:
    """One shape of generated selection; later strategies give up detail to stay valid."""

    name: str
    union_fragments: bool = True
    interface_fragments: bool = True
    nested: bool = True


STRATEGIES = (
    Strategy("full"),
    Strategy("no interface fragments", interface_fragments=False),
    Strategy("no fragments", union_fragments=False, interface_fragments=False),
    Strategy("root scalars", union_fragments=False, interface_fragments=False, nested=False),
)


def needs_argument(field: GraphQLField) -> bool:
    """Whether ``field`` has an argument that is non-null without a default (§5.4.2.1)."""
    return any(isinstance(arg.type, GraphQLNonNull) and not default_json(arg)[0] for arg in field.args.values())


def _is_connection(type_: GraphQLNamedType) -> bool:
    if not isinstance(type_, GraphQLObjectType) or not type_.name.endswith("Connection"):
        return False
    edges = type_.fields.get("edges")
    page_info = type_.fields.get("pageInfo")
    if edges is None or page_info is None:
        return False
    edge = get_named_type(edges.type)
    return isinstance(edge, GraphQLObjectType) and "node" in edge.fields


class SelectionBuilder:
    """Builds selection-set text for one schema with one strategy."""

    def __init__(self, schema: GraphQLSchema, strategy: Strategy) -> None:
        self._schema = schema
        self._strategy = strategy

    def root(self, type_: GraphQLOutputType, depth: int) -> str:
        """The selection set (without braces) for a root field of ``type_``; "" for a leaf."""
        named = get_named_type(type_)
        if is_leaf_type(named):
            return ""
        levels = depth - 1 if self._strategy.nested else 0
        parts = self._select(named, levels, frozenset({named.name}))
        # A root field must select something; ``__typename`` is always valid (§4.4.1).
        return " ".join(parts) if parts else "__typename"

    def _select(self, named: GraphQLNamedType, depth: int, path: frozenset[str]) -> list[str]:
        if _is_connection(named):
            return self._connection(named, depth, path)  # type: ignore[arg-type]  # checked by _is_connection
        shape: dict[str, str] = {}
        if isinstance(named, GraphQLUnionType):
            parts = ["__typename"]
            if self._strategy.union_fragments:
                for member in named.types:
                    fields = self._fields(member, depth, path | {member.name}, shape)
                    if fields:
                        parts.append(f"... on {member.name} {{ {' '.join(fields)} }}")
            return parts
        if isinstance(named, GraphQLInterfaceType):
            parts = ["__typename", *self._fields(named, depth, path, shape)]
            implementations = self._schema.get_possible_types(named)
            if self._strategy.interface_fragments and len(implementations) <= MAX_INTERFACE_FRAGMENTS:
                for implementation in implementations:
                    own = {n: f for n, f in implementation.fields.items() if n not in named.fields}
                    fields = self._fields_of(own, implementation.name, depth, path | {implementation.name}, shape)
                    if fields:
                        parts.append(f"... on {implementation.name} {{ {' '.join(fields)} }}")
            return parts
        if isinstance(named, GraphQLObjectType):
            return self._fields(named, depth, path, shape)
        return []

    def _fields(
        self,
        owner: GraphQLObjectType | GraphQLInterfaceType,
        depth: int,
        path: frozenset[str],
        shape: dict[str, str],
    ) -> list[str]:
        return self._fields_of(owner.fields, owner.name, depth, path, shape)

    def _fields_of(
        self,
        fields: dict[str, GraphQLField],
        owner: str,
        depth: int,
        path: frozenset[str],
        shape: dict[str, str],
    ) -> list[str]:
        parts: list[str] = []
        for name, field in fields.items():
            if field.deprecation_reason is not None or needs_argument(field):
                continue
            named = get_named_type(field.type)
            if is_leaf_type(named):
                text = name
            else:
                if depth <= 0:
                    continue
                # A cycle: the type is already on the way down, so only its scalars are read.
                inner = self._select(named, 0 if named.name in path else depth - 1, path | {named.name})
                if all(part == "__typename" for part in inner):
                    continue
                text = f"{name} {{ {' '.join(inner)} }}"
            signature = str(field.type)
            seen = shape.setdefault(name, signature)
            if seen != signature:
                # §5.3.2 SameResponseShape: a clash across fragments gets its own response name.
                alias = f"{name}_{owner}"
                if alias in shape:
                    continue
                shape[alias] = signature
                text = f"{alias}: {text}"
            parts.append(text)
        return parts

    def _connection(self, connection: GraphQLObjectType, depth: int, path: frozenset[str]) -> list[str]:
        parts: list[str] = []
        for name, field in connection.fields.items():
            if is_leaf_type(get_named_type(field.type)) and not needs_argument(field):
                parts.append(name)
        edge = get_named_type(connection.fields["edges"].type)
        assert isinstance(edge, GraphQLObjectType)  # checked by _is_connection
        node = get_named_type(edge.fields["node"].type)
        if is_leaf_type(node):
            parts.append("edges { node }")
        else:
            inner = self._select(node, 0 if node.name in path else depth, path | {node.name})
            if not all(part == "__typename" for part in inner):
                parts.append(f"edges {{ node {{ {' '.join(inner)} }} }}")
        page_info = get_named_type(connection.fields["pageInfo"].type)
        if isinstance(page_info, GraphQLObjectType):
            leaves = [n for n, f in page_info.fields.items() if is_leaf_type(get_named_type(f.type))]
            if leaves:
                parts.append(f"pageInfo {{ {' '.join(leaves)} }}")
        return parts


class ResultSchemas:
    """Reads an operation's selection set back into the JSON Schema of its ``data``.

    Keyed by response names (aliases included), relaxed as every result schema is.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        scalars: dict[str, JsonSchema],
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._scalars = scalars

    def of_selection(self, parent: GraphQLNamedType, selection_set: SelectionSetNode) -> JsonSchema:
        properties: dict[str, JsonSchema] = {}
        self._collect(parent, selection_set, properties, set())
        return {"type": "object", "properties": properties}

    def _collect(
        self,
        parent: GraphQLNamedType,
        selection_set: SelectionSetNode,
        properties: dict[str, JsonSchema],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                response = selection.alias.value if selection.alias else selection.name.value
                if response in properties:
                    continue
                if selection.name.value == "__typename":
                    properties[response] = {"type": "string"}
                    continue
                fields = getattr(parent, "fields", {})
                field = fields.get(selection.name.value)
                if field is None:
                    continue  # validate() has already rejected such a document
                properties[response] = self._of_type(field.type, selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                condition = parent
                if selection.type_condition is not None:
                    condition = self._schema.get_type(selection.type_condition.name.value) or parent
                self._collect(condition, selection.selection_set, properties, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self._fragments.get(name)
                if fragment is None or name in visited:
                    continue
                condition = self._schema.get_type(fragment.type_condition.name.value) or parent
                self._collect(condition, fragment.selection_set, properties, visited | {name})

    def _of_type(self, type_: GraphQLOutputType, selection_set: SelectionSetNode | None) -> JsonSchema:
        if isinstance(type_, GraphQLNonNull):
            return self._non_null(type_.of_type, selection_set)
        return output_nullable(self._non_null(type_, selection_set))

    def _non_null(self, type_: GraphQLOutputType, selection_set: SelectionSetNode | None) -> JsonSchema:
        if isinstance(type_, GraphQLList):
            return {"type": "array", "items": self._of_type(type_.of_type, selection_set)}
        if is_leaf_type(type_) or selection_set is None:
            return output_leaf(type_, self._scalars)  # type: ignore[arg-type]  # a leaf by validate()
        return self.of_selection(type_, selection_set)  # type: ignore[arg-type]  # composite here
