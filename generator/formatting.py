"""black, in-process, as the guarantor of formatting, with a content-hash cache.

Templates already emit black-stable code, so black usually returns its input unchanged; the
cache (``build/.generator-cache/black``) spares even that cost on later runs.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

import black
from black import InvalidInput, TargetVersion  # type: ignore[attr-defined]

BLACK_MODE = black.Mode(line_length=100, target_versions={TargetVersion.PY311})


class FormattingError(ValueError):
    """black could not parse a rendered module: a template or view model bug."""


def _key(text: str) -> str:
    return hashlib.sha256(f"{version('black')}\n{BLACK_MODE}\n{text}".encode()).hexdigest()


def format_python(
    text: str, name: str, *, cache_dir: Path | None = None, write_cache: bool = True
) -> str:
    """``text`` formatted by black; results are read from ``cache_dir`` and, if ``write_cache``,
    stored there."""
    cached = None if cache_dir is None else cache_dir / f"{_key(text)}.py"
    if cached is not None and cached.is_file():
        return cached.read_text(encoding="utf-8")
    try:
        formatted = black.format_str(text, mode=BLACK_MODE)
    except InvalidInput as exc:
        msg = f"generated {name} is not valid Python: {exc}"
        raise FormattingError(msg) from exc
    if cached is not None and write_cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(formatted, encoding="utf-8")
        tmp.replace(cached)
    return formatted
