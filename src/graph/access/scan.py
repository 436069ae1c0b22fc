"""What every reader returns: a lazy scan that yields Arrow record batches on demand.

A scan reads nothing until it is consumed, and each consumption reads afresh: as a
``pyarrow.RecordBatchReader`` (streaming), a ``pyarrow.Table``, typed rows, a polars
``LazyFrame`` or a DuckDB relation. It also speaks the Arrow PyCapsule stream protocol
(``__arrow_c_stream__``), so any Arrow library takes it as it is (``pa.table(scan)``,
``duckdb.sql("select ... from scan")``, ``polars.DataFrame(scan)``), with no copy through Python
objects.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pyarrow as pa

if TYPE_CHECKING:
    import duckdb
    import polars as pl

R = TypeVar("R")

Converter = Callable[[Any], Any]
"""Turns a column's Python value into the row field's type (a kind string into its enum)."""


class RowShape(Generic[R]):
    """How a scan's batches become typed rows: the row class (built positionally from the
    scan's columns, in order) and converters for columns whose field type is an enum."""

    def __init__(self, factory: Callable[..., R], converters: Mapping[str, Converter]) -> None:
        self.factory = factory
        self.converters = converters


def typed_rows(batches: Iterable[pa.RecordBatch], shape: RowShape[R]) -> Iterator[R]:
    """The rows of ``batches`` as ``shape`` makes them, one batch in memory at a time."""
    for batch in batches:
        columns = []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            values = column.to_pylist()
            convert = shape.converters.get(name)
            if convert is not None:
                values = [None if value is None else convert(value) for value in values]
            columns.append(values)
        for values in zip(*columns, strict=True):
            yield shape.factory(*values)


class Scan(ABC, Generic[R]):
    """Rows of a build, read lazily; see the module docstring for the ways to consume them."""

    @property
    @abstractmethod
    def schema(self) -> pa.Schema:
        """The Arrow schema of every batch the scan yields."""

    @abstractmethod
    def _batches(self) -> Iterator[pa.RecordBatch]:
        """The batches, read now."""

    @abstractmethod
    def _row_shape(self) -> RowShape[R]:
        """How batches become rows (an error if this scan's columns cannot make them)."""

    @abstractmethod
    def select(self, columns: Sequence[str]) -> Scan[R]:
        """The same rows with only ``columns`` (what a consumer projects, pushed down)."""

    def to_batches(self) -> pa.RecordBatchReader:
        """A one-pass stream of the record batches; memory stays bounded by a batch (or, for a
        kind view, a chunk of rows and their props)."""
        return pa.RecordBatchReader.from_batches(self.schema, self._batches())

    def to_arrow(self) -> pa.Table:
        """Every row in one table."""
        return pa.Table.from_batches(self._batches(), schema=self.schema)

    def rows(self) -> Iterator[R]:
        """Every row as a typed row object, batch by batch."""
        return typed_rows(self._batches(), self._row_shape())

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """The Arrow C stream of a fresh pass over the batches (the PyCapsule protocol)."""
        return self.to_batches().__arrow_c_stream__(requested_schema)

    def to_polars(self) -> pl.LazyFrame:
        """A polars ``LazyFrame`` reading this scan when collected; the columns a query uses
        are pushed down (a kind view then pivots only the props it needs)."""
        from graph.access.handover import polars_frame

        return polars_frame(self)

    def to_duckdb(
        self, connection: duckdb.DuckDBPyConnection | None = None
    ) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation over this scan (on ``connection``, else DuckDB's default one);
        every query of the relation reads the scan again, streaming."""
        from graph.access.handover import duckdb_relation

        return duckdb_relation(self, connection)
