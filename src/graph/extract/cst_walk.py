"""The walk of the LibCST layer: one pre-order pass over a parsed module, one node per LibCST node.

The walk goes through the dataclass fields of each node, so every child knows the field (and the
index in it) it sits in, which CST_PARENT_OF records. Whitespace, newlines and punctuation
(commas, dots, brackets, ``as``) get no node: the comments they hold become CST_COMMENTs under the
nearest node, with that node's field. Kind-specific props and extra rows come from handlers
(``cst_handlers``), looked up by LibCST type.

Ids: ``stable_id(kind, file_id, cst_type, bstart, bend[, n])``, ``n`` telling apart nodes of one
type and span in pre-order; the Module spans the whole file.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import NamedTuple

import libcst as cst
from libcst.metadata import (
    ClassScope,
    CodeSpan,
    ComprehensionScope,
    ExpressionContext,
    FunctionScope,
    GlobalScope,
    Scope,
)

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.cst_qnames import QualifiedNames
from graph.extract.cst_spans import FileOffsets, trim
from graph.extract.ids import SEP, edge_id, joined_id
from graph.extract.provenance import EDGE_ORIGIN
from graph.extract.rows import EDGE, NODE, EdgeRow, FileFacts, NodeRow

_new = tuple.__new__

CST_NODE = NodeKind.CST_NODE.value
CST_PARENT_OF = EdgeKind.CST_PARENT_OF.value

Span = tuple[int, int]
ScopeKey = tuple[str, str, int]
"""``(type, name, line)`` of a scope, as ``symtable`` reports its tables."""

_DROPPED: frozenset[type[cst.CSTNode]] = frozenset({cst.SimpleWhitespace, cst.Newline})
"""Leaves that hold nothing but blanks."""
TRANSPARENT: frozenset[type[cst.CSTNode]] = frozenset(
    {
        cst.EmptyLine,
        cst.TrailingWhitespace,
        cst.ParenthesizedWhitespace,
        cst.AsName,
        cst.Asynchronous,
        cst.Comma,
        cst.Dot,
        cst.Colon,
        cst.Semicolon,
        cst.AssignEqual,
        cst.LeftParen,
        cst.RightParen,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
    }
)
"""Whitespace and punctuation: no node of their own, but they may hold comments."""
_UNTRIMMED: frozenset[type[cst.CSTNode]] = frozenset(
    {cst.FormattedStringText, cst.TemplatedStringText, cst.Comment}
)
"""Types whose text may start or end with blanks of their own."""
_EDGE_BYTES = frozenset(b" \t\f\r\n\\#")
_COMPREHENSIONS: dict[type[cst.CSTNode], str] = {
    cst.ListComp: "listcomp",
    cst.SetComp: "setcomp",
    cst.DictComp: "dictcomp",
    cst.GeneratorExp: "genexpr",
}
_CONTEXT = {
    ExpressionContext.LOAD: "LOAD",
    ExpressionContext.STORE: "STORE",
    ExpressionContext.DEL: "DEL",
}
_NEWLINES = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class NameSite:
    """An identifier occurrence that defines (``role`` ``def``) or uses a name in ``scope``.

    ``kind`` is a ``def_site_kind`` or ``use_kind`` value; ``annotation_only`` marks ``x: int``.
    """

    name: str
    span: Span
    role: str
    kind: str
    scope: Scope
    annotation_only: bool = False


@dataclass
class CstFile:
    """The LibCST rows of one file, and the name sites the binding layer reads.

    ``scope_key`` names a LibCST scope the way ``symtable`` does; None when LibCST failed.
    """

    facts: FileFacts
    sites: list[NameSite] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)
    """Every LibCST scope that holds a node, parents first, siblings in symtable's order."""
    scope_key: Callable[[Scope], ScopeKey] | None = None


