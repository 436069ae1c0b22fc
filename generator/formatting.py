"""black, in-process, as the guarantor of formatting, with a content-hash cache.

Templates already emit black-stable code, so black usually returns its input unchanged; the
cache (``build/.generator-cache/black``) spares even that cost on later runs. black is imported
only when a render differs from the file on disk: ``--check`` on a clean tree never loads it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

LINE_LENGTH = 100


class FormattingError(ValueError):
    """black could not parse a rendered module: a template or view model bug."""


@cache
def _black() -> tuple[Any, Any]:
    """The black module and the mode the generated code is formatted with (imported lazily)."""
    import black

    target = black.TargetVersion.PY311  # type: ignore[attr-defined]
    return black, black.Mode(line_length=LINE_LENGTH, target_versions={target})


def _key(text: str) -> str:
    from importlib.metadata import version  # only when black is needed at all

    _, mode = _black()
    return hashlib.sha256(f"{version('black')}\n{mode}\n{text}".encode()).hexdigest()


def format_python(
    text: str, name: str, *, cache_dir: Path | None = None, write_cache: bool = True
) -> str:
    """``text`` formatted by black; results are read from ``cache_dir`` and, if ``write_cache``,
    stored there."""
    cached = None if cache_dir is None else cache_dir / f"{_key(text)}.py"
    if cached is not None and cached.is_file():
        return cached.read_text(encoding="utf-8")
    black, mode = _black()
    try:
        formatted: str = black.format_str(text, mode=mode)
    except black.InvalidInput as exc:
        msg = f"generated {name} is not valid Python: {exc}"
        raise FormattingError(msg) from exc
    if cached is not None and write_cache:
        _store(cached, formatted)
    return formatted


def _store(cached: Path, text: str) -> None:
    """Write a cache entry atomically under a temporary name of its own, so generators running
    at once never share (or delete) each other's temporary file. A cache that cannot be written
    (full or read-only disk) only costs the next run a black call."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{cached.name}.", dir=cached.parent)
    except OSError:
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(temp).replace(cached)
    except OSError:
        Path(temp).unlink(missing_ok=True)
