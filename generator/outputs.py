"""The ``generated/`` folder: read what is there, write atomically, compare with unified diffs."""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

IGNORED = frozenset({"__pycache__"})


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
    """Every file directly in ``folder`` (caches excepted), by name."""
    if not folder.is_dir():
        return {}
    return {
        path.name: path.read_text(encoding="utf-8", errors="replace")
        for path in sorted(folder.iterdir())
        if path.name not in IGNORED and path.is_file()
    }


def compare(expected: Mapping[str, str], actual: Mapping[str, str]) -> OutputDrift:
    """Unified diffs of changed files, plus missing and stray file names."""
    changed = {
        name: "".join(
            difflib.unified_diff(
                actual[name].splitlines(keepends=True),
                text.splitlines(keepends=True),
                fromfile=f"generated/{name} (on disk)",
                tofile=f"generated/{name} (from registry)",
            )
        )
        for name, text in sorted(expected.items())
        if name in actual and actual[name] != text
    }
    missing = tuple(sorted(name for name in expected if name not in actual))
    stray = tuple(sorted(name for name in actual if name not in expected))
    return OutputDrift(changed, missing, stray)


def write_outputs(folder: Path, files: Mapping[str, str], stray: tuple[str, ...]) -> list[str]:
    """Write changed files atomically and remove stray ones; return the names written.

    Every new content is first written to a temporary file in ``folder``; only when all of
    them exist are they moved into place, so a failure leaves ``generated/`` as it was.
    """
    folder.mkdir(parents=True, exist_ok=True)
    current = read_outputs(folder)
    pending: list[tuple[Path, Path]] = []
    try:
        for name, text in sorted(files.items()):
            if current.get(name) == text:
                continue
            handle, temp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
                stream.write(text)
            pending.append((Path(temp_name), folder / name))
    except BaseException:
        for temp, _ in pending:
            temp.unlink(missing_ok=True)
        raise
    for temp, target in pending:
        temp.replace(target)
    for name in stray:
        (folder / name).unlink(missing_ok=True)
    return [target.name for _, target in pending]
