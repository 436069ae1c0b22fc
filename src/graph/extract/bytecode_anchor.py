"""BYTECODE_ANCHOR: each instruction with a source span to the LibCST node that span names.

CPython gives every instruction the position of the AST node it was compiled from
(``co_positions``); the bytecode layer turns it into file byte offsets, the CST layer gives its
nodes byte spans in the same file coordinates. The rule, per instruction with a span ``(s, e)``:

1. ``offset_span`` (score 0.95): the innermost CST node whose span is exactly ``(s, e)``
   (innermost: the last in pre-order among equal spans, e.g. the CST_CALLSITE of an expression
   statement rather than its statement);
2. else ``heuristic`` (score 0.6): the innermost CST node whose span contains ``(s, e)``. This is
   where LibCST and ``ast`` cut nodes differently: LibCST gives a parenthesised tuple's node its
   parentheses, ``ast`` gives them to the tuple but not to its elements' statement, and
   ``return (a, b)`` compiles its ``RETURN_VALUE`` at the tuple;
3. an instruction without a span, or with an empty one (RESUME, the implicit stores of
   ``__module__``/``__qualname__`` that open a class body), gets no anchor; nor does one outside
   every node.

Comments (CST_COMMENT) are never anchors. The layer reads only rows: the BC_INSTR nodes of the
bytecode layer and the CST nodes of the LibCST layer, so a file LibCST rejects has no anchors.

The mapping method is the edge's ``resolution_method`` and the score its ``confidence``, not
props: anchors are about one edge per instruction, and two prop rows each would triple them.
"""

from __future__ import annotations

from collections.abc import Iterable

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.provenance import edge_row
from graph.extract.rows import FileFacts, NodeRow

BYTECODE_ANCHOR = EdgeKind.BYTECODE_ANCHOR.value
BC_INSTR = NodeKind.BC_INSTR.value

EXACT_SCORE, CONTAINING_SCORE = 0.95, 0.6

_ANCHOR_KINDS = frozenset(
    kind.value
    for kind in NodeKind
    if kind.value.startswith("CST_") and kind is not NodeKind.CST_COMMENT
)

_Span = tuple[int, int]


def extract_bytecode_anchors(nodes: Iterable[NodeRow], *, path: str, file_id: str) -> FileFacts:
    """BYTECODE_ANCHOR edges from the BC_INSTR rows among ``nodes`` to the CST rows among them
    (in the order the layers emitted them: CST nodes in pre-order)."""
    facts = FileFacts()
    spanned = [row for row in nodes if row.bstart is not None and row.bstart != row.bend]
    instrs = [(row.node_id, _span(row)) for row in spanned if row.node_kind == BC_INSTR]
    syntax = [(row.node_id, _span(row)) for row in spanned if row.node_kind in _ANCHOR_KINDS]
    if not instrs or not syntax:
        return facts
    exact = {span: node_id for node_id, span in syntax}  # pre-order: the later, deeper one wins
    missing = sorted({span for _, span in instrs if span not in exact})
    containing = _innermost_containing(syntax, missing)
    edges = facts.edges
    for instr_id, span in instrs:
        target = exact.get(span)
        if target is not None:
            method, score = "offset_span", EXACT_SCORE
        else:
            target = containing.get(span)
            if target is None:
                continue
            method, score = "heuristic", CONTAINING_SCORE
        edge = edge_row(
            BYTECODE_ANCHOR,
            instr_id,
            target,
            path=path,
            file_id=file_id,
            method=method,
            confidence=score,
        )
        edges.append(edge)
    return facts


def _span(row: NodeRow) -> _Span:
    assert row.bstart is not None and row.bend is not None
    return row.bstart, row.bend


def _innermost_containing(
    syntax: list[tuple[str, _Span]], queries: list[_Span]
) -> dict[_Span, str]:
    """For each span in ``queries`` (sorted), the innermost node of ``syntax`` containing it.

    One sweep by start offset: ``open`` holds the nodes started so far that have not ended
    before the current query starts, outer ones first, so the innermost container is the
    topmost one that reaches the query's end.
    """
    order = sorted(range(len(syntax)), key=lambda i: (syntax[i][1][0], -syntax[i][1][1], i))
    found: dict[_Span, str] = {}
    open_nodes: list[tuple[str, _Span]] = []
    next_node = 0
    for query in queries:
        start, end = query
        while next_node < len(order) and syntax[order[next_node]][1][0] <= start:
            open_nodes.append(syntax[order[next_node]])
            next_node += 1
        open_nodes = [node for node in open_nodes if node[1][1] > start] if open_nodes else []
        for node_id, (node_start, node_end) in reversed(open_nodes):
            if node_start <= start and end <= node_end:
                found[query] = node_id
                break
    return found
