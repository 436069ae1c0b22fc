"""The view model of ``cpg_views.py``: one typed row class per node and edge kind.

A kind's row class extends the row class of its dataset (nodes or edges, found by role) with
one field per prop of its contract: required props typed plainly, optional ones ``| None``,
enum props as the generated prop enum. A prop named like a dataset column redefines that field
(a dataclass keeps its position), so it must narrow the column's type; anything else is an
error naming the contract row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cpg.contracts import PropSpec, PropType
from cpg.spec_set import SpecSet
from cpg.storage_layout import EntityLayout, entity_layouts, prop_lanes
from generator.pycode import Call, Dict, Ref, identifier, literal, name_error, render
from generator.view_models import (
    DatasetView,
    Names,
    RowField,
    Statement,
    camel,
    datasets,
)
from storage.spec_codec import RegistryDecodeError

_PYTHON_TYPES: Mapping[PropType, str] = {
    PropType.STR: "str",
    PropType.INT: "int",
    PropType.FLOAT: "float",
    PropType.BOOL: "bool",
    PropType.JSON: "str",
}
"""The Python type of a prop's value in a typed row (json props stay JSON text)."""

_MODULE_NAMES = frozenset(
    {"CpgBuild", "KindScan", "KindSpec", "PropColumn", "BuildOutput", "RowShape", "Endpoints"}
    | {"KindFilter", "DatasetRole", "NodeKind", "EdgeKind", "PropContract", "Path"}
)
"""Classes ``cpg_views.py`` defines or imports besides the row classes."""

_EXPORTS = (
    "ContractViolationError",
    "CpgBuild",
    "EDGE_ROWS",
    "NODE_ROWS",
    "PROP_LANES",
    "edge_spec",
    "node_spec",
    "open_build",
)


@dataclass(frozen=True)
class RowClass:
    """One kind's row class: its name, base, docstring literal and prop fields."""

    name: str
    base: str
    doc: str
    kind: str
    """The kind enum member, as code (``NodeKind.AST_CALL``)."""
    fields: tuple[RowField, ...]


@dataclass(frozen=True)
class EntityView:
    """Nodes or edges: their layout, base row class and the rows mapping statement."""

    entity: str
    id_column: str
    kind_column: str
    role_member: str
    base: str
    rows: tuple[RowClass, ...]
    mapping: Statement


@dataclass(frozen=True)
class KindViews:
    """Everything ``cpg_views.py`` prints."""

    nodes: EntityView
    edges: EntityView
    contract_classes: tuple[str, ...]
    """What the module imports from ``cpg_contracts``: kind and prop enums, ``PropContract``."""
    lanes: Statement
    exports: tuple[str, ...]


def _annotation(prop: PropSpec, required: bool, names: Names) -> str:
    base = _PYTHON_TYPES[prop.type] if prop.enum is None else names.prop_enums[prop.enum]
    return base if required else f"{base} | None"


def _narrows(prop: str, column: str) -> bool:
    """Whether a prop field's annotation may redefine a column field's: the same Python type
    (or a prop enum for a ``str`` column), and not nullable where the column is not."""
    prop_type, _, prop_none = prop.partition(" | ")
    column_type, _, column_none = column.partition(" | ")
    enum_for_str = column_type == "str" and prop_type not in _PYTHON_TYPES.values()
    return (prop_type == column_type or enum_for_str) and (bool(column_none) or not prop_none)


def _row_class(
    kind: str,
    description: str,
    props: tuple[tuple[PropSpec, bool], ...],
    dataset: DatasetView,
    names: Names,
    where: tuple[str, int],
) -> tuple[str, tuple[RowField, ...]]:
    """The fields of a kind's row class; a prop that cannot redefine its column is an error."""
    columns = {field.name: field.annotation for field in dataset.row_fields}
    table, row = where
    fields = []
    for prop, required in props:
        name = identifier(prop.name, table=table, row=row, column="props")
        annotation = _annotation(prop, required, names)
        if name in columns and not _narrows(annotation, columns[name]):
            msg = (
                f"prop {name!r} of {kind} ({annotation}) cannot stand in for column {name!r} "
                f"of {dataset.name} ({columns[name]})"
            )
            name = name_error(RegistryDecodeError(table, "props", msg, row=row))
        fields.append(RowField(name, annotation))
    return literal(f"{kind}: {description}"), tuple(fields)


