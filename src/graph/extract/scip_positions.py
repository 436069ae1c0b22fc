"""SCIP positions -> byte offsets of the file, exactly as scip-python counts them.

scip-python (pyright) reads every file as UTF-8, whatever its PEP 263 cookie says, and reports
0-based lines and columns in UTF-16 code units: a character outside the BMP is two units, a byte
sequence that is no valid UTF-8 is one unit (Node decodes each maximal invalid subpart to one
U+FFFD, as Python's decoder does), a BOM is one unit at the start of line 0.
Lines end at ``\\r\\n``, ``\\r`` or ``\\n`` (not at form feeds or Unicode line separators, which
``str.splitlines`` would split on). Checked against scip-python 0.6.6 on files with astral
characters, CRLF and lone CR breaks, a BOM, and a latin-1 file (``tests/unit/test_scip_positions``).

A line of ASCII maps columns to bytes by adding its start; any other line is mapped unit by unit
once, when an occurrence first lands on it.
"""

from __future__ import annotations

import codecs
import re

_BREAK = re.compile(rb"\r\n|\r|\n")
_INVALID = 0xDC00
"""An invalid UTF-8 sequence of n bytes decodes to the lone surrogate ``_INVALID + n`` (which
no valid UTF-8 decodes to): one unit, as Node's decoder makes one U+FFFD of it."""
_HANDLER = "cpg-scip-invalid-utf8"


def _mark_invalid(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return chr(_INVALID + error.end - error.start), error.end


codecs.register_error(_HANDLER, _mark_invalid)

Range = tuple[int, int, int, int]
"""``(start line, start column, end line, end column)``, 0-based, columns in UTF-16 units."""


class Utf16Lines:
    """Byte offsets of SCIP (line, UTF-16 column) positions in one file's bytes."""

    __slots__ = ("_data", "_ends", "_starts", "_units")

    def __init__(self, data: bytes) -> None:
        self._data = data
        breaks = list(_BREAK.finditer(data))
        self._starts = [0, *(m.end() for m in breaks)]
        self._ends = [*(m.start() for m in breaks), len(data)]
        self._units: dict[int, list[int | None]] = {}

    def offset(self, line: int, column: int) -> int | None:
        """The byte offset of a position; None when the file has no such line or column."""
        if not 0 <= line < len(self._starts) or column < 0:
            return None
        start, end = self._starts[line], self._ends[line]
        units = self._units.get(line)
        if units is None:
            text = self._data[start:end]
            if text.isascii():
                return start + column if column <= end - start else None
            units = self._units[line] = _unit_offsets(text)
        if column >= len(units):
            return None
        offset = units[column]
        return None if offset is None else start + offset

    def span(self, scip_range: Range) -> tuple[int, int] | None:
        """The byte span of a range; None when it does not fit the file."""
        start = self.offset(scip_range[0], scip_range[1])
        end = self.offset(scip_range[2], scip_range[3])
        if start is None or end is None or end < start:
            return None
        return start, end


def _unit_offsets(line: bytes) -> list[int | None]:
    """The byte offset (within the line) of each UTF-16 unit, plus the line's end; None for the
    second unit of a surrogate pair (no position lies inside a character)."""
    offsets: list[int | None] = []
    position = 0
    for char in line.decode("utf-8", _HANDLER):
        code = ord(char)
        offsets.append(position)
        if code > 0xFFFF:
            offsets.append(None)
            position += 4
        elif _INVALID < code < _INVALID + 8:
            position += code - _INVALID
        else:
            position += len(char.encode("utf-8"))
    offsets.append(position)
    return offsets


def scip_range(values: list[int]) -> Range | None:
    """A SCIP range field (``[line, start, end]`` on one line, or four numbers) as four numbers;
    None for any other length."""
    if len(values) == 3:
        return values[0], values[1], values[0], values[2]
    if len(values) == 4:
        return values[0], values[1], values[2], values[3]
    return None
