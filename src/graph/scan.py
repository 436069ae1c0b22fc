"""Find the Python files of a repository: sorted, repository-relative, symlink-loop safe.

Directories are walked without following symlinks (a symlink loop cannot recurse); symlinked
files are listed and read like any other file, so a dangling or looping one becomes a DIAG row
when it cannot be read. Hidden directories and common tool folders are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "__pycache__", ".mypy_cache", ".tox", "node_modules"}
)
PYTHON_SUFFIXES = (".py", ".pyi")


class RepositoryNotFoundError(FileNotFoundError):
    """The repository path does not exist or is not a directory."""


def python_files(repo_root: Path, exclude: Collection[str] = ()) -> list[str]:
    """Repository-relative POSIX paths of every ``.py``/``.pyi`` file, sorted.

    ``exclude`` names further directories (by name, at any depth) to skip.
    """
    if not repo_root.is_dir():
        msg = f"repository {repo_root} does not exist or is not a directory"
        raise RepositoryNotFoundError(msg)
    found: list[str] = []
    for folder, dirs, files in os.walk(repo_root, followlinks=False):
        dirs[:] = sorted(
            d for d in dirs if d not in SKIPPED_DIRS and d not in exclude and not d.startswith(".")
        )
        relative = Path(folder).relative_to(repo_root)
        found.extend(
            (relative / name).as_posix() for name in files if name.endswith(PYTHON_SUFFIXES)
        )
    return sorted(found)


def display_path(relpath: str) -> str:
    """``relpath`` as valid Unicode for rows and ids: bytes of a file name that are not UTF-8
    (kept by ``os.walk`` as surrogate escapes) are written as ``\\xNN``."""
    if relpath.isascii():
        return relpath
    return relpath.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
