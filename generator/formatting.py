"""black, in-process, as the guarantor of formatting, asked only about what changed.

Templates emit black-stable code, so black's job is to confirm that a render is already what
black writes. It does so unit by unit (``generator.black_units``): a unit already seen stable,
in the file on disk (which black wrote) or in the cache (``build/.generator-cache/black``), is
not asked about again, and of new units that differ only in names one is asked. A render with a
unit black would change is formatted whole, as before (its result cached by content hash). black
is imported only when a unit is new: ``--check`` on a clean tree never loads it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from generator.black_units import LINE_LENGTH, UnitKeys, stable, units
from generator.outline import SPLIT_LINES, NoOutlineError, parse

UNITS_FILE = "stable-units.bin"
"""The cache of unit keys black left unchanged: 16-byte keys, one after another."""
_KEY_SIZE = 16
_MAX_KEYS = 4_000_000
"""A cache grown past this many keys (64 MiB) starts over."""


class FormattingError(ValueError):
    """black could not parse a rendered module: a template or view model bug."""


@cache
def _black() -> tuple[Any, Any]:
    """The black module and the mode the generated code is formatted with (imported lazily)."""
    import black

    target = black.TargetVersion.PY311  # type: ignore[attr-defined]
    return black, black.Mode(line_length=LINE_LENGTH, target_versions={target})


@cache
def _salt() -> bytes:
    """What every cached verdict depends on besides the code: black's version and mode."""
    from importlib.metadata import version  # only when black is needed at all

    return f"black {version('black')} line-length {LINE_LENGTH} py311 stable; units 1".encode()


def _key(text: str) -> str:
    return hashlib.sha256(_salt() + b"\n" + text.encode()).hexdigest()


def format_python(
    text: str, name: str, *, cache_dir: Path | None = None, write_cache: bool = True
) -> str:
    """``text`` formatted by black as a whole; results are read from ``cache_dir`` and, if
    ``write_cache``, stored there."""
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
        _store(cached, formatted.encode())
    return formatted


def _black_or_nothing(text: str) -> str:
    """black's output for a reduced module, or "" if black cannot parse it (a unit cut in the
    wrong place: the caller then formats the whole file)."""
    black, mode = _black()
    try:
        formatted: str = black.format_str(text, mode=mode)
    except black.InvalidInput:
        return ""
    return formatted


class Formatter:
    """Formats the renders of one run; ``flush`` stores what it learned in the cache.

    ``split_lines``: nodes at least this long are cut into units (tests cut every node).
    """

    def __init__(
        self, cache_dir: Path | None, *, write_cache: bool, split_lines: int = SPLIT_LINES
    ) -> None:
        self.cache_dir = cache_dir
        self.write_cache = write_cache
        self.split_lines = split_lines
        self._known: set[bytes] | None = None
        self._new: set[bytes] = set()

    def format(self, text: str, name: str, on_disk: str | None) -> str:
        """black's output for ``text`` (``on_disk``: the file it replaces, black's output)."""
        try:
            outline = parse(text, split_lines=self.split_lines)
        except NoOutlineError:
            return self._whole(text, name)
        nodes = units(outline)
        exact = UnitKeys(outline, _salt())
        keys = [exact.key(node) for node in nodes]
        known = self._known_keys()
        new = [index for index, key in enumerate(keys) if key not in known]
        if new and on_disk is not None:
            written = _disk_keys(on_disk, self.split_lines)
            self._learn(keys[index] for index in new if keys[index] in written)
            new = [index for index in new if keys[index] not in written]
        if not new:
            return text
        shaped = UnitKeys(outline, _salt(), shaped=True)
        shape_keys = [shaped.key(nodes[index]) for index in new]
        asked: dict[bytes, Any] = {}
        for index, shape_key in zip(new, shape_keys, strict=True):
            if shape_key not in known and shape_key not in asked:
                asked[shape_key] = nodes[index]
        if asked and not stable(outline, asked.values(), _black_or_nothing):
            return self._whole(text, name)
        self._learn(keys[index] for index in new)
        self._learn(shape_keys)
        return text

    def _whole(self, text: str, name: str) -> str:
        return format_python(text, name, cache_dir=self.cache_dir, write_cache=self.write_cache)

    def _known_keys(self) -> set[bytes]:
        if self._known is None:
            self._known = set() if self.cache_dir is None else _load(self.cache_dir / UNITS_FILE)
        return self._known

    def _learn(self, keys: Iterable[bytes]) -> None:
        known = self._known_keys()
        for key in keys:
            if key not in known:
                known.add(key)
                self._new.add(key)

    def flush(self) -> None:
        """Add the keys learned in this run to the cache (when it may be written)."""
        if not self._new or self.cache_dir is None or not self.write_cache:
            return
        path = self.cache_dir / UNITS_FILE
        keys = _load(path)
        if len(keys) + len(self._new) > _MAX_KEYS:
            keys = set()
        keys |= self._new
        _store(path, b"".join(sorted(keys)))
        self._new = set()


def _disk_keys(text: str, split_lines: int) -> set[bytes]:
    """The unit keys of a file black wrote (none if it has no outline)."""
    try:
        outline = parse(text, split_lines=split_lines)
    except NoOutlineError:
        return set()
    exact = UnitKeys(outline, _salt())
    return {exact.key(node) for node in units(outline)}


def _load(path: Path) -> set[bytes]:
    try:
        data = path.read_bytes()
    except OSError:
        return set()
    usable = len(data) - len(data) % _KEY_SIZE
    return {data[start : start + _KEY_SIZE] for start in range(0, usable, _KEY_SIZE)}


def _store(cached: Path, data: bytes) -> None:
    """Write a cache entry atomically under a temporary name of its own, so generators running
    at once never share (or delete) each other's temporary file. A cache that cannot be written
    (full or read-only disk) only costs the next run some black calls."""
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{cached.name}.", dir=cached.parent)
    except OSError:
        return
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        Path(temp).replace(cached)
    except OSError:
        Path(temp).unlink(missing_ok=True)
