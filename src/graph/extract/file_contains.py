"""FILE_CONTAINS: an edge from a file to each anchored node extracted from it, typed by ``role``.

The contract names the node kinds it may point at (CST and tree-sitter nodes, def/use sites, SCIP
occurrences and diagnostics, type expressions, DIAG); every node of those kinds in a file's rows
gets one edge, whichever layer made it, so a layer added later is covered without a change here.
AST, symtable and bytecode nodes are not among those kinds: their ``file_id`` column is the link.
The role says what the node is to the file (``ROLE_OF_KIND``); the edge is ``derived`` from the
``file_id`` the node carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Final

from generated.cpg_contracts import EDGE_CONTRACTS, NODE_CONTRACTS, EdgeKind, NodeKind
from graph.extract.provenance import edge_row
from graph.extract.rows import EDGE, FileFacts, NodeRow

FILE_CONTAINS = EdgeKind.FILE_CONTAINS.value

_SYNTAX_GROUPS = frozenset({"cst", "treesitter"})
"""Contract groups whose kinds are syntax nodes (every CST and tree-sitter kind)."""

ROLE_OF_KIND: Final = MappingProxyType(
    {
        **{
            kind.value: "syntax"
            for kind in EDGE_CONTRACTS[EdgeKind.FILE_CONTAINS].dst_kinds
            if NODE_CONTRACTS[kind].group in _SYNTAX_GROUPS
        },
        NodeKind.PY_DEF_SITE.value: "symbol",
        NodeKind.PY_USE_SITE.value: "symbol",
        NodeKind.SCIP_OCCURRENCE.value: "symbol",
        NodeKind.TYPE_EXPR.value: "type",
        NodeKind.SCIP_DIAGNOSTIC.value: "diag",
        NodeKind.DIAG.value: "diag",
    }
)
"""The ``role`` of each node kind FILE_CONTAINS may point at (a test holds it to the contract)."""

CONTAINED_KINDS: Final = frozenset(
    kind.value for kind in EDGE_CONTRACTS[EdgeKind.FILE_CONTAINS].dst_kinds
)


def extract_file_contains(nodes: Iterable[NodeRow], *, path: str, file_id: str) -> FileFacts:
    """FILE_CONTAINS from ``file_id`` to each of ``nodes`` (the file's rows) of a contained kind."""
    facts = FileFacts()
    role_col = facts.column(EDGE, "role")
    roles = ROLE_OF_KIND
    contained = CONTAINED_KINDS
    for node in nodes:
        if node.node_kind in contained:
            row = edge_row(
                FILE_CONTAINS, file_id, node.node_id, path=path, file_id=file_id, method="file_id"
            )
            facts.edges.append(row)
            role_col.ids.append(row.edge_id)
            role_col.values.append(roles[node.node_kind])
    return facts
