"""The compaction policy: what a full build packs, what an incremental build leaves alone."""

from __future__ import annotations

from graph.compaction import Candidate, CompactionPolicy, plan_compaction

POLICY = CompactionPolicy(target_bytes=100, small_segments=3)


def _candidates(*sizes: int) -> list[Candidate]:
    # listed in reverse path order: packing must follow the paths, not the list
    return [
        Candidate(f"file-{n}", size, {"nodes": f"file-{n}.parquet"}, f"m{len(sizes) - n:02}.py")
        for n, size in enumerate(sizes)
    ]


def _names(groups: list[list[Candidate]]) -> list[list[str]]:
    return [[c.segment for c in group] for group in groups]


def test_a_full_build_packs_small_segments_in_path_order_up_to_the_target() -> None:
    groups = plan_compaction(_candidates(30, 40, 90, 20, 45, 10), POLICY, full=True)
    # small: < 50 bytes; by path: file-5 (10), file-4 (45), file-3 (20), file-1 (40), file-0 (30)
    assert _names(groups) == [["file-5", "file-4", "file-3"], ["file-1", "file-0"]]


def test_an_incremental_build_waits_until_small_segments_pile_up() -> None:
    assert plan_compaction(_candidates(10, 10, 10, 90), POLICY, full=False) == []
    groups = plan_compaction(_candidates(10, 10, 10, 10, 90), POLICY, full=False)
    assert _names(groups) == [["file-3", "file-2", "file-1", "file-0"]]


def test_a_lone_small_segment_is_not_rewritten() -> None:
    assert plan_compaction(_candidates(10, 95, 99), POLICY, full=True) == []
