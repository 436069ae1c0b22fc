"""LibCST layer spans against LibCST itself: every CST node's byte span, sliced out of the file and
put back into a minimal syntactic context, re-parses into a node of the same type with the same
syntax (node types and token values in order; comments, blanks and parentheses aside).

Corpus: syntax-heavy test modules of this interpreter's standard library (pattern matching,
f-strings, ``except*``, walrus, positional-only parameters, decorators), two ordinary stdlib
modules, and files with a BOM, CRLF line ends, a PEP 263 cookie, tabs, form feeds and backslash
continuations.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import libcst as cst
import pytest

from graph.extract.cst_extract import extract_cst_tables
from graph.extract.cst_walk import TRANSPARENT
from graph.extract.rows import FileFacts, NodeRow
from graph.extract.source import LineIndex, decode_source

STDLIB = Path(os.__file__).parent
SYNTAX_CORPUS = (
    "test/test_patma.py",
    "test/test_fstring.py",
    "test/test_except_star.py",
    "test/test_named_expressions.py",
    "test/test_positional_only_arg.py",
    "test/test_decorators.py",
)
SAMPLE_CORPUS = ("dataclasses.py", "asyncio/tasks.py")

_DROPPED = (cst.SimpleWhitespace, cst.Newline)
_OUTSIDE_SPAN = frozenset({"leading_lines", "decorators", "lines_after_decorators"})
"""Fields of a statement that come before its first token (its span starts at the keyword)."""
_VALUE_TYPES = (
    cst.Name,
    cst.SimpleString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.FormattedStringText,
)

_STATEMENT = ("{s}", "if True:\n{p}{s}")
_CLAUSE = (
    "{p}if True: pass\n{p}{s}",
    "if True:\n{p}if True: pass\n{p}{s}",
    "{p}try: pass\n{p}{s}",
    "if True:\n{p}try: pass\n{p}{s}",
    "{p}try: pass\n{p}except: pass\n{p}{s}",
    "if True:\n{p}try: pass\n{p}except: pass\n{p}{s}",
    "{p}try: pass\n{p}except* E: pass\n{p}{s}",
    "if True:\n{p}try: pass\n{p}except* E: pass\n{p}{s}",
)
_EXPRESSION = (
    "{s}",
    "_w = ({s})",
    "_w = [{s}]",
    "async def _w():\n    _w = ({s})",
    "async def _w():\n    {s}",
    'f"{s}"',
)
_OTHER = (
    "_w({s})",
    "def _w({s}): pass",
    "def _w({s} _w): pass",
    "def _w(_w, {s}): pass",
    "def _w[{s}](): pass",
    "def _w{s}(): pass",
    "_w: {s}",
    "_w[{s}]",
    "_w = [{s}]",
    "_w = {{s}}",
    "[_w {s}]",
    "[_w for _w in _w {s}]",
    "_w {s}",
    "_w {s} _w",
    "{s} _w",
    "import {s}",
    "from _w import {s}",
    "{s} = _w",
    "with {s}: pass",
    "global {s}",
    "raise _w {s}",
    "_w = (yield {s})",
    "if True: {s}",
    "if True:\n{p}{s}",
    "match _w:\n case {s}: pass",
    "match _w:\n case ({s}): pass",
    "match _w:\n case [{s}]: pass",
    "match _w:\n case {{s}}: pass",
    "match _w:\n case _w({s}): pass",
    "match _w:\n case {s} | 1: pass",
    "match _w:\n case {s} 1: pass",
    "match _w:\n case 1 | {s}: pass",
    "{s}\ndef _w(): pass",
    "if True:\n{p}{s}\n{p}def _w(): pass",
    'f"{s}"',
    "f'{s}'",
    'f"""{s}"""',
    "f'''{s}'''",
)


def _templates(node: cst.CSTNode, text: str) -> tuple[str, ...]:
    """Contexts to parse a slice ``{s}`` of ``node`` in; ``{p}`` is the blank text before it."""
    if isinstance(node, (cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally)):
        return _CLAUSE
    if isinstance(node, cst.If) and text.startswith("elif"):
        return _CLAUSE
    if isinstance(node, cst.MatchCase):
        return ("match _w:\n{p}{s}",)
    if isinstance(node, (cst.BaseStatement, cst.BaseSmallStatement)):
        return _STATEMENT
    if isinstance(node, cst.BaseExpression):
        return _EXPRESSION
    return _OTHER


_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}


def _children(node: cst.CSTNode, skip: frozenset[str] = frozenset()) -> Iterator[cst.CSTNode]:
    names = _FIELDS.get(type(node))
    if names is None:
        names = _FIELDS[type(node)] = tuple(f.name for f in fields(node))
    for name in names:
        if name in skip:
            continue
        value = getattr(node, name)
        items = value if isinstance(value, (tuple, list)) else (value,)
        for item in items:
            if isinstance(item, cst.CSTNode) and not isinstance(item, _DROPPED):
                yield item


def tree_order(module: cst.Module) -> list[cst.CSTNode]:
    """The nodes that get a CST node, in the layer's pre-order (fields in declaration order)."""
    order: list[cst.CSTNode] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        if type(node) not in TRANSPARENT:
            order.append(node)
        stack.extend(reversed(list(_children(node))))
    return order


