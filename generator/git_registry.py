"""The committed registry of a git revision, materialised in a temporary folder.

``--check-compat`` compares the working specs with the registry as last committed (``HEAD``), or
as committed at any revision (``--against main``): a stable baseline that neither an export nor
a revert of the working tree moves.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class GitRegistryError(ValueError):
    """A revision cannot be read, or has no registry at the project's registry path."""


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        msg = f"cannot run git in {root}: {exc}"
        raise GitRegistryError(msg) from None


def is_git_work_tree(root: Path) -> bool:
    """Whether ``root`` is inside a git work tree (and git can be run)."""
    try:
        result = _git(root, "rev-parse", "--is-inside-work-tree")
    except GitRegistryError:
        return False
    return result.returncode == 0 and result.stdout.strip() == b"true"


def resolve_revision(root: Path, revision: str) -> str | None:
    """The commit id ``revision`` names in the repository at ``root``, or None."""
    if revision.startswith("-"):
        return None
    result = _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    return result.stdout.decode().strip() if result.returncode == 0 else None


@contextmanager
def registry_at_revision(root: Path, registry: Path, revision: str) -> Iterator[Path]:
    """A temporary registry root holding ``registry`` (a folder of the work tree at ``root``) as
    committed at ``revision``; deleted afterwards."""
    commit = resolve_revision(root, revision)
    if commit is None:
        msg = f"{revision!r} is neither a registry path nor a git revision of {root}"
        raise GitRegistryError(msg)
    relative = registry.resolve().relative_to(root.resolve()).as_posix()
    archive = _git(root, "archive", "--format=tar", commit, "--", relative)
    if archive.returncode != 0:
        msg = f"revision {revision} ({commit[:12]}) has no registry at {relative}/"
        raise GitRegistryError(msg)
    with tempfile.TemporaryDirectory(prefix="cpg-registry-baseline-") as scratch:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(scratch, filter="data")
        yield Path(scratch, relative)
