"""Per-kind views: the rows of one node or edge kind with its props as typed columns.

A view reads the kind's rows from the nodes (or edges) table, filtered where the data files
are (kind, paths, file ids, ids), in chunks of at most ``chunk_rows`` rows. For each chunk it
reads the prop rows of exactly those entities, pruned by what the scanner can skip (entity
kind, the requested prop keys, the chunk's id range: ids of one kind share a prefix, so their
prop rows cluster), and pivots them (``pivot``). Memory is bounded by a chunk and its props,
never by the props tables.

Edge views can also carry props of their endpoints (``src_props``, ``dst_props``): the join on
``src_node_id``/``dst_node_id`` every user would otherwise write, e.g. the qualified name a
``PY_CALLS_QNAME`` edge points at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import pyarrow as pa
import pyarrow.compute as pc

from graph.access.datasets import BATCH_ROWS, OpenTable
from graph.access.pivot import ContractViolationError, PropColumn, pivot
from graph.access.scan import R, RowShape, Scan

CHUNK_ROWS = 2_000_000
"""Rows of a kind pivoted at once at most: each chunk costs one pass over the props tables."""


@dataclass(frozen=True)
class KindSpec:
    """The columns of one kind's view: its table's columns, then its props (a prop named like
    a table column takes that column's place, keeping its position)."""

    kind: str
    entity: str
    """The ``entity_kind`` of its prop rows: ``node`` or ``edge``."""
    kind_column: str
    id_column: str
    props: tuple[PropColumn, ...]
    schema: pa.Schema

    @classmethod
    def build(
        cls,
        kind: str,
        entity: str,
        table_schema: pa.Schema,
        kind_column: str,
        id_column: str,
        props: Sequence[PropColumn],
    ) -> KindSpec:
        by_name = {p.name: p for p in props}
        fields = [by_name[f.name].field if f.name in by_name else f for f in table_schema]
        fields += [p.field for p in props if p.name not in table_schema.names]
        return cls(kind, entity, kind_column, id_column, tuple(props), pa.schema(fields))

    @property
    def prop_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.props)


@dataclass(frozen=True)
class Endpoints:
    """Props of an edge's endpoints to add as ``src_<prop>``/``dst_<prop>`` columns."""

    src: tuple[PropColumn, ...] = ()
    dst: tuple[PropColumn, ...] = ()

    def fields(self) -> list[pa.Field]:
        return [
            p.field.with_name(f"{end}_{p.name}").with_nullable(True)
            for end, props in (("src", self.src), ("dst", self.dst))
            for p in props
        ]


@dataclass(frozen=True)
class KindFilter:
    """Which rows of a kind to read; each list is pushed down to the table scan."""

    paths: tuple[str, ...] | None = None
    file_ids: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    where: pc.Expression | None = None
    """Any condition on the view's columns (props included), applied after the pivot."""
    skip_violations: bool = False
    """Leave out rows that break the contract instead of raising ``ContractViolationError``."""


