"""``--check-compat``, ``--history`` and ``--registry-version`` as real subprocesses.

The project copies here are no git work trees, so ``--check-compat`` compares with the registry
as it is; the history tests use a registry outside the project, which keeps Delta's versions (the
project's own registry keeps one version per table: its history is in git).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.generator_support import copy_project, run_generator, snapshot


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose registry has been exported once (registry version 0)."""
    root = copy_project(tmp_path_factory.mktemp("project"))
    assert run_generator(root).returncode == 0
    return root


@pytest.fixture
def project(tmp_path: Path, published: Path) -> Path:
    target = tmp_path / "p"
    shutil.copytree(published, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _edit(project: Path, relative: str, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_unchanged_specs_are_compatible(project: Path) -> None:
    result = run_generator(project, "--check-compat")
    assert result.returncode == 0, result.stderr
    assert "compat: no changes" in result.stdout


def test_breaking_change_without_version_bump_exits_1(project: Path) -> None:
    _edit(
        project,
        "src/cpg/registry_rows.py",
        'key_fields=("node_id", "node_kind")',
        'key_fields=("node_id",)',
    )
    result = run_generator(project, "--check-compat")
    assert result.returncode == 1
    assert result.stdout.startswith("baseline: registry at ")
    assert "breaking: dataset cpg_nodes_v1" in result.stdout
    assert "[KEY_FIELDS_CHANGED]" in result.stdout
    assert "to proceed: bump the version" in result.stdout


def test_version_bump_allows_the_breaking_change(project: Path) -> None:
    _edit(
        project,
        "src/cpg/registry_rows.py",
        'key_fields=("node_id", "node_kind")',
        'key_fields=("node_id",)',
    )
    _edit(
        project,
        "src/cpg/registry_rows.py",
        'name="cpg_nodes_v1",\n        version=1,',
        'name="cpg_nodes_v1",\n        version=2,',
    )
    result = run_generator(project, "--check-compat")
    assert result.returncode == 0, result.stderr
    assert "allowed: dataset cpg_nodes_v1" in result.stdout


def test_history_lists_versions_newest_first(project: Path, tmp_path: Path) -> None:
    history = str(tmp_path / "history")
    assert run_generator(project, "--registry", history).returncode == 0
    _edit(project, "src/cpg/registry_templates.py", "BEST_EFFORT", "CANONICAL")
    assert run_generator(project, "--registry", history).returncode == 0
    result = run_generator(project, "--history", "--registry", history)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("cpg/cpg_registry_templates:")
    assert lines[start + 1].lstrip().startswith("version   1")
    assert lines[start + 2].lstrip().startswith("version   0")
    assert "rows 1" in lines[start + 1]
    assert "registry versions (exports), newest first: 2" in result.stdout


def test_registry_version_renders_an_older_registry(project: Path, tmp_path: Path) -> None:
    history = str(tmp_path / "history")
    old = tmp_path / "old"
    assert run_generator(project, "--registry", history, "--output", str(old)).returncode == 0
    _edit(project, "src/cpg/registry_templates.py", "BEST_EFFORT", "CANONICAL")
    assert run_generator(project, "--registry", history).returncode == 0
    assert snapshot(old) != snapshot(project / "generated")
    again = tmp_path / "again"
    result = run_generator(
        project, "--registry", history, "--registry-version", "0", "--output", str(again)
    )
    assert result.returncode == 0, result.stderr
    assert snapshot(again) == snapshot(old)
    check = run_generator(
        project, "--registry", history, "--registry-version", "0", "--check", "--output", str(old)
    )
    assert check.returncode == 0, check.stderr


def test_missing_registry_version_is_a_clear_error(project: Path) -> None:
    result = run_generator(project, "--registry-version", "7")
    assert result.returncode == 2
    assert "no registry version 7" in result.stderr
    assert "Traceback" not in result.stderr
