"""A fast decoder of CPython 3.11 ``co_code``: the instruction fields ``bytecode_extract`` needs.

Why it exists: ``dis.get_instructions`` / ``dis.Bytecode`` run the pure-Python
``dis._get_instructions_bytes`` (argrepr formatting for every instruction, a ``Positions``
namedtuple each, a ``findlabels`` scan of the whole code, a generator frame per step). On the
standard library that cost ~5.8 us per instruction, the largest single cost of the graph pipeline.
``decode_instructions`` gives the same offsets, opcodes, args, jump targets, argreprs, line starts
and positions from one tight loop over ``co_code`` with tables computed once at import: ~1.1 us per
instruction, a third of it ``co_positions()`` and ``dis.findlinestarts`` (120 stdlib modules,
where ``list(dis.Bytecode(code))`` took ~3.9 us on the same machine and run).

Written for, and verified on, CPython 3.11 bytecode: 2-byte code units, inline CACHE entries after
an instruction (``opcode._inline_cache_entries``), EXTENDED_ARG prefixes as instructions of their
own, relative jumps counted in code units from the next code unit (backward for ``JUMP_BACKWARD*``
opcodes), ``LOAD_GLOBAL``'s low arg bit meaning "push NULL" and one ``co_positions`` entry per code
unit. ``tests/unit/test_bytecode_decode.py`` compares the decoder with ``dis`` on the running
interpreter, field by field, so an interpreter whose bytecode decodes differently fails that test
instead of yielding silently different rows. The tables come from ``opcode``/``dis`` data, not
hard-coded numbers.

Differences from ``dis`` (intended): ``argrepr`` of ``LOAD_CONST`` is ``const_repr`` of the
constant, i.e. code objects without their address and frozensets with sorted members (also inside
tuples), so it is the same on every run and hash seed. ``opcode``/``opname`` are those found in
``co_code`` (what ``dis`` reports, never specialized there); ``baseopname`` is the deoptimized name.
"""

from __future__ import annotations

import dis
import opcode
import sys
from collections.abc import Callable, Sequence
from types import CodeType
from typing import NamedTuple


class Instr(NamedTuple):
    """One instruction (not a CACHE entry) as ``dis.Instruction`` would describe it."""

    offset: int
    opcode: int
    """The opcode in ``co_code``, like ``dis.Instruction.opcode``."""
    opname: str
    baseopname: str
    """Name of the deoptimized opcode (equal to ``opname`` on ``co_code``)."""
    arg: int | None
    jump_target: int | None
    """Target offset of a jump (``hasjrel``/``hasjabs``), else None."""
    argrepr: str
    """``dis``'s argrepr, with ``const_repr`` for constants; ``''`` when it has none."""
    starts_line: int | None
    lineno: int | None
    end_lineno: int | None
    col_offset: int | None
    end_col_offset: int | None


class ExceptionEntry(NamedTuple):
    """An exception-table entry, like ``dis.Bytecode(code).exception_entries`` (end exclusive)."""

    start: int
    end: int
    target: int
    depth: int
    lasti: bool


