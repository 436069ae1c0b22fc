"""Data-flow rows: DF_DEF / DF_USE events at the instructions that store or load a name, STEP_DEF /
STEP_USE from each event to its PY_BINDING, and REACHES from each definition to every use it
reaches along the CFG (``reaching_defs`` over the bytecode layer's ``CodeFlow``).

Tracked, per code unit (the binding is that of the unit's own symtable table, as the name-binding
layer files occurrences: ``global``/``nonlocal``/free names lead on through BINDING_RESOLVES_TO):

- definitions: ``STORE_FAST``/``STORE_DEREF``/``STORE_GLOBAL``/``STORE_NAME`` (``def_kind``
  ``store``: assignment, augmented assignment, ``for``/``with``/``except ... as`` targets, imports,
  ``def``/``class`` statements, a comprehension's variables in its own unit) and the matching
  ``DELETE_*`` (``del``; also the compiler's ``del e`` at the end of ``except ... as e``), plus
  one ``param`` definition per parameter at the unit's first instruction, holding on entry;
- uses: ``LOAD_FAST``/``LOAD_DEREF``/``LOAD_CLASSDEREF``/``LOAD_GLOBAL``/``LOAD_NAME`` (``read``).

Not tracked: attributes and subscripts (no binding to attach them to), ``LOAD_CLOSURE`` (it
passes the cell, not a value), ``MAKE_CELL``/``COPY_FREE_VARS``, names the compiler invents that
symtable lacks (``__module__``, ``__qualname__``, ``__classcell__``, ``__annotations__`` and a class
body's ``__class__`` cell), and flow between units: a call, a nested function writing a cell, or
another module rebinding a global is not a definition here, so for names other than fast locals
REACHES says what this unit's own code may have stored last (confidence 0.8; fast locals 0.95).
Nor are names bound out of sight of the opcodes (``from m import *``, ``exec``, writes through
``locals()``/``globals()``). A use no definition reaches gets its value from outside the unit (or
is unbound).

The opcode table is CPython 3.11's. On 3.12+ (bytecode read through ``dis``) an inlined
comprehension's variables (PEP 709) are not in the enclosing unit's table and are skipped, and
superinstructions naming two variables are not classified.

Bound: ``MAX_REACHES`` edges per code unit. Above it the unit keeps its DF_DEF/DF_USE/STEP_* rows
and gets no REACHES, and a DIAG ``reaches-bound`` names it (a generated table with thousands of
assignments in one loop would otherwise square its size).
"""

from __future__ import annotations

import inspect
import symtable
from types import CodeType

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.bytecode_extract import CodeFlow
from graph.extract.code_scopes import CodeScope, code_scopes
from graph.extract.diagnostics import WARNING, diagnostic
from graph.extract.ids import SEP, joined_id
from graph.extract.name_binding import binding_id
from graph.extract.provenance import edge_row
from graph.extract.reaching_defs import Event, FlowGraph, reaching_definitions
from graph.extract.rows import EDGE, NODE, FileFacts, NodeRow

DF_DEF = NodeKind.DF_DEF.value
DF_USE = NodeKind.DF_USE.value
STEP_DEF = EdgeKind.STEP_DEF.value
STEP_USE = EdgeKind.STEP_USE.value
REACHES = EdgeKind.REACHES.value

MAX_REACHES = 50_000
"""REACHES edges one code unit may emit (see the module doc)."""

FAST_CONFIDENCE, SHARED_CONFIDENCE = 0.95, 0.8
"""REACHES confidence for a fast local (only this frame writes it) and for any other name."""

_LOCAL, _GLOBAL, _NAME = 0, 1, 2
"""How an opcode's argument names its variable: ``argrepr`` (fast or cell/free slot),
``co_names[arg >> 1]`` (``LOAD_GLOBAL``), ``co_names[arg]``."""