def signature(node: cst.CSTNode) -> list[str]:
    """Types and token values in pre-order, without comments, blanks and punctuation."""
    out: list[str] = []
    stack: list[tuple[cst.CSTNode, bool]] = [(node, True)]
    while stack:
        current, top = stack.pop()
        if isinstance(current, cst.Comment):
            continue
        if type(current) not in TRANSPARENT:
            out.append(type(current).__name__)
            if isinstance(current, _VALUE_TYPES):
                out.append(current.value)
        skip = _OUTSIDE_SPAN if top else frozenset()
        stack.extend((child, False) for child in reversed(list(_children(current, skip))))
    return out


def _all_nodes(module: cst.Module) -> Iterator[cst.CSTNode]:
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(_children(node))


_PASSED: set[tuple[str, str, str, tuple[str, ...]]] = set()
"""Checks already passed: many leaves (``self``, ``0``) repeat verbatim."""


def reparses(node: cst.CSTNode, text: str, prefix: str) -> bool:
    """Whether ``text`` in some context parses into a node like ``node``."""
    if isinstance(node, cst.Comment):
        return text == node.value
    if isinstance(node, cst.FormattedStringText):
        return text == node.value
    expected = signature(node)
    key = (type(node).__name__, text, prefix, tuple(expected))
    if key in _PASSED:
        return True
    if _reparses(node, text, prefix, expected):
        _PASSED.add(key)
        return True
    return False


def _reparses(node: cst.CSTNode, text: str, prefix: str, expected: list[str]) -> bool:
    for template in _templates(node, text):
        if "{p}" in template and not prefix and not template.startswith("{p}"):
            continue
        code = template.replace("{p}", prefix).replace("{s}", text)
        try:
            module = cst.parse_module(code + "\n")
        except Exception:  # the slice does not fit this context
            continue
        for candidate in _all_nodes(module):
            if type(candidate) is type(node) and signature(candidate) == expected:
                return True
    return False


def cst_rows(facts: FileFacts) -> list[NodeRow]:
    """The rows of the CST tree, in emission order (CST_DEF is an entity beside the tree)."""
    return [n for n in facts.nodes if n.node_kind.startswith("CST_") and n.node_kind != "CST_DEF"]


def check_file(relpath: str, data: bytes) -> int:
    """Check every CST node of a file; returns how many were checked."""
    text, encoding = decode_source(data)
    facts = extract_cst_tables(
        text,
        data,
        path=relpath,
        file_id="F",
        module_fqn="m",
        encoding=encoding,
        lines=LineIndex(data, text, encoding),
    ).facts
    rows = cst_rows(facts)
    nodes = tree_order(cst.parse_module(text))
    assert len(rows) == len(nodes), relpath
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    failures = []
    for row, node in zip(rows, nodes, strict=True):
        assert row.bstart is not None and row.bend is not None
        if isinstance(node, cst.Module):
            assert (row.bstart, row.bend) == (0, len(data))
            continue
        sliced = data[row.bstart : row.bend].decode(codec)
        line_start = max(data.rfind(b"\n", 0, row.bstart), data.rfind(b"\r", 0, row.bstart)) + 1
        before = data[line_start : row.bstart].decode(codec)
        prefix = before if before.strip() == "" else ""
        if not reparses(node, sliced, prefix):
            failures.append((type(node).__name__, row.bstart, sliced[:80]))
    assert not failures, (relpath, len(failures), failures[:10])
    return len(rows)


@pytest.mark.parametrize("relpath", SYNTAX_CORPUS + SAMPLE_CORPUS)
def test_every_cst_span_reparses_to_its_node(relpath: str) -> None:
    path = STDLIB / relpath
    assert check_file(relpath, path.read_bytes()) > 1000


ODD = (
    "# coding: latin-1\ns = 'caf\xe9'\ndef f(a,  # c\n      b):\n\treturn a \\\n  + b\n",
    "x = 1\r\nif x:\r\n    y = [i  # c\r\n         for i in range(3)]\r\n",
    "\ufeffclass C:\n    '''doc'''\n\f\n    def m(self, /, k: 'int' = (1), *, j=()): ...\n",
    "from . import (a,  # c\n    b as c)\nprint(f'{a!r:>{b}} {c}', *[1], **{})\n",
    "async def f():\n    async with a as (b, c):\n        await g(x for x in y)\n",
    "match p:\n    case {'k': [1, *rest]} | C(x=_) if not rest: pass\n",
)


@pytest.mark.parametrize("source", ODD)
def test_spans_of_odd_files_reparse(source: str) -> None:
    codec = "latin-1" if "latin-1" in source else "utf-8"
    data = source.encode(codec)
    if source.startswith("\ufeff"):
        data = codecs.BOM_UTF8 + source[1:].encode()
    assert check_file("odd.py", data) > 10
