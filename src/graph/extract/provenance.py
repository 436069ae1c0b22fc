"""Which source kind each emitted node and edge kind is attributed to: the ``source`` of its
implemented derivation, read from the generated ``DERIVATIONS`` (the specs say it once).

Edge rows carry it in ``origin``; node rows have no origin column, so the node map documents the
source and the tests check both against the contracts' ``allowed_sources``. Where the stdlib tool
is not an allowed source, the derivation names the honest allowed one (``derived`` for CFG blocks
and edges, module names, FILE_CONTAINS, PEP 695 kinds and the symtable+LibCST name bindings; see
each derivation's ``provider_or_field``). Kinds made by the rule engine are not here: a rule's
payload says its edges' origin.
"""

from __future__ import annotations

from typing import Final

from generated.cpg_contracts import DERIVATIONS, EdgeKind, NodeKind
from graph.extract.ids import edge_id
from graph.extract.rows import EdgeRow

_EXTRACTORS = "graph.extract."


def _sources(kinds: frozenset[str]) -> dict[str, str]:
    """kind -> source of its implemented extractor derivation, for ``kinds``."""
    sources: dict[str, str] = {}
    for derivation in DERIVATIONS:
        if derivation.status != "implemented" or derivation.kind not in kinds:
            continue
        if derivation.extractor.startswith(_EXTRACTORS):
            sources.setdefault(derivation.kind.value, derivation.source.value)
    return sources


NODE_SOURCE: Final[dict[str, str]] = _sources(frozenset(NodeKind))
EDGE_ORIGIN: Final[dict[str, str]] = _sources(frozenset(EdgeKind))

_new = tuple.__new__


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
