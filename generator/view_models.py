"""Shape a decoded registry into what each template needs: names checked, values as literals.

Everything a template prints comes from here, as ``pycode`` expressions or plain text that the
view model built from validated identifiers; registry strings only ever become literals.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from cpg.contracts import PropSpec
from cpg.dataset_schemas import dataset_schema
from cpg.spec_set import SpecSet
from cpg.storage_layout import ENTITY_COLUMNS
from generator.pycode import Call, Dict, Expr, Ref, identifier, name_error, render
from storage.spec_codec import RegistryDecodeError

_TYPE_CODE: Mapping[pa.DataType, tuple[str, str]] = {
    pa.string(): ("pa.string()", "str"),
    pa.large_string(): ("pa.large_string()", "str"),
    pa.bool_(): ("pa.bool_()", "bool"),
    pa.int8(): ("pa.int8()", "int"),
    pa.int16(): ("pa.int16()", "int"),
    pa.int32(): ("pa.int32()", "int"),
    pa.int64(): ("pa.int64()", "int"),
    pa.float32(): ("pa.float32()", "float"),
    pa.float64(): ("pa.float64()", "float"),
    pa.binary(): ("pa.binary()", "bytes"),
}


@dataclass(frozen=True)
class EnumMember:
    """One enum member: a validated Python name and its string value (as a literal)."""

    name: str
    value: str


@dataclass(frozen=True)
class EnumView:
    """A StrEnum class to generate."""

    class_name: str
    doc: str
    members: tuple[EnumMember, ...]


@dataclass(frozen=True)
class Statement:
    """One rendered top-level statement (already laid out like black)."""

    code: str


@dataclass(frozen=True)
class RowField:
    """A dataclass field of a dataset row type."""

    name: str
    annotation: str


@dataclass(frozen=True)
class DatasetView:
    """One dataset: schema constant, row class, reader names and canonical sort."""

    name: str
    constant: str
    row_class: str
    reader: str
    schema_statement: Statement
    row_fields: tuple[RowField, ...]
    sort_keys: tuple[tuple[str, str], ...]
    role: RoleView | None = None
    kind_column: str | None = None
    """The column holding kinds (typed ``NodeKind``/``EdgeKind``) in a nodes or edges dataset."""
    kind_enum: str | None = None

    @property
    def shape(self) -> str:
        """The constant holding how batches of this dataset become typed rows."""
        return self.constant.removesuffix("_SCHEMA") + "_ROW_SHAPE"


@dataclass(frozen=True)
class RoleView:
    """The role a dataset plays: enum member, role-named reader and row alias."""

    value: str
    member: str
    reader: str
    row_alias: str


@dataclass(frozen=True)
class Names:
    """Validated Python names of every kind, keyed by the registry value."""

    source_kinds: Mapping[str, str]
    node_kinds: Mapping[str, str]
    edge_kinds: Mapping[str, str]
    prop_enums: Mapping[str, str]
    """The class name of each prop enum (``ast_call_type`` -> ``AstCallType``)."""


_WORD_START = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _member_names(
    values: Sequence[str], table: str, column: str, row: int | None = None
) -> dict[str, str]:
    """Enum member names: upper case, words of camel case split (``FunctionDef`` ->
    ``FUNCTION_DEF``); two values with one name are an error naming both (their rows, or the
    one ``row`` whose column lists the values)."""
    names: dict[str, str] = {}
    taken: dict[str, int] = {}
    for index, value in enumerate(values):
        at = index if row is None else row
        upper = _WORD_START.sub("_", value).upper()
        name = identifier(upper, table=table, row=at, column=column, enum_member=True)
        if name in taken:
            msg = f"{value!r} clashes with {values[taken[name]]!r} as Python name {name}"
            name = name_error(RegistryDecodeError(table, column, msg, row=at))
        taken[name] = index
        names[value] = name
    return names


def exports(names: Sequence[str]) -> tuple[str, ...]:
    """A module's ``__all__`` in the order ruff keeps it (constants, classes, then the rest)."""

    def key(name: str) -> tuple[int, str]:
        rank = 0 if name.isupper() else 1 if name[:1].isupper() else 2
        return rank, name

    return tuple(sorted(dict.fromkeys(names), key=key))


