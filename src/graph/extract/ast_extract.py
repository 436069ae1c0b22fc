"""AST rows: one node per ``ast`` node, typed by its most specific CPG kind, and AST_PARENT_OF.

Kinds: FunctionDef/AsyncFunctionDef/ClassDef/Lambda -> AST_DEF, Call -> AST_CALL, Name -> AST_NAME,
Attribute -> AST_ATTRIBUTE, everything else -> AST_NODE (each node is emitted once, never also as
AST_NODE). ``expr_context`` nodes (Load/Store/Del) are not nodes: CPython shares one instance per
context, and the context survives as the ``ctx`` prop where the contract has one. Operator nodes
(``Add``, ``Eq``, ``And``...) are kept as position-less AST_NODEs, since they carry the semantics.

Spans are file byte offsets from ``LineIndex``; nodes without positions (``arguments``,
``comprehension``, ``withitem``, ``match_case``, operators) get no span rather than a guessed one,
and the Module spans the whole file. Ids: ``stable_id(kind, file_id, ast_type, bstart, bend[, n])``
for spanned nodes (``n`` counts earlier nodes with the same type and span, in pre-order), else
``stable_id(kind, file_id, parent_id, field, index)``, so they survive edits elsewhere in the file
as long as the byte span does not move.
"""

from __future__ import annotations

import ast

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.ids import stable_id
from graph.extract.provenance import edge_row
from graph.extract.rows import FileFacts, NodeRow, PropValue
from graph.extract.source import LineIndex

AST_NODE = NodeKind.AST_NODE.value
AST_DEF = NodeKind.AST_DEF.value
AST_CALL = NodeKind.AST_CALL.value
AST_NAME = NodeKind.AST_NAME.value
AST_ATTRIBUTE = NodeKind.AST_ATTRIBUTE.value
AST_PARENT_OF = EdgeKind.AST_PARENT_OF.value

KIND_OF_TYPE: dict[type[ast.AST], str] = {
    ast.FunctionDef: AST_DEF,
    ast.AsyncFunctionDef: AST_DEF,
    ast.ClassDef: AST_DEF,
    ast.Lambda: AST_DEF,
    ast.Call: AST_CALL,
    ast.Name: AST_NAME,
    ast.Attribute: AST_ATTRIBUTE,
}

_Visit = tuple[ast.AST, int, str | None, int | None]


def extract_ast_tables(tree: ast.AST, *, path: str, file_id: str, lines: LineIndex) -> FileFacts:
    """Rows of every node of ``tree`` (parsed from the file ``file_id``) and its parent edges."""
    order = _preorder(tree)
    facts = FileFacts()
    ids: list[str] = []
    seen: dict[tuple[str, int, int], int] = {}
    for node, parent, field, index in order:
        ast_type = type(node).__name__
        kind = KIND_OF_TYPE.get(type(node), AST_NODE)
        pos = _positions(node)
        span = (0, lines.size) if parent < 0 else None if pos is None else lines.span(*pos)
        if span is not None:
            key = (ast_type, span[0], span[1])
            dup = seen.get(key, 0)
            seen[key] = dup + 1
            parts: tuple[object, ...] = (ast_type, *span) if dup == 0 else (ast_type, *span, dup)
            node_id = stable_id(kind, file_id, *parts)
            row = NodeRow(node_id, kind, path, file_id, span[0], span[1])
        else:
            node_id = stable_id(kind, file_id, ids[parent] if parent >= 0 else None, field, index)
            row = NodeRow(node_id, kind, path, file_id)
        ids.append(node_id)
        facts.add_node(row, _props(node, kind, ast_type, pos))
        if parent >= 0:
            src = ids[parent]
            facts.add_edge(
                edge_row(AST_PARENT_OF, src, node_id, path=path, file_id=file_id, method="ast"),
                {"field": field, "index": index},
            )
    return facts


def _preorder(tree: ast.AST) -> list[_Visit]:
    """``(node, parent_index, field, list_index)`` in pre-order, without recursion."""
    order: list[_Visit] = []
    stack: list[_Visit] = [(tree, -1, None, None)]
    context = ast.expr_context
    while stack:
        visit = stack.pop()
        node = visit[0]
        me = len(order)
        order.append(visit)
        children: list[_Visit] = []
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST) and not isinstance(item, context):
                        children.append((item, me, name, i))
            elif isinstance(value, ast.AST) and not isinstance(value, context):
                children.append((value, me, name, None))
        children.reverse()
        stack.extend(children)
    return order


def _positions(node: ast.AST) -> tuple[int, int, int, int] | None:
    lineno = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    end_lineno = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    if lineno is None or col is None or end_lineno is None or end_col is None:
        return None
    return lineno, col, end_lineno, end_col


def _props(
    node: ast.AST, kind: str, ast_type: str, pos: tuple[int, int, int, int] | None
) -> dict[str, PropValue]:
    lineno, col, end_lineno, end_col = pos if pos is not None else (None, None, None, None)
    if kind == AST_NODE:
        return {
            "ast_type": ast_type,
            "lineno": lineno,
            "col_offset": col,
            "end_lineno": end_lineno,
            "end_col_offset": end_col,
        }
    if kind == AST_NAME:
        assert isinstance(node, ast.Name)
        return {"ast_type": ast_type, "id": node.id, "ctx": type(node.ctx).__name__}
    if kind == AST_ATTRIBUTE:
        assert isinstance(node, ast.Attribute)
        return {"ast_type": ast_type, "attr": node.attr, "ctx": type(node.ctx).__name__}
    props: dict[str, PropValue] = {"ast_type": ast_type, "lineno": lineno, "end_lineno": end_lineno}
    if kind == AST_DEF:
        props["name"] = getattr(node, "name", None)  # a Lambda has no name
    return props
