"""Extracted rows -> Arrow tables shaped by the registry's dataset contracts.

Each file's table is cast to its dataset schema, deduplicated by the dataset's dedupe keys and
tie-breakers (``KEEP_FIRST_AFTER_SORT``) and put in its canonical sort. Ids are file-scoped,
so duplicates never span files and a per-file dedupe is a global one; a batch of files only
needs concatenating and sorting (``batch_table``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from cpg.datasets import DedupeStrategy, SortKey
from cpg.registry_specs import DatasetContract
from graph.extract.rows import FileFacts, PropRow
from storage.table_order import keep_first, sort_table

NODES = "cpg_nodes_v1"
EDGES = "cpg_edges_v1"
PROPS = "cpg_props_v1"
PROPS_JSON = "cpg_props_json_v1"
DATASETS: tuple[str, ...] = (NODES, EDGES, PROPS, PROPS_JSON)
"""The datasets the pipeline writes; json-typed props go to the JSON lane."""


@dataclass(frozen=True)
class Columns:
    """Plain Python columns of one dataset, before the registry schema is applied."""

    values: dict[str, list[object]]

    @property
    def rows(self) -> int:
        return len(next(iter(self.values.values()), []))


def facts_columns(facts: FileFacts) -> dict[str, Columns]:
    """The rows of ``facts`` as columns per dataset.

    Column-wise comprehensions rather than a row loop: props are most of the rows.
    """
    nodes = {name: [getattr(row, name) for row in facts.nodes] for name in _fields(facts.nodes)}
    edges = {name: [getattr(row, name) for row in facts.edges] for name in _fields(facts.edges)}
    return {
        NODES: Columns(nodes),
        EDGES: Columns(edges),
        PROPS: _prop_columns([p for p in facts.props if not p.is_json]),
        PROPS_JSON: _prop_columns([p for p in facts.props if p.is_json]),
    }


def _prop_columns(props: Sequence[PropRow]) -> Columns:
    values = [p.value for p in props]
    json_lane = bool(props) and props[0].is_json

    def lane(kind: type) -> list[object]:
        return [v if type(v) is kind else None for v in values]

    empty: list[object] = [None] * len(props)
    return Columns(
        {
            "entity_kind": [p.entity_kind for p in props],
            "entity_id": [p.entity_id for p in props],
            "prop_key": [p.prop_key for p in props],
            "value_str": empty if json_lane else lane(str),
            "value_int": empty if json_lane else lane(int),
            "value_float": empty if json_lane else lane(float),
            "value_bool": empty if json_lane else lane(bool),
            "value_json": lane(str) if json_lane else empty,
        }
    )


def _fields(rows: Sequence[object]) -> tuple[str, ...]:
    return tuple(getattr(type(rows[0]), "_fields", ())) if rows else ()


def facts_tables(facts: FileFacts, contracts: Mapping[str, DatasetContract]) -> dict[str, pa.Table]:
    """One file's rows as a table per dataset: schema, dedupe contract and canonical sort."""
    columns = facts_columns(facts)
    return {name: dataset_table([columns[name]], contract) for name, contract in contracts.items()}


def batch_table(tables: Sequence[pa.Table], contract: DatasetContract) -> pa.Table:
    """Per-file tables of one dataset as one table in canonical sort."""
    if not tables:
        return contract.schema.empty_table()
    return sort_table(pa.concat_tables(tables), _spec(contract.canonical_sort))


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
