"""``kill -9`` of a build's parent: its workers end within seconds, and its output says it is
incomplete until a build completes.

Before: workers were still alive 123 s after the kill, and the partial output (414k of 650k
nodes) carried no mark; a reader took it for a build."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from graph.build_status import IncompleteBuildError, read_record, require_complete
from storage.deltalake.delta import data_files
from tests.faults.support import (
    ROOT,
    build_command,
    cli_env,
    dense_module,
    make_repo,
    rows_of,
    run_build,
)

FILES: dict[str, str | bytes] = {
    **{f"m{n:02}.py": f"def f{n}(x):\n    return [x + {n}]\n" for n in range(12)},
    "z_slow.py": dense_module(20_000),  # keeps a worker inside extraction at the kill
}


def _descendants(proc: subprocess.Popen[bytes]) -> dict[int, float]:
    """pid -> create time of every process below ``proc`` until it exits (it kills itself)."""
    root = psutil.Process(proc.pid)
    seen: dict[int, float] = {}
    while proc.poll() is None:
        try:
            for child in root.children(recursive=True):
                seen.setdefault(child.pid, child.create_time())
        except psutil.Error:
            pass
        time.sleep(0.02)
    return seen


def _alive(pid: int, created: float) -> bool:
    try:
        process = psutil.Process(pid)
        return process.create_time() == created and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_workers_end_within_seconds_of_the_parents_kill_and_the_output_says_incomplete(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path, FILES)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        build_command(repo, out, "--workers", "2", "-q"),
        env=cli_env("graph.after_batch@1"),  # SIGKILL, as kill -9, once one batch is written
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children = _descendants(proc)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert len(children) >= 2, children  # the workers (and multiprocessing's resource tracker)
    deadline = time.monotonic() + 5
    while any(_alive(pid, t) for pid, t in children.items()) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid, t in children.items() if _alive(pid, t)]
    for pid in survivors:  # never leave them running, even when the test fails
        psutil.Process(pid).kill()
    assert survivors == [], "processes of the killed build still running 5 s later"

    assert not (out / "cpg_nodes_v1" / "_delta_log").exists()  # nothing committed ...
    assert list((out / "cpg_nodes_v1").glob("*.parquet"))  # ... though batches were written
    record = read_record(out)
    assert record is not None and record.status == "running"
    with pytest.raises(IncompleteBuildError, match="has not completed") as caught:
        require_complete(out)
    assert str(out) in str(caught.value)
    assert len(str(caught.value).splitlines()) == 1

    rerun = run_build(repo, out, "--workers", "2", "-q")
    assert rerun.returncode == 0, rerun.stderr
    done = require_complete(out)
    assert done.status == "complete"
    assert done.files == len(FILES)
    assert done.rows["cpg_nodes_v1"] == len(rows_of(out, "cpg_nodes_v1"))
    on_disk = {p.name for p in (out / "cpg_nodes_v1").glob("*.parquet")}
    assert on_disk == set(data_files(out / "cpg_nodes_v1"))  # the stopped build's files are gone


def test_the_repository_level_layers_end_with_the_killed_build(tmp_path: Path) -> None:
    """scip-python (node) and the runtime probe run beside the workers: they die with the
    build too (``PR_SET_PDEATHSIG`` armed by their launcher)."""
    files = {**FILES, "pkg/__init__.py": "", "pkg/slow.py": "import time\ntime.sleep(60)\n"}
    repo = make_repo(tmp_path, files)
    out = tmp_path / "out"
    command = [part for part in build_command(repo, out) if part != "--no-scip"]
    proc = subprocess.Popen(
        [*command, "--workers", "1", "--runtime", "-q"],
        env=cli_env("graph.after_batch@2"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    root = psutil.Process(proc.pid)
    children: dict[int, float] = {}
    names: set[str] = set()
    while proc.poll() is None:
        try:
            for child in root.children(recursive=True):
                children.setdefault(child.pid, child.create_time())
                names.add(child.name())
        except psutil.Error:
            pass
        time.sleep(0.02)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert "node" in names, names  # scip-python ran beside the workers
    deadline = time.monotonic() + 5
    while any(_alive(pid, t) for pid, t in children.items()) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [pid for pid, t in children.items() if _alive(pid, t)]
    for pid in survivors:
        psutil.Process(pid).kill()
    assert survivors == [], "layers of the killed build still running 5 s later"
