"""Bytecode and control-flow rows from ``dis``: BC_CODE_UNIT, BC_INSTR, CFG_BLOCK, CFG_EXIT and
CFG_NEXT / CFG_JUMP / CFG_BRANCH_TRUE / CFG_BRANCH_FALSE / CFG_BRANCH / CFG_EXC edges.

Code units are the module's code object and every code object nested in ``co_consts``, in
pre-order. Basic blocks start at offset 0, at jump targets, after every jump, return and raise, and
at each exception-table entry's start, end and handler, so a block is wholly inside or outside
every protected range. Edges per block, by its last instruction:

- unconditional jump: CFG_JUMP to the target block (``jump_off``);
- conditional jump: the taken and the fall-through edge. ``*_IF_TRUE`` takes CFG_BRANCH_TRUE and
  falls through on CFG_BRANCH_FALSE, ``*_IF_FALSE`` the reverse; ``*_IF_NONE``/``*_IF_NOT_NONE``
  take CFG_BRANCH_TRUE (the named test held). FOR_ITER/SEND have no boolean test: CFG_BRANCH both;
- return: CFG_JUMP to the code unit's CFG_EXIT; raise/reraise: CFG_JUMP to CFG_EXIT only when no
  exception-table entry covers the block (otherwise its CFG_EXC edge is the way out);
- anything else: CFG_NEXT to the next block (CFG_EXIT after the last);
- plus CFG_EXC to the handler of the exception-table entry covering the block
  (``exc_entry_index`` indexes ``dis.Bytecode(code).exception_entries``).

``argrepr`` of code-object and frozenset constants is canonical (no addresses, sorted members).
BC_INSTR's ``opname`` is only set when it differs from ``baseopname`` (never with the
non-adaptive ``dis`` output used here; it would double a prop row per instruction). ``end_off`` of a
block is exclusive (the next block's start, or ``len(co_code)``). Instruction spans come from
``Instruction.positions`` when all four are known. ``compile`` is asked for ``optimize=0`` by the
caller so the rows do not depend on ``-O``.
"""

from __future__ import annotations

import bisect
import dis
from types import CodeType
from typing import Protocol

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.ids import stable_id
from graph.extract.provenance import edge_row
from graph.extract.rows import FileFacts, NodeRow, PropValue
from graph.extract.source import LineIndex

BC_CODE_UNIT = NodeKind.BC_CODE_UNIT.value
BC_INSTR = NodeKind.BC_INSTR.value
CFG_BLOCK = NodeKind.CFG_BLOCK.value
CFG_EXIT = NodeKind.CFG_EXIT.value
CFG_NEXT = EdgeKind.CFG_NEXT.value
CFG_JUMP = EdgeKind.CFG_JUMP.value
CFG_BRANCH_TRUE = EdgeKind.CFG_BRANCH_TRUE.value
CFG_BRANCH_FALSE = EdgeKind.CFG_BRANCH_FALSE.value
CFG_BRANCH = EdgeKind.CFG_BRANCH.value
CFG_EXC = EdgeKind.CFG_EXC.value

_UNCONDITIONAL = frozenset(
    {
        "JUMP_FORWARD",
        "JUMP_BACKWARD",
        "JUMP_BACKWARD_NO_INTERRUPT",
        "JUMP_ABSOLUTE",
        "JUMP",
        "JUMP_NO_INTERRUPT",
    }
)
_RETURNS = frozenset({"RETURN_VALUE", "RETURN_CONST"})
_RAISES = frozenset({"RAISE_VARARGS", "RERAISE"})
_JUMP_OPCODES = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


class _ExceptionEntry(Protocol):
    """An entry of ``dis.Bytecode.exception_entries`` (3.11+; ``end`` is exclusive)."""

    start: int
    end: int
    target: int
    depth: int
    lasti: bool


def extract_bytecode_table(
    code: CodeType, *, path: str, file_id: str, lines: LineIndex | None = None
) -> FileFacts:
    """Rows of ``code`` (a compiled module) and every code object nested in it."""
    facts = FileFacts()
    seen: dict[tuple[str, int], int] = {}
    for unit in _code_units(code):
        qualname = getattr(unit, "co_qualname", unit.co_name)
        key = (qualname, unit.co_firstlineno)
        dup = seen.get(key, 0)
        seen[key] = dup + 1
        parts: tuple[object, ...] = key if dup == 0 else (*key, dup)
        unit_id = stable_id(BC_CODE_UNIT, file_id, *parts)
        facts.add_node(
            NodeRow(unit_id, BC_CODE_UNIT, path, file_id),
            {
                "code_unit_id": unit_id,
                "path": path,
                "qualname": qualname,
                "co_firstlineno": unit.co_firstlineno,
            },
            {"flags_json": _flag_names(unit.co_flags)},
        )
        _UnitCfg(facts, unit, unit_id, path, file_id, lines).emit()
    return facts


