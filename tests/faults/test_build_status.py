"""The build record says ``complete`` only after a build's last write; a failed build says why,
and the CLI fails with one line and exit 2 (``--debug`` adds the traceback).

Before: nothing marked an interrupted or failed build; a failure in the middle of the writes was
a traceback and exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.build_status import (
    STATUS_FILE,
    IncompleteBuildError,
    read_record,
    require_complete,
)
from storage.deltalake.delta import data_files
from tests.faults.support import make_repo, rows_of, run_build

FILES = {f"m{n}.py": f"def f{n}():\n    return {n}\n" for n in range(8)}


def test_a_build_failing_mid_write_exits_2_with_one_line_and_is_marked_failed(
    tmp_path: Path,
) -> None:
    """The tables keep the previous build until every file is written: a failed build commits
    nothing (its record says so), and the next one deletes the files it left."""
    repo = make_repo(tmp_path, FILES)
    out = tmp_path / "out"
    assert run_build(repo, out, "--workers", "0", "-q").returncode == 0
    before = rows_of(out, "cpg_nodes_v1")
    proc = run_build(repo, out, "--workers", "0", "-q", "--full", fault="graph.write@2=ENOSPC")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [f"error: {out}: No space left on device"]
    assert proc.stdout == ""
    assert rows_of(out, "cpg_nodes_v1") == before  # the previous build, whole ...
    record = read_record(out)
    assert record is not None and record.status == "failed"  # ... and marked as not this one
    assert record.reason == f"OSError: [Errno 28] No space left on device: '{out}'"
    with pytest.raises(IncompleteBuildError, match="failed: OSError"):
        require_complete(out)
    assert run_build(repo, out, "--workers", "0", "-q").returncode == 0
    assert rows_of(out, "cpg_nodes_v1") == before
    on_disk = {p.name for p in (out / "cpg_nodes_v1").glob("*.parquet")}
    assert on_disk == set(data_files(out / "cpg_nodes_v1"))  # the stopped build's files are gone


def test_debug_shows_the_traceback_and_still_exits_2(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    out = tmp_path / "out"
    proc = run_build(repo, out, "--workers", "0", "-q", "--debug", fault="graph.write@1=EIO")
    assert proc.returncode == 2
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.splitlines()[-1] == f"error: {out}: Input/output error"


def test_a_complete_build_records_its_counts(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    out = tmp_path / "out"
    assert run_build(repo, out, "--workers", "0", "-q").returncode == 0
    record = require_complete(out)
    assert (record.status, record.repo, record.files) == ("complete", str(repo.resolve()), 8)
    assert json.loads((out / STATUS_FILE).read_text())["status"] == "complete"  # plain JSON
    assert record.rows["cpg_nodes_v1"] == len(rows_of(out, "cpg_nodes_v1"))
    assert record.finished_at is not None and record.started_at <= record.finished_at
    assert sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp")) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no _build.json"),
        ("{not json", "not a build record"),
        ('{"status": "complete"}', "not a build record"),
    ],
    ids=["missing", "garbage", "incomplete-record"],
)
def test_outputs_without_a_sound_record_are_refused(
    tmp_path: Path, content: str | None, message: str
) -> None:
    if content is not None:
        (tmp_path / STATUS_FILE).write_text(content)
    with pytest.raises(IncompleteBuildError, match=message) as caught:
        require_complete(tmp_path)
    assert str(tmp_path) in str(caught.value)
