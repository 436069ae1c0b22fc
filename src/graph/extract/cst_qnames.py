"""Qualified names from LibCST: PY_QUALIFIED_NAME, PY_MODULE_FQN and the candidate-qname edges.

LibCST's ``QualifiedNameProvider`` is ``Scope.get_qualified_names_for(node)`` for every node, and
``FullyQualifiedNameProvider`` rewrites each result with the module's name and package
(``FullyQualifiedNameVisitor._fully_qualify``: relative imports resolved, local names prefixed).
Run as providers, both visit every node of the file, and the second forces the first's lazy value
everywhere: on 40 stdlib modules they cost 7.5 s next to 1.3 s of parsing. ``QualifiedNames.of``
makes the same two calls for just the nodes that carry names (names, attributes, callees,
definitions); a test checks it against the providers on real files.

The module's name and package are those the build gives PY_MODULE (``filesystem.module_fqn``),
handed in per file as ``ModuleNameAndPackage``, the cache ``FullRepoManager`` would build: its
``gen_cache`` only derives the name from the path relative to one root, which would disagree with
``module_fqn`` under a ``src`` layout or a package folder given as the repository.

Ids are file-scoped (``stable_id('PY_QUALIFIED_NAME', file_id, qname)``) like every other id of
the build, so batches stay independent: a qualified name has one node per file that names or
defines it. ``dim_qualified_names`` has a row per qualified name a file defines (at its first
definition site), so a rule joining candidates to it reaches the node of the defining file; a
candidate no file defines (a builtin, the stdlib, a local) keeps its own file's node
(``file_qname_id`` of ``callsite_qname_candidates``).
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst
from libcst.metadata import Scope
from libcst.metadata.name_provider import FullyQualifiedNameVisitor

from generated.cpg_contracts import NodeKind
from graph.extract.ids import edge_id, stable_id
from graph.extract.provenance import EDGE_ORIGIN
from graph.extract.rows import EdgeRow, FileFacts, NodeRow

PY_QUALIFIED_NAME = NodeKind.PY_QUALIFIED_NAME.value
PY_MODULE_FQN = NodeKind.PY_MODULE_FQN.value

FULLY_QUALIFIED = "FullyQualifiedNameProvider"
SYNTACTIC = "syntactic"
CONFIDENCE = {FULLY_QUALIFIED: 0.9, SYNTACTIC: 0.6}
"""Edge confidence by ``qname_source``: LibCST's resolution above the ``self.x`` heuristic."""

_LOCAL_MARKERS = ("<locals>", "<comprehension>")

Span = tuple[int, int]


def is_local(qname: str) -> bool:
    """Whether ``qname`` names something inside a function or comprehension body."""
    return any(marker in qname for marker in _LOCAL_MARKERS)


class QualifiedNames:
    """Qualified names of one file's nodes, and the rows that name them."""

    def __init__(self, module_fqn: str, *, file_id: str, path: str) -> None:
        self.module_fqn = module_fqn
        self.package = module_fqn.rpartition(".")[0]
        self.file_id = file_id
        self.path = path
        self._ids: dict[str, str] = {}
        self._defined: set[str] = set()

    def set_package(self, is_package: bool) -> None:
        """An ``__init__`` module is its own package (relative imports start there)."""
        self.package = self.module_fqn if is_package else self.module_fqn.rpartition(".")[0]

    def of(self, scope: Scope, node: cst.CSTNode) -> list[str]:
        """The fully qualified names LibCST gives ``node`` in ``scope``, sorted."""
        names: set[str] = set()
        for qname in scope.get_qualified_names_for(node):
            if not self.module_fqn:  # a root __init__.py: no module name to prefix
                names.add(qname.name.lstrip("."))
                continue
            try:
                full = FullyQualifiedNameVisitor._fully_qualify(
                    self.module_fqn, self.package, qname
                )
            except ImportError:  # a relative import above the top-level package
                continue
            names.add(full.name)
        return sorted(names)

    def defined_name(self, prefix: str | None, name: str) -> str:
        """The qualified name a module- or class-level binding ``name`` defines."""
        owner = prefix if prefix is not None else self.module_fqn
        return f"{owner}.{name}" if owner else name

    def node_id(self, qname: str) -> str:
        """The id of this file's PY_QUALIFIED_NAME node for ``qname`` (emitted by ``finish``)."""
        found = self._ids.get(qname)
        if found is None:
            found = self._ids[qname] = stable_id(PY_QUALIFIED_NAME, self.file_id, qname)
        return found

    def candidates(
        self,
        facts: FileFacts,
        kind: str,
        src_id: str,
        span: Span,
        qnames: Sequence[tuple[str, str]],
    ) -> None:
        """Edges ``kind`` from ``src_id`` to each ``(qname, qname_source)``, anchored at ``span``.

        ``score`` splits 1.0 over the candidates; several of them share ``src_id`` as ambiguity
        group.
        """
        score = 1.0 / len(qnames)
        group = src_id if len(qnames) > 1 else None
        origin = EDGE_ORIGIN[kind]
        for qname, source in qnames:
            dst = self.node_id(qname)
            eid = edge_id(kind, src_id, dst, self.path, span[0], span[1])
            confidence = CONFIDENCE[source]
            facts.add_edge(
                cst_edge(
                    eid,
                    kind,
                    src_id,
                    dst,
                    self.path,
                    span,
                    origin,
                    self.file_id,
                    method=source,
                    confidence=confidence,
                    score=score,
                    qname_source=source,
                    group=group,
                ),
                {"qname_source": source, "score": score, "ambiguity_group_id": group},
            )

    def define(self, facts: FileFacts, qname: str, span: Span) -> None:
        """A ``dim_qualified_names`` row: ``qname`` is defined at ``span`` in this file.

        Only the first site per qualified name (``if``/``else`` branches, re-assignments): a
        second row would double every call joined to it, a rival of itself.
        """
        if qname in self._defined:
            return
        self._defined.add(qname)
        facts.add_relation_row(
            "dim_qualified_names",
            {
                "qname_id": self.node_id(qname),
                "qname": qname,
                "file_id": self.file_id,
                "path": self.path,
                "bstart": span[0],
                "bend": span[1],
            },
        )

    def finish(self, facts: FileFacts) -> None:
        """PY_QUALIFIED_NAME for every qualified name used so far, and PY_MODULE_FQN."""
        for qname, node_id in sorted(self._ids.items()):
            facts.add_node(
                NodeRow(node_id, PY_QUALIFIED_NAME, self.path, self.file_id), {"qname": qname}
            )
        if self.module_fqn:
            module_id = stable_id(PY_MODULE_FQN, self.file_id, self.module_fqn)
            facts.add_node(
                NodeRow(module_id, PY_MODULE_FQN, self.path, self.file_id),
                {"module_fqn": self.module_fqn},
            )


def cst_edge(
    eid: str,
    kind: str,
    src: str,
    dst: str,
    path: str,
    span: Span,
    origin: str,
    file_id: str,
    *,
    method: str,
    confidence: float = 1.0,
    score: float | None = None,
    qname_source: str | None = None,
    group: str | None = None,
) -> EdgeRow:
    """An edge row anchored at ``span`` (the evidence every candidate edge requires)."""
    return EdgeRow(
        eid,
        kind,
        src,
        dst,
        path,
        span[0],
        span[1],
        origin,
        resolution_method=method,
        confidence=confidence,
        score=score,
        qname_source=qname_source,
        ambiguity_group_id=group,
        edge_owner_file_id=file_id,
    )
