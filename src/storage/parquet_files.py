"""Parquet data files written into a Delta table's folder before anything commits them.

Workers of a build write their rows here with pyarrow alone (deltalake's runtime is never
started in a worker); what the log's add action needs comes back as a ``DataFile``, which
``storage.deltalake.delta.commit_data_files`` commits in the parent. A file no commit refers to
(a worker that died mid-write, a build that was killed before its commit) is never read, and the
build's vacuum deletes it.

Per-file statistics are Delta's (``numRecords``, and ``minValues``/``maxValues``/``nullCount``
of every column of a primitive type), so readers skip files by them as they do for files
deltalake wrote. A string's minimum is cut to ``STATS_PREFIX`` characters (a prefix is still a
lower bound); a longer maximum is left out (a cut one would not be an upper bound).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 1
"""As ``storage.deltalake.delta`` writes: as fast as snappy here, half the bytes."""
STATS_PREFIX = 32
"""Characters of a string kept in the statistics (Delta's default truncation)."""
SUFFIX = ".parquet"


@dataclass(frozen=True)
class DataFile:
    """A written, uncommitted Parquet file of a Delta table: its add action's fields."""

    path: str
    """Relative to the table's folder (the add action's ``path``)."""
    size: int
    modification_time: int
    """Milliseconds since the epoch."""
    rows: int
    stats: str
    """Delta per-file statistics, JSON."""


@dataclass
class _ColumnStats:
    low: object = None
    high: object = None
    nulls: int = 0
    bounded: bool = True
    """False once a NaN was seen: NaN orders nowhere, so the column gets no bounds."""


@dataclass
class DataFileWriter:
    """Streams tables of one schema into ``folder/name`` (created on the first non-empty write;
    an empty stream writes no file)."""

    folder: Path
    name: str
    schema: pa.Schema
    _writer: pq.ParquetWriter | None = None
    _rows: int = 0
    _stats: dict[str, _ColumnStats] = field(default_factory=dict)

    def write(self, table: pa.Table | pa.RecordBatch) -> None:
        with self._naming_errors():
            self._write(table)

    def _write(self, table: pa.Table | pa.RecordBatch) -> None:
        if not table.num_rows:
            return
        if table.schema != self.schema:
            table = table.cast(self.schema)
        if self._writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.folder / self.name,
                self.schema,
                compression=COMPRESSION,
                compression_level=COMPRESSION_LEVEL,
            )
        if isinstance(table, pa.RecordBatch):
            self._writer.write_batch(table)
        else:
            self._writer.write_table(table)
        self._rows += table.num_rows
        self._observe(table)

    def close(self) -> DataFile | None:
        """Finish the file; its ``DataFile``, or None when nothing was written."""
        if self._writer is None:
            return None
        with self._naming_errors():
            self._writer.close()
        self._writer = None
        stat = (self.folder / self.name).stat()
        return DataFile(
            self.name, stat.st_size, int(stat.st_mtime * 1000), self._rows, self._stats_json()
        )

    def abort(self) -> None:
        """Close and delete a file left half-written by an error."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            (self.folder / self.name).unlink(missing_ok=True)

    @contextmanager
    def _naming_errors(self) -> Iterator[None]:
        """pyarrow's write errors name no file (``Error writing bytes to file``): name it."""
        try:
            yield
        except OSError as exc:
            if exc.filename is not None:
                raise
            reason = exc.strerror or str(exc)
            raise OSError(exc.errno, reason, str(self.folder / self.name)) from exc

    def _observe(self, table: pa.Table | pa.RecordBatch) -> None:
        for column_field, column in zip(self.schema, table.columns, strict=True):
            kind = _stats_kind(column_field.type)
            if kind is None:
                continue
            stats = self._stats.setdefault(column_field.name, _ColumnStats())
            stats.nulls += column.null_count
            if not stats.bounded or column.null_count == len(column):
                continue
            if kind == "float" and pc.any(pc.is_nan(column)).as_py():
                stats.bounded = False
                continue
            bounds = pc.min_max(column)
            low, high = bounds["min"].as_py(), bounds["max"].as_py()
            if stats.low is None or low < stats.low:
                stats.low = low
            if stats.high is None or high > stats.high:
                stats.high = high

    def _stats_json(self) -> str:
        lows: dict[str, object] = {}
        highs: dict[str, object] = {}
        for name, stats in self._stats.items():
            if not stats.bounded or stats.low is None:
                continue
            low, high = stats.low, stats.high
            if isinstance(low, str):
                low = low[:STATS_PREFIX]
            lows[name] = low
            if not (isinstance(high, str) and len(high) > STATS_PREFIX):
                highs[name] = high
        nulls = {name: stats.nulls for name, stats in self._stats.items()}
        payload = {
            "numRecords": self._rows,
            "minValues": lows,
            "maxValues": highs,
            "nullCount": nulls,
        }
        return json.dumps(payload, separators=(",", ":"))


def _stats_kind(arrow_type: pa.DataType) -> str | None:
    if pa.types.is_integer(arrow_type):
        return "int"
    if pa.types.is_floating(arrow_type):
        return "float"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    return None


def write_data_file(
    folder: Path, name: str, schema: pa.Schema, tables: Iterable[pa.Table | pa.RecordBatch]
) -> DataFile | None:
    """Write ``tables`` into ``folder/name``; its ``DataFile``, or None when they hold no rows."""
    writer = DataFileWriter(folder, name, schema)
    try:
        for table in tables:
            writer.write(table)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


def read_batches(
    file: Path, columns: Iterable[str] | None = None, batch_rows: int = 1 << 16
) -> Iterator[pa.RecordBatch]:
    """The record batches of a Parquet file, ``batch_rows`` at a time (bounded memory)."""
    wanted = None if columns is None else list(columns)
    yield from pq.ParquetFile(file).iter_batches(batch_size=batch_rows, columns=wanted)