def kind_names(specs: SpecSet) -> Names:
    """The enum member name of every source, node and edge kind."""
    return Names(
        source_kinds=_member_names(
            [s.name for s in specs.source_kinds], "cpg_source_kinds", "name"
        ),
        node_kinds=_member_names(
            [c.kind for c in specs.node_contracts], "cpg_node_contracts", "kind"
        ),
        edge_kinds=_member_names(
            [c.kind for c in specs.edge_contracts], "cpg_edge_contracts", "kind"
        ),
        prop_enums=_class_names([e.name for e in specs.prop_enums], "cpg_prop_enums", "name"),
    )


RESERVED_CLASS_NAMES = frozenset(
    {"SourceKind", "NodeKind", "EdgeKind", "PropContract", "NodeContract", "EdgeContract"}
    | {"Derivation", "StrEnum", "Mapping", "MappingProxyType", "Final", "dataclass"}
)
"""Names the generated modules define or import next to the generated classes."""


def _class_names(values: Sequence[str], table: str, column: str) -> dict[str, str]:
    """CamelCase class names of snake_case registry names; clashes are errors naming the row."""
    names: dict[str, str] = {}
    taken: dict[str, int] = {}
    for row, value in enumerate(values):
        checked = identifier(value, table=table, row=row, column=column)
        name = camel(checked)
        if name in RESERVED_CLASS_NAMES or name in taken:
            other = f"row {taken[name]}" if name in taken else "a generated name"
            msg = f"{value!r} clashes with {other} as Python class {name}"
            name = name_error(RegistryDecodeError(table, column, msg, row=row))
        taken[name] = row
        names[value] = name
    return names


_NOT_NAME = re.compile(r"[^A-Z0-9_]+")


def _value_members(values: Sequence[str]) -> dict[str, str]:
    """Member names of a prop enum's values: the value in upper snake case where that makes a
    safe, unique name (``FunctionDef`` -> ``FUNCTION_DEF``), else ``VALUE_<position>``. Values
    are data, not names: any text is a value, and it survives as the member's literal value."""
    names: dict[str, str] = {}
    for index, value in enumerate(values):
        name = _NOT_NAME.sub("_", _WORD_START.sub("_", value).upper()).strip("_")
        usable = name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
        if not usable or name.startswith("VALUE_") or name in names.values():
            name = f"VALUE_{index}"
        names[value] = name
    return names


def enums(specs: SpecSet, names: Names) -> tuple[EnumView, ...]:
    """The three kind enums, then one per prop enum."""
    prop_enums = tuple(
        EnumView(
            names.prop_enums[e.name],
            f"The values of the prop enum {names.prop_enums[e.name]}.",
            tuple(EnumMember(member, value) for value, member in _value_members(e.values).items()),
        )
        for e in specs.prop_enums
    )
    return (
        EnumView(
            "SourceKind",
            "Where CPG facts come from.",
            tuple(EnumMember(names.source_kinds[s.name], s.name) for s in specs.source_kinds),
        ),
        EnumView(
            "NodeKind",
            "Every node kind of the CPG.",
            tuple(EnumMember(names.node_kinds[c.kind], c.kind) for c in specs.node_contracts),
        ),
        EnumView(
            "EdgeKind",
            "Every edge kind of the CPG.",
            tuple(EnumMember(names.edge_kinds[c.kind], c.kind) for c in specs.edge_contracts),
        ),
        *prop_enums,
    )


def _ref(enum: str, names: Mapping[str, str], value: str, table: str, row: int, column: str) -> Ref:
    name = names.get(value)
    if name is None:
        raise RegistryDecodeError(table, column, f"{value!r} is not a known {enum}", row=row)
    return Ref(f"{enum}.{name}")


