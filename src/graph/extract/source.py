"""Decoding a source file as Python does, and mapping parser positions to file byte offsets.

Spans in the CPG are byte offsets into the file as stored. ``ast`` reports a line number and a
UTF-8 byte column within the (decoded) line, so the absolute offset is the line's start byte plus
the column. For UTF-8 files (with or without BOM) that is plain arithmetic on line starts found in
the raw bytes; for other PEP 263 encodings each column is re-encoded in the file's encoding.
Line breaks are ``\\r\\n``, ``\\r`` and ``\\n``, the same set the tokenizer uses (not
``str.splitlines``, which also breaks on form feeds and Unicode separators).
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from collections.abc import Callable

_NL_BYTES = re.compile(rb"\r\n|\r|\n")
_NL_TEXT = re.compile(r"\r\n|\r|\n")
_UTF8_NAMES = frozenset({"utf-8", "utf-8-sig"})


class DecodeError(Exception):
    """Why a file could not be decoded, with the byte span that shows it."""

    def __init__(self, code: str, message: str, bstart: int, bend: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.bstart = bstart
        self.bend = bend


def decode_source(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` honouring a BOM and a PEP 263 coding cookie; raises DecodeError."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # bad cookie, BOM with a non-UTF-8 cookie, undecodable first lines
        start, end = _first_bad_utf8(data)
        raise DecodeError("SyntaxError", str(exc), start, end) from exc
    skip = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
    codec = "utf-8" if skip else encoding
    try:
        return data[skip:].decode(codec), encoding
    except UnicodeDecodeError as exc:
        raise DecodeError("UnicodeDecodeError", str(exc), skip + exc.start, skip + exc.end) from exc
    except LookupError as exc:  # pragma: no cover - detect_encoding already checks the codec
        raise DecodeError("LookupError", str(exc), 0, 0) from exc


def _first_bad_utf8(data: bytes) -> tuple[int, int]:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start, exc.end
    return 0, 0


class LineIndex:
    """Maps (line, column) positions of the parser to absolute byte offsets in the file."""

    __slots__ = (
        "_byte_starts",
        "_char_starts",
        "_data",
        "_encoding",
        "_size",
        "_text",
        "utf8_starts",
    )

    def __init__(self, data: bytes, text: str, encoding: str) -> None:
        self._size = len(data)
        self._data = data
        self._text = text
        self._encoding = encoding
        self.utf8_starts: list[int] | None = None
        """Line start offsets when columns map 1:1 to file bytes (UTF-8 files), else None."""
        if codecs.lookup(encoding).name in _UTF8_NAMES:
            bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
            starts = [bom]
            starts.extend(m.end() for m in _NL_BYTES.finditer(data))
            self.utf8_starts = starts
            self._byte_starts = starts
            self._char_starts: list[int] = []
        else:
            self._char_starts = [0]
            self._char_starts.extend(m.end() for m in _NL_TEXT.finditer(text))
            self._byte_starts = [0]
            for a, b in zip(self._char_starts, self._char_starts[1:], strict=False):
                self._byte_starts.append(self._byte_starts[-1] + len(text[a:b].encode(encoding)))

    @property
    def size(self) -> int:
        """The file's length in bytes."""
        return self._size

    def offset(self, lineno: int, col: int) -> int | None:
        """Byte offset of a 1-based line and a UTF-8 byte column, or None when out of range."""
        starts = self._byte_starts
        i = lineno - 1
        if i < 0 or i >= len(starts) or col < 0:
            return None
        limit = starts[i + 1] if i + 1 < len(starts) else self._size
        if self.utf8_starts is not None:
            off = starts[i] + col
        else:
            line = self._line_text(i)
            chars = len(line.encode("utf-8")[:col].decode("utf-8", "ignore"))
            off = starts[i] + len(line[:chars].encode(self._encoding))
        return off if off <= limit else None

    def span(self, lineno: int, col: int, end_lineno: int, end_col: int) -> tuple[int, int] | None:
        """Byte span of a parser position range, or None when it does not fit the file."""
        start = self.offset(lineno, col)
        end = self.offset(end_lineno, end_col)
        if start is None or end is None or end < start:
            return None
        return start, end

    def span_function(self) -> Callable[[int, int, int, int], tuple[int, int] | None]:
        """``span``, specialized for this file: for UTF-8 (a column is a byte count) a closure
        doing the bounds checks and two list lookups inline, else ``span`` itself.

        The AST walk calls it once per node.
        """
        starts = self.utf8_starts
        if starts is None:
            return self.span
        size = self._size
        last = len(starts) - 1

        def utf8_span(
            lineno: int, col: int, end_lineno: int, end_col: int
        ) -> tuple[int, int] | None:
            i, j = lineno - 1, end_lineno - 1
            if i < 0 or j < 0 or i > last or j > last or col < 0 or end_col < 0:
                return None
            start = starts[i] + col
            end = starts[j] + end_col
            if start > (starts[i + 1] if i < last else size):
                return None
            if end > (starts[j + 1] if j < last else size) or end < start:
                return None
            return start, end

        return utf8_span

    def char_offset(self, lineno: int, char_col: int) -> int:
        """Byte offset of a 1-based line and a character column (SyntaxError), clamped."""
        starts = self._byte_starts
        i = lineno - 1
        if i < 0:
            return starts[0] if starts else 0
        if i >= len(starts):
            return self._size
        limit = starts[i + 1] if i + 1 < len(starts) else self._size
        line = self._line_text(i)
        return min(starts[i] + len(line[: max(char_col, 0)].encode(self._codec())), limit)

    def line_span(self, lineno: int) -> tuple[int, int]:
        """Byte span of a line without its line break, clamped to the file."""
        start = self.char_offset(lineno, 0)
        end = start + len(self._line_text(lineno - 1).rstrip("\r\n").encode(self._codec()))
        return start, min(end, self._size)

    def _codec(self) -> str:
        return "utf-8" if self.utf8_starts is not None else self._encoding

    def _line_text(self, i: int) -> str:
        if not 0 <= i < len(self._byte_starts):
            return ""
        if self.utf8_starts is None:
            chars = self._char_starts
            end = chars[i + 1] if i + 1 < len(chars) else len(self._text)
            return self._text[chars[i] : end]
        starts = self._byte_starts
        end = starts[i + 1] if i + 1 < len(starts) else self._size
        return self._data[starts[i] : end].decode("utf-8", "replace")
