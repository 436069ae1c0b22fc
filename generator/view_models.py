"""Shape a decoded registry into what each template needs: names checked, values as literals.

Everything a template prints comes from here, as ``pycode`` expressions or plain text that the
view model built from validated identifiers; registry strings only ever become literals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from cpg.contracts import PropSpec
from cpg.dataset_schemas import dataset_schema
from cpg.spec_set import SpecSet
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


def _member_names(values: Sequence[str], table: str, column: str) -> dict[str, str]:
    names: dict[str, str] = {}
    taken: dict[str, int] = {}
    for row, value in enumerate(values):
        name = identifier(value.upper(), table=table, row=row, column=column, enum_member=True)
        if name in taken:
            msg = f"{value!r} clashes with row {taken[name]} as Python name {name}"
            name = name_error(RegistryDecodeError(table, column, msg, row=row))
        taken[name] = row
        names[value] = name
    return names


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
    )


def enums(specs: SpecSet, names: Names) -> tuple[EnumView, ...]:
    """The three kind enums."""
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
    return (
        Statement(
            render(
                Call("MappingProxyType", (prop_enums,)),
                head="PROP_ENUMS: Final[Mapping[str, tuple[str, ...]]] = ",
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


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def datasets(specs: SpecSet) -> tuple[DatasetView, ...]:
    """One view per dataset row, with its schema derived from the registry catalogs."""
    views = []
    table = "cpg_dataset_rows"
    for row_index, row in enumerate(specs.dataset_rows):
        name = identifier(row.name, table=table, row=row_index, column="name")
        schema = dataset_schema(row, specs.fields, specs.bundles, specs.templates)
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
            role = RoleView(str(row.role), value.upper(), f"read_{value}", f"{_camel(value)}Row")
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
                row_class=f"{_camel(name)}Row",
                reader=f"read_{name}",
                schema_statement=Statement(statement),
                row_fields=tuple(row_fields),
                sort_keys=tuple((key.column, key.order.value) for key in row.canonical_sort),
                role=role,
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