def contract_statements(specs: SpecSet, names: Names) -> tuple[Statement, ...]:
    """PROP_ENUMS, NODE_CONTRACTS, EDGE_CONTRACTS and DERIVATIONS as rendered statements."""
    enum_values = {e.name: e.values for e in specs.prop_enums}

    def props(props: Sequence[PropSpec]) -> tuple[Expr, ...]:
        return tuple(
            Call(
                "PropContract",
                (p.name, p.type.value, p.enum, None if p.enum is None else enum_values.get(p.enum)),
            )
            for p in props
        )

    src = names.source_kinds
    node_items: list[tuple[Expr, Expr]] = []
    for row, c in enumerate(specs.node_contracts):
        table = "cpg_node_contracts"
        kind = _ref("NodeKind", names.node_kinds, c.kind, table, row, "kind")
        sources = tuple(
            _ref("SourceKind", src, s, table, row, "allowed_sources") for s in c.allowed_sources
        )
        node_items.append(
            (
                kind,
                Call(
                    "NodeContract",
                    kwargs=(
                        ("kind", kind),
                        ("group", c.group),
                        ("description", c.description),
                        ("requires_anchor", c.requires_anchor),
                        ("allowed_sources", sources),
                        ("required_props", props(c.required_props)),
                        ("optional_props", props(c.optional_props)),
                    ),
                ),
            )
        )
    edge_items: list[tuple[Expr, Expr]] = []
    for row, e in enumerate(specs.edge_contracts):
        table = "cpg_edge_contracts"
        kind = _ref("EdgeKind", names.edge_kinds, e.kind, table, row, "kind")
        ends = {
            column: tuple(_ref("NodeKind", names.node_kinds, k, table, row, column) for k in kinds)
            for column, kinds in (("src_kinds", e.src_kinds), ("dst_kinds", e.dst_kinds))
        }
        sources = tuple(
            _ref("SourceKind", src, s, table, row, "allowed_sources") for s in e.allowed_sources
        )
        edge_items.append(
            (
                kind,
                Call(
                    "EdgeContract",
                    kwargs=(
                        ("kind", kind),
                        ("group", e.group),
                        ("description", e.description),
                        ("src_kinds", ends["src_kinds"]),
                        ("dst_kinds", ends["dst_kinds"]),
                        ("requires_evidence_anchor", e.requires_evidence_anchor),
                        ("allowed_sources", sources),
                        ("required_props", props(e.required_props)),
                        ("optional_props", props(e.optional_props)),
                    ),
                ),
            )
        )
    derivations: list[Expr] = []
    for row, d in enumerate(specs.derivations):
        table = "cpg_kind_derivations"
        kinds = names.node_kinds if d.entity == "node" else names.edge_kinds
        enum = "NodeKind" if d.entity == "node" else "EdgeKind"
        derivations.append(
            Call(
                "Derivation",
                kwargs=(
                    ("kind", _ref(enum, kinds, d.kind, table, row, "kind")),
                    ("source", _ref("SourceKind", src, d.source, table, row, "source")),
                    ("extractor", d.extractor),
                    ("provider_or_field", d.provider_or_field),
                    ("join_keys", d.join_keys),
                    ("id_column", d.id_column),
                    ("id_recipe", d.id_recipe),
                    ("confidence_policy", d.confidence_policy),
                    ("ambiguity_policy", d.ambiguity_policy),
                    ("status", d.status.value),
                ),
            )
        )
    prop_enums = Dict(tuple((e.name, e.values) for e in specs.prop_enums))
    enum_types = Dict(tuple((e.name, Ref(names.prop_enums[e.name])) for e in specs.prop_enums))
    return (
        Statement(
            render(
                Call("MappingProxyType", (prop_enums,)),
                head="PROP_ENUMS: Final[Mapping[str, tuple[str, ...]]] = ",
            )
        ),
        Statement(
            render(
                Call("MappingProxyType", (enum_types,)),
                head="PROP_ENUM_TYPES: Final[Mapping[str, type[StrEnum]]] = ",
            )
        ),
        Statement(
            render(
                Call("MappingProxyType", (Dict(tuple(node_items)),)),
                head="NODE_CONTRACTS: Final[Mapping[NodeKind, NodeContract]] = ",
            )
        ),
        Statement(
            render(
                Call("MappingProxyType", (Dict(tuple(edge_items)),)),
                head="EDGE_CONTRACTS: Final[Mapping[EdgeKind, EdgeContract]] = ",
            )
        ),
        Statement(render(tuple(derivations), head="DERIVATIONS: Final[tuple[Derivation, ...]] = ")),
    )


def _type_code(field: pa.Field, dataset: str) -> tuple[str, str]:
    """Arrow constructor code and Python annotation of a dataset field."""
    arrow_type = field.type
    if pa.types.is_dictionary(arrow_type):
        value_code, annotation = _TYPE_CODE[arrow_type.value_type]
        index_code, _ = _TYPE_CODE[arrow_type.index_type]
        return f"pa.dictionary({index_code}, {value_code})", annotation
    if arrow_type not in _TYPE_CODE:
        raise RegistryDecodeError("cpg_field_catalog", field.name, f"unsupported type {arrow_type}")
    return _TYPE_CODE[arrow_type]