def const_repr(value: object) -> str:
    """``repr`` without run-dependent text: code objects print their address and frozensets
    iterate in string-hash order (PYTHONHASHSEED), so both are rendered canonically (also when
    nested in tuples)."""
    if isinstance(value, CodeType):
        return f"<code object {value.co_qualname}, line {value.co_firstlineno}>"
    if isinstance(value, frozenset):
        return f"frozenset({{{', '.join(sorted(const_repr(v) for v in value))}}})"
    if isinstance(value, tuple):
        items = [const_repr(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return repr(value)


# Argument families; an opcode gets the first that dis._get_instructions_bytes would test true.
_NOARG = 0  # opcode < HAVE_ARGUMENT: arg None
_PLAIN = 1  # an arg with an empty argrepr (incl. hasconst other than LOAD_CONST: dis UNKNOWN)
_EXTENDED = 2  # EXTENDED_ARG: its arg shifts into the next instruction's
_CONST = 3
_NAME = 4
_GLOBAL = 5
_JABS = 6
_JFWD = 7
_JBACK = 8
_LOCAL = 9
_COMPARE = 10
_FORMAT = 11
_MAKE_FUNCTION = 12
_BINARY_OP = 13

_INT_OVERFLOW = 2**31  # opargs are C ints: dis wraps an EXTENDED_ARG prefix past 2**31 negative


def _build_tables() -> tuple[list[str], list[int], list[int], list[int]]:
    """``(opname, deopt opcode, inline cache entries, family)`` for each of the 256 opcodes."""
    # CPython-private data of dis/opcode (3.11), not in typeshed: the test pins their meaning.
    all_opname: list[str] = list(dis._all_opname)  # type: ignore[attr-defined]
    deoptop: Callable[[int], int] = dis._deoptop  # type: ignore[attr-defined]
    cache_entries: Sequence[int] = opcode._inline_cache_entries  # type: ignore[attr-defined]
    deopt = [deoptop(op) for op in range(256)]
    caches = [cache_entries[deopt[op]] for op in range(256)]
    hasconst, hasname = set(opcode.hasconst), set(opcode.hasname)
    hasjabs, hasjrel = set(opcode.hasjabs), set(opcode.hasjrel)
    haslocal = set(opcode.haslocal) | set(opcode.hasfree)
    hascompare = set(opcode.hascompare)
    special = {
        opcode.opmap["EXTENDED_ARG"]: _EXTENDED,
        opcode.opmap["LOAD_CONST"]: _CONST,
        opcode.opmap["LOAD_GLOBAL"]: _GLOBAL,
        opcode.opmap["FORMAT_VALUE"]: _FORMAT,
        opcode.opmap["MAKE_FUNCTION"]: _MAKE_FUNCTION,
        opcode.opmap["BINARY_OP"]: _BINARY_OP,
    }
    family = []
    for op in range(256):
        base = deopt[op]
        fam = _PLAIN
        if base < opcode.HAVE_ARGUMENT:
            fam = _NOARG
        elif special.get(base) == _EXTENDED:  # in no has* list: dis gives it no argrepr
            fam = _EXTENDED
        elif base in hasconst:
            fam = _CONST if special.get(base) == _CONST else _PLAIN
        elif base in hasname:
            fam = _GLOBAL if special.get(base) == _GLOBAL else _NAME
        elif base in hasjabs:
            fam = _JABS
        elif base in hasjrel:
            fam = _JBACK if "JUMP_BACKWARD" in opcode.opname[base] else _JFWD
        elif base in haslocal:
            fam = _LOCAL
        elif base in hascompare:
            fam = _COMPARE
        elif special.get(base) in (_FORMAT, _MAKE_FUNCTION, _BINARY_OP):
            fam = special[base]
        family.append(fam)
    return all_opname, deopt, caches, family


FAST = sys.version_info[:2] == (3, 11)
"""Whether this interpreter decodes with the tables below (else through ``dis``)."""

if FAST:
    _OPNAME, _DEOPT, _CACHES, _FAMILY = _build_tables()
    """Indexed by the opcode in ``co_code``; caches and family are those of its deopt opcode."""
    _BASENAME = [_OPNAME[base] for base in _DEOPT]
    _STEP = [2 + 2 * caches for caches in _CACHES]
    """Bytes from an instruction to the next: its own code unit and its inline CACHE entries."""

    _CONVERTERS: Sequence[tuple[object, str]] = dis.FORMAT_VALUE_CONVERTERS  # type: ignore[attr-defined]
    _FORMAT_REPR = [
        ", ".join(filter(None, (_CONVERTERS[arg & 0x3][1], "with format" if arg & 0x4 else "")))
        for arg in range(8)
    ]
    """argrepr of FORMAT_VALUE by ``arg & 7``: converter name and/or 'with format'."""
    _MAKE_FUNCTION_FLAGS: Sequence[str] = dis.MAKE_FUNCTION_FLAGS  # type: ignore[attr-defined]
    _MAKE_FUNCTION_REPR = [
        ", ".join(s for i, s in enumerate(_MAKE_FUNCTION_FLAGS) if arg & (1 << i))
        for arg in range(1 << len(_MAKE_FUNCTION_FLAGS))
    ]
    """argrepr of MAKE_FUNCTION by its flag bits."""
    _MAKE_FUNCTION_MASK = len(_MAKE_FUNCTION_REPR) - 1
    _NB_OPS: list[str] = [symbol for _, symbol in opcode._nb_ops]  # type: ignore[attr-defined]
    _CMP_OP: list[str] = list(opcode.cmp_op)

_new = tuple.__new__
_NO_POSITION = (None, None, None, None)


def decode_instructions(code: CodeType) -> list[Instr]:
    """The instructions of ``code`` (without CACHE entries), equal to ``dis.get_instructions``
    field by field (see the module docstring for ``argrepr`` of constants)."""
    if not FAST:
        return dis_instructions(code)
    co_code = code.co_code
    positions: list[tuple[int | None, int | None, int | None, int | None]]
    positions = list(code.co_positions())
    if len(positions) < len(co_code) >> 1:  # dis pads a short iterator with Nones
        positions.extend([_NO_POSITION] * ((len(co_code) >> 1) - len(positions)))
    line_start = dict(dis.findlinestarts(code)).get
    consts = code.co_consts
    const_reprs: list[str | None] = [None] * len(consts)
    names = code.co_names
    varname: Callable[[int], str] = code._varname_from_oparg  # type: ignore[attr-defined]
    opnames, basenames, steps, families = _OPNAME, _BASENAME, _STEP, _FAMILY
    out: list[Instr] = []
    append = out.append
    new = _new
    extended = 0
    size = len(co_code)
    i = 0
    while i < size:  # one step per instruction, over its inline CACHE entries too
        op = co_code[i]
        family = families[op]
        target = None
        argrepr = ""
        if family == _NOARG:
            arg = None
            extended = 0
        else:  # the elifs in order of frequency (stdlib), _PLAIN (empty argrepr) first
            arg = co_code[i + 1] | extended
            extended = 0
            if family == _PLAIN:
                pass
            elif family == _LOCAL:
                argrepr = varname(arg)
            elif family == _CONST:
                text = const_reprs[arg]
                if text is None:
                    text = const_reprs[arg] = const_repr(consts[arg])
                argrepr = text
            elif family == _NAME:
                argrepr = names[arg]
            elif family == _JFWD:
                target = i + 2 + arg * 2
                argrepr = f"to {target}"
            elif family == _GLOBAL:
                argrepr = names[arg >> 1]
                if arg & 1 and argrepr:
                    argrepr = "NULL + " + argrepr
            elif family == _MAKE_FUNCTION:
                argrepr = _MAKE_FUNCTION_REPR[arg & _MAKE_FUNCTION_MASK]
            elif family == _BINARY_OP:
                argrepr = _NB_OPS[arg]
            elif family == _COMPARE:
                argrepr = _CMP_OP[arg]
            elif family == _EXTENDED:
                extended = arg << 8
                if extended >= _INT_OVERFLOW:
                    extended -= 2 * _INT_OVERFLOW
            elif family == _JBACK:
                target = i + 2 - arg * 2
                argrepr = f"to {target}"
            elif family == _FORMAT:
                argrepr = _FORMAT_REPR[arg & 0x7]
            elif family == _JABS:
                target = arg * 2
                argrepr = f"to {target}"
        lineno, end_lineno, col, end_col = positions[i >> 1]
        append(
            new(
                Instr,
                (
                    i,
                    op,
                    opnames[op],
                    basenames[op],
                    arg,
                    target,
                    argrepr,
                    line_start(i),
                    lineno,
                    end_lineno,
                    col,
                    end_col,
                ),
            )
        )
        i += steps[op]
    return out


def dis_instructions(code: CodeType) -> list[Instr]:
    """``decode_instructions`` through ``dis.get_instructions``: ~4x slower, any CPython 3.11+.

    The fallback on interpreters other than 3.11 (the test checks it against the fast decoder).
    """
    out: list[Instr] = []
    for ins in dis.get_instructions(code):
        target = getattr(ins, "jump_target", None)  # 3.13+; before, a jump's argval
        if target is None and ins.opcode in _JUMPS and isinstance(ins.argval, int):
            target = ins.argval
        line: object = ins.starts_line
        if isinstance(line, bool):  # 3.13+: a flag, the number moved to line_number
            line = getattr(ins, "line_number", None) if line else None
        argrepr = ins.argrepr
        if ins.opcode in _HASCONST and ins.argval is not dis.UNKNOWN:  # type: ignore[attr-defined]
            argrepr = const_repr(ins.argval)
        pos = ins.positions
        position = _NO_POSITION if pos is None else tuple(pos)
        out.append(
            Instr(
                ins.offset,
                ins.opcode,
                ins.opname,
                getattr(ins, "baseopname", None) or ins.opname,
                ins.arg,
                target if isinstance(target, int) else None,
                argrepr,
                line if isinstance(line, int) else None,
                *position,
            )
        )
    return out


_JUMPS = frozenset(opcode.hasjrel) | frozenset(opcode.hasjabs)
_HASCONST = frozenset(opcode.hasconst)


def exception_entries(code: CodeType) -> list[ExceptionEntry]:
    """The exception table of ``code``, like ``dis.Bytecode(code).exception_entries``."""
    table = code.co_exceptiontable
    entries: list[ExceptionEntry] = []
    fields = [0, 0, 0, 0]
    pos, size = 0, len(table)
    while pos < size:
        for k in range(4):  # start, length, target, depth_lasti: 6-bit big-endian varints
            if pos >= size:
                return entries  # truncated entry: dis stops at the end of the table too
            byte = table[pos]
            pos += 1
            value = byte & 63
            while byte & 64:
                if pos >= size:
                    return entries
                byte = table[pos]
                pos += 1
                value = (value << 6) | (byte & 63)
            fields[k] = value
        start, length, target, depth_lasti = fields
        entries.append(
            ExceptionEntry(
                start * 2, (start + length) * 2, target * 2, depth_lasti >> 1, bool(depth_lasti & 1)
            )
        )
    return entries
