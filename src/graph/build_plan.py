"""The previous build a new one may keep rows of, and the data files the new one will commit.

``committed_build`` says whether an output folder holds a build an incremental build can start
from (a complete build with the same inputs, whose tables hold only segments it wrote) and, when
not, why not in words: that is the one line a full rebuild prints.

``FileSet`` tracks, per table, the data files of the version being made: the committed files it
keeps, the new ones it adds, the committed ones it removes. Every table is committed once, at the
end, from it (``adds``/``removes``), and the rule engine reads its inputs from it before then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from graph.build_status import COMPLETE, BuildRecord
from graph.build_tables import BuildTables
from graph.incremental import BuildInputs, FileState, read_state
from graph.segments import FILE_SEGMENT, SegmentFiles, segment_of
from storage.deltalake.delta import data_files
from storage.parquet_files import DataFile


@dataclass(frozen=True)
class CommittedFile:
    """A data file of the committed version of a table."""

    name: str
    size: int
    rows: int


@dataclass(frozen=True)
class CommittedBuild:
    """A complete build an incremental one can keep rows of."""

    state: Mapping[str, FileState]
    """By on-disk relative path."""
    segments: Mapping[str, Mapping[str, CommittedFile]]
    """Segment -> table key -> its data file."""

    def size(self, segment: str) -> int:
        return sum(data.size for data in self.segments.get(segment, {}).values())


def committed_build(
    out: Path, record: BuildRecord | None, tables: BuildTables, inputs: BuildInputs, full: bool
) -> tuple[CommittedBuild | None, str]:
    """The build in ``out`` (whose record said ``record`` before this build started) a new build
    with ``inputs`` can keep rows of; else None and why a full build is needed."""
    if full:
        return None, "--full"
    if record is None:
        return None, f"{out} holds no build (or an unreadable build record)"
    if record.status != COMPLETE:
        return None, "the previous build did not complete"
    changed = inputs.changed_since(record.inputs)
    if changed is not None:
        return None, changed
    state = read_state(out)
    if state is None:
        return None, "the previous build left no file state"
    segments: dict[str, dict[str, CommittedFile]] = {}
    for spec in tables:
        files = data_files(out / spec.folder)
        if not files and not (out / spec.folder).exists():
            return None, f"{spec.folder} is missing"
        for name, (size, rows) in files.items():
            segment = segment_of(name)
            if segment is None or rows < 0:
                return None, f"{spec.folder} holds data file {name}, which no build wrote"
            segments.setdefault(segment, {})[spec.key] = CommittedFile(name, size, rows)
    known = {entry.segment for entry in state.values()}
    stray = sorted(s for s in segments if s.startswith(FILE_SEGMENT) and s not in known)
    if stray:
        return None, f"the tables hold segment {stray[0]}, which the file state does not know"
    return CommittedBuild(state, segments), ""


@dataclass
class FileSet:
    """The data files of each table in the version being made."""

    committed: Mapping[str, Mapping[str, CommittedFile]]
    """Segment -> table key -> file, as committed (empty for a full build)."""
    kept: set[str] = field(default_factory=set)
    """Committed segments that stay."""
    added: dict[str, SegmentFiles] = field(default_factory=dict)
    """New segments that will be committed, by segment."""

    def __post_init__(self) -> None:
        self.kept = set(self.committed)

    def add(self, segment: SegmentFiles) -> None:
        if segment.files:
            self.added[segment.segment] = segment

    def remove(self, segments: Iterable[str]) -> None:
        """Take segments (committed or new) out of the version."""
        for segment in segments:
            self.kept.discard(segment)
            self.added.pop(segment, None)

    def segments(self) -> list[str]:
        return sorted(self.kept | set(self.added))

    def table_files(self, key: str) -> list[str]:
        """Names of the table's data files in the version being made."""
        names = [self.committed[s][key].name for s in self.kept if key in self.committed[s]]
        names += [new.files[key].path for new in self.added.values() if key in new.files]
        return sorted(names)

    def rows(self, key: str) -> int:
        kept = sum(self.committed[s][key].rows for s in self.kept if key in self.committed[s])
        return kept + sum(new.files[key].rows for new in self.added.values() if key in new.files)

    def adds(self, key: str) -> list[DataFile]:
        return [new.files[key] for new in self.added.values() if key in new.files]

    def removes(self, key: str) -> dict[str, int]:
        return {
            files[key].name: files[key].size
            for segment, files in self.committed.items()
            if segment not in self.kept and key in files
        }

    def segment_size(self, segment: str) -> int:
        new = self.added.get(segment)
        if new is not None:
            return new.size
        return sum(data.size for data in self.committed[segment].values())

    def segment_table_files(self, segment: str) -> dict[str, str]:
        new = self.added.get(segment)
        if new is not None:
            return {key: data.path for key, data in new.files.items()}
        return {key: data.name for key, data in self.committed[segment].items()}
