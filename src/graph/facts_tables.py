"""Extracted rows -> Arrow tables shaped by the registry's dataset contracts.

Each table is cast to its dataset schema, deduplicated by the dataset's dedupe keys and
tie-breakers (``KEEP_FIRST_AFTER_SORT``) and put in its canonical sort. Ids are file-scoped,
so duplicates never span files and a per-batch dedupe is a global one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from cpg.datasets import DedupeStrategy, SortKey
from cpg.registry_specs import DatasetContract
from graph.extract.rows import FileFacts
from storage.table_order import keep_first, sort_table

NODES = "cpg_nodes_v1"
EDGES = "cpg_edges_v1"
PROPS = "cpg_props_v1"
PROPS_JSON = "cpg_props_json_v1"
DATASETS: tuple[str, ...] = (NODES, EDGES, PROPS, PROPS_JSON)
"""The datasets the pipeline writes; json-typed props go to the JSON lane."""

_LANES = ("value_str", "value_int", "value_float", "value_bool", "value_json")


@dataclass(frozen=True)
class Columns:
    """Plain Python columns of one dataset, before the registry schema is applied."""

    values: dict[str, list[object]]

    @property
    def rows(self) -> int:
        return len(next(iter(self.values.values()), []))


def facts_columns(facts: FileFacts) -> dict[str, Columns]:
    """The rows of ``facts`` as columns per dataset (cheap to pickle between processes)."""
    nodes = {name: [getattr(row, name) for row in facts.nodes] for name in _fields(facts.nodes)}
    edges = {name: [getattr(row, name) for row in facts.edges] for name in _fields(facts.edges)}
    lanes: dict[bool, dict[str, list[object]]] = {
        is_json: {name: [] for name in ("entity_kind", "entity_id", "prop_key", *_LANES)}
        for is_json in (False, True)
    }
    for prop in facts.props:
        target = lanes[prop.is_json]
        target["entity_kind"].append(prop.entity_kind)
        target["entity_id"].append(prop.entity_id)
        target["prop_key"].append(prop.prop_key)
        for lane, value in zip(_LANES, prop.lanes(), strict=True):
            target[lane].append(value)
    return {
        NODES: Columns(nodes),
        EDGES: Columns(edges),
        PROPS: Columns(lanes[False]),
        PROPS_JSON: Columns(lanes[True]),
    }


def _fields(rows: Sequence[object]) -> tuple[str, ...]:
    return tuple(getattr(type(rows[0]), "_fields", ())) if rows else ()


def dataset_table(parts: Sequence[Columns], contract: DatasetContract) -> pa.Table:
    """One dataset's table from column parts: registry schema, dedupe contract, canonical sort."""
    schema = contract.schema
    arrays = []
    for field in schema:
        values: list[object] = []
        for part in parts:
            values.extend(part.values.get(field.name) or [None] * part.rows)
        plain = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        arrays.append(pa.array(values, type=plain).cast(field.type))
    table = pa.Table.from_arrays(arrays, schema=schema)
    if contract.dedupe_strategy == DedupeStrategy.KEEP_FIRST_AFTER_SORT and contract.dedupe_keys:
        table = keep_first(table, contract.dedupe_keys, _spec(contract.tie_breakers))
    return sort_table(table, _spec(contract.canonical_sort))


def _spec(keys: Sequence[SortKey]) -> list[tuple[str, str]]:
    return [(key.column, key.order.value) for key in keys]


def empty_parts() -> dict[str, list[Columns]]:
    """A fresh accumulator: dataset name -> column parts."""
    return {name: [] for name in DATASETS}
