"""bytecode_decode against ``dis`` on the running interpreter, field by field.

Every code object (nested ones too) of ~40 stdlib modules and of hand-written sources that reach
the rarer paths: EXTENDED_ARG (over 256 constants and locals, jumps longer than 255 code units,
forwards and backwards), f-string conversions and format specs, closures, async code, ``match``,
exception tables. A CPython whose bytecode decodes differently fails here.
"""

from __future__ import annotations

import dis
import opcode
import os
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import CodeType
from typing import Any

import pytest

from graph.extract.bytecode_decode import (
    Instr,
    const_repr,
    decode_instructions,
    dis_instructions,
    exception_entries,
)
from graph.extract.bytecode_extract import extract_bytecode_table

LIB = Path(os.__file__).parent
_STDLIB_ALL = sorted(LIB.glob("*.py"))
STDLIB = _STDLIB_ALL[:: max(1, len(_STDLIB_ALL) // 40)][:40]
JUMPS = frozenset(opcode.hasjrel) | frozenset(opcode.hasjabs)
FIELDS = Instr._fields


def _units(code: CodeType) -> Iterator[CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _units(const)


def _compile(source: str, name: str = "<test>") -> CodeType:
    return compile(source, name, "exec", dont_inherit=True, optimize=0)


def _expected(ins: dis.Instruction) -> tuple[object, ...]:
    """The ``Instr`` fields as ``dis`` gives them (constants through ``const_repr``)."""
    pos = ins.positions
    lineno, end_lineno, col, end_col = (
        (None, None, None, None)
        if pos is None
        else (pos.lineno, pos.end_lineno, pos.col_offset, pos.end_col_offset)
    )
    return (
        ins.offset,
        ins.opcode,
        ins.opname,
        getattr(ins, "baseopname", None) or ins.opname,
        ins.arg,
        ins.argval if ins.opcode in JUMPS else None,
        const_repr(ins.argval) if ins.opname == "LOAD_CONST" else ins.argrepr,
        ins.starts_line,
        lineno,
        end_lineno,
        col,
        end_col,
    )


def _check(code: CodeType) -> int:
    """Assert the decoder matches ``dis`` on ``code`` and its nested code; instructions seen."""
    seen = 0
    for unit in _units(code):
        where = f"{unit.co_filename}:{unit.co_qualname}"
        expected = [_expected(ins) for ins in dis.get_instructions(unit)]
        got = decode_instructions(unit)
        assert len(got) == len(expected), where
        for ins, want in zip(got, expected, strict=True):
            for name, value, wanted in zip(FIELDS, ins, want, strict=True):
                assert value == wanted, f"{where} offset {ins.offset} {ins.opname}: {name}"
        bytecode: Any = dis.Bytecode(unit)  # exception_entries: 3.11+, not in typeshed
        want_entries = [tuple(e) for e in bytecode.exception_entries]
        assert [tuple(e) for e in exception_entries(unit)] == want_entries, where
        seen += len(got)
    return seen


def _all(code: CodeType) -> list[Instr]:
    return [ins for unit in _units(code) for ins in decode_instructions(unit)]


@pytest.mark.parametrize("path", STDLIB, ids=[p.name for p in STDLIB])
def test_stdlib_module_matches_dis(path: Path) -> None:
    assert _check(_compile(path.read_text(encoding="utf-8"), str(path))) > 0


@pytest.mark.parametrize("path", STDLIB[::4], ids=[p.name for p in STDLIB[::4]])
def test_the_dis_fallback_gives_the_same_instructions(path: Path) -> None:
    """Interpreters other than 3.11 decode through ``dis_instructions``: same fields here."""
    for unit in _units(_compile(path.read_text(encoding="utf-8"), str(path))):
        assert dis_instructions(unit) == decode_instructions(unit), unit.co_qualname


def test_picks_about_40_stdlib_modules() -> None:
    assert 35 <= len(STDLIB) <= 40


MANY = 300
MANY_CONSTS = "def many_consts():\n" + "".join(
    f"    v{i} = {i}.5\n    s{i} = 'text{i}'\n" for i in range(MANY)
)
IF_CHAIN = (
    "def if_chain(x):\n    if x == -1:\n        y = -1\n"
    + "".join(f"    elif x == {i}:\n        y = x * {i} + {i}\n" for i in range(MANY))
    + "    return y\n"
)
LONG_LOOP = (
    "def long_loop(xs):\n    total = 0\n    while xs:\n"
    + "".join(f"        total += xs.pop() * {i}\n" for i in range(MANY))
    + "    return total\n"
)

FEATURES = textwrap.dedent('''
    """Module docstring."""
    from os.path import *
    import collections.abc as abc

    counter = 0


    def fstrings(a, b, c, width):
        return (
            f"{a!r} {b!s} {c!a} {a} {b:>10} {c!r:^{width}} {a!s:{width}.{width}} {b!a:x}"
            f"{a=} {b=!s}"
        )


    def defaults(a, b=1, *args, c, d=2, **kw) -> int:
        return a + b + c + d + len(args) + len(kw)


    def closures(x):
        global counter
        counter += 1

        def inner(y):
            nonlocal x
            x += y
            return lambda z, w=x: x + y + z + w

        return inner


    def comprehensions(items):
        listed = [i * 2 for i in items if i]
        sets = {i for i in items}
        mapping = {i: str(i) for i in items}
        gen = sum(i for i in items)
        return listed, sets, mapping, gen, (lambda: listed)()


    def exceptions(path):
        try:
            with open(path) as fh, open(path) as other:
                data = fh.read() + other.read()
        except (OSError, ValueError) as exc:
            raise RuntimeError("bad") from exc
        else:
            data = data.strip()
        finally:
            print("done")
        try:
            data = data.encode()
        except* TypeError as group:
            print(group.exceptions)
        try:
            assert data, "empty"
        except AssertionError:
            return None
        return data


    async def agen(n):
        for i in range(n):
            yield i


    async def asyncs(session, urls):
        async with session as s:
            async for url in s.get(urls):
                await url
        return [x async for x in agen(3)]


    def gen(items):
        yield from items
        x = yield
        return x


    def matching(command):
        match command:
            case ["go", direction] if direction in {"north", "south", "east", "west"}:
                return direction
            case {"action": action, **rest}:
                return action, rest
            case Point(x=0, y=y) | Point(x=y, y=0):
                return y
            case [1, 2, *others]:
                return others
            case str() | bytes() as text:
                return text
            case None:
                return None
            case _:
                return "unknown"


    class Point:
        __match_args__ = ("x", "y")

        def __init__(self, x, y):
            self.x, self.y = x, y

        def __repr__(self):
            return f"Point({self.x!r}, {self.y!r})"

        def norm(self):
            return super().__repr__() or self.x ** 2 + self.y ** 2


    def operators(a, b):
        a += b
        a //= 2
        a @= b
        c = a if a is not None else b
        d = a and b or c
        e = 1 < a <= b != c
        f = a in (1, 2, (3, frozenset({4}))) or b not in {"x", "y"}
        del c
        return a[1:2], a[::-1], -a, ~b, not a, e, f, d, print(*a, sep="", **b)
    ''')

SOURCES = {
    "many_consts": MANY_CONSTS,
    "if_chain": IF_CHAIN,
    "long_loop": LONG_LOOP,
    "features": FEATURES,
}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_handwritten_source_matches_dis(name: str) -> None:
    assert _check(_compile(SOURCES[name], f"<{name}>")) > 0


def test_extended_arg_paths_are_exercised() -> None:
    consts = _all(_compile(MANY_CONSTS))
    assert any(i.opname == "EXTENDED_ARG" for i in consts)
    assert any(i.opname == "LOAD_CONST" and (i.arg or 0) > 255 for i in consts)
    assert any(i.opname == "STORE_FAST" and (i.arg or 0) > 255 for i in consts)
    forward = _all(_compile(IF_CHAIN))
    assert any(
        i.jump_target is not None and i.jump_target > i.offset and (i.arg or 0) > 255
        for i in forward
    )
    backward = _all(_compile(LONG_LOOP))
    assert any(
        i.jump_target is not None and i.jump_target < i.offset and (i.arg or 0) > 255
        for i in backward
    )


def test_argrepr_families_are_exercised() -> None:
    instrs = _all(_compile(FEATURES))
    argreprs = {(i.opname, i.argrepr) for i in instrs}
    formats = {r for op, r in argreprs if op == "FORMAT_VALUE"}
    assert {"", "str", "repr", "ascii", "with format", "repr, with format"} <= formats
    assert any(op == "LOAD_GLOBAL" and r.startswith("NULL + ") for op, r in argreprs)
    assert any(op == "LOAD_GLOBAL" and not r.startswith("NULL + ") for op, r in argreprs)
    assert ("MAKE_FUNCTION", "defaults, kwdefaults, annotations") in argreprs
    assert ("MAKE_FUNCTION", "closure") in argreprs
    assert ("MAKE_FUNCTION", "defaults, closure") in argreprs
    assert ("BINARY_OP", "+=") in argreprs and ("COMPARE_OP", "<=") in argreprs
    assert ("LOAD_CONST", "frozenset({'east', 'north', 'south', 'west'})") in argreprs
    line = FEATURES.splitlines().index("    def inner(y):") + 1
    inner = f"<code object closures.<locals>.inner, line {line}>"
    assert ("LOAD_CONST", inner) in argreprs
    assert any(op in {"LOAD_DEREF", "STORE_DEREF", "LOAD_CLOSURE"} for op, _ in argreprs)
    assert any(op == "IMPORT_STAR" for op, _ in argreprs)
    code = _compile(FEATURES)
    entries = [e for unit in _units(code) for e in exception_entries(unit)]
    assert entries and any(e.lasti for e in entries) and any(not e.lasti for e in entries)


def test_const_repr_is_canonical() -> None:
    code = _compile("def f(): pass")
    inner = code.co_consts[0]
    assert isinstance(inner, CodeType)
    assert const_repr(inner) == "<code object f, line 1>"
    assert const_repr(frozenset({"b", "a", "c"})) == "frozenset({'a', 'b', 'c'})"
    assert const_repr((frozenset({2, 1}), inner)) == (
        "(frozenset({1, 2}), <code object f, line 1>)"
    )
    assert const_repr(("x",)) == "('x',)" and const_repr(()) == "()"
    assert const_repr(1.5) == "1.5" and const_repr(None) == "None"


def test_extractor_format_value_argrepr_is_dis_text() -> None:
    code = _compile("def f(a, w):\n    return f'{a!r:{w}} {a} {a!s}'\n")
    facts = extract_bytecode_table(code, path="f.py", file_id="file:f").facts
    ops = {p.entity_id: p.value for p in facts.props if p.prop_key == "baseopname"}
    fv = sorted(
        str(p.value)
        for p in facts.props
        if p.prop_key == "argrepr" and ops[p.entity_id] == "FORMAT_VALUE"
    )
    assert fv == ["repr, with format", "str"]  # '{a}' and the spec '{w}' have none
    assert sum(1 for value in ops.values() if value == "FORMAT_VALUE") == 4
