"""The ``generated/`` folder: read what is there, replace it as a set, compare with unified diffs.

``generated/`` is replaced whole: the new set of files is written to a sibling staging folder
and exchanged with the old folder in one atomic ``renameat2(RENAME_EXCHANGE)`` (two renames
where the OS lacks it), so a reader, an import or a kill sees all old or all new files. What a
killed run leaves behind is a sibling ``.<name>.new-*`` / ``.<name>.old-*`` folder, which the
next run deletes and ``--check`` reports.
"""

from __future__ import annotations

import difflib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from storage.deltalake.folders import exchange_folders
from storage.faults import fault_point

IGNORED_DIRS = frozenset({"__pycache__"})


class OutputWriteError(OSError):
    """``generated/`` could not be replaced; names the folder, the cause and (``at``) the path
    that failed. Nothing changed."""

    def __init__(self, path: Path, reason: str, at: str | None = None) -> None:
        where = f" (at {at})" if at and at != str(path) else ""
        super().__init__(f"cannot write {path}: {reason}{where}; the old files are unchanged")
        self.path = path


@dataclass(frozen=True)
class OutputDrift:
    """How ``generated/`` differs from what the registry renders."""

    changed: Mapping[str, str]
    missing: tuple[str, ...]
    stray: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """Whether there is no drift at all."""
        return not (self.changed or self.missing or self.stray)


def read_outputs(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (bytecode caches excepted), by ``/``-separated relative path."""
    if not folder.is_dir():
        return {}
    files: dict[str, str] = {}
    for directory, subdirs, names in os.walk(folder):
        subdirs[:] = sorted(name for name in subdirs if name not in IGNORED_DIRS)
        for name in sorted(names):
            path = Path(directory, name)
            relative = path.relative_to(folder).as_posix()
            files[relative] = path.read_text(encoding="utf-8", errors="replace")
    return dict(sorted(files.items()))


def compare(expected: Mapping[str, str], actual: Mapping[str, str], label: str) -> OutputDrift:
    """Unified diffs of changed files, plus missing and stray file names (``label``: the folder)."""
    changed = {
        name: "".join(
            difflib.unified_diff(
                actual[name].splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"{label}/{name} (on disk)",
                tofile=f"{label}/{name} (rendered)",
            )
        )
        for name, text in sorted(expected.items())
        if name in actual and actual[name] != text
    }
    missing = tuple(sorted(name for name in expected if name not in actual))
    stray = tuple(sorted(name for name in actual if name not in expected))
    return OutputDrift(changed, missing, stray)


def leftovers(folder: Path) -> list[Path]:
    """Staging or old folders that a killed run left beside ``folder``."""
    parent = folder.parent
    if not parent.is_dir():
        return []
    prefixes = (f".{folder.name}.new-", f".{folder.name}.old-")
    return sorted(entry for entry in parent.iterdir() if entry.name.startswith(prefixes))


def remove_leftovers(folder: Path) -> list[str]:
    """Delete what killed runs left beside ``folder``; return the names removed."""
    removed = []
    for entry in leftovers(folder):
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry.name)
    return removed


@dataclass
class Replacement:
    """``generated/``'s new content, staged and waiting to be swapped in (``commit``)."""

    folder: Path
    written: list[str]
    staging: Path | None

    def commit(self) -> list[str]:
        """Swap the staged folder in; return the names whose content changed."""
        staging, self.staging = self.staging, None
        if staging is None:
            return self.written
        try:
            fault_point("outputs.before_swap")
            if self.folder.exists():
                exchange_folders(staging, self.folder)
                old = staging.rename(staging.with_name(staging.name.replace(".new-", ".old-", 1)))
                shutil.rmtree(old, ignore_errors=True)
            else:
                staging.rename(self.folder)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise OutputWriteError(self.folder, exc.strerror or str(exc), exc.filename) from exc
        return self.written


@contextmanager
def staged_outputs(folder: Path, files: Mapping[str, str]) -> Iterator[Replacement]:
    """Stage ``files`` as ``folder``'s new content; ``commit()`` swaps them in at once.

    Within the block ``folder`` is locked against other generators, and what killed runs left
    beside it is removed. Nothing is staged when the folder already holds exactly these files.
    A failure (a full disk, a read-only folder) raises ``OutputWriteError`` naming the path;
    leaving the block without ``commit()`` (or failing) leaves ``folder`` as it was.
    """
    with _exclusive(folder):
        remove_leftovers(folder)
        current = read_outputs(folder)
        written = sorted(name for name, text in files.items() if current.get(name) != text)
        unchanged = not written and set(current) == set(files)
        replacement = Replacement(folder, written, None if unchanged else _stage(folder, files))
        try:
            yield replacement
        finally:
            if replacement.staging is not None:
                shutil.rmtree(replacement.staging, ignore_errors=True)


def write_outputs(folder: Path, files: Mapping[str, str]) -> list[str]:
    """Make ``folder`` hold exactly ``files`` (as ``staged_outputs`` + ``commit``); return the
    names whose content changed."""
    with staged_outputs(folder, files) as replacement:
        return replacement.commit()


@contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder``'s parent while replacing ``folder``: generators
    running at once take turns instead of deleting each other's staging folders."""
    parent = folder.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(parent, os.O_RDONLY)
    except OSError as exc:
        raise OutputWriteError(folder, exc.strerror or str(exc), exc.filename) from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _default_mode() -> int:
    """The mode a new folder gets under the current umask (mkdtemp makes it 0o700)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def _stage(folder: Path, files: Mapping[str, str]) -> Path:
    """A sibling folder holding ``files``, written and flushed to disk."""
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.new-", dir=folder.parent))
    except OSError as exc:
        raise OutputWriteError(folder, exc.strerror or str(exc), exc.filename) from exc
    try:
        for name, text in sorted(files.items()):
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            fault_point("outputs.write_file", target)
            with target.open("w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
        staging.chmod(folder.stat().st_mode & 0o7777 if folder.exists() else _default_mode())
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise OutputWriteError(folder, exc.strerror or str(exc), exc.filename) from exc
    return staging
