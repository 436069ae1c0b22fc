"""BYTECODE_ANCHOR: the span rule on a hand-written function, against brute force on real files,
and against what CPython's opcodes mean (a name load is positioned at its name, an attribute load
at its attribute access, a call at its call)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from graph.extract.bytecode_anchor import extract_bytecode_anchors
from graph.extract.file_facts import extract_file
from graph.extract.rows import FileFacts, NodeRow
from tests.unit.test_extractors import check_contracts


class Anchor(NamedTuple):
    opname: str
    argrepr: str
    instr_text: str
    method: str
    kind: str
    text: str
    instr: NodeRow
    target: NodeRow


def anchors(facts: FileFacts, data: bytes) -> Iterator[Anchor]:
    nodes = {node.node_id: node for node in facts.nodes}
    props = {(p.entity_id, p.prop_key): p.value for p in facts.props}
    for edge in facts.edges:
        if edge.edge_kind == "BYTECODE_ANCHOR":
            instr, target = nodes[edge.src_node_id], nodes[edge.dst_node_id]
            yield Anchor(
                str(props[(instr.node_id, "baseopname")]),
                str(props.get((instr.node_id, "argrepr"), "")),
                data[instr.bstart : instr.bend].decode(),
                str(edge.resolution_method),
                target.node_kind,
                data[target.bstart : target.bend].decode(),
                instr,
                target,
            )


SOURCE = b"""\
def f(a):
    x = a.b(c)
    return sum(y for y in x)
"""


def test_the_span_rule_on_a_hand_written_function() -> None:
    facts = extract_file("repo:r", "m.py", SOURCE)
    check_contracts(facts)
    found = {(a.opname, a.instr_text): (a.method, a.kind, a.text) for a in anchors(facts, SOURCE)}
    assert found[("LOAD_FAST", "a")] == ("offset_span", "CST_NAME_REF", "a")
    assert found[("LOAD_METHOD", "a.b")] == ("offset_span", "CST_ATTRIBUTE_ACCESS", "a.b")
    assert found[("LOAD_GLOBAL", "c")] == ("offset_span", "CST_NAME_REF", "c")
    assert found[("CALL", "a.b(c)")] == ("offset_span", "CST_CALLSITE", "a.b(c)")
    assert found[("STORE_FAST", "x")] == ("offset_span", "CST_NAME_REF", "x")
    # ast gives a lone generator argument the call's parentheses, LibCST gives them to the
    # call: no CST node is `(y for y in x)`, so the innermost one containing it, the call
    genexp = "(y for y in x)"
    assert found[("MAKE_FUNCTION", genexp)] == ("heuristic", "CST_CALLSITE", "sum(y for y in x)")
    # a function's opening RESUME has an empty span (line 1, columns 0-0): no anchor
    instrs = {n.node_id: n for n in facts.nodes if n.node_kind == "BC_INSTR"}
    resume = next(n for n in instrs.values() if (n.bstart, n.bend) == (0, 0))
    anchored = [a.instr.node_id for a in anchors(facts, SOURCE)]
    assert resume.node_id not in anchored
    spanned = {i for i, n in instrs.items() if n.bstart is not None and n.bstart != n.bend}
    assert sorted(anchored) == sorted(spanned)  # every other instruction has one anchor


def _stdlib(step: int) -> list[Path]:
    lib = Path(ast.__file__).parent
    return sorted(p for p in lib.rglob("*.py") if "site-packages" not in p.parts)[::step]


@pytest.mark.parametrize("path", _stdlib(173)[:6], ids=lambda p: p.name)
def test_anchors_equal_brute_force_over_every_cst_node(path: Path) -> None:
    """The innermost node with the instruction's span, else the innermost containing it,
    by scanning every CST node for every anchored instruction (pre-order: later is deeper)."""
    data = path.read_bytes()
    facts = extract_file("repo:r", path.name, data)
    syntax = [
        n
        for n in facts.nodes
        if n.node_kind.startswith("CST_") and n.node_kind != "CST_COMMENT" and n.bstart is not None
    ]
    cache: dict[tuple[int, int], tuple[str, str]] = {}

    def expected(start: int, end: int) -> tuple[str, str]:
        if (start, end) not in cache:
            exact = [n for n in syntax if (n.bstart, n.bend) == (start, end)]
            if exact:
                cache[(start, end)] = ("offset_span", exact[-1].node_id)
            else:
                around = [n for n in syntax if n.bstart <= start and end <= n.bend]  # type: ignore[operator]
                inner = min(around, key=lambda n: (n.bend - n.bstart, -syntax.index(n)))  # type: ignore[operator]
                cache[(start, end)] = ("heuristic", inner.node_id)
        return cache[(start, end)]

    found = list(anchors(facts, data))
    assert found
    for anchor in found:
        assert anchor.instr.bstart is not None and anchor.instr.bend is not None
        method, target = expected(anchor.instr.bstart, anchor.instr.bend)
        assert (anchor.method, anchor.target.node_id) == (method, target), anchor


_NAME_OPS = frozenset(
    {"LOAD_FAST", "STORE_FAST", "DELETE_FAST", "LOAD_GLOBAL", "LOAD_NAME", "STORE_NAME"}
    | {"STORE_GLOBAL", "LOAD_DEREF", "STORE_DEREF", "LOAD_CLASSDEREF", "DELETE_NAME"}
)


def _spells(name: str, text: str) -> bool:
    """Whether source ``text`` spells ``name`` (class-private names are mangled: ``_C__x``)."""
    return name == text or (text.startswith("__") and name.endswith(text))


def test_opcodes_anchor_to_the_syntax_they_compile() -> None:
    names = attributes = calls = 0
    for path in [p for p in _stdlib(61) if p.stat().st_size < 12_000]:
        data = path.read_bytes()
        for a in anchors(extract_file("repo:r", path.name, data), data):
            if a.opname in _NAME_OPS and _spells(a.argrepr.removeprefix("NULL + "), a.instr_text):
                assert (a.method, a.kind, a.text) == ("offset_span", "CST_NAME_REF", a.instr_text)
                names += 1
            elif a.opname in ("LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR", "DELETE_ATTR"):
                # a call chain spanning lines is positioned at the attribute's name alone
                assert a.method == "offset_span", a
                attribute = a.text.rpartition(".")[2]
                assert a.kind in ("CST_ATTRIBUTE_ACCESS", "CST_NAME_REF"), a
                assert _spells(a.argrepr, attribute), a
                attributes += 1
            elif a.opname == "CALL" and a.kind == "CST_CALLSITE":
                assert a.text == a.instr_text or a.method == "heuristic", a
                calls += 1
    assert names > 1000 and attributes > 300 and calls > 300


def test_no_cst_rows_no_anchors() -> None:
    instr = NodeRow("BC_INSTR:1", "BC_INSTR", "m.py", "file:m", 0, 1)
    comment = NodeRow("CST_COMMENT:1", "CST_COMMENT", "m.py", "file:m", 0, 1)
    assert extract_bytecode_anchors([instr, comment], path="m.py", file_id="file:m").edges == []
