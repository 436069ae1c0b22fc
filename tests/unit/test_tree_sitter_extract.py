"""The tree-sitter layer on real source: spans against ``ast`` and ``tokenize`` (oracles that do not
use tree-sitter), node counts against tree-sitter's own ``named_children`` walk, error recovery on
broken files, and byte offsets in every encoding a PEP 263 cookie can declare."""

from __future__ import annotations

import ast
import io
import os
import tokenize
from collections import Counter
from pathlib import Path

import pytest
import tree_sitter
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.extract.file_facts import extract_file
from graph.extract.filesystem import file_node_id
from graph.extract.rows import FileFacts, NodeRow
from graph.extract.source import decode_source
from graph.extract.tree_sitter_extract import extract_ts_tables, python_parser
from tests.unit.test_extractors import RICH, by_kind, check_contracts, props_of

TS_KINDS = ("TS_NODE", "TS_ERROR", "TS_MISSING")
SOURCE = RICH.replace("counter = 0\n", "counter = 0  # a comment: é\n# and one alone\n")


def ts_rows(data: bytes) -> FileFacts:
    """The TS rows of ``data`` as the build makes them (decoded first, as ``extract_file``)."""
    try:
        text, encoding = decode_source(data)
    except Exception:
        return extract_ts_tables(data, path="m.py", file_id="F", text=None, encoding=None)
    return extract_ts_tables(data, path="m.py", file_id="F", text=text, encoding=encoding)


def ts_nodes(facts: FileFacts, ts_type: str | None = None) -> list[NodeRow]:
    props = props_of(facts)
    return [
        n
        for n in facts.nodes
        if n.node_kind in TS_KINDS
        and (ts_type is None or props[n.node_id]["ts_type"].value == ts_type)
    ]


def texts(data: bytes, rows: list[NodeRow], encoding: str = "utf-8") -> Counter[str]:
    return Counter(data[r.bstart : r.bend].decode(encoding) for r in rows)


def emitted_by_named_walk(node: tree_sitter.Node) -> int:
    """Named nodes and MISSING nodes, counted over ``children`` (not the extractor's cursor)."""
    own = 1 if node.is_named or node.is_missing else 0
    return own + sum(emitted_by_named_walk(child) for child in node.children)


# --- spans against oracles that do not use tree-sitter ----------------------------------------


