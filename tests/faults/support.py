"""Helpers of the fault tests: repositories on disk, ``python -m graph build`` in a subprocess
(optionally watched: the resident memory of its whole process tree), and the rows it wrote."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import psutil

from storage.deltalake.delta import read_raw_delta
from storage.faults import ENV as FAULT_ENV

ROOT = Path(__file__).resolve().parents[2]
REPO_NAME = "proj"


def make_repo(parent: Path, files: Mapping[str, str | bytes], name: str = REPO_NAME) -> Path:
    """A repository folder ``parent/name`` holding ``files`` (relative path -> content)."""
    repo = parent / name
    repo.mkdir(parents=True)
    for relpath, content in files.items():
        target = repo / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return repo


def dense_module(lines: int) -> str:
    """Generated code at its densest: ``x_N = N`` lines (1.1-1.9 GB of extraction per MB)."""
    return "".join(f"x_{n} = {n}\n" for n in range(lines))


def cli_env(fault: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    env.pop(FAULT_ENV, None)
    if fault is not None:
        env[FAULT_ENV] = fault
    return env


def build_command(repo: Path, out: Path, *args: object) -> list[str]:
    """The build command line; the faults are the per-file pipeline's, so without SCIP."""
    command = [sys.executable, "-m", "graph", "build", str(repo), "--out", str(out), "--no-scip"]
    return [*command, *map(str, args)]


def run_build(
    repo: Path,
    out: Path,
    *args: object,
    fault: str | None = None,
    preexec_fn: Callable[[], None] | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """``python -m graph build REPO --out OUT ARGS`` with ``CPG_FAULT=fault``."""
    return subprocess.run(
        build_command(repo, out, *args),
        capture_output=True,
        text=True,
        env=cli_env(fault),
        cwd=ROOT,
        timeout=timeout,
        check=False,
        preexec_fn=preexec_fn,
    )


@dataclass
class Watched:
    """A finished watched run: exit code, stderr, peak resident bytes of the process tree."""

    returncode: int
    stderr: str
    peak_tree_bytes: int
    stopped: str | None
    """Why the watcher ended the run early (memory or time), else None."""


def run_watched(command: list[str], *, max_tree_bytes: int, timeout: float) -> Watched:
    """Run ``command``, sampling the summed RSS of it and its descendants every 50 ms; kill the
    tree when it passes ``max_tree_bytes`` or ``timeout`` (a runaway build must not take the
    machine with it)."""
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=ROOT,
    )
    stderr: list[str] = []
    reader = threading.Thread(target=lambda: stderr.append(proc.stderr.read()))  # type: ignore[union-attr]
    reader.start()
    root = psutil.Process(proc.pid)
    peak, stopped, started = 0, None, time.monotonic()
    while proc.poll() is None:
        tree = [root]
        with contextlib.suppress(psutil.Error):
            tree += root.children(recursive=True)
        total = 0
        for process in tree:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        peak = max(peak, total)
        if total > max_tree_bytes or time.monotonic() - started > timeout:
            stopped = "memory" if total > max_tree_bytes else "time"
            for process in reversed(tree):
                with contextlib.suppress(psutil.Error):
                    process.kill()
            break
        time.sleep(0.05)
    proc.wait()
    reader.join()
    return Watched(proc.returncode, "".join(stderr), peak, stopped)


def rows_of(out: Path, dataset: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = read_raw_delta(out / dataset).to_pylist()
    return rows


def diags(out: Path) -> dict[str, dict[str, object]]:
    """path -> {prop key: value} of each DIAG node of a build (one DIAG per path here)."""
    nodes = {
        str(row["node_id"]): str(row["path"])
        for row in rows_of(out, "cpg_nodes_v1")
        if row["node_kind"] == "DIAG"
    }
    found: dict[str, dict[str, object]] = {path: {} for path in nodes.values()}
    for row in rows_of(out, "cpg_props_v1"):
        if row["entity_id"] in nodes:
            value = row["value_str"] if row["value_str"] is not None else row["value_int"]
            found[nodes[str(row["entity_id"])]][str(row["prop_key"])] = value
    return found


def file_props(out: Path, path: str) -> dict[str, object]:
    """{prop key: value} of the PY_FILE node of ``path``."""
    ids = {
        row["node_id"]
        for row in rows_of(out, "cpg_nodes_v1")
        if row["node_kind"] == "PY_FILE" and row["path"] == path
    }
    assert len(ids) == 1, (path, ids)
    return {
        str(row["prop_key"]): row["value_str"] if row["value_str"] is not None else row["value_int"]
        for row in rows_of(out, "cpg_props_v1")
        if row["entity_id"] in ids
    }
