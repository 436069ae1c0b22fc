"""The tool installs anywhere: a built wheel renders outside any checkout (templates are package
data), and the pre-commit hook, installed by the ``pre-commit`` tool itself into a virtualenv of
its own (a non-editable install), checks the project it runs in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.generator_support import PROJECT_ROOT, snapshot


def _run(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_installed_wheel_renders_outside_a_checkout(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    built = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(wheels),
            str(PROJECT_ROOT),
        ],
        tmp_path,
    )
    assert built.returncode == 0, built.stderr
    target = tmp_path / "site"
    (wheel,) = wheels.glob("cpg_registry-*.whl")
    installed = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        tmp_path,
    )
    assert installed.returncode == 0, installed.stderr
    assert (target / "generator" / "templates" / "cpg_contracts.py.jinja").is_file()

    elsewhere = tmp_path / "elsewhere"  # no pyproject.toml here or above: no project
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    no_project = _run([sys.executable, "-m", "generator"], elsewhere, env)
    assert no_project.returncode == 2
    assert "no project found" in no_project.stderr and "--registry" in no_project.stderr

    args = ["--registry", str(tmp_path / "registry"), "--output", str(tmp_path / "out")]
    result = _run([sys.executable, "-m", "generator", *args], elsewhere, env)
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path / "out") == snapshot(PROJECT_ROOT / "generated")
    check = _run([sys.executable, "-m", "generator", "--check", *args], elsewhere, env)
    assert check.returncode == 0, check.stderr


def _git_clone(source: Path, target: Path) -> None:
    cloned = _run(["git", "clone", "-q", "--no-hardlinks", str(source), str(target)], source)
    assert cloned.returncode == 0, cloned.stderr


def test_pre_commit_hook_checks_the_project_it_runs_in(tmp_path: Path) -> None:
    """``pre-commit try-repo`` installs the hook repository (a clone of this one) with pip into a
    fresh virtualenv and runs the hook in another clone: clean passes, a spec edit fails."""
    hooks, project = tmp_path / "hooks", tmp_path / "project"
    _git_clone(PROJECT_ROOT, hooks)
    _git_clone(PROJECT_ROOT, project)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    pre_commit = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    assert pre_commit is not None, "pre-commit is in the test extra"
    command = [pre_commit, "try-repo", str(hooks), "cpg-registry-check", "--all-files"]

    clean = _run(command, project, env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "cpg-registry drift check" in clean.stdout and "Passed" in clean.stdout

    spec = project / "src" / "cpg" / "props.py"
    spec.write_text(spec.read_text().replace('"stdlib ast module"', '"the stdlib ast module"'))
    drift = _run(command, project, env)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "drift: specs vs registry (registry):" in drift.stdout
    assert "rows changed: py_ast (columns description)" in drift.stdout
    assert "Traceback" not in drift.stdout
