"""A lazy scan of one Delta table of a build, in its registry schema.

Filters go to pyarrow's dataset scanner, which skips whole data files by the min/max
statistics Delta recorded for them and row groups by Parquet's statistics; only the
projected columns are read. Each batch is restored to the registry schema (what Delta does not
keep: dictionary types, metadata) and checked for nulls in non-null columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from graph.access.scan import R, RowShape, Scan
from storage.spec_codec import RegistryDecodeError

if TYPE_CHECKING:
    import pyarrow.dataset as ds

BATCH_ROWS = 131_072
"""Rows per record batch at most (pyarrow's scanner default)."""


class OpenTable:
    """One table of a build, opened once (its Delta log read, its data not), with the schema
    it is read in."""

    def __init__(self, name: str, path: str, schema: pa.Schema) -> None:
        # deltalake is imported when a table is first opened, not with the readers
        from storage.deltalake.delta import check_restorable, open_dataset

        self.name = name
        self.path = path
        self.schema = schema
        self.dataset: ds.Dataset = open_dataset(path)
        check_restorable(self.dataset.schema, schema, name)

    def field(self, name: str) -> pa.Field:
        """The field ``name`` of the schema; an error naming the table when it has none."""
        index = self.schema.get_field_index(name)
        if index < 0:
            raise ValueError(f"{self.name} has no column {name!r}; it has {self.schema.names}")
        return self.schema.field(index)

    def batches(
        self, columns: Sequence[str], where: pc.Expression | None
    ) -> Iterator[pa.RecordBatch]:
        """The rows matching ``where`` (columns of this table), only ``columns``, restored."""
        schema = pa.schema([self.field(name) for name in columns])
        scanner = self.dataset.scanner(columns=list(columns), filter=where, batch_size=BATCH_ROWS)
        for batch in scanner.to_batches():
            if batch.num_rows:
                yield restore_batch(batch, schema, self.name)


def restore_batch(batch: pa.RecordBatch, schema: pa.Schema, name: str) -> pa.RecordBatch:
    """``batch`` cast to ``schema`` (same column names); a null in a non-null column is an
    error naming table ``name`` and the column."""
    arrays = []
    for field, column in zip(schema, batch.columns, strict=True):
        if not field.nullable and column.null_count:
            msg = f"null in a non-null column ({column.null_count} null(s) in a batch)"
            raise RegistryDecodeError(name, field.name, msg)
        arrays.append(column if column.type == field.type else column.cast(field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


class DatasetScan(Scan[R]):
    """Rows of one table: ``columns`` (default all) of the rows matching ``where``."""

    def __init__(
        self,
        table: OpenTable,
        shape: RowShape[R],
        *,
        columns: Sequence[str] | None = None,
        where: pc.Expression | None = None,
    ) -> None:
        self._table = table
        self._shape = shape
        self._columns = tuple(table.schema.names if columns is None else columns)
        self._where = where
        self._schema = pa.schema([table.field(name) for name in self._columns])

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    def _batches(self) -> Iterator[pa.RecordBatch]:
        return self._table.batches(self._columns, self._where)

    def _row_shape(self) -> RowShape[R]:
        if self._columns != tuple(self._table.schema.names):
            msg = f"typed rows of {self._table.name} need every column; use to_arrow()"
            raise ValueError(msg)
        return self._shape

    def select(self, columns: Sequence[str]) -> DatasetScan[R]:
        return DatasetScan(self._table, self._shape, columns=columns, where=self._where)
