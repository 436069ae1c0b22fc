"""Bytecode and control-flow rows: BC_CODE_UNIT, BC_INSTR, CFG_BLOCK, CFG_EXIT and
CFG_NEXT / CFG_JUMP / CFG_BRANCH_TRUE / CFG_BRANCH_FALSE / CFG_BRANCH / CFG_EXC edges.

Instructions come from ``bytecode_decode.decode_instructions``, a fast decoder of CPython 3.11
``co_code`` that gives the same fields as ``dis.get_instructions`` (``dis`` itself cost ~5.8 us per
instruction, the largest single cost of the pipeline); the exception table from
``bytecode_decode.exception_entries`` (the list ``dis.Bytecode(code).exception_entries`` gives).
BC_INSTR rows are the hot path: their props go straight to the ``FileFacts`` prop columns, in the
order and with the omissions ``add_node`` would give; spans are cached per file by position.

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
  (``exc_entry_index`` indexes the code unit's exception table, in ``dis`` order).

``argrepr`` is ``dis``'s, except that constants are rendered by ``bytecode_decode.const_repr``
(code objects without their address, frozensets with sorted members, also inside tuples).
FORMAT_VALUE's is ``dis``'s text (``'repr, with format'``), absent when empty. BC_INSTR's ``opname``
is only set when it differs from ``baseopname`` (never on ``co_code``, which holds no specialized
opcodes; it would double a prop row per instruction). ``end_off`` of a block is exclusive (the next
block's start, or ``len(co_code)``). Instruction spans come from the instruction's
``co_positions()`` entry when all four numbers are known. ``compile`` is asked for ``optimize=0``
by the caller so the rows do not depend on ``-O``.

Besides its rows, the layer hands each code unit's CFG on as a ``CodeFlow`` (instructions, their
ids and spans, blocks and successor lists by block index), the input of the data-flow layer
(``dataflow_extract``), so that layer neither decodes nor splits blocks a second time.
"""

from __future__ import annotations

import bisect
import dis
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType
from typing import NamedTuple

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.bytecode_decode import (
    ExceptionEntry,
    Instr,
    decode_instructions,
    exception_entries,
)
from graph.extract.ids import SEP, joined_id, stable_id
from graph.extract.provenance import edge_row
from graph.extract.rows import NODE, FileFacts, NodeRow, PropValue
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
_ENDS_BLOCK = _RETURNS | _RAISES
"""Besides jumps, the instructions after which a new block starts."""

_new = tuple.__new__
_Span = tuple[int | None, int | None]
_SpanCache = dict[tuple[int, int, int, int], _Span]
"""Byte spans of the positions seen in one file (~30% of instructions repeat one)."""
_NO_SPAN: _Span = (None, None)


class CodeFlow(NamedTuple):
    """The CFG of one code unit as the layer emitted it, by index rather than by id."""

    unit_id: str
    code: CodeType
    instrs: list[Instr]
    instr_ids: list[str]
    spans: list[_Span]
    """``(bstart, bend)`` of each instruction, as on its BC_INSTR row."""
    block_starts: list[int]
    """Index in ``instrs`` of each block's first instruction, in offset order (block 0: entry)."""
    successors: list[list[int]]
    """Normal-flow successor blocks of each block (CFG_EXIT left out)."""
    handlers: list[list[int]]
    """Exception-handler blocks of each block (its CFG_EXC edges)."""


@dataclass
class BytecodeFile:
    """The bytecode layer of one file: its rows and the CFG of each code unit (pre-order)."""

    facts: FileFacts = field(default_factory=FileFacts)
    flows: list[CodeFlow] = field(default_factory=list)


def extract_bytecode_table(
    code: CodeType, *, path: str, file_id: str, lines: LineIndex | None = None
) -> BytecodeFile:
    """Rows of ``code`` (a compiled module) and every code object nested in it."""
    result = BytecodeFile()
    facts = result.facts
    seen: dict[tuple[str, int], int] = {}
    spans: _SpanCache = {}
    for unit in _code_units(code):
        qualname = unit.co_qualname
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
        flow = _UnitCfg(facts, unit, unit_id, path, file_id, lines, spans).emit()
        if flow is not None:
            result.flows.append(flow)
    return result


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


_Appenders = tuple[Callable[[str], None], Callable[[PropValue], None]]


