"""SCIP positions (0-based line, UTF-16 column) -> byte offsets.

Two oracles nobody here wrote: Python's codecs (the UTF-16 length of a line's prefix is the
column scip-python reports; Node and Python decode invalid UTF-8 alike, one U+FFFD per maximal
invalid subpart), and scip-python itself, run on files with astral characters, CRLF and lone CR
breaks, a BOM and a latin-1 cookie: every occurrence it reports must land on the name it names.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.extract.scip_positions import Utf16Lines, scip_range
from graph.extract.scip_proto import decode_index, tools_dir
from graph.extract.scip_run import ScipIndexFile, ScipLimits, ScipProcess

_BREAKS = ("\r\n", "\r", "\n")
_INVALID = (b"\xe9", b"\xe9\xa9", b"\xf0\x9f\x98", b"\xff")
"""Invalid UTF-8, each one maximal invalid subpart when ASCII follows (one U+FFFD in Node)."""

_pieces = st.lists(
    st.one_of(
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
            min_size=1,
            max_size=4,
        ).map(lambda text: text.encode("utf-8")),
        st.sampled_from(_BREAKS).map(str.encode),
        st.sampled_from(_INVALID).map(lambda raw: raw + b"x"),
        st.just(b"\xef\xbb\xbf"),
    ),
    max_size=30,
)


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """The SCIP position of byte ``offset``, computed from the codecs alone."""
    starts = [0, *(m.end() for m in re.finditer(rb"\r\n|\r|\n", data[:offset]))]
    prefix = data[starts[-1] : offset].decode("utf-8", "replace")
    return len(starts) - 1, len(prefix.encode("utf-16-le")) // 2


@given(_pieces)
def test_every_piece_boundary_maps_back_to_its_byte_offset(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    lines = Utf16Lines(data)
    offset = 0
    for piece in [b"", *pieces]:
        offset += len(piece)
        if data[offset - 1 : offset] == b"\r" and data[offset : offset + 1] == b"\n":
            continue  # inside a CRLF: no position
        line, column = _position(data, offset)
        assert lines.offset(line, column) == offset


def test_positions_outside_the_file_or_inside_a_character_are_none() -> None:
    lines = Utf16Lines("a😀b\r\nc".encode())
    assert lines.offset(0, 2) is None  # the second unit of the surrogate pair
    assert lines.offset(0, 3) == 5
    assert lines.offset(0, 5) is None  # past the end of line 0
    assert lines.offset(1, 1) == 9
    assert lines.offset(2, 0) is None
    assert lines.span((0, 3, 0, 1)) is None  # ends before it starts


def test_ranges_of_three_numbers_are_on_one_line() -> None:
    assert scip_range([4, 1, 7]) == (4, 1, 4, 7)
    assert scip_range([1, 2, 3, 4]) == (1, 2, 3, 4)
    assert scip_range([1, 2]) is None


_FILES: dict[str, bytes] = {
    "pkg/__init__.py": b"",
    # astral characters before names on a line, non-ASCII names, CRLF and a lone CR
    "pkg/wide.py": (
        'x = "😀😀"; café = x\r\ndef fün(a):\r\n    return café + a\r\n\rz = fün(1)\n'.encode()
    ),
    "pkg/bom.py": b"\xef\xbb\xbfbom = 1\nq = bom\n",
    "pkg/legacy.py": b'# -*- coding: latin-1 -*-\ns = "\xe9\xa9"; t = s\nu = t\n',
}


@pytest.mark.skipif(shutil.which("node") is None, reason="scip-python needs node")
def test_scip_python_occurrences_land_on_the_names_they_name(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    for relpath, data in _FILES.items():
        (repo / relpath).parent.mkdir(parents=True, exist_ok=True)
        (repo / relpath).write_bytes(data)
    run = ScipProcess.start(repo, "", ScipLimits(timeout=300), tools_dir())
    assert isinstance(run, ScipProcess), run
    ran = run.wait()
    assert isinstance(ran, ScipIndexFile), ran
    index = decode_index(ran.data)
    checked = 0
    for document in index.documents:
        data = _FILES[document.relative_path]
        encoding = (
            "latin-1" if b"latin-1" in data else "utf-8-sig" if data[:1] == b"\xef" else "utf-8"
        )
        lines = Utf16Lines(data)
        for occurrence in document.occurrences:
            where = scip_range(list(occurrence.range))
            assert where is not None
            span = lines.span(where)
            assert span is not None, (document.relative_path, where)
            if span[0] == span[1]:
                continue  # the module's own definition, at 0:0
            name = data[span[0] : span[1]].decode(encoding)
            assert name.isidentifier(), (document.relative_path, where, name)
            assert name in occurrence.symbol or occurrence.symbol.startswith("local "), name
            checked += 1
    assert checked == 17  # every name of the four files (counted by hand)
