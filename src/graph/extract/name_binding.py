"""Name binding: PY_SCOPE, PY_BINDING, SCOPE_BINDS, PY_DEF_SITE / PY_USE_SITE with DEF_SITE_OF /
USE_SITE_OF, and BINDING_RESOLVES_TO, from ``symtable`` joined with LibCST's name occurrences.

Where the two disagree, **symtable wins**: it is the table CPython compiles from, so its scopes and
its symbol flags decide what a name is (LOAD_FAST, LOAD_DEREF or LOAD_GLOBAL). LibCST supplies what
symtable lacks, the byte span of every occurrence and the scope it sits in lexically.

- Scopes: one PY_SCOPE per symtable table; its ``scope_id`` is that table's SYM_SCOPE id. A LibCST
  scope is matched to the table of its parent's match with the same type and name, on the line of
  its ``def``/``class`` name, ``lambda`` or comprehension (else the nearest earlier line; the
  site edges then say ``confidence`` 0.85 instead of 0.95).
- Bindings: one PY_BINDING per symtable symbol (``(scope, name)``, names class-private-mangled as
  symtable stores them); ``binding_kind`` from its flags.
- ``global``/``nonlocal``: an occurrence belongs to the binding of the scope it is written in,
  never directly to the outer one (LibCST files ``global x; x = 1`` under the module scope). That
  binding is ``global_ref``/``nonlocal_ref`` and BINDING_RESOLVES_TO leads on to the module's or
  the enclosing function's binding, as do free variables and implicit globals.
- Class bodies: names in a method never resolve to the class's bindings (symtable's implicit
  global, not LibCST's class lookup); comprehensions are scopes of their own (symtable's
  ``listcomp``/``genexpr`` tables), their first iterable belongs to the enclosing scope.

An occurrence whose scope has no table (a PEP 695 annotation scope on 3.11) or whose name its
table lacks gets no site; a file symtable cannot read gets no binding rows at all.
"""

from __future__ import annotations

import symtable
from collections.abc import Iterable
from dataclasses import dataclass, field

from libcst.metadata import ClassScope, GlobalScope, Scope

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.cst_walk import CstFile, NameSite, ScopeKey
from graph.extract.ids import edge_id, stable_id
from graph.extract.provenance import EDGE_ORIGIN, edge_row
from graph.extract.rows import EdgeRow, FileFacts, NodeRow
from graph.extract.symtable_extract import scope_visits

PY_SCOPE = NodeKind.PY_SCOPE.value
PY_BINDING = NodeKind.PY_BINDING.value
PY_DEF_SITE = NodeKind.PY_DEF_SITE.value
PY_USE_SITE = NodeKind.PY_USE_SITE.value
SCOPE_BINDS = EdgeKind.SCOPE_BINDS.value
DEF_SITE_OF = EdgeKind.DEF_SITE_OF.value
USE_SITE_OF = EdgeKind.USE_SITE_OF.value
BINDING_RESOLVES_TO = EdgeKind.BINDING_RESOLVES_TO.value

EXACT, NEAREST = 0.95, 0.85
"""Confidence of a site edge whose scope matched its table on the exact line, or the nearest."""


@dataclass
class _Table:
    """One symtable table, with its ids and what LibCST scopes matched it."""

    table: symtable.SymbolTable
    scope_id: str
    parent: _Table | None
    symbols: dict[str, symtable.Symbol]
    children: list[_Table] = field(default_factory=list)
    matched: bool = False

    @property
    def key(self) -> tuple[str, str, int]:
        return (str(self.table.get_type()), self.table.get_name(), self.table.get_lineno())

    def binding_id(self, name: str) -> str:
        return binding_id(self.scope_id, name)


def binding_id(scope_id: str, name: str) -> str:
    """Id of the PY_BINDING of ``name`` (as symtable stores it) in the scope ``scope_id``."""
    return stable_id(PY_BINDING, scope_id, name)


