"""Which segments a build packs together (compaction), and why this policy.

Extraction writes one segment per batch of files; a plain reader pays for every file, so small
segments are merged up to ``TARGET_BYTES``. Merging costs a read and a write of every merged
row, and an incremental build pays a rewrite again whenever a segment loses a file (it is
rewritten without that file's rows, alone, while the changed files are extracted), so the
target bounds that cost too. The policy (LSM style):

- on a full build, all segments are packed in path order into groups of at most the target;
- on an incremental build, small segments (under half the target: the new segments of a few
  changed files, mostly) are left alone until there are more than ``SMALL_SEGMENTS`` of them,
  then packed the same way.

So an incremental build that changes one file rewrites at most one segment (at most
``TARGET_BYTES``) and adds one small one; the small ones are packed every few builds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TARGET_BYTES = 32 << 20
"""Bytes of one segment over all its tables (ZSTD Parquet) that compaction aims at."""
SMALL_SEGMENTS = 8
"""Small segments an incremental build leaves alone before it compacts them."""


@dataclass(frozen=True)
class CompactionPolicy:
    """How large a segment should be, and how many small ones an incremental build tolerates."""

    target_bytes: int = TARGET_BYTES
    small_segments: int = SMALL_SEGMENTS


@dataclass(frozen=True)
class Candidate:
    """A segment compaction could pack: its bytes, data files and first file."""

    segment: str
    size: int
    files: Mapping[str, str]
    """Table key -> data file name."""
    first_path: str
    """The smallest on-disk path of its files: packing keeps neighbouring files together."""


def plan_compaction(
    candidates: Sequence[Candidate], policy: CompactionPolicy, *, full: bool
) -> list[list[Candidate]]:
    """Groups of two or more small candidates, each to be merged into one new segment; the
    others stay as they are."""
    small = [c for c in candidates if c.size < policy.target_bytes // 2]
    if not full and len(small) <= policy.small_segments:
        return []
    groups: list[list[Candidate]] = []
    current: list[Candidate] = []
    size = 0
    for candidate in sorted(small, key=lambda c: (c.first_path, c.segment)):
        if current and size + candidate.size > policy.target_bytes:
            groups.append(current)
            current, size = [], 0
        current.append(candidate)
        size += candidate.size
    groups.append(current)
    return [group for group in groups if len(group) > 1]
