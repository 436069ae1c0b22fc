"""Which symtable table each code object was compiled from, so bytecode names find their bindings.

The compiler builds one code object per symtable block (module, class body, function, lambda,
comprehension on 3.11), nested the same way: a code object's children in ``co_consts`` are the
code objects of its table's children. CPython pairs them by AST node, which neither side keeps,
so they are matched here per parent:

- by type (a class body lacks ``CO_OPTIMIZED``) and name (``<lambda>`` is symtable's ``lambda``,
  ``<listcomp>`` its ``listcomp``), and only to a table that has every local, cell and free name
  of the code object;
- in symtable's order: symtable creates a table after visiting what its node evaluates in the
  enclosing scope (defaults, decorators, bases, a comprehension's first iterable), so a sibling
  nested in those comes first, and siblings are in the order their nodes *end*. A code object's
  node span is the position of the ``LOAD_CONST`` that loads it in its parent;
- among those, the nearest table on or after the code's first line (a decorated def's code
  starts at its first decorator, its table at ``def``), else the first (not ``exact``).

Tables without code are skipped (a ``def`` after a ``return`` has a table, but the compiler
drops its code). Scope ids are ``symtable_extract.scope_visits``'s, the ids the name-binding
layer builds its PY_BINDING ids from (``name_binding.binding_id``).
"""

from __future__ import annotations

import inspect
import symtable
from dataclasses import dataclass, field
from types import CodeType
from typing import NamedTuple

from graph.extract.bytecode_extract import CodeFlow
from graph.extract.symtable_extract import scope_visits

_CODE_NAMES = {
    "<lambda>": "lambda",
    "<listcomp>": "listcomp",
    "<setcomp>": "setcomp",
    "<dictcomp>": "dictcomp",
    "<genexpr>": "genexpr",
}
"""Code object names that symtable spells differently."""

_IMPLICIT = frozenset({"__class__"})
"""A class body's implicit cell for ``super()``: a cell of the code, no symbol of its table."""

_END = (1 << 62, 1 << 62)
"""Sort position of a code object whose ``LOAD_CONST`` has no position: after all others."""


class CodeScope(NamedTuple):
    """The table a code unit was compiled from, its SYM_SCOPE id, and whether every match on
    the way down from the module agreed with the code's first line."""

    table: symtable.SymbolTable
    scope_id: str
    names: frozenset[str]
    """The table's identifiers (its symbols' names)."""
    exact: bool


@dataclass
class _Scope:
    table: symtable.SymbolTable
    scope_id: str
    key: tuple[str, str]
    lineno: int
    names: frozenset[str]
    children: list[_Scope] = field(default_factory=list)


def code_scopes(
    flows: list[CodeFlow], table: symtable.SymbolTable, file_id: str
) -> dict[str, CodeScope]:
    """The table of each code unit in ``flows`` (a module's units, the module first) within
    ``table`` (the same module's top table), by ``unit_id``; a unit without one is left out."""
    top = _scope_tree(table, file_id)
    if not flows or top is None:
        return {}
    by_code = {id(flow.code): flow for flow in flows}
    matches: dict[str, CodeScope] = {}
    stack: list[tuple[CodeFlow, _Scope, bool]] = [(flows[0], top, True)]
    while stack:
        flow, scope, exact = stack.pop()
        matches[flow.unit_id] = CodeScope(scope.table, scope.scope_id, scope.names, exact)
        free = list(scope.children)
        for child in _children_in_symtable_order(flow):
            found = _pick(free, child)
            child_flow = by_code.get(id(child))
            if found is not None and child_flow is not None:
                free.remove(found[0])
                stack.append((child_flow, found[0], exact and found[1]))
    return matches


def _scope_tree(table: symtable.SymbolTable, file_id: str) -> _Scope | None:
    """The module's scope, with every table below it as ``_Scope`` children in table order."""
    scopes: dict[str, _Scope] = {}
    top: _Scope | None = None
    for tbl, scope_id, parent_id in scope_visits(table, file_id):
        key = (str(tbl.get_type()), tbl.get_name())
        node = _Scope(tbl, scope_id, key, tbl.get_lineno(), frozenset(tbl.get_identifiers()))
        scopes[scope_id] = node
        if parent_id is None:
            top = node
        else:
            scopes[parent_id].children.append(node)
    return top


def _children_in_symtable_order(flow: CodeFlow) -> list[CodeType]:
    """The code objects ``flow`` loads, ordered by where their nodes end (see module doc)."""
    consts = flow.code.co_consts
    ends: dict[int, tuple[tuple[int, int], int]] = {}
    for index, ins in enumerate(flow.instrs):
        if ins.baseopname == "LOAD_CONST" and ins.arg is not None:
            const = consts[ins.arg]
            if isinstance(const, CodeType) and id(const) not in ends:
                known = ins.end_lineno is not None and ins.end_col_offset is not None
                end = (ins.end_lineno or 0, ins.end_col_offset or 0) if known else _END
                ends[id(const)] = (end, index)
    children = [c for c in consts if isinstance(c, CodeType)]
    return sorted(children, key=lambda c: ends.get(id(c), (_END, len(flow.instrs))))


def _key(code: CodeType) -> tuple[str, str]:
    """``(symtable type, symtable name)`` of the table a nested code object comes from."""
    is_function = bool(code.co_flags & inspect.CO_OPTIMIZED)
    return ("function" if is_function else "class", _CODE_NAMES.get(code.co_name, code.co_name))


def _pick(free: list[_Scope], code: CodeType) -> tuple[_Scope, bool] | None:
    """The table in ``free`` for ``code`` (see module doc) and whether its line is exact."""
    key = _key(code)
    names = (set(code.co_varnames) | set(code.co_cellvars) | set(code.co_freevars)) - _IMPLICIT
    same = [scope for scope in free if scope.key == key and names <= scope.names]
    if not same:
        return None
    line = code.co_firstlineno
    after = [scope for scope in same if scope.lineno >= line]
    if not after:
        return same[0], False
    nearest = min(scope.lineno for scope in after)
    return next(scope for scope in after if scope.lineno == nearest), True
