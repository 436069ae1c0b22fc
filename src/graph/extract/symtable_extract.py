"""symtable rows: SYM_SCOPE per symbol table, SYM_SYMBOL per (scope, name), SCOPE_PARENT edges.

The contracts have no edge from a SYM_SCOPE to its SYM_SYMBOLs (SCOPE_BINDS targets PY_BINDING),
so a symbol names its scope through the ``scope_id`` prop only. ``scope_id`` is the scope's node id:
``stable_id('SYM_SCOPE', file_id, qualpath, lineno, scope_type, ordinal)`` where ``qualpath`` joins
the table names from the module (``top``) down and ``ordinal`` tells apart siblings with the same
name, line and type (two lambdas on one line). ``symtable``'s own ``get_id()`` is a memory address
and never used.
"""

from __future__ import annotations

import symtable
from collections.abc import Callable, Iterator
from typing import NamedTuple

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.ids import SEP, joined_id, stable_id
from graph.extract.provenance import edge_row
from graph.extract.rows import NODE, FileFacts, NodeRow

_new = tuple.__new__

SYM_SCOPE = NodeKind.SYM_SCOPE.value
SYM_SYMBOL = NodeKind.SYM_SYMBOL.value
SCOPE_PARENT = EdgeKind.SCOPE_PARENT.value

_PLAIN_SCOPES = frozenset({"module", "function", "class"})

_FLAGS: tuple[tuple[str, Callable[[symtable.Symbol], bool]], ...] = (
    ("is_local", symtable.Symbol.is_local),
    ("is_global", symtable.Symbol.is_global),
    ("is_nonlocal", symtable.Symbol.is_nonlocal),
    ("is_free", symtable.Symbol.is_free),
    ("is_parameter", symtable.Symbol.is_parameter),
    ("is_imported", symtable.Symbol.is_imported),
    ("is_assigned", symtable.Symbol.is_assigned),
    ("is_referenced", symtable.Symbol.is_referenced),
    ("is_annotated", symtable.Symbol.is_annotated),
    ("is_namespace", symtable.Symbol.is_namespace),
)
"""SYM_SYMBOL's boolean props, one ``symtable.Symbol`` predicate each."""

_Visit = tuple[symtable.SymbolTable, str | None, str, int]


class ScopeVisit(NamedTuple):
    """One symbol table with the id of its SYM_SCOPE and of its parent's (None for the module)."""

    table: symtable.SymbolTable
    scope_id: str
    parent_id: str | None


def scope_visits(table: symtable.SymbolTable, file_id: str) -> Iterator[ScopeVisit]:
    """Every table under ``table`` (the module's top table), parents first, with its scope id.

    The name-binding layer reads the same tables and names its scopes by the same ids.
    """
    stack: list[_Visit] = [(table, None, "", 0)]
    while stack:
        tbl, parent_id, parent_qual, ordinal = stack.pop()
        qualpath = f"{parent_qual}.{tbl.get_name()}" if parent_qual else tbl.get_name()
        scope_type = str(tbl.get_type())  # str on 3.11/3.12, a StrEnum member from 3.13
        scope_id = stable_id(SYM_SCOPE, file_id, qualpath, tbl.get_lineno(), scope_type, ordinal)
        yield ScopeVisit(tbl, scope_id, parent_id)
        stack.extend(reversed(_children(tbl, scope_id, qualpath)))


def extract_symtables_table(table: symtable.SymbolTable, *, path: str, file_id: str) -> FileFacts:
    """Rows of ``table`` (the module's top table) and all nested tables."""
    facts = FileFacts()
    append_node = facts.nodes.append
    scope_col = facts.column(NODE, "scope_id")
    name_col = facts.column(NODE, "name")
    flag_cols = [(flag, facts.column(NODE, name)) for name, flag in _FLAGS]
    for tbl, scope_id, parent_id in scope_visits(table, file_id):
        scope_type = str(tbl.get_type())
        facts.add_node(
            NodeRow(scope_id, SYM_SCOPE, path, file_id),
            {
                "scope_id": scope_id,
                "scope_type": scope_type,
                "scope_name": tbl.get_name(),
                "lineno": tbl.get_lineno(),
                "is_meta_scope": scope_type not in _PLAIN_SCOPES,
                "path": path,
            },
        )
        if parent_id is not None:
            facts.add_edge(
                edge_row(
                    SCOPE_PARENT, scope_id, parent_id, path=path, file_id=file_id, method="children"
                )
            )
        for sym in tbl.get_symbols():
            sym_name = sym.get_name()
            symbol_id = joined_id(SYM_SYMBOL, f"{scope_id}{SEP}{sym_name}")
            append_node(_new(NodeRow, (symbol_id, SYM_SYMBOL, path, file_id, None, None)))
            scope_col.ids.append(symbol_id)
            scope_col.values.append(scope_id)
            name_col.ids.append(symbol_id)
            name_col.values.append(sym_name)
            for flag, flag_col in flag_cols:
                flag_col.ids.append(symbol_id)
                flag_col.values.append(flag(sym))
    return facts


def _children(tbl: symtable.SymbolTable, scope_id: str, qualpath: str) -> list[_Visit]:
    counts: dict[tuple[str, int, str], int] = {}
    visits: list[_Visit] = []
    for child in tbl.get_children():
        key = (child.get_name(), child.get_lineno(), str(child.get_type()))
        ordinal = counts.get(key, 0)
        counts[key] = ordinal + 1
        visits.append((child, scope_id, qualpath, ordinal))
    return visits