class Ctx(NamedTuple):
    """What the walk knows about a node's surroundings."""

    def_id: str | None = None
    """The innermost enclosing CST_DEF."""
    in_import: bool = False
    class_qname: str | None = None
    """The innermost enclosing class's qualified name."""
    in_class_body: bool = False
    """Directly in a class body (not inside one of its functions)."""
    self_name: str | None = None
    """The first parameter of the enclosing method: ``self.x`` is a member of ``class_qname``."""
    type_owner: str | None = None
    """The CST_DEF or TYPE_ALIAS a PEP 695 type parameter belongs to."""
    import_of: tuple[str, str, str | None, int | None] | None = None
    """Inside an import statement: its id, ``import``/``from``, module and relative level."""


class Metadata(NamedTuple):
    """The resolved providers of one module."""

    spans: Mapping[cst.CSTNode, CodeSpan]
    scopes: Mapping[cst.CSTNode, Scope | None]
    contexts: Mapping[cst.CSTNode, ExpressionContext]


Handler = Callable[["Walk", cst.CSTNode, "Emitted", Ctx], "Ctx | None"]
"""Adds a node's props and extra rows; returns the context of its children (None: unchanged)."""


class Emitted(NamedTuple):
    """The node a handler works on: id, kind, span, parent, and the role its field gives it."""

    node_id: str
    kind: str
    span: Span
    parent_id: str | None
    role: str | None


_Visit = tuple[cst.CSTNode, str | None, str | None, int | None, Ctx, str | None]
"""``(node, parent id, field in the parent, index in the field, context, role)``."""

_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}


def _fields_of(node_type: type[cst.CSTNode]) -> tuple[str, ...]:
    names = _FIELDS.get(node_type)
    if names is None:
        names = _FIELDS[node_type] = tuple(f.name for f in fields(node_type))
    return names


