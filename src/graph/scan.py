"""Find the Python files of a repository: sorted, repository-relative, symlink-loop safe.

Directories are walked without following symlinks (a symlink loop cannot recurse); symlinked
files are listed and read like any other file, so a dangling or looping one becomes a DIAG row
when it cannot be read. A directory that cannot be listed (no permission) is reported, so its
unknown files become a DIAG too instead of vanishing. Hidden directories and common tool folders
are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "__pycache__", ".mypy_cache", ".tox", "node_modules"}
)
PYTHON_SUFFIXES = (".py", ".pyi")


class RepositoryNotFoundError(FileNotFoundError):
    """The repository path does not exist or is not a directory."""


class RepositoryUnreadableError(PermissionError):
    """The repository directory itself cannot be listed."""


@dataclass(frozen=True)
class RepoScan:
    """What a scan found: the Python files, and the directories it could not list."""

    files: list[str]
    unreadable: list[tuple[str, OSError]] = field(default_factory=list)
    """``(repo-relative POSIX path, the error)`` of each directory that could not be listed."""


def scan_repository(repo_root: Path, exclude: Collection[str] = ()) -> RepoScan:
    """Repository-relative POSIX paths of every ``.py``/``.pyi`` file, sorted, and the
    directories that could not be listed.

    ``exclude`` names further directories (by name, at any depth) to skip.
    """
    if not repo_root.is_dir():
        msg = f"repository {repo_root} does not exist or is not a directory"
        raise RepositoryNotFoundError(msg)
    found: list[str] = []
    errors: list[OSError] = []
    for folder, dirs, files in os.walk(repo_root, onerror=errors.append, followlinks=False):
        dirs[:] = sorted(
            d for d in dirs if d not in SKIPPED_DIRS and d not in exclude and not d.startswith(".")
        )
        relative = Path(folder).relative_to(repo_root)
        found.extend(
            (relative / name).as_posix() for name in files if name.endswith(PYTHON_SUFFIXES)
        )
    unreadable = []
    for error in errors:
        directory = Path(str(error.filename)).relative_to(repo_root).as_posix()
        if directory == ".":
            msg = f"repository {repo_root} cannot be listed: {error.strerror or error}"
            raise RepositoryUnreadableError(msg)
        unreadable.append((directory, error))
    return RepoScan(sorted(found), sorted(unreadable, key=lambda entry: entry[0]))


def display_path(relpath: str) -> str:
    """``relpath`` as valid Unicode for rows and ids: bytes of a file name that are not UTF-8
    (kept by ``os.walk`` as surrogate escapes) are written as ``\\xNN``."""
    if relpath.isascii():
        return relpath
    return relpath.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
