"""How a build lays out entities and their props in the datasets, as readers find them.

- Nodes are rows of the dataset with role ``nodes`` (id column ``node_id``, kind column
  ``node_kind``), edges of the one with role ``edges`` (``edge_id``, ``edge_kind``); their prop
  rows name them by ``entity_kind`` ``node``/``edge`` (the values of a derivation's ``entity``).
- The props datasets hold one row per (entity, key) with one ``value_*`` column per value type:
  a prop of type ``t`` fills ``value_t``; json props go to the dataset with role ``props_json``
  (the JSON lane), every other type to the one with role ``props``.

The graph build writes them so (``graph.facts_tables``); the generated readers pivot props back
into typed columns with it. ``entity_layouts`` and ``prop_lanes`` check it against a spec set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from cpg.contracts import PropType
from cpg.dataset_schemas import dataset_schema
from cpg.datasets import DatasetRole, DatasetRow
from cpg.spec_set import SpecSet
from storage.spec_codec import RegistryDecodeError


@dataclass(frozen=True)
class EntityLayout:
    """Where the entities of one kind family (nodes or edges) are stored."""

    entity: str
    role: DatasetRole
    dataset: str
    id_column: str
    kind_column: str


ENTITY_COLUMNS: Mapping[DatasetRole, tuple[str, str, str]] = {
    DatasetRole.NODES: ("node", "node_id", "node_kind"),
    DatasetRole.EDGES: ("edge", "edge_id", "edge_kind"),
}
"""Per role of an entity dataset: the entity kind of its prop rows, its id and kind columns."""


def _dataset(specs: SpecSet, role: DatasetRole, purpose: str) -> tuple[int, DatasetRow, pa.Schema]:
    for index, row in enumerate(specs.dataset_rows):
        if row.role == role:
            return index, row, dataset_schema(row, specs.fields, specs.bundles, specs.templates)
    msg = f"no dataset has role {role.value} ({purpose})"
    raise RegistryDecodeError("cpg_dataset_rows", "role", msg)


def entity_layouts(specs: SpecSet) -> tuple[EntityLayout, EntityLayout]:
    """The node and the edge layout in the datasets of ``specs``; an error names the dataset row
    when a column is missing."""
    layouts = []
    for role, (entity, id_column, kind_column) in ENTITY_COLUMNS.items():
        index, row, schema = _dataset(specs, role, f"the {entity}s")
        for column in (id_column, kind_column):
            if column not in schema.names:
                msg = f"dataset {row.name} has no column {column} for its {entity}s"
                raise RegistryDecodeError("cpg_dataset_rows", "fields", msg, row=index)
        layouts.append(EntityLayout(entity, role, row.name, id_column, kind_column))
    return layouts[0], layouts[1]


@dataclass(frozen=True)
class PropLane:
    """The dataset (its role and name) and the column holding props of one type."""

    role: DatasetRole
    dataset: str
    column: str
    arrow_type: pa.DataType


def lane_role(prop_type: PropType) -> DatasetRole:
    """The role of the dataset that stores props of ``prop_type``."""
    return DatasetRole.PROPS_JSON if prop_type == PropType.JSON else DatasetRole.PROPS


def lane_column(prop_type: PropType) -> str:
    """The ``value_*`` column that stores props of ``prop_type``."""
    return f"value_{prop_type.value}"


def prop_lanes(specs: SpecSet) -> Mapping[PropType, PropLane]:
    """Every prop type's lane in the datasets of ``specs``; an error names the dataset row and
    column when a lane's dataset or column is missing."""
    lanes: dict[PropType, PropLane] = {}
    for prop_type in PropType:
        role = lane_role(prop_type)
        column = lane_column(prop_type)
        index, row, schema = _dataset(specs, role, f"the lane of {prop_type.value} props")
        if column not in schema.names:
            msg = f"dataset {row.name} has no column {column} for {prop_type.value} props"
            raise RegistryDecodeError("cpg_dataset_rows", "fields", msg, row=index)
        lanes[prop_type] = PropLane(role, row.name, column, schema.field(column).type)
    return lanes