class Walk:
    """One pass over ``module``; rows go to ``facts``, name occurrences to ``sites``."""

    def __init__(
        self,
        module: cst.Module,
        meta: Metadata,
        *,
        kinds: Callable[[Walk, cst.CSTNode, Ctx], str],
        handlers: Mapping[type[cst.CSTNode], Handler],
        roles: Mapping[tuple[type[cst.CSTNode], str], str],
        offsets: FileOffsets,
        size: int,
        qnames: QualifiedNames,
        raw: bytes,
    ) -> None:
        self.module = module
        self.meta = meta
        self.kinds = kinds
        self.handlers = handlers
        self.roles = roles
        self.offsets = offsets
        self.size = size
        self.qnames = qnames
        self.path = qnames.path
        self.file_id = qnames.file_id
        self.raw = raw
        self.facts = FileFacts()
        self.sites: list[NameSite] = []
        self.docstrings: dict[int, bool] = {}
        """``id()`` of each docstring node -> whether it is the module's (the module, which
        holds the nodes, outlives the walk)."""
        self.annotation_only: set[int] = set()
        """``id()`` of the targets of annotations without a value (``x: int``)."""
        self.types: set[str] = set()
        """The TYPE nodes emitted so far (one per file and normalized type)."""
        self._seen: dict[tuple[str, int, int], int] = {}
        self._line_starts = [0, *(m.end() for m in _NEWLINES.finditer(raw))]

    def run(self) -> None:
        """Walk the module, then add the qualified-name rows."""
        facts = self.facts
        cst_type_col = facts.column(NODE, "cst_type")
        field_col = facts.column(EDGE, "field")
        index_col = facts.column(EDGE, "index")
        handlers = self.handlers
        stack: list[_Visit] = [(self.module, None, None, None, Ctx(), None)]
        while stack:
            node, parent_id, fname, index, ctx, role = stack.pop()
            node_type = type(node)
            if node_type in TRANSPARENT:
                stack.extend(reversed(list(self._children(node, parent_id, ctx, fname, index))))
                continue
            span = (0, self.size) if node_type is cst.Module else self.file_span(node)
            kind = self.kinds(self, node, ctx)
            cst_type = node_type.__name__
            node_id = self.node_id(kind, cst_type, span)
            facts.nodes.append(
                _new(NodeRow, (node_id, kind, self.path, self.file_id, span[0], span[1]))
            )
            if kind == CST_NODE:
                cst_type_col.ids.append(node_id)
                cst_type_col.values.append(cst_type)
            if parent_id is not None:
                eid = edge_id(CST_PARENT_OF, parent_id, node_id)
                facts.edges.append(self.edge(eid, CST_PARENT_OF, parent_id, node_id, None))
                field_col.ids.append(eid)
                field_col.values.append(fname)
                if index is not None:
                    index_col.ids.append(eid)
                    index_col.values.append(index)
            handler = handlers.get(node_type)
            if handler is not None:
                emitted = Emitted(node_id, kind, span, parent_id, role)
                ctx = handler(self, node, emitted, ctx) or ctx
            stack.extend(reversed(list(self._children(node, node_id, ctx))))
        self.qnames.finish(facts)

    def _children(
        self,
        node: cst.CSTNode,
        parent_id: str | None,
        ctx: Ctx,
        passed_field: str | None = None,
        passed_index: int | None = None,
    ) -> Iterator[_Visit]:
        """Visits of ``node``'s children; a transparent node passes its own place on."""
        node_type = type(node)
        transparent = node_type in TRANSPARENT
        roles = self.roles
        for name in _fields_of(node_type):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                items: list[tuple[int | None, cst.CSTNode]] = [(None, value)]
            elif isinstance(value, (tuple, list)):
                items = [(i, v) for i, v in enumerate(value) if isinstance(v, cst.CSTNode)]
            else:
                continue
            role = None if transparent else roles.get((node_type, name))
            for i, child in items:
                if type(child) in _DROPPED:
                    continue
                if transparent:
                    yield (child, parent_id, passed_field, passed_index, ctx, None)
                else:
                    yield (child, parent_id, name, i, ctx, role)

    # ------------------------------------------------------------------ services for handlers

    def node_id(self, kind: str, cst_type: str, span: Span) -> str:
        """The id of a node of ``kind`` (``cst_type`` names what it stands for) at ``span``."""
        key = (cst_type, span[0], span[1])
        dup = self._seen.get(key, 0)
        self._seen[key] = dup + 1
        joined = f"{self.file_id}{SEP}{cst_type}{SEP}{span[0]}{SEP}{span[1]}"
        return joined_id(kind, joined if dup == 0 else f"{joined}{SEP}{dup}")

    def edge(self, eid: str, kind: str, src: str, dst: str, span: Span | None) -> EdgeRow:
        """An edge row owned by this file, anchored at ``span`` when one is given."""
        bstart, bend = (None, None) if span is None else span
        path = self.path
        return _new(
            EdgeRow,
            (
                eid,
                kind,
                src,
                dst,
                path,
                bstart,
                bend,
                EDGE_ORIGIN[kind],
                "libcst",
                1.0,
                None,
                None,
                None,
                None,
                None,
                None,
                self.file_id,
            ),
        )

    def utf8_span(self, node: cst.CSTNode) -> Span:
        """The span of ``node`` in the UTF-8 text, without blanks it owns at its edges.

        Two provider spans leave out text of their own node: a ``Param``'s ends after its name
        (before ``: int = 1``), an ``IndentedBlock``'s starts at its first statement's keyword
        (after that statement's decorators). Both are widened to their children.
        """
        code = self.meta.spans[node]
        start, end = code.start, code.start + code.length
        if start < end and type(node) not in _UNTRIMMED:
            raw = self.raw
            if raw[start] in _EDGE_BYTES or raw[end - 1] in _EDGE_BYTES:
                start, end = trim(raw, start, end)
        if isinstance(node, cst.Param):
            for part in (node.annotation, node.default):
                if part is not None:
                    end = max(end, self._extent_end(part))
        elif isinstance(node, cst.IndentedBlock) and node.body:
            first = node.body[0]
            if isinstance(first, (cst.FunctionDef, cst.ClassDef)) and first.decorators:
                start = min(start, self.utf8_span(first.decorators[0])[0])
        return start, end

    def _extent_end(self, node: cst.CSTNode) -> int:
        """Where ``node`` ends, closing parentheses included (``()`` spans only its inside)."""
        inner = node.annotation if isinstance(node, cst.Annotation) else node
        closing = getattr(inner, "rpar", ())
        return self.utf8_span(closing[-1] if closing else node)[1]

    def file_span(self, node: cst.CSTNode) -> Span:
        """The file byte span of ``node``."""
        start, end = self.utf8_span(node)
        offsets = self.offsets
        return offsets(start), offsets(end)

    def text(self, node: cst.CSTNode) -> str:
        """The source text of ``node``."""
        start, end = self.utf8_span(node)
        return self.raw[start:end].decode("utf-8")

    def scope(self, node: cst.CSTNode) -> Scope | None:
        return self.meta.scopes.get(node)

    def context(self, node: cst.CSTNode) -> str:
        """``LOAD``/``STORE``/``DEL`` from ``ExpressionContextProvider``, else ``UNKNOWN``."""
        found = self.meta.contexts.get(node)
        return "UNKNOWN" if found is None else _CONTEXT[found]

    def line_of(self, node: cst.CSTNode) -> int:
        """1-based line where ``node`` starts."""
        return bisect.bisect_right(self._line_starts, self.utf8_span(node)[0])

    def scope_key(self, scope: Scope) -> ScopeKey:
        """What ``symtable`` calls ``scope``: type, name, and the line of its ``def``/``class``
        name, ``lambda`` keyword or comprehension."""
        if isinstance(scope, GlobalScope):
            return ("module", "top", 0)
        node = getattr(scope, "node", None)
        if isinstance(node, (cst.ClassDef, cst.FunctionDef)):
            kind = "class" if isinstance(scope, ClassScope) else "function"
            return (kind, node.name.value, self.line_of(node.name))
        if isinstance(scope, FunctionScope) and isinstance(node, cst.Lambda):
            return ("function", "lambda", self.line_of(node))
        if isinstance(scope, ComprehensionScope) and node is not None:
            return ("function", _COMPREHENSIONS.get(type(node), "?"), self.line_of(node))
        return ("?", type(scope).__name__, 0)

    def all_scopes(self) -> list[Scope]:
        """Every scope that holds a node, parents before children (the module first) and
        siblings in the order ``symtable`` creates their tables: by where their nodes end.

        symtable visits what a scope's node evaluates outside it (defaults, decorators, bases, a
        comprehension's first iterable) before creating its table, so a sibling nested there
        comes first: in ``[a for a in [b for b in g]]`` the inner comprehension's table precedes
        the outer's, although the outer starts first.
        """
        found = {id(s): s for s in self.meta.scopes.values() if s is not None}
        located: list[tuple[int, int, int, Scope]] = []
        for order, scope in enumerate(found.values()):
            node = getattr(scope, "node", None)
            if isinstance(scope, GlobalScope):
                located.append((-1, -1, order, scope))
            elif isinstance(node, cst.CSTNode):
                located.append((_depth(scope), self.utf8_span(node)[1], order, scope))
        return [scope for *_, scope in sorted(located, key=lambda item: item[:3])]

    def add_site(
        self,
        name: str,
        span: Span,
        role: str,
        kind: str,
        scope: Scope | None,
        *,
        annotation_only: bool = False,
    ) -> None:
        """Record a name occurrence for the binding layer (none without a LibCST scope)."""
        if scope is not None:
            self.sites.append(NameSite(name, span, role, kind, scope, annotation_only))


def _depth(scope: Scope) -> int:
    """How many scopes enclose ``scope``."""
    depth = 0
    while not isinstance(scope, GlobalScope):
        scope = scope.parent
        depth += 1
    return depth