def camel(name: str) -> str:
    """``snake_case`` as ``SnakeCase``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def datasets(specs: SpecSet) -> tuple[DatasetView, ...]:
    """One view per dataset row, with its schema derived from the registry catalogs."""
    views = []
    table = "cpg_dataset_rows"
    for row_index, row in enumerate(specs.dataset_rows):
        name = identifier(row.name, table=table, row=row_index, column="name")
        schema = dataset_schema(row, specs.fields, specs.bundles, specs.templates)
        kind = ENTITY_COLUMNS.get(row.role) if row.role is not None else None
        kind_enum = f"{camel(kind[0])}Kind" if kind is not None else ""
        arrow_fields: list[Expr] = []
        row_fields = []
        for field in schema:
            column = identifier(
                field.name,
                table="cpg_field_catalog",
                row=_field_row(specs, field.name),
                column="name",
            )
            type_code, annotation = _type_code(field, row.name)
            if kind is not None and column == kind[2]:
                annotation = kind_enum
            kwargs: list[tuple[str, Expr]] = [("nullable", field.nullable)]
            if field.metadata:
                kwargs.append(("metadata", _metadata(field.metadata)))
            arrow_fields.append(Call("pa.field", (column, Ref(type_code)), tuple(kwargs)))
            row_fields.append(
                RowField(column, f"{annotation} | None" if field.nullable else annotation)
            )
        role = None
        if row.role is not None:
            value = identifier(str(row.role), table=table, row=row_index, column="role")
            role = RoleView(str(row.role), value.upper(), f"read_{value}", f"{camel(value)}Row")
        constant = f"{name.upper()}_SCHEMA"
        statement = render(
            Call(
                "pa.schema",
                (tuple(arrow_fields),),
                (("metadata", _metadata(schema.metadata or {})),),
            ),
            head=f"{constant}: Final[pa.Schema] = ",
        )
        views.append(
            DatasetView(
                name=row.name,
                constant=constant,
                row_class=f"{camel(name)}Row",
                reader=f"read_{name}",
                schema_statement=Statement(statement),
                row_fields=tuple(row_fields),
                sort_keys=tuple((key.column, key.order.value) for key in row.canonical_sort),
                role=role,
                kind_column=kind[2] if kind is not None and kind[2] in schema.names else None,
                kind_enum=kind_enum or None,
            )
        )
    return tuple(views)


def _field_row(specs: SpecSet, name: str) -> int:
    return next(i for i, field in enumerate(specs.fields) if field.name == name)


def _metadata(metadata: Mapping[bytes, bytes]) -> Dict:
    return Dict(tuple((key.decode(), value.decode()) for key, value in metadata.items()))


def edge_plan_statement(specs: SpecSet, names: Names) -> Statement:
    """EDGE_PLAN_SPECS: the CPG edge-emitting rules, as typed constants."""
    from cpg.edge_specs import edge_plan_specs_from_definitions

    table = "relspec_rule_definitions"
    rows = {rule.name: index for index, rule in enumerate(specs.rules)}
    plans: list[Expr] = []
    for plan in edge_plan_specs_from_definitions(specs.rules):
        row = rows[plan.rule_name]
        column = "payload.edge_emit"
        plans.append(
            Call(
                "EdgePlanSpec",
                kwargs=(
                    ("rule_name", plan.rule_name),
                    (
                        "edge_kind",
                        _ref(
                            "EdgeKind",
                            names.edge_kinds,
                            plan.edge_kind,
                            table,
                            row,
                            f"{column}.edge_kind",
                        ),
                    ),
                    ("option_flag", plan.option_flag),
                    ("src_cols", plan.src_cols),
                    ("dst_cols", plan.dst_cols),
                    ("path_cols", plan.path_cols),
                    ("bstart_cols", plan.bstart_cols),
                    ("bend_cols", plan.bend_cols),
                    (
                        "origin",
                        _ref(
                            "SourceKind",
                            names.source_kinds,
                            plan.origin,
                            table,
                            row,
                            f"{column}.origin",
                        ),
                    ),
                    ("resolution_method", plan.resolution_method),
                    ("priority", plan.priority),
                ),
            )
        )
    return Statement(
        render(tuple(plans), head="EDGE_PLAN_SPECS: Final[tuple[EdgePlanSpec, ...]] = ")
    )