class KindScan(Scan[R]):
    """The rows of one kind with typed prop columns; see the module docstring. ``props`` opens
    a props table by name, when a chunk first needs it."""

    def __init__(
        self,
        spec: KindSpec,
        table: OpenTable,
        props: Callable[[str], OpenTable],
        shape: RowShape[R],
        *,
        rows: KindFilter = KindFilter(),
        columns: Sequence[str] | None = None,
        endpoints: Endpoints = Endpoints(),
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        self._spec = spec
        self._table = table
        self._props = props
        self._shape = shape
        self._filter = rows
        self._endpoints = endpoints
        self._chunk_rows = chunk_rows
        full = pa.schema([*spec.schema, *endpoints.fields()])
        self._full = full
        self._columns = tuple(full.names if columns is None else columns)
        missing = [name for name in self._columns if name not in full.names]
        if missing:
            raise ValueError(f"{spec.kind} has no column {missing[0]!r}; it has {full.names}")
        if rows.file_ids is not None and "file_id" not in table.schema.names:
            raise ValueError(f"{table.name} has no file_id column; filter {spec.kind} by paths")
        self._schema = pa.schema([full.field(name) for name in self._columns])

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def select(self, columns: Sequence[str]) -> KindScan[R]:
        return KindScan(
            self._spec,
            self._table,
            self._props,
            self._shape,
            rows=self._filter,
            columns=columns,
            endpoints=self._endpoints,
            chunk_rows=self._chunk_rows,
        )

    def _row_shape(self) -> RowShape[R]:
        if self._columns != tuple(self._spec.schema.names):
            msg = f"typed rows of {self._spec.kind} need exactly its view's columns; use to_arrow()"
            raise ValueError(msg)
        return self._shape

    def _wanted(self) -> set[str]:
        """The view columns to compute: the output's, or all when a condition may name any."""
        names = self._full.names if self._filter.where is not None else self._columns
        return {*names, self._spec.id_column}

    def _table_columns(self, wanted: set[str]) -> list[str]:
        """The columns to read from the kind's table (props and endpoint columns excluded)."""
        props = self._spec.prop_names
        columns = [f.name for f in self._table.schema if f.name in wanted and f.name not in props]
        for end, chosen in self._endpoint_props(wanted):
            if chosen:
                columns.append(f"{end}_node_id")
        return list(dict.fromkeys(columns))

    def _endpoint_props(self, wanted: set[str]) -> list[tuple[str, list[PropColumn]]]:
        return [
            (end, [p for p in props if f"{end}_{p.name}" in wanted])
            for end, props in (("src", self._endpoints.src), ("dst", self._endpoints.dst))
        ]

    def _where(self) -> pc.Expression:
        spec, rows = self._spec, self._filter
        where = pc.field(spec.kind_column) == spec.kind
        for column, values in (("path", rows.paths), ("file_id", rows.file_ids)):
            if values is not None:
                where = where & pc.field(column).isin(values)
        if rows.ids is not None:
            where = where & pc.field(spec.id_column).isin(rows.ids)
        return where

    def _chunks(self, columns: list[str]) -> Iterator[pa.Table]:
        pending: list[pa.RecordBatch] = []
        count = 0
        for batch in self._table.batches(columns, self._where()):
            pending.append(batch)
            count += batch.num_rows
            if count >= self._chunk_rows:
                yield pa.Table.from_batches(pending)
                pending, count = [], 0
        if pending:
            yield pa.Table.from_batches(pending)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        wanted = self._wanted()
        for chunk in self._chunks(self._table_columns(wanted)):
            table = self._view(chunk, wanted)
            if self._filter.where is not None:
                table = table.filter(self._filter.where)
            table = table.select(list(self._columns)).cast(self._schema)
            yield from table.to_batches(max_chunksize=BATCH_ROWS)

    def _view(self, chunk: pa.Table, wanted: set[str]) -> pa.Table:
        """The chunk's table columns, its props pivoted, then the endpoint columns."""
        spec = self._spec
        ids = chunk.column(spec.id_column).combine_chunks()
        props = [p for p in spec.props if p.name in wanted]
        arrays, violations = pivot(ids, self._prop_rows(spec.entity, ids, props), props, spec.kind)
        columns = {name: chunk.column(name) for name in chunk.column_names}
        columns.update({p.name: array for p, array in zip(props, arrays, strict=True)})
        for end, chosen in self._endpoint_props(wanted):
            if not chosen:
                continue
            ends = chunk.column(f"{end}_node_id").combine_chunks()
            loose = [replace(p, required=False, enum_values=None) for p in chosen]
            values, _ = pivot(ends, self._prop_rows("node", ends, loose), loose, spec.kind)
            columns.update({f"{end}_{p.name}": v for p, v in zip(chosen, values, strict=True)})
        table = pa.table({name: columns[name] for name in self._full.names if name in columns})
        if violations is None:
            return table
        if not self._filter.skip_violations:
            count = pc.sum(violations.rows).as_py()
            msg = (
                f"{violations.reason} ({count} row(s) of {spec.kind} break its contract; the "
                "build recorded them in cpg_build_violations; skip_violations=True leaves them out)"
            )
            raise ContractViolationError(msg)
        return table.filter(pc.invert(violations.rows))

    def _prop_rows(
        self, entity: str, ids: pa.Array, props: Sequence[PropColumn]
    ) -> dict[str, pa.Table]:
        """The prop rows of ``ids`` for ``props``, per props dataset, read with everything the
        scanner can prune by; rows of other entities in the id range are left to the pivot."""
        if not len(ids) or not props:
            return {}
        bounds = pc.min_max(ids)
        found = {}
        for name in dict.fromkeys(p.table for p in props):
            mine = [p for p in props if p.table == name]
            where = (
                (pc.field("entity_kind") == entity)
                & pc.field("prop_key").isin(sorted({p.name for p in mine}))
                & (pc.field("entity_id") >= bounds["min"])
                & (pc.field("entity_id") <= bounds["max"])
            )
            lanes = sorted({p.lane for p in mine})
            found[name] = self._props(name).dataset.to_table(
                columns=["entity_id", "prop_key", *lanes], filter=where
            )
        return found
