"""Helpers for tests that run ``python -m generator`` as a real subprocess on a project copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COPIED = ("src", "generator", "generated", "registry")


def copy_project(target: Path) -> Path:
    """A copy of the parts of the project the generator needs (its pyproject.toml included, so
    the copy is a project of its own); its specs can be edited freely."""
    for name in COPIED:
        shutil.copytree(
            PROJECT_ROOT / name,
            target / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    shutil.copy2(PROJECT_ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def run_generator(
    project: Path, *args: str, hash_seed: str = "0", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m generator ARGS`` in ``project`` (its own src/ shadows the installed one)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(project / "src"), str(project)])
    env["PYTHONHASHSEED"] = hash_seed
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (bytecode caches excepted) with its content."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
