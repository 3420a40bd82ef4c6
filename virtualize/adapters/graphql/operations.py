"""GraphQL operations → ``ir.Operation``: one per root field, and one per named operation of
the user's documents (persisted-operation style), each with a document checked by ``validate()``.

Root fields: every Query field; Mutation fields only when enabled (all, or an allowlist);
Subscription fields are left out with a warning, since a tool call has one result. A document
operation replaces the generated tool of the root field it selects (when it selects exactly one)
and any generated tool of the same name.

Each argument becomes a variable (GraphQL spec §5.8): a non-null argument with a default is
declared as a nullable variable, so that an absent argument lets the server apply its default
(§6.4.1 CoerceArgumentValues) while the variable stays allowed there (§5.8.5).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    OperationType,
    is_input_type,
    parse,
    print_ast,
    separate_operations,
    type_from_ast,
    validate,
    value_from_ast_untyped,
)

from virtualize.adapters.graphql.selection import STRATEGIES, ResultSchemas, SelectionBuilder
from virtualize.adapters.graphql.types import BUILTIN_SCALARS, InputSchemas, default_json
from virtualize.diagnostics import Diagnostics
from virtualize.ir import Argument, GraphQLCall, JsonSchema, Location, Operation, SecurityUse, Semantics

OperationKind = Literal["query", "mutation"]

# A generated selection longer than this is made shallower: servers limit query size and cost
# (Shopify, GitHub, Hasura), and a huge document mostly fetches what no one asked for.
MAX_SELECTION_CHARS = 16_000

_QUERY = Semantics(read_only=True, destructive=False, idempotent=True, open_world=True)
_MUTATION = Semantics(read_only=False, destructive=True, idempotent=False, open_world=True)


@dataclass
class Context:
    schema: GraphQLSchema
    file: str
    from_sdl: bool
    endpoint: str
    depth: int
    scalars: dict[str, JsonSchema]
    inputs: InputSchemas
    security: tuple[tuple[SecurityUse, ...], ...]
    diagnostics: Diagnostics
    simplified: list[str] = dataclasses.field(
        default_factory=list
    )  # root fields whose first selection shape was not kept

    @property
    def output_scalars(self) -> dict[str, JsonSchema]:
        return {**BUILTIN_SCALARS, **self.scalars}


def _line(node: object) -> int | None:
    loc = getattr(node, "loc", None)
    return loc.start_token.line if loc is not None else None


# -- root fields ---------------------------------------------------------------------------


def root_field_operations(
    context: Context,
    mutations: bool | tuple[str, ...],
    shadowed: set[tuple[str, str]],
) -> list[Operation]:
    """One operation per Query field, and per enabled Mutation field, minus ``shadowed`` ones."""
    schema = context.schema
    operations: list[Operation] = []
    assert schema.query_type is not None  # load.read_schema rejects a schema without one
    for name, field in schema.query_type.fields.items():
        if ("query", name) in shadowed:
            continue
        operation = _root_field(context, "query", schema.query_type, name, field)
        if operation is not None:
            operations.append(operation)
    mutation_type = schema.mutation_type
    if mutation_type is not None and mutations:
        wanted = set(mutation_type.fields) if isinstance(mutations, bool) else set(mutations)
        for missing in sorted(wanted - set(mutation_type.fields)):
            context.diagnostics.warning(
                context.file,
                f"--mutation {missing!r} names no field of {mutation_type.name}",
                hint=f"the mutation fields are: {', '.join(sorted(mutation_type.fields)[:20])}",
            )
        for name, field in mutation_type.fields.items():
            if name not in wanted or ("mutation", name) in shadowed:
                continue
            operation = _root_field(context, "mutation", mutation_type, name, field)
            if operation is not None:
                operations.append(operation)
    if context.simplified:
        shown = ", ".join(context.simplified[:10]) + (", ..." if len(context.simplified) > 10 else "")
        context.diagnostics.warning(
            context.file,
            f"{len(context.simplified)} generated selection(s) made shallower or without fragments, to validate "
            f"and stay under {MAX_SELECTION_CHARS:,} characters: {shown}",
            hint="write the operations you need in a --documents file, or lower --selection-depth",
        )
    subscription_type = schema.subscription_type
    if subscription_type is not None and subscription_type.fields:
        names = list(subscription_type.fields)
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        context.diagnostics.warning(
            context.file,
            f"{len(names)} subscription field(s) left out: {shown}",
            line=_line(subscription_type.ast_node) if context.from_sdl else None,
            hint="a tool call returns one result; subscriptions stream, so they are not tools",
        )
    return operations


def _root_field(
    context: Context,
    kind: OperationKind,
    root: GraphQLObjectType,
    name: str,
    field: GraphQLField,
) -> Operation | None:
    arguments: list[Argument] = []
    declarations: list[str] = []
    for arg_name, arg in field.args.items():
        schema, required = context.inputs.argument(arg, describe=False)
        arguments.append(
            Argument(
                name=arg_name,
                location=Location.VARIABLE,
                schema_=schema,
                required=required,
                description=(arg.description or "").strip(),
                deprecated=arg.deprecation_reason is not None,
            )
        )
        var_type = arg.type
        if isinstance(var_type, GraphQLNonNull) and default_json(arg)[0]:
            var_type = var_type.of_type
        declarations.append(f"${arg_name}: {var_type}")
    variables = f"({', '.join(declarations)})" if declarations else ""
    passed = f"({', '.join(f'{a}: ${a}' for a in field.args)})" if field.args else ""
    line = _line(field.ast_node) if context.from_sdl else None

    document = None
    first_error: GraphQLError | None = None
    candidates = [(strategy, level) for strategy in STRATEGIES for level in range(context.depth, 0, -1)]
    for index, (strategy, level) in enumerate(candidates):
        selection = SelectionBuilder(context.schema, strategy).root(field.type, level)
        if len(selection) > MAX_SELECTION_CHARS and index < len(candidates) - 1:
            continue  # servers cap document size and cost; a shallower shape comes next
        body = f" {{ {selection} }}" if selection else ""
        candidate = parse(f"{kind} {name}{variables} {{ {name}{passed}{body} }}", no_location=True)
        errors = validate(context.schema, candidate)
        if not errors:
            document = candidate
            if index > 0:
                context.simplified.append(f"{root.name}.{name}")
            break
        first_error = first_error or errors[0]
    if document is None:
        message = first_error.message if first_error else "no valid document"
        context.diagnostics.warning(
            context.file,
            f"{root.name}.{name} left out: no generated document validates ({message})",
            line=line,
            hint="supply the operation yourself in a --documents file",
        )
        return None

    operation_node = document.definitions[0]
    assert isinstance(operation_node, OperationDefinitionNode)  # we wrote it
    result = ResultSchemas(context.schema, {}, context.output_scalars).of_selection(root, operation_node.selection_set)
    return Operation(
        key=f"{root.name}.{name}",
        name_candidates=(name,),
        # An undescribed field still tells the agent what comes back (the type names often say most).
        description=(field.description or "").strip() or f"The {name} field of {root.name}; returns {field.type}.",
        tags=(kind,),
        deprecated=field.deprecation_reason is not None,
        arguments=tuple(arguments),
        result=result,
        call=GraphQLCall(
            endpoint=context.endpoint, document=print_ast(document), operation_name=name, operation_type=kind
        ),
        security=context.security,
        semantics=_QUERY if kind == "query" else _MUTATION,
        pointer=f"{root.name}.{name}",
    )


# -- user documents ------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentOperations:
    operations: list[Operation]
    shadowed: set[tuple[str, str]]  # (kind, root field) pairs a document operation replaces
    names: set[str]  # operation names, which replace generated tools of the same name


def document_operations(context: Context, paths: tuple[Path, ...]) -> DocumentOperations:
    found = DocumentOperations([], set(), set())
    for path in paths:
        _read_document(context, path, found)
    return found


def _read_document(context: Context, path: Path, found: DocumentOperations) -> None:
    file = str(path)
    diagnostics = context.diagnostics
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        diagnostics.error(file, f"cannot read the document: {exc}", hint="pass readable .graphql files to --documents")
        return
    try:
        document = parse(text)
    except GraphQLSyntaxError as exc:
        line = exc.locations[0].line if exc.locations else None
        diagnostics.error(file, exc.message, line=line, hint="fix the document's syntax (GraphQL spec §2)")
        return
    lines = text.splitlines()
    separated = separate_operations(document)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        line = _line(definition)
        if definition.name is None:
            diagnostics.error(file, "an anonymous operation cannot become a tool", line=line, hint="give it a name")
            continue
        name = definition.name.value
        if definition.operation is OperationType.SUBSCRIPTION:
            diagnostics.warning(file, f"subscription {name} left out", line=line, hint="subscriptions are not tools")
            continue
        if name in found.names:
            diagnostics.error(
                file, f"operation {name} is defined twice", line=line, hint="operation names are tool names"
            )
            continue
        single = separated[name]
        errors = validate(context.schema, single)
        if errors:
            for error in errors:
                where = error.locations[0].line if error.locations else line
                diagnostics.error(file, f"{name}: {error.message}", line=where, hint="the operation must validate")
            continue
        operation = _document_operation(context, file, lines, definition, single)
        if operation is None:
            continue
        found.operations.append(operation)
        found.names.add(name)
        fields = definition.selection_set.selections
        if len(fields) == 1 and isinstance(fields[0], FieldNode):
            found.shadowed.add((definition.operation.value, fields[0].name.value))


def _document_operation(
    context: Context,
    file: str,
    lines: list[str],
    definition: OperationDefinitionNode,
    single: DocumentNode,
) -> Operation | None:
    assert definition.name is not None  # anonymous operations are rejected before
    name = definition.name.value
    kind: OperationKind = "mutation" if definition.operation is OperationType.MUTATION else "query"
    root = context.schema.mutation_type if kind == "mutation" else context.schema.query_type
    assert root is not None  # validate() rejects an operation on a missing root
    arguments: list[Argument] = []
    for variable in definition.variable_definitions or ():
        type_ = type_from_ast(context.schema, variable.type)
        if type_ is None or not is_input_type(type_):
            return None  # validate() has reported it already
        schema = context.inputs.of(type_)
        has_default = variable.default_value is not None
        if has_default:
            schema = {**schema, "default": value_from_ast_untyped(variable.default_value)}  # type: ignore[arg-type]
        arguments.append(
            Argument(
                name=variable.variable.name.value,
                location=Location.VARIABLE,
                schema_=schema,
                required=isinstance(type_, GraphQLNonNull) and not has_default,
                pointer=f"{file}:{_line(variable)}",
            )
        )
    fragments = {d.name.value: d for d in single.definitions if isinstance(d, FragmentDefinitionNode)}
    result = ResultSchemas(context.schema, fragments, context.output_scalars).of_selection(
        root, definition.selection_set
    )
    return Operation(
        key=f"operation {name}",
        name_candidates=(name,),
        description=_comment_above(lines, _line(definition)) or f"The {kind} {name} of {Path(file).name}.",
        tags=(kind, "document"),
        arguments=tuple(arguments),
        result=result,
        call=GraphQLCall(
            endpoint=context.endpoint, document=print_ast(single), operation_name=name, operation_type=kind
        ),
        security=context.security,
        semantics=_QUERY if kind == "query" else _MUTATION,
        pointer=f"{file}:{_line(definition)}",
    )


def _comment_above(lines: list[str], line: int | None) -> str:
    """The ``#`` comment lines right above an operation: its description, as the author wrote it."""
    if line is None:
        return ""
    collected: list[str] = []
    index = line - 2
    while index >= 0 and lines[index].lstrip().startswith("#"):
        collected.append(lines[index].lstrip()[1:].strip())
        index -= 1
    return "\n".join(reversed(collected)).strip()
