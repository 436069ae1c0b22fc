"""Which source kind each emitted node and edge kind is attributed to.

Edge rows carry it in ``origin``; node rows have no origin column, so the node map documents the
source and the tests check both against the contracts' ``allowed_sources``. Where the stdlib tool
is not an allowed source, the honest allowed one is used:

- CFG_BLOCK/CFG_EXIT and every CFG_* edge: ``derived`` (blocks are computed from ``dis`` output;
  CFG edge contracts allow only ``derived``).
- PY_MODULE, FILE_DECLARES_MODULE: ``derived`` (the module name is computed from the path).
- FILE_CONTAINS: ``derived`` (computed from the ``file_id`` the contained nodes carry).
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
