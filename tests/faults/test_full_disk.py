"""A full or read-only disk under ``--out``: exit 2 with one line naming the path, no Rust panic,
no traceback, and an output that says it is incomplete.

Before: ``thread 'tokio-rt-worker' panicked at .../object_store-0.13.2/src/buffered.rs:369:41:
Already shut down``, a ``DeltaError`` traceback, exit 1, and nothing marking the output partial.

The disks are small tmpfs mounts (root can mount them here); where mounting is not permitted the
tests skip and say so (``test_build_status`` covers the same path with an injected ENOSPC).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph.build_status import IncompleteBuildError, read_record, require_complete
from tests.faults.support import ROOT, cli_env, make_repo, run_build

Mount = Callable[..., Path]

SOURCE_PACKAGE = Path(shutil.__file__).parent / "email"
"""29 stdlib modules: their CPG takes 1.2 MB on disk."""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Mount]:
    """``mount(size, *options)``: a fresh tmpfs of that size under ``tmp_path``."""
    mounted: list[Path] = []

    def mount(size: str, *options: str) -> Path:
        target = tmp_path / f"disk{len(mounted)}"
        target.mkdir()
        opts = ",".join([f"size={size}", *options])
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        subprocess.run(["umount", str(target)], check=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    files = {f"email/{p.name}": p.read_bytes() for p in sorted(SOURCE_PACKAGE.glob("*.py"))}
    return make_repo(tmp_path, files)


def _assert_one_line_naming(stderr: str, path: Path, reason: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and str(path) in lines[0] and reason in lines[0]


@pytest.mark.parametrize(
    ("size", "stage"),
    [("100k", "the registry export"), ("1m", "the dataset appends")],
)
def test_a_full_disk_exits_2_with_one_line_and_leaves_no_complete_looking_output(
    small_disk: Mount, repo: Path, size: str, stage: str
) -> None:
    out = small_disk(size) / "out"
    proc = run_build(repo, out, "--workers", "0", "-q")
    assert proc.returncode == 2, f"{stage}: {proc.stderr}"
    _assert_one_line_naming(proc.stderr, out, "No space left on device")
    assert "panicked" not in proc.stderr and "Traceback" not in proc.stderr
    record = read_record(out)
    assert record is not None and record.status in {"running", "failed"}  # "failed" if it fit
    with pytest.raises(IncompleteBuildError):
        require_complete(out)
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp")] == []


def test_a_read_only_output_exits_2_with_one_line(small_disk: Mount, repo: Path) -> None:
    disk = small_disk("1m", "ro")
    proc = run_build(repo, disk / "out", "--workers", "0", "-q")
    assert proc.returncode == 2
    _assert_one_line_naming(proc.stderr, disk / "out", "Read-only file system")


OVERFILL = """\
import os, sys
import pyarrow as pa
table = pa.table({"a": [os.urandom(16).hex() for _ in range(100_000)]})
if sys.argv[1] == "deltalake":
    from deltalake import write_deltalake
    write_deltalake(sys.argv[2], table)
else:
    from storage.deltalake.delta import write_table_delta
    write_table_delta(sys.argv[2], table)
"""
"""Write 3 MB of hex strings to a Delta table, with deltalake itself or with our wrapper."""


def _overfill(writer: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", OVERFILL, writer, str(path)],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_canary_deltalake_still_panics_on_a_full_disk(small_disk: Mount) -> None:
    """Fails once upstream stops panicking (apache/arrow-rs-object-store#810): then
    ``storage.native_stderr`` can go and writes need not hold back native stderr."""
    proc = _overfill("deltalake", small_disk("200k") / "t")
    assert "No space left on device" in proc.stderr
    assert "Already shut down" in proc.stderr, (
        "deltalake no longer panics on a full disk: remove storage/native_stderr.py",
        proc.stderr,
    )


def test_our_writes_hold_the_panic_back_and_name_the_table(small_disk: Mount) -> None:
    path = small_disk("200k") / "t"
    proc = _overfill("ours", path)
    assert proc.returncode == 1  # an uncaught DeltaStorageError: its traceback, nothing else
    assert "panicked" not in proc.stderr.split("Traceback")[0]
    last = proc.stderr.rstrip().splitlines()
    error = next(line for line in last if line.startswith("storage.deltalake.delta."))
    assert error.startswith(f"storage.deltalake.delta.DeltaStorageError: cannot write {path}: ")
    assert "No space left on device" in error
    assert "native stderr during the call:" in proc.stderr  # kept, as a note on the error
    assert "Already shut down" in proc.stderr.split("native stderr during the call:")[1]