def extract_name_bindings(
    table: symtable.SymbolTable, cst: CstFile, *, path: str, file_id: str, module_fqn: str
) -> FileFacts:
    """The binding rows of one file from its symtable and its LibCST layer."""
    facts = FileFacts()
    tables = _tables(table, file_id)
    top = tables[0]
    matches = _match_scopes(cst, top)
    annotation_only = _sites(facts, cst.sites, matches, path=path, file_id=file_id)
    for tbl in tables:
        scope_node = stable_id(PY_SCOPE, tbl.scope_id)
        facts.add_node(
            NodeRow(scope_node, PY_SCOPE, path, file_id),
            {
                "scope_id": tbl.scope_id,
                "scope_type": str(tbl.table.get_type()),
                "path": path,
                "module_fqn": module_fqn or None,
            },
        )
        for name, symbol in tbl.symbols.items():
            binding = tbl.binding_id(name)
            kind = binding_kind(symbol, tbl is top, annotation_only=binding in annotation_only)
            facts.add_node(
                NodeRow(binding, PY_BINDING, path, file_id),
                {
                    "binding_id": binding,
                    "scope_id": tbl.scope_id,
                    "name": name,
                    "binding_kind": kind,
                    "declared_here": symbol.is_declared_global() or symbol.is_nonlocal(),
                    "referenced_here": symbol.is_referenced(),
                    "assigned_here": symbol.is_assigned(),
                    "annotated_here": symbol.is_annotated(),
                },
            )
            facts.add_edge(
                edge_row(
                    SCOPE_BINDS, scope_node, binding, path=path, file_id=file_id, method="symtable"
                ),
                {"binding_kind": kind},
            )
            _resolve(facts, tbl, top, name, symbol, kind, path=path, file_id=file_id)
    return facts


def binding_kind(symbol: symtable.Symbol, at_module: bool, *, annotation_only: bool) -> str:
    """The ``binding_kind`` of a symtable symbol (first match wins)."""
    if symbol.is_parameter():
        return "param"
    if symbol.is_imported():
        return "import"
    if symbol.is_nonlocal():
        return "nonlocal_ref"
    if symbol.is_declared_global() and not at_module:
        return "global_ref"
    if symbol.is_free():
        return "free_ref"
    if symbol.is_namespace():
        return "namespace"
    if annotation_only:
        return "annot_only"
    if symbol.is_assigned() or symbol.is_local() or symbol.is_declared_global():
        return "local"
    if symbol.is_global():
        return "global_ref"
    return "unknown"


def _tables(table: symtable.SymbolTable, file_id: str) -> list[_Table]:
    """Every table, parents first, linked to parent and children."""
    by_id: dict[str, _Table] = {}
    ordered: list[_Table] = []
    for tbl, scope_id, parent_id in scope_visits(table, file_id):
        parent = None if parent_id is None else by_id[parent_id]
        symbols = {symbol.get_name(): symbol for symbol in tbl.get_symbols()}
        node = _Table(tbl, scope_id, parent, symbols)
        by_id[scope_id] = node
        ordered.append(node)
        if parent is not None:
            parent.children.append(node)
    return ordered


@dataclass(frozen=True)
class _Match:
    table: _Table
    confidence: float


def _match_scopes(cst: CstFile, top: _Table) -> dict[int, _Match]:
    """``id(scope)`` -> the table each LibCST scope stands for (parents matched first)."""
    matches: dict[int, _Match] = {}
    key_of = cst.scope_key
    if key_of is None:
        return matches
    for scope in cst.scopes:
        if isinstance(scope, GlobalScope):
            matches[id(scope)] = _Match(top, EXACT)
            continue
        parent = matches.get(id(scope.parent))
        if parent is None:
            continue
        found = _pick(parent.table.children, key_of(scope))
        if found is not None:
            found[0].matched = True
            confidence = min(parent.confidence, EXACT if found[1] else NEAREST)
            matches[id(scope)] = _Match(found[0], confidence)
    return matches


def _pick(children: Iterable[_Table], key: ScopeKey) -> tuple[_Table, bool] | None:
    """The first unmatched child with ``key``'s type and name on its line, else the one on the
    nearest earlier line, else the first; with whether the line was exact."""
    kind, name, line = key
    same = [c for c in children if not c.matched and c.key[:2] == (kind, name)]
    exact = [c for c in same if c.key[2] == line]
    if exact:
        return exact[0], True
    earlier = [c for c in same if c.key[2] <= line]
    if earlier:
        return max(earlier, key=lambda c: c.key[2]), False
    return (same[0], False) if same else None


