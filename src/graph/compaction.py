"""Which segments a build merges: compaction of small segments, and the rewrite of segments that
lose files' rows.

Extraction writes one segment per batch of files (a few MiB over all tables); a plain reader
pays for every file, so segments are merged up to ``TARGET_BYTES``. Merging costs a read and a
write of every merged row, which an incremental build pays again when a segment loses a file,
so the policy keeps that bounded (LSM style):

- a segment that loses rows (a file changed or left) is always rewritten: alone when it is
  large, with the small segments when they are compacted;
- small segments (under half the target) are compacted once there are more than
  ``SMALL_SEGMENTS`` of them, or on a full build: packed in path order into groups of at most
  the target, each merged into one segment.

So an incremental build that changes one file rewrites at most one segment (at most
``TARGET_BYTES``) and adds one small one; small segments are merged every few builds.
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
    """A segment a build could merge: its bytes, data files and dropped files."""

    segment: str
    size: int
    files: Mapping[str, str]
    """Table key -> data file name."""
    first_path: str
    """The smallest on-disk path of its files: merges keep neighbouring files together."""
    drop: frozenset[str] = frozenset()
    """Ids of files whose rows leave with the merge."""


def plan_merges(
    candidates: Sequence[Candidate], policy: CompactionPolicy, *, compact: bool
) -> list[list[Candidate]]:
    """Groups of candidates to merge, each into one new segment; a candidate in no group stays.

    ``compact`` forces the compaction of small segments (a full build).
    """
    target, small_limit = policy.target_bytes, policy.small_segments
    small = [c for c in candidates if c.size < target // 2]
    large_rewrites = [[c] for c in candidates if c.size >= target // 2 and c.drop]
    if not compact and len(small) <= small_limit:
        return large_rewrites + [[c] for c in small if c.drop]
    groups: list[list[Candidate]] = []
    current: list[Candidate] = []
    size = 0
    for candidate in sorted(small, key=lambda c: (c.first_path, c.segment)):
        if current and size + candidate.size > target:
            groups.append(current)
            current, size = [], 0
        current.append(candidate)
        size += candidate.size
    if current:
        groups.append(current)
    merged = [group for group in groups if len(group) > 1 or group[0].drop]
    return large_rewrites + merged
