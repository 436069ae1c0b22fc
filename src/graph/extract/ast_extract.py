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
from graph.extract.ids import SEP, joined_id
from graph.extract.provenance import edge_row
from graph.extract.rows import EDGE, NODE, FileFacts, NodeRow
from graph.extract.source import LineIndex

_new = tuple.__new__

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

_Visit = tuple[ast.AST, str | None, str | None, int | None]
"""``(node, parent id, field in the parent, index in that field's list)``."""


def extract_ast_tables(tree: ast.AST, *, path: str, file_id: str, lines: LineIndex) -> FileFacts:
    """Rows of every node of ``tree`` (parsed from the file ``file_id``) and its parent edges.

    One pre-order walk; each node's props go straight to their columns (the hot path of a build:
    about one AST node per 8 bytes of source).
    """
    facts = FileFacts()
    append_node = facts.nodes.append
    append_edge = facts.edges.append
    column = facts.column
    ast_type_col = column(NODE, "ast_type")
    lineno_col = column(NODE, "lineno")
    end_lineno_col = column(NODE, "end_lineno")
    col_col = column(NODE, "col_offset")
    end_col_col = column(NODE, "end_col_offset")
    field_col = column(EDGE, "field")
    index_col = column(EDGE, "index")
    span_of = lines.span_function()
    id_col = column(NODE, "id")
    attr_col = column(NODE, "attr")
    ctx_col = column(NODE, "ctx")
    name_col = column(NODE, "name")
    seen: dict[tuple[str, int, int], int] = {}
    context = ast.expr_context
    kinds = KIND_OF_TYPE
    stack: list[_Visit] = [(tree, None, None, None)]
    pop, push = stack.pop, stack.append
    while stack:
        node, parent_id, field, index = pop()
        ast_type = type(node).__name__
        kind = kinds.get(type(node), AST_NODE)
        pos = _positions(node)
        span = (0, lines.size) if parent_id is None else None if pos is None else span_of(*pos)
        if span is not None:
            bstart, bend = span
            key = (ast_type, bstart, bend)
            dup = seen.get(key, 0)
            seen[key] = dup + 1
            joined = f"{file_id}{SEP}{ast_type}{SEP}{bstart}{SEP}{bend}"
            node_id = joined_id(kind, joined if dup == 0 else f"{joined}{SEP}{dup}")
            append_node(_new(NodeRow, (node_id, kind, path, file_id, bstart, bend)))
        else:
            node_id = joined_id(kind, f"{file_id}{SEP}{parent_id}{SEP}{field}{SEP}{index}")
            append_node(_new(NodeRow, (node_id, kind, path, file_id, None, None)))
        ast_type_col.ids.append(node_id)
        ast_type_col.values.append(ast_type)
        if pos is not None and kind != AST_NAME and kind != AST_ATTRIBUTE:
            lineno_col.ids.append(node_id)
            lineno_col.values.append(pos[0])
            end_lineno_col.ids.append(node_id)
            end_lineno_col.values.append(pos[2])
            if kind == AST_NODE:
                col_col.ids.append(node_id)
                col_col.values.append(pos[1])
                end_col_col.ids.append(node_id)
                end_col_col.values.append(pos[3])
        if kind == AST_NAME:
            assert isinstance(node, ast.Name)
            id_col.ids.append(node_id)
            id_col.values.append(node.id)
            ctx_col.ids.append(node_id)
            ctx_col.values.append(type(node.ctx).__name__)
        elif kind == AST_ATTRIBUTE:
            assert isinstance(node, ast.Attribute)
            attr_col.ids.append(node_id)
            attr_col.values.append(node.attr)
            ctx_col.ids.append(node_id)
            ctx_col.values.append(type(node.ctx).__name__)
        elif kind == AST_DEF and not isinstance(node, ast.Lambda):  # a Lambda has no name
            name_col.ids.append(node_id)
            name_col.values.append(getattr(node, "name", None))
        if parent_id is not None:
            row = edge_row(
                AST_PARENT_OF, parent_id, node_id, path=path, file_id=file_id, method="ast"
            )
            append_edge(row)
            field_col.ids.append(row[0])
            field_col.values.append(field)
            if index is not None:
                index_col.ids.append(row[0])
                index_col.values.append(index)
        children: list[_Visit] = []
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST) and not isinstance(item, context):
                        children.append((item, node_id, name, i))
            elif isinstance(value, ast.AST) and not isinstance(value, context):
                children.append((value, node_id, name, None))
        for child in reversed(children):
            push(child)
    return facts


def _positions(node: ast.AST) -> tuple[int, int, int, int] | None:
    lineno = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    end_lineno = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    if lineno is None or col is None or end_lineno is None or end_col is None:
        return None
    return lineno, col, end_lineno, end_col
