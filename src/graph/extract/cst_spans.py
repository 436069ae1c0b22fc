"""LibCST byte spans -> file byte spans.

``ByteSpanPositionProvider`` counts UTF-8 bytes of the text LibCST parsed: the decoded file, without
a BOM. A file's byte offsets differ from those when it starts with a BOM (shift by 3) or is written
in another PEP 263 encoding (re-encode the characters before the offset).

The provider also lets a few node types own whitespace at their edges (measured on the stdlib:
``ComparisonTarget`` ``' in x'``, ``CompFor`` ``' for x in y'``, ``Not`` ``'not '``, ``ParamStar``
``'*,\\n  '``, the whitespace before ``Slice``'s closing bracket). ``trim`` cuts it off, and any
comment or line continuation in it, so every span starts and ends at a token of its node.
"""

from __future__ import annotations

import codecs

_BLANK = frozenset(b" \t\f\r\n\\")
"""Bytes that may lead or trail a span but belong to no token (``\\`` continues a line)."""
_HASH = ord("#")
_UTF8_NAMES = frozenset({"utf-8", "utf-8-sig"})


def trim(raw: bytes, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without leading blanks and comments and without trailing blanks.

    ``raw`` is the UTF-8 text; never called on string text, whose edges may be blank.
    """
    while start < end:
        byte = raw[start]
        if byte in _BLANK:
            start += 1
        elif byte == _HASH:
            newline = raw.find(b"\n", start, end)
            start = end if newline < 0 else newline + 1
        else:
            break
    while end > start and raw[end - 1] in _BLANK:
        end -= 1
    return start, end


class FileOffsets:
    """Maps UTF-8 offsets of the decoded text to byte offsets of the file as stored."""

    __slots__ = ("_shift", "_table")

    def __init__(self, data: bytes, text: str, encoding: str) -> None:
        self._shift = 0
        self._table: dict[int, int] | None = None
        if codecs.lookup(encoding).name in _UTF8_NAMES:
            self._shift = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        elif not text.isascii():  # ASCII encodes the same in every PEP 263 encoding
            self._table = _char_boundaries(text, encoding)

    def __call__(self, offset: int) -> int:
        """The file offset of a UTF-8 offset that falls on a character boundary."""
        if self._table is None:
            return offset + self._shift
        return self._table[offset]


def _char_boundaries(text: str, encoding: str) -> dict[int, int]:
    table = {0: 0}
    utf8 = stored = 0
    for char in text:
        utf8 += len(char.encode("utf-8"))
        stored += len(char.encode(encoding))
        table[utf8] = stored
    return table
