"""Segments: the unit a build writes, replaces and compacts.

A segment is one Parquet file per table (``<segment>.parquet`` in the table's folder) holding
the rows of a set of source files (a ``file-`` segment), of the repository level (``repo-``), of
the repository-level layers (``layers-``: SCIP, runtime) or of the rule engine (``rules-``).
Segments are immutable: a build never rewrites one in place, it writes a new segment and its
commit removes the old one, so the files a Delta version refers to never change.

- ``write_segment`` writes the tables of a freshly extracted batch of files; ``SegmentWriter``
  streams many such row batches into one segment (the repository-level layers emit theirs a
  batch of documents at a time);
- ``merge_segments`` writes one segment from the rows of several, leaving out the rows of
  some files (an incremental build drops the files that changed or left; a compaction drops
  nothing). It streams record batches, so its memory does not grow with the segments' size.

Both run wherever the executor runs them (a worker process, a Ray task, the parent) and use
pyarrow alone: only the parent commits (``storage.deltalake.delta.commit_data_files``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from graph.build_tables import BuildTable, BuildTables
from storage.parquet_files import SUFFIX, DataFile, DataFileWriter, read_batches

FILE_SEGMENT = "file"
REPO_SEGMENT = "repo"
LAYERS_SEGMENT = "layers"
RULES_SEGMENT = "rules"
SEGMENT_KINDS = (FILE_SEGMENT, REPO_SEGMENT, LAYERS_SEGMENT, RULES_SEGMENT)


def new_segment(kind: str) -> str:
    """A fresh segment id of ``kind`` (unique: a retried task never reuses a name)."""
    return f"{kind}-{uuid.uuid4().hex}"


def segment_of(data_file: str) -> str | None:
    """The segment a data file of a build belongs to, or None for a file no build named."""
    name = data_file.rsplit("/", 1)[-1]
    if not name.endswith(SUFFIX):
        return None
    segment = name.removesuffix(SUFFIX)
    kind, _, token = segment.partition("-")
    if kind not in SEGMENT_KINDS or len(token) != 32:
        return None
    return segment


def file_name(segment: str) -> str:
    return f"{segment}{SUFFIX}"


@dataclass(frozen=True)
class SegmentFiles:
    """The data files a segment wrote, by table key (a table it has no rows for has none)."""

    segment: str
    files: Mapping[str, DataFile] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(data.size for data in self.files.values())


@dataclass(frozen=True)
class SegmentPart:
    """A committed segment to merge: its data file per table key, and the ids of the files whose
    rows are left out."""

    segment: str
    files: Mapping[str, str]
    drop: frozenset[str] = frozenset()


def write_segment(
    out: Path, tables: BuildTables, segment: str, rows: Mapping[str, pa.Table]
) -> SegmentFiles:
    """Write ``rows`` (table key -> rows in the table's stored schema) as ``segment``."""
    writer = SegmentWriter(out, tables, segment)
    try:
        writer.write(rows)
    except BaseException:
        writer.abort()
        raise
    return writer.close()


class SegmentWriter:
    """One segment written from any number of row batches (table key -> rows in the table's
    stored schema), each table's file created on its first rows."""

    def __init__(self, out: Path, tables: BuildTables, segment: str) -> None:
        self.out, self.tables, self.segment = out, tables, segment
        self._writers: dict[str, DataFileWriter] = {}

    def write(self, rows: Mapping[str, pa.Table]) -> None:
        for key, table in rows.items():
            writer = self._writers.get(key)
            if writer is None:
                spec = self.tables[key]
                writer = DataFileWriter(
                    self.out / spec.folder, file_name(self.segment), spec.schema
                )
                self._writers[key] = writer
            writer.write(table)

    def close(self) -> SegmentFiles:
        written = {}
        for key, writer in self._writers.items():
            data = writer.close()
            if data is not None:
                written[key] = data
        return SegmentFiles(self.segment, written)

    def abort(self) -> None:
        """Delete the files written so far."""
        for writer in self._writers.values():
            writer.abort()


def merge_segments(
    out: Path, tables: BuildTables, parts: Iterable[SegmentPart], kind: str = FILE_SEGMENT
) -> SegmentFiles:
    """One new segment holding the rows of ``parts``, without the rows of their dropped files."""
    parts = list(parts)
    segment = new_segment(kind)
    dropped = {part.segment: _dropped_entities(out, tables, part) for part in parts}
    written = {}
    for spec in tables:
        sources = [part for part in parts if spec.key in part.files]
        if not sources:
            continue
        writer = DataFileWriter(out / spec.folder, file_name(segment), spec.schema)
        try:
            for part in sources:
                for batch in read_batches(out / spec.folder / part.files[spec.key]):
                    writer.write(_kept(batch, spec, part.drop, dropped[part.segment]))
        except BaseException:
            writer.abort()
            raise
        data = writer.close()
        if data is not None:
            written[spec.key] = data
    return SegmentFiles(segment, written)


def _dropped_entities(out: Path, tables: BuildTables, part: SegmentPart) -> pa.Array:
    """The ids of the nodes and edges of ``part`` that belong to its dropped files."""
    ids: list[pa.Array] = [pa.array([], pa.string())]
    if not part.drop:
        return ids[0]
    drop = pa.array(sorted(part.drop), pa.string())
    for spec in tables:
        if spec.id_column is None or spec.file_column is None or spec.key not in part.files:
            continue
        columns = (spec.file_column, spec.id_column)
        for batch in read_batches(out / spec.folder / part.files[spec.key], columns):
            owned = pc.fill_null(pc.is_in(batch.column(0), drop), False)
            ids.append(batch.column(1).filter(owned).cast(pa.string()))
    return pa.concat_arrays(ids)


def _kept(
    batch: pa.RecordBatch, spec: BuildTable, drop: frozenset[str], entities: pa.Array
) -> pa.RecordBatch:
    if not drop:
        return batch
    if spec.file_column is not None:
        owners = batch.column(spec.file_column).cast(pa.string())
        gone = pc.is_in(owners, pa.array(sorted(drop), pa.string()))
    elif spec.entity_column is not None:
        gone = pc.is_in(batch.column(spec.entity_column).cast(pa.string()), entities)
    else:
        return batch
    return batch.filter(pc.invert(pc.fill_null(gone, False)))


def table_rows(tables: BuildTables, key: str, table: pa.Table) -> pa.Table:
    """``table`` in the stored schema of ``tables[key]`` (dictionaries decoded, no metadata)."""
    return table.cast(tables[key].schema)