def _code_units(code: CodeType) -> list[CodeType]:
    units: list[CodeType] = []
    stack = [code]
    while stack:
        unit = stack.pop()
        units.append(unit)
        stack.extend(reversed([c for c in unit.co_consts if isinstance(c, CodeType)]))
    return units


def _flag_names(flags: int) -> list[str]:
    return [name for bit, name in sorted(dis.COMPILER_FLAG_NAMES.items()) if flags & bit]


def _jump_target(ins: dis.Instruction) -> int | None:
    """The jump target offset: ``jump_target`` where dis has it (3.13+), else the jump's argval."""
    target = getattr(ins, "jump_target", None)
    if target is None and ins.opcode in _JUMP_OPCODES and isinstance(ins.argval, int):
        target = ins.argval
    return target if isinstance(target, int) else None


def _argrepr(ins: dis.Instruction) -> str | None:
    """``argrepr`` without run-dependent text: code objects print their address and frozensets
    iterate in string-hash order (PYTHONHASHSEED), so both are rendered canonically."""
    value = ins.argval
    if isinstance(value, CodeType | frozenset | tuple):
        return _const_repr(value)
    return ins.argrepr or None


def _const_repr(value: object) -> str:
    if isinstance(value, CodeType):
        qualname = getattr(value, "co_qualname", value.co_name)
        return f"<code object {qualname}, line {value.co_firstlineno}>"
    if isinstance(value, frozenset):
        return f"frozenset({{{', '.join(sorted(_const_repr(v) for v in value))}}})"
    if isinstance(value, tuple):
        items = [_const_repr(v) for v in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return repr(value)


def _starts_line(ins: dis.Instruction) -> int | None:
    line: object = ins.starts_line
    if isinstance(line, bool):  # 3.13+: a flag, the number moved to line_number
        line = getattr(ins, "line_number", None) if line else None
    return line if isinstance(line, int) else None


def _branch_kinds(opname: str) -> tuple[str, str]:
    """(taken, fall-through) edge kinds of a conditional jump."""
    if "IF_FALSE" in opname:
        return CFG_BRANCH_FALSE, CFG_BRANCH_TRUE
    if "IF_TRUE" in opname or "IF_NONE" in opname or "IF_NOT_NONE" in opname:
        return CFG_BRANCH_TRUE, CFG_BRANCH_FALSE
    return CFG_BRANCH, CFG_BRANCH


class _UnitCfg:
    """Instructions, blocks and CFG edges of one code unit."""

    def __init__(
        self,
        facts: FileFacts,
        code: CodeType,
        unit_id: str,
        path: str,
        file_id: str,
        lines: LineIndex | None,
    ) -> None:
        self.facts = facts
        self.code = code
        self.unit_id = unit_id
        self.path = path
        self.file_id = file_id
        self.lines = lines
        self.edge_ids: set[str] = set()

    def emit(self) -> None:
        bytecode = dis.Bytecode(self.code)
        instrs = list(bytecode)
        if not instrs:
            return
        entries: list[_ExceptionEntry] = list(getattr(bytecode, "exception_entries", ()))
        instr_ids = [self._instr(ins) for ins in instrs]
        starts = self._leaders(instrs, entries)
        block_ids = {start: stable_id(CFG_BLOCK, self.unit_id, start) for start in starts}
        exit_id = stable_id(CFG_EXIT, self.unit_id)
        self.facts.add_node(
            NodeRow(exit_id, CFG_EXIT, self.path, self.file_id), {"code_unit_id": self.unit_id}
        )
        covered = self._exception_edges(starts, block_ids, entries)
        offsets = [ins.offset for ins in instrs]
        code_len = len(self.code.co_code)
        for b, start in enumerate(starts):
            end = starts[b + 1] if b + 1 < len(starts) else code_len
            last = bisect.bisect_left(offsets, end) - 1
            nxt = block_ids[starts[b + 1]] if b + 1 < len(starts) else exit_id
            src = block_ids[start]
            is_exit = self._flow_edges(
                src, instrs[last], instr_ids[last], nxt, exit_id, block_ids, src in covered
            )
            self.facts.add_node(
                NodeRow(src, CFG_BLOCK, self.path, self.file_id),
                {
                    "block_id": src,
                    "code_unit_id": self.unit_id,
                    "start_off": start,
                    "end_off": end,
                    "is_entry": b == 0,
                    "is_exit": is_exit,
                },
            )

    def _instr(self, ins: dis.Instruction) -> str:
        instr_id = stable_id(BC_INSTR, self.unit_id, ins.offset)
        span = _span(ins, self.lines)
        base = getattr(ins, "baseopname", None) or ins.opname
        self.facts.add_node(
            NodeRow(instr_id, BC_INSTR, self.path, self.file_id, *span),
            {
                "instr_id": instr_id,
                "code_unit_id": self.unit_id,
                "offset": ins.offset,
                "baseopname": base,
                "opname": None if ins.opname == base else ins.opname,
                "argrepr": _argrepr(ins),
                "starts_line": _starts_line(ins),
            },
        )
        return instr_id

    @staticmethod
    def _leaders(instrs: list[dis.Instruction], entries: list[_ExceptionEntry]) -> list[int]:
        valid = {ins.offset for ins in instrs}
        leaders = {instrs[0].offset}
        for i, ins in enumerate(instrs[:-1]):
            target = _jump_target(ins)
            if target is not None:
                leaders.add(target)
            if target is not None or ins.opname in _RETURNS or ins.opname in _RAISES:
                leaders.add(instrs[i + 1].offset)
        target = _jump_target(instrs[-1])
        if target is not None:
            leaders.add(target)
        for entry in entries:
            leaders.update((entry.start, entry.end, entry.target))
        return sorted(leaders & valid)

    def _exception_edges(
        self,
        starts: list[int],
        block_ids: dict[int, str],
        entries: list[_ExceptionEntry],
    ) -> set[str]:
        covered: set[str] = set()
        for index, entry in enumerate(entries):
            handler = block_ids.get(entry.target)
            if handler is None:
                continue
            first = bisect.bisect_left(starts, entry.start)
            stop = bisect.bisect_left(starts, entry.end)
            for start in starts[first:stop]:
                src = block_ids[start]
                covered.add(src)
                self._edge(
                    CFG_EXC,
                    src,
                    handler,
                    "exception_table",
                    {"exc_entry_index": index, "depth": entry.depth, "lasti": int(entry.lasti)},
                )
        return covered

    def _flow_edges(
        self,
        src: str,
        last: dis.Instruction,
        last_id: str,
        nxt: str,
        exit_id: str,
        block_ids: dict[int, str],
        covered: bool,
    ) -> bool:
        """The normal-flow edges out of a block; True when one goes to CFG_EXIT."""
        op = last.opname
        if op in _RETURNS:
            self._edge(CFG_JUMP, src, exit_id, "return", {})
            return True
        if op in _RAISES:
            if covered:
                return False
            self._edge(CFG_JUMP, src, exit_id, "raise", {})
            return True
        target = _jump_target(last)
        if target is None:
            self._edge(CFG_NEXT, src, nxt, "fallthrough", {})
            return nxt == exit_id
        dst = block_ids.get(target)
        if op in _UNCONDITIONAL:
            if dst is not None:
                self._edge(CFG_JUMP, src, dst, "jump", {"jump_off": target})
            return False
        taken, fallthrough = _branch_kinds(op)
        if dst is not None:
            self._edge(taken, src, dst, "branch_taken", {"cond_instr_id": last_id})
        self._edge(fallthrough, src, nxt, "branch_fallthrough", {"cond_instr_id": last_id})
        return nxt == exit_id

    def _edge(
        self, kind: str, src: str, dst: str, method: str, props: dict[str, PropValue]
    ) -> None:
        row = edge_row(kind, src, dst, path=self.path, file_id=self.file_id, method=method)
        if row.edge_id in self.edge_ids:  # e.g. both CFG_BRANCH edges of one FOR_ITER coincide
            return
        self.edge_ids.add(row.edge_id)
        self.facts.add_edge(row, {"code_unit_id": self.unit_id, **props})


def _span(ins: dis.Instruction, lines: LineIndex | None) -> tuple[int | None, int | None]:
    pos = ins.positions
    if lines is None or pos is None:
        return None, None
    if pos.lineno is None or pos.col_offset is None:
        return None, None
    if pos.end_lineno is None or pos.end_col_offset is None:
        return None, None
    span = lines.span(pos.lineno, pos.col_offset, pos.end_lineno, pos.end_col_offset)
    return (None, None) if span is None else span