_EVENTS: dict[str, tuple[bool, str, int]] = {
    "STORE_FAST": (True, "store", _LOCAL),
    "STORE_DEREF": (True, "store", _LOCAL),
    "STORE_GLOBAL": (True, "store", _NAME),
    "STORE_NAME": (True, "store", _NAME),
    "DELETE_FAST": (True, "del", _LOCAL),
    "DELETE_DEREF": (True, "del", _LOCAL),
    "DELETE_GLOBAL": (True, "del", _NAME),
    "DELETE_NAME": (True, "del", _NAME),
    "LOAD_FAST": (False, "read", _LOCAL),
    "LOAD_DEREF": (False, "read", _LOCAL),
    "LOAD_CLASSDEREF": (False, "read", _LOCAL),
    "LOAD_GLOBAL": (False, "read", _GLOBAL),
    "LOAD_NAME": (False, "read", _NAME),
}
"""Base opcode -> ``(is_def, def_kind or use_kind, how the name is found)``."""

_FAST_OPS = frozenset({"STORE_FAST", "DELETE_FAST", "LOAD_FAST"})

_NODE_PROPS = ("df_id", "binding_id", "instr_id", "code_unit_id")
"""The required props of DF_DEF and DF_USE, in the order ``add_node`` would create them."""

NEAREST_SCOPE_CONFIDENCE = 0.9
"""STEP_* confidence when the unit's table was matched without its line (``CodeScope.exact``)."""

_new = tuple.__new__


def extract_dataflow(
    flows: list[CodeFlow],
    table: symtable.SymbolTable,
    *,
    path: str,
    file_id: str,
    max_reaches: int = MAX_REACHES,
) -> FileFacts:
    """The data-flow rows of one file: its code units' CFGs and the module's symtable."""
    facts = FileFacts()
    scopes = code_scopes(flows, table, file_id)
    for flow in flows:
        scope = scopes.get(flow.unit_id)
        if scope is not None:
            _Unit(facts, flow, scope, path, file_id).emit(max_reaches)
    return facts