def _sites(
    facts: FileFacts,
    sites: Iterable[NameSite],
    matches: dict[int, _Match],
    *,
    path: str,
    file_id: str,
) -> set[str]:
    """PY_DEF_SITE / PY_USE_SITE nodes and their edges; returns the bindings whose only
    definitions are annotations without a value."""
    annotated_only: dict[str, bool] = {}
    for site in sites:
        match = matches.get(id(site.scope))
        if match is None:
            continue
        tbl = match.table
        name = _symbol_name(site, tbl)
        if name is None:
            continue
        binding = tbl.binding_id(name)
        is_def = site.role == "def"
        kind, edge_kind = (PY_DEF_SITE, DEF_SITE_OF) if is_def else (PY_USE_SITE, USE_SITE_OF)
        prop = "def_site_kind" if is_def else "use_kind"
        bstart, bend = site.span
        site_id = stable_id(kind, file_id, bstart, bend)
        facts.add_node(
            NodeRow(site_id, kind, path, file_id, bstart, bend),
            {"binding_id": binding, "name": site.name, prop: site.kind},
        )
        eid = edge_id(edge_kind, site_id, binding, path, bstart, bend)
        facts.add_edge(
            EdgeRow(
                eid,
                edge_kind,
                site_id,
                binding,
                path,
                bstart,
                bend,
                EDGE_ORIGIN[edge_kind],
                resolution_method="libcst_scope+symtable",
                confidence=match.confidence,
                edge_owner_file_id=file_id,
            ),
            {prop: site.kind},
        )
        if is_def:
            annotated_only[binding] = annotated_only.get(binding, True) and site.annotation_only
    return {binding for binding, only in annotated_only.items() if only}


def _symbol_name(site: NameSite, tbl: _Table) -> str | None:
    """The name symtable files ``site`` under in ``tbl`` (class-private names mangled)."""
    mangled = _mangle(site.name, _class_name(site.scope))
    if mangled in tbl.symbols:
        return mangled
    return site.name if site.name in tbl.symbols else None


def _class_name(scope: Scope) -> str | None:
    """The innermost class around ``scope`` (itself included), whose name mangles ``__x``."""
    current: Scope | None = scope
    while current is not None and not isinstance(current, GlobalScope):
        if isinstance(current, ClassScope):
            return current.name
        current = current.parent
    return None


def _mangle(name: str, class_name: str | None) -> str:
    """CPython's ``_Py_Mangle``: ``__x`` in class ``_C`` is ``_C__x``."""
    if class_name is None or not name.startswith("__") or name.endswith("__") or "." in name:
        return name
    stripped = class_name.lstrip("_")
    return f"_{stripped}{name}" if stripped else name


def _resolve(
    facts: FileFacts,
    tbl: _Table,
    top: _Table,
    name: str,
    symbol: symtable.Symbol,
    kind: str,
    *,
    path: str,
    file_id: str,
) -> None:
    """BINDING_RESOLVES_TO from a ``global``/``nonlocal``/free binding to the one it names."""
    target: _Table | None = None
    if kind == "global_ref" and tbl is not top and name in top.symbols:
        target, resolution, reason = top, "GLOBAL", _global_reason(symbol)
    elif kind in ("nonlocal_ref", "free_ref"):
        resolution = "NONLOCAL" if kind == "nonlocal_ref" else "FREE"
        reason = "nonlocal statement" if kind == "nonlocal_ref" else "free variable"
        target = _enclosing_owner(tbl, name)
    if target is None:
        return
    facts.add_edge(
        edge_row(
            BINDING_RESOLVES_TO,
            tbl.binding_id(name),
            target.binding_id(name),
            path=path,
            file_id=file_id,
            method="symtable",
            confidence=0.9,
        ),
        {"kind": resolution, "reason": reason},
    )


def _global_reason(symbol: symtable.Symbol) -> str:
    return "global statement" if symbol.is_declared_global() else "implicit global"


def _enclosing_owner(tbl: _Table, name: str) -> _Table | None:
    """The nearest enclosing function scope that owns ``name`` (class bodies are skipped)."""
    current = tbl.parent
    while current is not None and current.parent is not None:
        symbol = current.symbols.get(name)
        is_class = str(current.table.get_type()) == "class"
        if symbol is not None and not is_class and symbol.is_local():
            return current
        current = current.parent
    return None
