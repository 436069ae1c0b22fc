"""A directory the build cannot list gets a DIAG on PY_REPO (its files are unknown), within the
DIAG and HAS_DIAGNOSTIC contracts. Before: its files vanished without a trace.

Tests run as root here, and root reads a ``chmod 000`` directory anyway (CAP_DAC_OVERRIDE,
CAP_DAC_READ_SEARCH). So the build runs in a process whose bounding set lacks those two
capabilities: for it, permission bits hold as for anyone. The test first checks that such a
process really cannot list the directory, and skips (saying why) where that cannot be arranged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.extract.filesystem import repo_node_id
from tests.faults.support import ROOT, build_command, cli_env, make_repo, rows_of

WITHOUT_DAC = """\
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
        sys.exit(f"cannot drop capability {capability}: errno {ctypes.get_errno()}")
os.execv(sys.argv[1], sys.argv[1:])
"""
"""Run argv[1:] without the capabilities that let root ignore permission bits."""

LOCKED = ("pkg/locked", "secret")


def _as_unprivileged(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return [sys.executable, "-c", WITHOUT_DAC, *command]


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    repo = make_repo(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/ok.py": "def ok():\n    return 1\n",
            "pkg/locked/x.py": "x = 1\n",
            "secret/hidden.py": "y = 2\n",
        },
    )
    for relpath in LOCKED:
        (repo / relpath).chmod(0)
    listing = [sys.executable, "-c", "import os, sys; os.listdir(sys.argv[1])"]
    probe = subprocess.run(
        [*_as_unprivileged(listing), str(repo / "secret")],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode == 0 or "PermissionError" not in probe.stderr:
        for relpath in LOCKED:
            (repo / relpath).chmod(0o755)
        pytest.skip(f"cannot make a directory unreadable here: {probe.stderr.strip()[-200:]}")
    yield repo
    for relpath in LOCKED:
        (repo / relpath).chmod(0o755)


def test_an_unreadable_directory_gets_a_diag_on_the_repo(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        _as_unprivileged(build_command(repo, out, "--workers", "1")),
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2 diagnostics, 0 contract violations" in proc.stdout

    nodes = rows_of(out, "cpg_nodes_v1")
    assert {row["path"] for row in nodes if row["node_kind"] == "PY_FILE"} == {
        "pkg/__init__.py",
        "pkg/ok.py",
    }
    diags = {str(row["node_id"]): row for row in nodes if row["node_kind"] == "DIAG"}
    assert sorted(row["path"] for row in diags.values()) == list(LOCKED)
    for row in diags.values():
        assert (row["file_id"], row["bstart"], row["bend"]) == (None, 0, 0)
    props: dict[str, dict[str, object]] = {}
    for row in rows_of(out, "cpg_props_v1"):
        if row["entity_id"] in diags:
            props.setdefault(str(row["entity_id"]), {})[str(row["prop_key"])] = row["value_str"]
    for diag_id in diags:
        assert props[diag_id] == {
            "code": "read-error:PermissionError",
            "severity": "ERROR",
            "diag_source": "pipeline",
            "message": "cannot list the directory: Permission denied",
        }
    edges = [row for row in rows_of(out, "cpg_edges_v1") if row["edge_kind"] == "HAS_DIAGNOSTIC"]
    assert sorted((row["src_node_id"], row["dst_node_id"]) for row in edges) == sorted(
        (repo_node_id(repo.name), diag_id) for diag_id in diags
    )
    assert rows_of(out, "cpg_build_violations") == []
