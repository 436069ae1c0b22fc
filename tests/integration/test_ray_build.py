"""``--executor ray``: the same build as Ray tasks on a local cluster (``ray.init(num_cpus=2)``)
writes exactly the rows the process pool writes, and an incremental Ray build equals a full one.

Skipped only when the ``ray`` extra is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from graph.executors import RAY, ExecutorChoice
from graph.product_build import build_graph_product
from storage.deltalake.delta import read_raw_delta
from tests.integration.test_incremental_build import SNIPPETS, assert_same_tables

ray = pytest.importorskip("ray")

FILES = {
    "src/pkg/__init__.py": "",
    **{f"src/pkg/m{n}.py": SNIPPETS[n % len(SNIPPETS)] for n in range(10)},
    "src/pkg/huge.py": "x = 1\n",
}


@contextmanager
def local_ray(**env: str) -> Iterator[None]:
    """A local Ray cluster of 2 CPUs whose workers get ``env``."""
    runtime = {"env_vars": env} if env else None
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=runtime)
    try:
        yield
    finally:
        ray.shutdown()


def _repo(parent: Path) -> Path:
    repo = parent / "proj"
    for relpath, text in FILES.items():
        target = repo / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return repo


def test_a_ray_build_writes_what_the_process_pool_writes(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    pool = build_graph_product(repo, tmp_path / "pool", workers=2)
    with local_ray():
        on_ray = build_graph_product(repo, tmp_path / "ray", executor=ExecutorChoice(RAY))
    assert on_ray.rows == pool.rows and on_ray.rows["cpg_nodes_v1"] > 0
    assert_same_tables(tmp_path / "ray", tmp_path / "pool")

    (repo / "src/pkg/m1.py").write_text(SNIPPETS[5], encoding="utf-8")
    (repo / "src/pkg/m2.py").unlink()
    with local_ray():
        again = build_graph_product(repo, tmp_path / "ray", executor=ExecutorChoice(RAY))
    assert (again.full_reason, again.extracted, again.removed) == (None, 1, 1)
    build_graph_product(repo, tmp_path / "pool", workers=2, full=True)
    assert_same_tables(tmp_path / "ray", tmp_path / "pool")


def test_a_file_whose_ray_worker_dies_gets_a_diag_and_the_others_are_built(
    tmp_path: Path,
) -> None:
    """A worker killed mid-task (``CPG_FAULT`` in Ray's workers: SIGKILL at the third file a
    worker reads) costs the build only the file at fault: its PY_FILE gets a ``worker-died``
    DIAG, every other file its rows."""
    repo = _repo(tmp_path)
    with local_ray(CPG_FAULT="graph.extract@3"):
        result = build_graph_product(repo, tmp_path / "out", executor=ExecutorChoice(RAY))
    nodes = read_raw_delta(tmp_path / "out" / "cpg_nodes_v1").to_pylist()
    files = {row["path"] for row in nodes if row["node_kind"] == "PY_FILE"}
    assert files == set(FILES)
    props = read_raw_delta(tmp_path / "out" / "cpg_props_v1").to_pylist()
    codes = {row["value_str"] for row in props if row["prop_key"] == "code"}
    assert "worker-died" in codes
    assert result.diagnostics >= 1


def test_a_ray_address_nobody_answers_at_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Ray retries an unreachable cluster for minutes; the build names the address at once."""
    import socket

    from tests.integration.test_graph_build import run_cli

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    args = ("--executor", "ray", "--no-scip", "-q")
    result = run_cli(
        "build", _repo(tmp_path), "--out", tmp_path / "out", *args, "--ray-address", address
    )
    assert result.returncode == 2
    assert f"no Ray cluster answers at {address}" in result.stderr
    assert "Traceback" not in result.stderr
