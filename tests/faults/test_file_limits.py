"""Per-file work is bounded: a file over the size cap, a worker past its memory limit, a batch
past its time limit and a worker that dies each become a DIAG on that file, and every other file
of the repository is still extracted in full.

Before: one 20 MB generated file grew the build past 15 GB and never finished; a dead worker
broke the whole process pool (``BrokenProcessPool``, a traceback)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from graph.extract.filesystem import file_node_id
from graph.product_build import WorkLimits, build_graph_product
from graph.repo_layers import RepoLayerOptions
from storage.faults import ENV as FAULT_ENV
from tests.faults.support import (
    REPO_NAME,
    build_command,
    dense_module,
    diags,
    file_props,
    make_repo,
    rows_of,
    run_watched,
)

SMALL = {f"a{n}.py": f"def f{n}(x):\n    return x + {n}\n" for n in range(5)}
"""Five small modules; with ``big.py`` and one worker they make batches of two files, so the
last batch is ``a4.py`` + ``big.py`` and a failure there must not cost ``a4.py`` its rows."""

NO_SCIP = RepoLayerOptions(scip=False)
"""The faults are the per-file pipeline's."""


def _extracted_fully(out: Path, path: str) -> None:
    kinds = {row["node_kind"] for row in rows_of(out, "cpg_nodes_v1") if row["path"] == path}
    assert {"PY_FILE", "AST_DEF", "SYM_SCOPE", "BC_CODE_UNIT"} <= kinds, (path, kinds)
    assert "DIAG" not in kinds, path


@pytest.mark.parametrize("shape", ["dense", "literal"])
def test_a_20_mb_generated_file_is_a_diag_and_the_build_stays_small(
    tmp_path: Path, shape: str
) -> None:
    """The issue's case, through the CLI with its defaults: the file is hashed, never parsed."""
    big = dense_module(1_160_000) if shape == "dense" else f"DATA = {'a' * (20 << 20)!r}\n"
    data = big.encode()
    assert len(data) >= 20 << 20
    repo = make_repo(tmp_path, {"big.py": big, "ok.py": "def ok():\n    return 1\n"})
    out = tmp_path / "out"
    run = run_watched(build_command(repo, out, "-q"), max_tree_bytes=3 << 30, timeout=150)
    assert run.stopped is None, f"stopped for {run.stopped} at {run.peak_tree_bytes >> 20} MiB"
    assert run.returncode == 0, run.stderr
    assert run.peak_tree_bytes < 1 << 30, run.peak_tree_bytes >> 20  # measured: 280 MiB
    diag = diags(out)["big.py"]
    assert (diag["code"], diag["severity"], diag["diag_source"]) == (
        "file-too-large",
        "ERROR",
        "pipeline",
    )
    assert str(len(data)) in str(diag["message"])
    props = file_props(out, "big.py")
    assert props["size_bytes"] == len(data)
    assert props["file_sha256"] == hashlib.sha256(data).hexdigest()
    _extracted_fully(out, "ok.py")


def test_a_worker_past_its_memory_limit_becomes_a_diag_on_its_file(tmp_path: Path) -> None:
    """0.5 MB of dense code needs ~0.7 GB of extraction memory; the worker may have 400 MiB
    (it starts at ~150 MiB)."""
    data = dense_module(33_000).encode()
    repo = make_repo(tmp_path, {**SMALL, "big.py": data})
    out = tmp_path / "out"
    limits = WorkLimits(worker_memory_bytes=400 << 20)
    result = build_graph_product(repo, out, workers=1, limits=limits, layers=NO_SCIP)
    diag = diags(out)["big.py"]
    assert diag["code"] == "worker-memory-limit", diag
    assert "400 MiB" in str(diag["message"])
    assert file_props(out, "big.py")["file_sha256"] == hashlib.sha256(data).hexdigest()
    for path in SMALL:
        _extracted_fully(out, path)
    assert (result.files, result.diagnostics, result.violations) == (6, 1, 0)


def test_a_batch_past_its_time_limit_is_split_and_the_slow_file_gets_a_diag(
    tmp_path: Path,
) -> None:
    """1 MB of dense code takes ~10 s; a batch may take 2 s."""
    repo = make_repo(tmp_path, {**SMALL, "big.py": dense_module(66_000)})
    out = tmp_path / "out"
    result = build_graph_product(
        repo, out, workers=1, limits=WorkLimits(batch_timeout=2.0), layers=NO_SCIP
    )
    diag = diags(out)["big.py"]
    assert diag["code"] == "worker-timeout", diag
    assert "2 s" in str(diag["message"])
    for path in SMALL:
        _extracted_fully(out, path)
    assert (result.files, result.diagnostics, result.violations) == (6, 1, 0)


def test_a_worker_that_dies_costs_only_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker SIGKILLs itself at the second file it reads, and so does its replacement:
    a1.py's batch is retried and dies again; a0.py and the rest are extracted."""
    repo = make_repo(tmp_path, SMALL)
    out = tmp_path / "out"
    monkeypatch.setenv(FAULT_ENV, "graph.extract@2")
    result = build_graph_product(repo, out, workers=1, batch_files=1, layers=NO_SCIP)
    assert set(diags(out)) == {"a1.py", "a3.py"}  # each fresh worker dies at its 2nd file
    for path in ("a1.py", "a3.py"):
        diag = diags(out)[path]
        assert diag["code"] == "worker-died", diag
        assert "exit code -9" in str(diag["message"])
        assert file_props(out, path)["size_bytes"] == len(SMALL[path])
    for path in ("a0.py", "a2.py", "a4.py"):
        _extracted_fully(out, path)
    assert result.violations == 0
    nodes = rows_of(out, "cpg_nodes_v1")
    file_ids = {row["node_id"] for row in nodes if row["node_kind"] == "PY_FILE"}
    assert file_ids == {file_node_id(REPO_NAME, path) for path in SMALL}
