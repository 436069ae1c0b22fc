"""Extracted rows -> Arrow tables shaped by the registry's dataset contracts.

Two steps, so the validator can look at the rows between them:

1. ``plain_tables(facts, contracts)``: the rows as Arrow tables with the datasets' column names and
   plain value types (dictionary columns as their value type). Props go column by column
   (``PropColumn`` -> arrays), never row by row.
2. ``dataset_table(table, contract)``: the registry schema (columns the rows do not fill are null),
   the dedupe contract (``KEEP_FIRST_AFTER_SORT``) and the canonical sort. The dedupe is skipped
   when the sorted table shows no two rows can agree on every dedupe key (``table_order``).

Ids are file-scoped, so duplicates never span files: a table of a batch of whole files deduplicated
on its own is deduplicated globally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import NamedTuple

import pyarrow as pa

from cpg.datasets import DatasetRole, DedupeStrategy, SortKey
from cpg.registry_specs import DatasetContract
from graph.extract.rows import FileFacts, PropColumn, PropValue
from storage.table_order import keep_first, rows_are_distinct, sort_table

NODES = DatasetRole.NODES
EDGES = DatasetRole.EDGES
PROPS = DatasetRole.PROPS
PROPS_JSON = DatasetRole.PROPS_JSON
DATASETS: tuple[DatasetRole, ...] = (NODES, EDGES, PROPS, PROPS_JSON)
"""The roles of the datasets the pipeline writes (json-typed props go to the JSON lane). The
pipeline keys everything by role; the dataset names come from the registry (``contract.name``)."""

_LANES: Mapping[type, str] = {
    str: "value_str",
    int: "value_int",
    float: "value_float",
    bool: "value_bool",
}
JSON_LANE = "value_json"


class PlainTables(NamedTuple):
    """One batch of rows per dataset, before the registry schema is applied."""

    nodes: pa.Table
    edges: pa.Table
    props: pa.Table
    props_json: pa.Table

    def by_dataset(self) -> dict[str, pa.Table]:
        return dict(zip(DATASETS, self, strict=True))


def plain_tables(facts: FileFacts, contracts: Mapping[str, DatasetContract]) -> PlainTables:
    """The rows of ``facts`` as plain tables named and typed after the dataset schemas."""
    plain = {name: plain_schema(contract.schema) for name, contract in contracts.items()}
    columns = list(facts.columns.values())
    return PlainTables(
        _row_table(facts.nodes, plain[NODES]),
        _row_table(facts.edges, plain[EDGES]),
        _prop_table([c for c in columns if not c.is_json], plain[PROPS]),
        _prop_table([c for c in columns if c.is_json], plain[PROPS_JSON]),
    )


def dataset_table(table: pa.Table, contract: DatasetContract) -> pa.Table:
    """A plain table in the registry schema, deduplicated by contract, in canonical sort."""
    schema = contract.schema
    arrays = []
    for field in schema:
        if field.name in table.column_names:
            arrays.append(table.column(field.name).cast(field.type))
        else:
            arrays.append(pa.nulls(table.num_rows, field.type))
    shaped = pa.Table.from_arrays(arrays, schema=schema)
    canonical = _spec(contract.canonical_sort)
    ordered = sort_table(shaped, canonical)
    keys = contract.dedupe_keys
    if contract.dedupe_strategy != DedupeStrategy.KEEP_FIRST_AFTER_SORT or not keys:
        return ordered
    if rows_are_distinct(ordered, keys, canonical):
        return ordered
    return sort_table(keep_first(ordered, keys, _spec(contract.tie_breakers)), canonical)


def facts_tables(facts: FileFacts, contracts: Mapping[str, DatasetContract]) -> dict[str, pa.Table]:
    """The rows of ``facts`` as one finished table per dataset."""
    plain = plain_tables(facts, contracts).by_dataset()
    return {name: dataset_table(plain[name], contract) for name, contract in contracts.items()}


def props_sorted(contracts: Mapping[str, DatasetContract]) -> bool:
    """Whether the prop datasets' canonical sort starts with entity kind, entity id and key."""
    head = [(column, "ascending") for column in ("entity_kind", "entity_id", "prop_key")]
    return all(_spec(contracts[name].canonical_sort)[:3] == head for name in (PROPS, PROPS_JSON))


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """The registry schema with each dictionary column as its value type."""
    for index, field in enumerate(schema):
        if pa.types.is_dictionary(field.type):
            schema = schema.set(index, field.with_type(field.type.value_type))
    return schema


def _row_table(rows: Sequence[tuple[object, ...]], schema: pa.Schema) -> pa.Table:
    """NamedTuple rows -> the schema's columns named like the row fields."""
    names: tuple[str, ...] = getattr(type(rows[0]), "_fields", ()) if rows else ()
    if not names:
        return schema.empty_table()
    fields = [f for f in schema if f.name in names]
    arrays = [pa.array(list(map(itemgetter(names.index(f.name)), rows)), f.type) for f in fields]
    return pa.Table.from_arrays(arrays, names=[f.name for f in fields])


def _prop_table(columns: Iterable[PropColumn], schema: pa.Schema) -> pa.Table:
    """One record batch per ``PropColumn``: constant kind and key, the values in their lane."""
    batches = [_prop_batch(column, schema) for column in columns if column.ids]
    if not batches:
        return schema.empty_table()
    return pa.Table.from_batches(batches, schema=schema)


def _prop_batch(column: PropColumn, schema: pa.Schema) -> pa.RecordBatch:
    count = len(column.ids)
    lanes = _lane_values(column)
    arrays = []
    for field in schema:
        if field.name == "entity_kind":
            arrays.append(pa.repeat(pa.scalar(column.entity_kind, field.type), count))
        elif field.name == "prop_key":
            arrays.append(pa.repeat(pa.scalar(column.prop_key, field.type), count))
        elif field.name == "entity_id":
            arrays.append(pa.array(column.ids, type=field.type))
        elif field.name in lanes:
            arrays.append(pa.array(lanes[field.name], type=field.type))
        else:
            arrays.append(pa.nulls(count, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _lane_values(column: PropColumn) -> dict[str, Sequence[PropValue]]:
    """The column's values by ``value_*`` lane; one lane unless the values' types are mixed."""
    values = column.values
    if column.is_json:
        return {JSON_LANE: values}
    types = set(map(type, values))  # exact types: a bool is not an int here
    if len(types) == 1:
        lane = _LANES.get(types.pop())
        if lane is not None:
            return {lane: values}
    return {lane: [v if type(v) is kind else None for v in values] for kind, lane in _LANES.items()}


def _spec(keys: Sequence[SortKey]) -> list[tuple[str, str]]:
    return [(key.column, key.order.value) for key in keys]