class _Unit:
    """The events of one code unit, their reaching definitions and rows."""

    def __init__(
        self, facts: FileFacts, flow: CodeFlow, scope: CodeScope, path: str, file_id: str
    ) -> None:
        self.facts = facts
        self.flow = flow
        self.scope = scope
        self.path = path
        self.file_id = file_id
        self.vars: dict[str, int] = {}
        self.bindings: list[str] = []

    def emit(self, max_reaches: int) -> None:
        """Classify the instructions, solve, emit. The hot path: locals only, no dict per row."""
        flow = self.flow
        known = self.scope.names
        var_of = self._var
        entry = [var_of(name) for name in _parameters(flow.code) if name in known]
        defs: list[tuple[int, int, str]] = [(0, var, "param") for var in entry]
        uses: list[tuple[int, int, str]] = []
        fast_uses: list[bool] = []
        blocks: list[list[Event]] = []
        tail_event: list[bool] = []
        names = flow.code.co_names
        instrs = flow.instrs
        events_get = _EVENTS.get
        bounds = [*flow.block_starts, len(instrs)]
        for b in range(len(flow.block_starts)):
            events: list[Event] = []
            last = -1
            for index in range(bounds[b], bounds[b + 1]):
                ins = instrs[index]
                spec = events_get(ins.baseopname)
                if spec is None or ins.arg is None:
                    continue
                is_def, kind, naming = spec
                if naming == _LOCAL:
                    name = ins.argrepr
                elif naming == _GLOBAL:
                    name = names[ins.arg >> 1]
                else:
                    name = names[ins.arg]
                if name not in known:
                    continue
                var = var_of(name)
                events.append((var, is_def))
                last = index
                if is_def:
                    defs.append((index, var, kind))
                else:
                    uses.append((index, var, kind))
                    fast_uses.append(ins.baseopname in _FAST_OPS)
            blocks.append(events)
            tail_event.append(last == bounds[b + 1] - 1)
        def_ids = self._events(DF_DEF, STEP_DEF, defs, "def_kind")
        use_ids = self._events(DF_USE, STEP_USE, uses, "use_kind")
        graph = FlowGraph(blocks, flow.successors, flow.handlers, entry, tail_event)
        reaching = reaching_definitions(graph)
        total = sum(map(len, reaching))
        if total > max_reaches:
            self._bound_exceeded(total, max_reaches)
            return
        self._reaches(def_ids, use_ids, fast_uses, reaching)

    def _var(self, name: str) -> int:
        var = self.vars.get(name)
        if var is None:
            var = self.vars[name] = len(self.bindings)
            self.bindings.append(binding_id(self.scope.scope_id, name))
        return var

    def _events(
        self, node_kind: str, step_kind: str, sites: list[tuple[int, int, str]], kind_prop: str
    ) -> list[str]:
        """Emit the DF nodes of ``sites`` (instruction index, variable, kind) and their STEP
        edges; returns the node ids. A parameter's definition has no span of its own."""
        flow, facts, path, file_id = self.flow, self.facts, self.path, self.file_id
        unit_id, instr_ids, spans = flow.unit_id, flow.instr_ids, flow.spans
        bindings = self.bindings
        # Columns in the order add_node would create them; STEP_* edges have no props.
        df_col, binding_col, instr_col, unit_col, kind_col = (
            facts.column(NODE, key) for key in (*_NODE_PROPS, kind_prop)
        )
        append_node = facts.nodes.append
        append_edge = facts.edges.append
        confidence = 1.0 if self.scope.exact else NEAREST_SCOPE_CONFIDENCE
        ids: list[str] = []
        for index, var, kind in sites:
            instr_id = instr_ids[index]
            binding = bindings[var]
            node_id = joined_id(node_kind, f"{instr_id}{SEP}{binding}")
            ids.append(node_id)
            bstart, bend = (None, None) if kind == "param" else spans[index]
            append_node(_new(NodeRow, (node_id, node_kind, path, file_id, bstart, bend)))
            df_col.ids.append(node_id)
            df_col.values.append(node_id)
            binding_col.ids.append(node_id)
            binding_col.values.append(binding)
            instr_col.ids.append(node_id)
            instr_col.values.append(instr_id)
            unit_col.ids.append(node_id)
            unit_col.values.append(unit_id)
            kind_col.ids.append(node_id)
            kind_col.values.append(kind)
            append_edge(
                edge_row(
                    step_kind,
                    node_id,
                    binding,
                    path=path,
                    file_id=file_id,
                    method="bytecode_operand",
                    confidence=confidence,
                )
            )
        return ids

    def _reaches(
        self,
        def_ids: list[str],
        use_ids: list[str],
        fast_uses: list[bool],
        reaching: list[list[int]],
    ) -> None:
        facts, path, file_id, unit_id = self.facts, self.path, self.file_id, self.flow.unit_id
        edges_append = facts.edges.append
        unit_column = facts.column(EDGE, "code_unit_id")
        for use_id, fast, found in zip(use_ids, fast_uses, reaching, strict=True):
            confidence = FAST_CONFIDENCE if fast else SHARED_CONFIDENCE
            for d in found:
                row = edge_row(
                    REACHES,
                    def_ids[d],
                    use_id,
                    path=path,
                    file_id=file_id,
                    method="reaching_definitions",
                    confidence=confidence,
                )
                edges_append(row)
                unit_column.ids.append(row.edge_id)
                unit_column.values.append(unit_id)

    def _first_span(self) -> tuple[int, int]:
        """The span of the unit's first instruction that has one, else ``(0, 0)``."""
        for bstart, bend in self.flow.spans:
            if bstart is not None and bend is not None:
                return bstart, bend
        return 0, 0

    def _bound_exceeded(self, total: int, bound: int) -> None:
        code = self.flow.code
        diagnostic(
            self.facts,
            file_id=self.file_id,
            path=self.path,
            stage="dataflow",
            severity=WARNING,
            code="reaches-bound",
            message=(
                f"{code.co_qualname} (line {code.co_firstlineno}): {total} REACHES edges "
                f"exceed the bound of {bound}; none emitted for this code unit"
            ),
            span=self._first_span(),
            details={"code_unit_id": self.flow.unit_id, "reaches": total},
        )


def _parameters(code: CodeType) -> list[str]:
    """The parameter names of a function's code object (none for module and class bodies)."""
    if not code.co_flags & inspect.CO_OPTIMIZED:
        return []
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return list(code.co_varnames[:count])