def test_spans_slice_the_source_like_ast_and_tokenize() -> None:
    data = SOURCE.encode()
    facts = ts_rows(data)
    check_contracts(_with_file(facts, data))
    tree = ast.parse(SOURCE)

    def segments(*types: type[ast.AST]) -> Counter[str]:
        found = (ast.get_source_segment(SOURCE, n) for n in ast.walk(tree) if isinstance(n, types))
        return Counter(s for s in found if s is not None)

    assert texts(data, ts_nodes(facts, "call")) == segments(ast.Call)
    assert texts(data, ts_nodes(facts, "function_definition")) == segments(
        ast.FunctionDef, ast.AsyncFunctionDef
    )
    assert texts(data, ts_nodes(facts, "class_definition")) == segments(ast.ClassDef)
    assert texts(data, ts_nodes(facts, "lambda")) == segments(ast.Lambda)
    tokens = list(tokenize.tokenize(io.BytesIO(data).readline))
    comments = Counter(t.string for t in tokens if t.type == tokenize.COMMENT)
    assert len(comments) == 2 and texts(data, ts_nodes(facts, "comment")) == comments
    identifiers = texts(data, ts_nodes(facts, "identifier"))
    assert all(name.isidentifier() for name in identifiers)
    names = Counter(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
    assert names and names <= identifiers  # plus attributes, parameters, def and import names


def _with_file(facts: FileFacts, data: bytes) -> FileFacts:
    """``facts`` plus a PY_FILE row for ``F``, so edges and props can be checked as a whole."""
    whole = FileFacts(nodes=[NodeRow("F", "PY_FILE", "m.py", "F", 0, len(data))])
    whole.add_props("node", "F", {"path": "m.py", "size_bytes": len(data), "file_sha256": "0"})
    whole.extend(facts)
    return whole


def _stdlib_files(count: int = 12) -> list[Path]:
    root = Path(os.__file__).parent
    files = sorted(p for p in root.glob("*.py") if p.stat().st_size < 60_000)
    return files[:: max(len(files) // count, 1)][:count]


@pytest.mark.parametrize("path", _stdlib_files(), ids=lambda p: p.name)
def test_every_named_node_is_a_row_whose_span_is_its_text(path: Path) -> None:
    data = path.read_bytes()
    facts = ts_rows(data)
    tree = python_parser().parse(data)
    assert len(ts_nodes(facts)) == emitted_by_named_walk(tree.root_node)
    assert by_kind(facts)["TS_PARENT_OF"] == len(ts_nodes(facts)) - 1
    stack = [tree.root_node]
    expected: Counter[tuple[str, bytes]] = Counter()
    while stack:
        node = stack.pop()
        stack.extend(node.named_children)
        expected[(node.type, node.text or b"")] += 1
    props = props_of(facts)
    got = Counter(
        (str(props[n.node_id]["ts_type"].value), data[n.bstart : n.bend]) for n in ts_nodes(facts)
    )
    assert got == expected
    tokens = tokenize.tokenize(io.BytesIO(data).readline)
    comments = Counter(t.string for t in tokens if t.type == tokenize.COMMENT)
    assert texts(data, ts_nodes(facts, "comment")) == comments


def test_parents_contain_their_children_and_ids_are_unique() -> None:
    data = RICH.encode()
    facts = ts_rows(data)
    spans = {n.node_id: (n.bstart, n.bend) for n in facts.nodes}
    assert len(spans) == len(facts.nodes)
    parents = Counter(e.dst_node_id for e in facts.edges)
    assert set(parents.values()) == {1}
    (root,) = set(spans) - set(parents)
    assert spans[root] == (0, len(data))
    for edge in facts.edges:
        (pstart, pend), (cstart, cend) = spans[edge.src_node_id], spans[edge.dst_node_id]
        assert pstart <= cstart <= cend <= pend  # type: ignore[operator]
    fields = Counter(p.value for p in facts.props if p.prop_key == "field")
    assert fields["name"] > 0 and fields["body"] > 0 and fields["function"] > 0


# --- broken files -----------------------------------------------------------------------------

BROKEN = b"def f(:\n    return 1\n\nx = (1,\nclass C:\n    pass\n"


def test_broken_file_keeps_its_tree_sitter_rows_with_error_and_missing_spans() -> None:
    facts = extract_file("repo", "broken.py", BROKEN)
    check_contracts(facts)
    counts = by_kind(facts)
    assert counts["DIAG"] == 2 and counts["AST_NODE"] == 0  # ast and LibCST gave up
    assert counts["TS_NODE"] > 10 and counts["TS_ERROR"] >= 1 and counts["TS_MISSING"] >= 1
    props = props_of(facts)
    (missing,) = ts_nodes(facts, ")")
    assert missing.node_kind == "TS_MISSING"
    assert missing.bstart == missing.bend == BROKEN.index(b":")
    assert props[missing.node_id]["is_missing"].value is True
    errors = [n for n in facts.nodes if n.node_kind == "TS_ERROR"]
    assert all(props[n.node_id]["is_error"].value is True for n in errors)
    assert any(b"(1," in BROKEN[e.bstart : e.bend] for e in errors)
    (module,) = ts_nodes(facts, "module")
    assert props[module.node_id]["has_error"].value is True
    (clean,) = ts_nodes(facts, "class_definition")
    assert "has_error" not in props[clean.node_id]


def test_undecodable_file_is_parsed_as_stored() -> None:
    data = b"x = 1\ny = '\xff\xfe'\n# caf\xe9\n"
    facts = extract_file("repo", "u.py", data)
    check_contracts(facts)
    assert by_kind(facts)["DIAG"] == 1
    assert texts(data, ts_nodes(facts, "comment"), "latin-1") == Counter({"# café": 1})
    assert data[slice(*_span(ts_nodes(facts, "string")[0]))] == b"'\xff\xfe'"


def _span(row: NodeRow) -> tuple[int, int]:
    assert row.bstart is not None and row.bend is not None
    return row.bstart, row.bend


# --- encodings --------------------------------------------------------------------------------

ENCODED = (
    '# -*- coding: {enc} -*-\n# {word} comment\ns = "{word}\\\\"  # tail {word}\n'
    "def f(x): return x\n"
)
WORDS = {
    "utf-8": "ソ表é",
    "utf-8-sig": "ソ表é",
    "latin-1": "café",
    "cp1252": "€uro",
    "shift_jis": "ソ表",  # both end in 0x5C, a backslash, in Shift-JIS
    "cp932": "ソ表",
    "euc-jp": "ソ表",
    "iso2022_jp": "ソ表",  # stateful: escape sequences switch the character set
    "gbk": "表示",
}


@pytest.mark.parametrize("encoding", list(WORDS))
def test_spans_are_offsets_into_the_file_in_every_encoding(encoding: str) -> None:
    word = WORDS[encoding]
    text = ENCODED.format(enc="utf-8" if encoding == "utf-8-sig" else encoding, word=word)
    data = text.encode(encoding)
    facts = ts_rows(data)
    reference = ts_rows(text.encode("utf-8"))
    assert [n.node_kind for n in facts.nodes] == [n.node_kind for n in reference.nodes]
    assert by_kind(facts)["TS_ERROR"] == 0
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    mine = [data[slice(*_span(n))].decode(codec) for n in facts.nodes]
    theirs = [text.encode()[slice(*_span(n))].decode() for n in reference.nodes]
    assert mine == theirs
    assert texts(data, ts_nodes(facts, "comment"), codec)[f"# {word} comment"] == 1
    (module,) = ts_nodes(facts, "module")
    bom = 3 if encoding == "utf-8-sig" else 0
    assert _span(module) == (bom, len(data))


def test_shift_jis_bytes_would_break_a_raw_parse() -> None:
    """Why non-UTF-8 files are transcoded: raw, 0x5C in a character escapes the closing quote."""
    data = ENCODED.format(enc="shift_jis", word="ソ").encode("shift_jis")
    raw = extract_ts_tables(data, path="m.py", file_id="F", text=None, encoding=None)
    assert by_kind(raw)["TS_ERROR"] + by_kind(raw)["TS_MISSING"] > 0
    assert by_kind(ts_rows(data))["TS_ERROR"] == 0


# --- any input --------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    ["def ", "f", "(", ")", ":", "\n", "    ", "x", " = ", "1", ",", "'", '"', "é", "ソ", "#", "\\"]
)


@settings(max_examples=150, deadline=None)
@given(
    pieces=st.lists(_PIECES, max_size=40),
    encoding=st.sampled_from(["utf-8", "latin-1", "shift_jis", "gbk"]),
)
def test_any_source_gives_nested_spans_inside_the_file(pieces: list[str], encoding: str) -> None:
    text = "".join(pieces)
    if encoding != "utf-8":
        text = text.replace("ソ" if encoding == "latin-1" else "é", "x")
        text = f"# coding: {encoding}\n{text}"
    data = text.encode(encoding)
    facts = extract_file("repo", "m.py", data)
    check_contracts(facts)
    file_id = file_node_id("repo", "m.py")
    spans = {n.node_id: _span(n) for n in facts.nodes if n.node_kind in TS_KINDS}
    assert spans and all(0 <= a <= b <= len(data) for a, b in spans.values())
    for edge in facts.edges:
        if edge.edge_kind == "TS_PARENT_OF":
            (pa, pb), (ca, cb) = spans[edge.src_node_id], spans[edge.dst_node_id]
            assert pa <= ca <= cb <= pb
    contained = {e.dst_node_id for e in facts.edges if e.edge_kind == "FILE_CONTAINS"}
    assert set(spans) <= contained
    assert all(e.src_node_id == file_id for e in facts.edges if e.edge_kind == "FILE_CONTAINS")
