"""Which source kind each emitted node and edge kind is attributed to.

Edge rows carry it in ``origin``; node rows have no origin column, so the node map documents the
source and the tests check both against the contracts' ``allowed_sources``. Where the stdlib tool
is not an allowed source, the honest allowed one is used:

- CFG_BLOCK/CFG_EXIT and every CFG_* edge: ``derived`` (blocks are computed from ``dis`` output;
  CFG edge contracts allow only ``derived``).
- PY_MODULE, FILE_DECLARES_MODULE: ``derived`` (the module name is computed from the path).
- FILE_CONTAINS: ``derived`` (computed from the ``file_id`` the contained nodes carry).
- TYPE: ``derived`` (normalized from annotation text, or from scip-python's inferred signatures).
- TYPE_ALIAS, TYPE_PARAM, TYPE_PARAM_OF: ``derived`` (read from LibCST's PEP 695 nodes; the
  contracts allow ``derived`` and ``symtable``, and 3.11's symtable has no such scopes).
- PY_SCOPE, PY_BINDING, PY_DEF_SITE, PY_USE_SITE, DEF_SITE_OF, USE_SITE_OF: ``derived`` (symtable
  scopes and symbols joined with LibCST name spans, as are BINDING_RESOLVES_TO's scope chains);
  SCOPE_BINDS: ``symtable`` (a table's symbols alone).
"""

from __future__ import annotations

from typing import Final

from generated.cpg_contracts import EdgeKind, NodeKind, SourceKind
from graph.extract.ids import edge_id
from graph.extract.rows import EdgeRow

_NODE_SOURCE = {
    NodeKind.PY_REPO: SourceKind.PIPELINE,
    NodeKind.PY_FILE: SourceKind.PIPELINE,
    NodeKind.PY_PACKAGE: SourceKind.PIPELINE,
    NodeKind.PY_MODULE: SourceKind.DERIVED,
    NodeKind.AST_NODE: SourceKind.PY_AST,
    NodeKind.AST_DEF: SourceKind.PY_AST,
    NodeKind.AST_CALL: SourceKind.PY_AST,
    NodeKind.AST_NAME: SourceKind.PY_AST,
    NodeKind.AST_ATTRIBUTE: SourceKind.PY_AST,
    NodeKind.SYM_SCOPE: SourceKind.SYMTABLE,
    NodeKind.SYM_SYMBOL: SourceKind.SYMTABLE,
    NodeKind.BC_CODE_UNIT: SourceKind.DIS,
    NodeKind.BC_INSTR: SourceKind.DIS,
    NodeKind.CFG_BLOCK: SourceKind.DERIVED,
    NodeKind.CFG_EXIT: SourceKind.DERIVED,
    NodeKind.DIAG: SourceKind.PIPELINE,
    NodeKind.TS_NODE: SourceKind.TREESITTER,
    NodeKind.TS_ERROR: SourceKind.TREESITTER,
    NodeKind.TS_MISSING: SourceKind.TREESITTER,
    **dict.fromkeys(
        (
            NodeKind.CST_NODE,
            NodeKind.CST_DEF,
            NodeKind.CST_CLASS_DEF,
            NodeKind.CST_FUNCTION_DEF,
            NodeKind.CST_LAMBDA,
            NodeKind.CST_PARAM,
            NodeKind.CST_DECORATOR,
            NodeKind.CST_IMPORT,
            NodeKind.CST_IMPORT_FROM,
            NodeKind.CST_IMPORT_ALIAS,
            NodeKind.CST_NAME_REF,
            NodeKind.CST_ATTRIBUTE_ACCESS,
            NodeKind.CST_SUBSCRIPT,
            NodeKind.CST_CALLSITE,
            NodeKind.CST_ARG,
            NodeKind.CST_LITERAL,
            NodeKind.CST_DOCSTRING,
            NodeKind.CST_COMMENT,
            NodeKind.TYPE_EXPR,
            NodeKind.PY_QUALIFIED_NAME,
            NodeKind.PY_MODULE_FQN,
        ),
        SourceKind.LIBCST,
    ),
    NodeKind.TYPE_ALIAS: SourceKind.DERIVED,
    NodeKind.TYPE_PARAM: SourceKind.DERIVED,
    NodeKind.TYPE: SourceKind.DERIVED,
    NodeKind.SCIP_INDEX: SourceKind.SCIP,
    NodeKind.SCIP_DOCUMENT: SourceKind.SCIP,
    NodeKind.SCIP_SYMBOL: SourceKind.SCIP,
    NodeKind.SCIP_OCCURRENCE: SourceKind.SCIP,
    NodeKind.RT_OBJECT: SourceKind.INSPECT,
    NodeKind.RT_MEMBER: SourceKind.INSPECT,
    NodeKind.RT_SIGNATURE: SourceKind.INSPECT,
    NodeKind.RT_SIGNATURE_PARAM: SourceKind.INSPECT,
    NodeKind.PY_SCOPE: SourceKind.DERIVED,
    NodeKind.PY_BINDING: SourceKind.DERIVED,
    NodeKind.PY_DEF_SITE: SourceKind.DERIVED,
    NodeKind.PY_USE_SITE: SourceKind.DERIVED,
}