def _appenders(facts: FileFacts, key: str) -> _Appenders:
    """``append`` of the entity ids and of the values of node prop column ``key``."""
    column = facts.column(NODE, key)
    return column.ids.append, column.values.append


def _existing_appenders(facts: FileFacts, key: str) -> _Appenders | None:
    """``_appenders`` of node prop column ``key`` if it exists yet, else None."""
    return _appenders(facts, key) if (NODE, key, False) in facts.columns else None


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
        spans: _SpanCache,
    ) -> None:
        self.facts = facts
        self.code = code
        self.unit_id = unit_id
        self.path = path
        self.file_id = file_id
        self.lines = lines
        self.spans = spans
        self.edge_ids: set[str] = set()

    def emit(self) -> CodeFlow | None:
        instrs = decode_instructions(self.code)
        if not instrs:
            return None
        entries = exception_entries(self.code)
        instr_ids, spans, leaders = self._instrs(instrs)
        starts = self._block_starts(instrs, leaders, entries)
        block_ids = {start: stable_id(CFG_BLOCK, self.unit_id, start) for start in starts}
        block_index = {block_ids[start]: b for b, start in enumerate(starts)}
        exit_id = stable_id(CFG_EXIT, self.unit_id)
        self.facts.add_node(
            NodeRow(exit_id, CFG_EXIT, self.path, self.file_id), {"code_unit_id": self.unit_id}
        )
        handlers: list[list[int]] = [[] for _ in starts]
        covered = self._exception_edges(starts, block_ids, entries, block_index, handlers)
        offsets = [ins.offset for ins in instrs]
        code_len = len(self.code.co_code)
        successors: list[list[int]] = []
        for b, start in enumerate(starts):
            end = starts[b + 1] if b + 1 < len(starts) else code_len
            last = bisect.bisect_left(offsets, end) - 1
            nxt = block_ids[starts[b + 1]] if b + 1 < len(starts) else exit_id
            src = block_ids[start]
            dsts = self._flow_edges(
                src, instrs[last], instr_ids[last], nxt, exit_id, block_ids, src in covered
            )
            successors.append([block_index[dst] for dst in dsts if dst != exit_id])
            self.facts.add_node(
                NodeRow(src, CFG_BLOCK, self.path, self.file_id),
                {
                    "block_id": src,
                    "code_unit_id": self.unit_id,
                    "start_off": start,
                    "end_off": end,
                    "is_entry": b == 0,
                    "is_exit": exit_id in dsts,
                },
            )
        first = {ins.offset: i for i, ins in enumerate(instrs)}
        return CodeFlow(
            self.unit_id,
            self.code,
            instrs,
            instr_ids,
            spans,
            [first[start] for start in starts],
            successors,
            handlers,
        )

    def _instrs(self, instrs: list[Instr]) -> tuple[list[str], list[_Span], set[int]]:
        """Emit the BC_INSTR rows; ``(instr ids, their spans, block leaders found in the
        instructions)``.

        The hot path of the extractor: one pass with locals only, props appended straight to
        their ``FileFacts`` columns (what ``add_node`` does, without a dict per instruction).
        Leaders are offset 0, jump targets and the instruction after a jump, return or raise.
        """
        unit_id, path, file_id, facts = self.unit_id, self.path, self.file_id, self.facts
        span = self.lines.span_function() if self.lines is not None else None
        spans = self.spans
        spans_get = spans.get
        append_node = facts.nodes.append
        # Set on every instruction: the first one would create them in this order (add_node).
        id_ids, id_values = _appenders(facts, "instr_id")
        unit_ids, unit_values = _appenders(facts, "code_unit_id")
        offset_ids, offset_values = _appenders(facts, "offset")
        base_ids, base_values = _appenders(facts, "baseopname")
        # Optional: created at their first value, as add_node (which omits None) does.
        opname_app = _existing_appenders(facts, "opname")
        argrepr_app = _existing_appenders(facts, "argrepr")
        line_app = _existing_appenders(facts, "starts_line")
        ends_block = _ENDS_BLOCK
        new = _new
        ids: list[str] = []
        append_id = ids.append
        instr_spans: list[_Span] = []
        append_span = instr_spans.append
        leaders = {instrs[0].offset}
        add_leader = leaders.add
        after_end = False
        for (
            offset,
            _opcode,
            opname,
            base,
            _arg,
            target,
            argrepr,
            starts_line,
            lineno,
            end_lineno,
            col,
            end_col,
        ) in instrs:
            if after_end:
                add_leader(offset)
            if target is not None:
                add_leader(target)
                after_end = True
            else:
                after_end = base in ends_block
            # stable_id(BC_INSTR, unit_id, offset), from the joined text
            instr_id = joined_id(BC_INSTR, f"{unit_id}{SEP}{offset}")
            append_id(instr_id)
            if (
                span is not None
                and lineno is not None
                and col is not None
                and end_lineno is not None
                and end_col is not None
            ):
                key = (lineno, col, end_lineno, end_col)
                known = spans_get(key)
                if known is None:
                    known = spans[key] = span(lineno, col, end_lineno, end_col) or _NO_SPAN
                bstart, bend = known
            else:
                bstart = bend = None
                known = _NO_SPAN
            append_span(known)
            append_node(new(NodeRow, (instr_id, BC_INSTR, path, file_id, bstart, bend)))
            id_ids(instr_id)
            id_values(instr_id)
            unit_ids(instr_id)
            unit_values(unit_id)
            offset_ids(instr_id)
            offset_values(offset)
            base_ids(instr_id)
            base_values(base)
            if opname != base:
                if opname_app is None:
                    opname_app = _appenders(facts, "opname")
                opname_app[0](instr_id)
                opname_app[1](opname)
            if argrepr:
                if argrepr_app is None:
                    argrepr_app = _appenders(facts, "argrepr")
                argrepr_app[0](instr_id)
                argrepr_app[1](argrepr)
            if starts_line is not None:
                if line_app is None:
                    line_app = _appenders(facts, "starts_line")
                line_app[0](instr_id)
                line_app[1](starts_line)
        return ids, instr_spans, leaders

    @staticmethod
    def _block_starts(
        instrs: list[Instr], leaders: set[int], entries: list[ExceptionEntry]
    ) -> list[int]:
        """Sorted block start offsets: the leaders and exception-table boundaries that are
        instruction offsets."""
        for entry in entries:
            leaders.update((entry.start, entry.end, entry.target))
        valid = {ins.offset for ins in instrs}
        return sorted(leaders & valid)

    def _exception_edges(
        self,
        starts: list[int],
        block_ids: dict[int, str],
        entries: list[ExceptionEntry],
        block_index: dict[str, int],
        handlers: list[list[int]],
    ) -> set[str]:
        """CFG_EXC edges; fills ``handlers`` (by block index) and returns the covered blocks."""
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
                found = handlers[block_index[src]]
                if block_index[handler] not in found:
                    found.append(block_index[handler])
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
        last: Instr,
        last_id: str,
        nxt: str,
        exit_id: str,
        block_ids: dict[int, str],
        covered: bool,
    ) -> list[str]:
        """The normal-flow edges out of a block; returns their targets (``exit_id`` included)."""
        op = last.baseopname
        if op in _RETURNS:
            return [self._edge(CFG_JUMP, src, exit_id, "return", {})]
        if op in _RAISES:
            return [] if covered else [self._edge(CFG_JUMP, src, exit_id, "raise", {})]
        target = last.jump_target
        if target is None:
            return [self._edge(CFG_NEXT, src, nxt, "fallthrough", {})]
        dst = block_ids.get(target)
        if op in _UNCONDITIONAL:
            if dst is None:
                return []
            return [self._edge(CFG_JUMP, src, dst, "jump", {"jump_off": target})]
        taken, fallthrough = _branch_kinds(op)
        dsts = []
        if dst is not None:
            dsts.append(self._edge(taken, src, dst, "branch_taken", {"cond_instr_id": last_id}))
        if nxt != dst:
            dsts.append(nxt)
        self._edge(fallthrough, src, nxt, "branch_fallthrough", {"cond_instr_id": last_id})
        return dsts

    def _edge(self, kind: str, src: str, dst: str, method: str, props: dict[str, PropValue]) -> str:
        """Emit one edge (once per id); returns ``dst``."""
        row = edge_row(kind, src, dst, path=self.path, file_id=self.file_id, method=method)
        if row.edge_id not in self.edge_ids:  # e.g. both CFG_BRANCH edges of one FOR_ITER coincide
            self.edge_ids.add(row.edge_id)
            self.facts.add_edge(row, {"code_unit_id": self.unit_id, **props})
        return dst