def _entity(
    layout: EntityLayout,
    dataset: DatasetView,
    contracts: Sequence[tuple[str, str, tuple[tuple[PropSpec, bool], ...]]],
    kind_names: Mapping[str, str],
    names: Names,
    taken: dict[str, str],
) -> EntityView:
    enum = f"{camel(layout.entity)}Kind"
    table = f"cpg_{layout.entity}_contracts"
    suffix = camel(layout.entity)
    assert dataset.role is not None
    rows = []
    for row, (kind, description, props) in enumerate(contracts):
        class_name = f"{camel(kind_names[kind].lower())}{suffix}"
        if class_name in _MODULE_NAMES or class_name in taken:
            other = taken.get(class_name, "a generated name")
            msg = f"{kind!r} clashes with {other} as Python class {class_name}"
            class_name = name_error(RegistryDecodeError(table, "kind", msg, row=row))
        taken[class_name] = kind
        doc, fields = _row_class(kind, description, props, dataset, names, (table, row))
        rows.append(
            RowClass(class_name, dataset.role.row_alias, doc, f"{enum}.{kind_names[kind]}", fields)
        )
    constant = f"{layout.entity.upper()}_ROWS"
    mapping = render(
        Call("MappingProxyType", (Dict(tuple((Ref(r.kind), Ref(r.name)) for r in rows)),)),
        head=f"{constant}: Final[Mapping[{enum}, type[{dataset.role.row_alias}]]] = ",
    )
    return EntityView(
        layout.entity,
        layout.id_column,
        layout.kind_column,
        dataset.role.member,
        dataset.role.row_alias,
        tuple(rows),
        Statement(mapping),
    )


def kind_views(specs: SpecSet, names: Names) -> KindViews:
    """The row classes of every kind, the rows mappings and the prop lanes."""
    node_layout, edge_layout = entity_layouts(specs)
    by_name = {view.name: view for view in datasets(specs)}
    taken: dict[str, str] = {}
    nodes = _entity(
        node_layout,
        by_name[node_layout.dataset],
        [
            (c.kind, c.description, _props(c.required_props, c.optional_props))
            for c in specs.node_contracts
        ],
        names.node_kinds,
        names,
        taken,
    )
    edges = _entity(
        edge_layout,
        by_name[edge_layout.dataset],
        [
            (c.kind, c.description, _props(c.required_props, c.optional_props))
            for c in specs.edge_contracts
        ],
        names.edge_kinds,
        names,
        taken,
    )
    lanes = prop_lanes(specs)
    lanes_statement = render(
        Call(
            "MappingProxyType",
            (
                Dict(
                    tuple(
                        (
                            prop_type.value,
                            (Ref(f"DatasetRole.{lane.role.name}"), lane.column),
                        )
                        for prop_type, lane in lanes.items()
                    )
                ),
            ),
        ),
        head="PROP_LANES: Final[Mapping[str, tuple[DatasetRole, str]]] = ",
    )
    props = [p for c in specs.node_contracts for p in (*c.required_props, *c.optional_props)]
    props += [p for c in specs.edge_contracts for p in (*c.required_props, *c.optional_props)]
    used = {names.prop_enums[p.enum] for p in props if p.enum is not None}
    imports = sorted(used | {"EdgeKind", "NodeKind", "PropContract"})
    row_names = [r.name for r in (*nodes.rows, *edges.rows)]
    return KindViews(
        nodes,
        edges,
        tuple(imports),
        Statement(lanes_statement),
        (*_EXPORTS, *row_names),
    )


def _props(
    required: tuple[PropSpec, ...], optional: tuple[PropSpec, ...]
) -> tuple[tuple[PropSpec, bool], ...]:
    return (*((p, True) for p in required), *((p, False) for p in optional))