_EDGE_ORIGIN = {
    EdgeKind.REPO_CONTAINS: SourceKind.PIPELINE,
    EdgeKind.FILE_DECLARES_MODULE: SourceKind.DERIVED,
    EdgeKind.AST_PARENT_OF: SourceKind.PY_AST,
    EdgeKind.SCOPE_PARENT: SourceKind.SYMTABLE,
    EdgeKind.CFG_NEXT: SourceKind.DERIVED,
    EdgeKind.CFG_JUMP: SourceKind.DERIVED,
    EdgeKind.CFG_BRANCH_TRUE: SourceKind.DERIVED,
    EdgeKind.CFG_BRANCH_FALSE: SourceKind.DERIVED,
    EdgeKind.CFG_BRANCH: SourceKind.DERIVED,
    EdgeKind.CFG_EXC: SourceKind.DERIVED,
    EdgeKind.TS_PARENT_OF: SourceKind.TREESITTER,
    EdgeKind.FILE_CONTAINS: SourceKind.DERIVED,
    EdgeKind.CST_PARENT_OF: SourceKind.LIBCST,
    EdgeKind.NAME_REF_CANDIDATE_QNAME: SourceKind.LIBCST,
    EdgeKind.ATTR_CANDIDATE_QNAME: SourceKind.LIBCST,
    EdgeKind.CALLSITE_CANDIDATE_QNAME: SourceKind.LIBCST,
    EdgeKind.TYPE_PARAM_OF: SourceKind.DERIVED,
    EdgeKind.SCOPE_BINDS: SourceKind.SYMTABLE,
    EdgeKind.DEF_SITE_OF: SourceKind.DERIVED,
    EdgeKind.USE_SITE_OF: SourceKind.DERIVED,
    EdgeKind.BINDING_RESOLVES_TO: SourceKind.DERIVED,
    EdgeKind.RT_WRAPS: SourceKind.INSPECT,
}

_new = tuple.__new__

NODE_SOURCE: Final[dict[str, str]] = {k.value: v.value for k, v in _NODE_SOURCE.items()}
EDGE_ORIGIN: Final[dict[str, str]] = {k.value: v.value for k, v in _EDGE_ORIGIN.items()}


def edge_row(
    kind: str,
    src: str,
    dst: str,
    *,
    path: str | None,
    file_id: str | None,
    method: str,
    confidence: float = 1.0,
) -> EdgeRow:
    """An edge row owned by ``file_id``, with its stable id and the kind's origin."""
    # tuple.__new__ is what EdgeRow(...) runs; called directly it skips keyword handling (hot path)
    return _new(
        EdgeRow,
        (
            edge_id(kind, src, dst),
            kind,
            src,
            dst,
            path,
            None,
            None,
            EDGE_ORIGIN[kind],
            method,
            confidence,
            None,
            None,
            None,
            None,
            None,
            None,
            file_id,
        ),
    )
