"""The SCIP layer's rows: a decoded ``scip.Index`` -> nodes, props and the rule engine's relations.

Kinds: one SCIP_INDEX per build (props ``index_format``, ``tool``, ``version``); a SCIP_DOCUMENT
per indexed file of the build; a SCIP_OCCURRENCE per occurrence, anchored at its byte span
(``scip_positions``: SCIP ranges are UTF-16 columns) with FILE_CONTAINS from its file; a
SCIP_SYMBOL per symbol that a document defines, the index lists as external, an occurrence
names or a relationship points at; a TYPE (``origin`` ``inferred``) per return type scip-python
infers for a function without a return annotation (its symbol's signature documentation shows
``def f(x): # -> int:``). The relations ``scip_occurrences`` (path, span, symbol, role bits),
``scip_symbol_relationships`` and ``scip_inferred_types`` feed the rules that align CST names,
imports, definitions and call sites with occurrences and give definitions their types.

Unresolved names: scip-python 0.6.6 gives a name it cannot resolve to a declaration a fresh
``local N`` symbol that its document never defines (the alias ``t`` of ``import typing as t``,
names in code pyright finds unreachable, now and then a builtin: 1,646 of click's 15,376
occurrences). Such occurrences are SCIP_OCCURRENCE nodes like any other, but stay out of
``scip_occurrences``: aligned with CST names they would resolve nothing, and would keep calls
from the qualified-name fallback (``qname_fallback_calls``).

Ids: a SCIP_SYMBOL is ``stable_id('SCIP_SYMBOL', symbol)``; SCIP's ``local N`` symbols are
only unique within their document, so theirs hash the file id too (and the node carries the
file). The ``symbol`` columns of the relations hold these node ids (the edges point at them);
the symbol string is the node's ``symbol`` prop. Occurrences hash file, span and symbol.

The index is turned into rows a batch of documents at a time (``scip_batches``): a symbol node
is emitted by the first batch that meets it, so batches never repeat a node and memory stays
bounded by a batch, not the repository.

Not emitted: SCIP_DIAGNOSTIC (scip-python 0.6.6 writes no diagnostics: its bundle never builds a
``scip.Diagnostic``); documents of files outside the build (``--exclude``d, over the size
limit, or outside the repository) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from generated.cpg_contracts import NodeKind
from graph.extract.file_contains import extract_file_contains
from graph.extract.filesystem import file_node_id
from graph.extract.ids import SEP, joined_id, stable_id
from graph.extract.rows import FileFacts, NodeRow
from graph.extract.scip_positions import Utf16Lines, scip_range
from graph.extract.type_norm import NormalType, normalize

SCIP_INDEX = NodeKind.SCIP_INDEX.value
SCIP_DOCUMENT = NodeKind.SCIP_DOCUMENT.value
SCIP_SYMBOL = NodeKind.SCIP_SYMBOL.value
SCIP_OCCURRENCE = NodeKind.SCIP_OCCURRENCE.value
TYPE = NodeKind.TYPE.value
OCCURRENCES = "scip_occurrences"
RELATIONSHIPS = "scip_symbol_relationships"
INFERRED_TYPES = "scip_inferred_types"
SCIP_ORIGIN = "scip"
_INFERRED_RETURN = re.compile(r"\): # -> (.+):\n```\Z")
"""How scip-python 0.6.6 shows an inferred return type: ``def f(x): # -> int:`` (a declared one
is ``def f(x) -> int:``, which the annotation's own TYPE covers)."""
DOCUMENTS_PER_BATCH = 64
_LOCAL = "local "
_DEFINITION = 1


@dataclass
class ScipCounts:
    """What a run of the layer found: documents turned into rows and skipped, occurrences
    placed, those whose range does not fit their file, and those of unresolved names."""

    documents: int = 0
    skipped_documents: int = 0
    occurrences: int = 0
    misplaced: int = 0
    unresolved: int = 0
    """Occurrences of a ``local N`` symbol their document never defines (left out of
    ``scip_occurrences``)."""
    symbols: int = 0


@dataclass
class _Symbols:
    """The symbol nodes emitted so far, and the documentation the index gives each symbol."""

    seen: set[str] = field(default_factory=set)
    """The ids of the SCIP_SYMBOL (and TYPE) nodes emitted so far."""
    docs: dict[str, list[str]] = field(default_factory=dict)
    """Documentation by symbol node id."""

    ids: dict[tuple[str, str], str] = field(default_factory=dict)
    """``(symbol, file id for a local symbol else "")`` -> node id: hashed once per symbol."""

    def node_id(self, symbol: str, file_id: str) -> str:
        key = (symbol, file_id if symbol.startswith(_LOCAL) else "")
        found = self.ids.get(key)
        if found is None:
            found = self.ids[key] = symbol_node_id(symbol, file_id)
        return found

    def document(self, info: Any, file_id: str) -> None:
        """Keep the documentation of a ``SymbolInformation`` found in ``file_id``'s document."""
        if info.documentation:
            self.docs[symbol_node_id(info.symbol, file_id)] = list(info.documentation)


def symbol_node_id(symbol: str, file_id: str) -> str:
    """The SCIP_SYMBOL node id of ``symbol`` as named in the document of ``file_id``."""
    if symbol.startswith(_LOCAL):
        return stable_id(SCIP_SYMBOL, file_id, symbol)
    return stable_id(SCIP_SYMBOL, symbol)


def scip_index_id(repo_id: str) -> str:
    return stable_id(SCIP_INDEX, repo_id)


def extract_scip_tables(
    index: Any,
    *,
    repo_id: str,
    repo: Path,
    files: Mapping[str, str],
    counts: ScipCounts | None = None,
) -> FileFacts:
    """Every row of ``index`` (a decoded ``scip.Index`` of ``repo``) at once; ``files`` maps
    the build's file paths to their names on disk (see ``scip_batches``)."""
    return FileFacts.merge(
        scip_batches(index, repo_id=repo_id, repo=repo, files=files, counts=counts)
    )


def scip_batches(
    index: Any,
    *,
    repo_id: str,
    repo: Path,
    files: Mapping[str, str],
    counts: ScipCounts | None = None,
    documents_per_batch: int = DOCUMENTS_PER_BATCH,
) -> Iterator[FileFacts]:
    """The rows of ``index``, a batch of documents at a time; the first batch also holds the
    SCIP_INDEX node and the external symbols. ``files`` maps each file path of the build (as
    rows name it) to its path on disk relative to ``repo``; ``counts`` is filled in."""
    counts = counts if counts is not None else ScipCounts()
    symbols = _Symbols()
    first = FileFacts()
    tool = index.metadata.tool_info
    first.add_node(
        NodeRow(scip_index_id(repo_id), SCIP_INDEX, None, None),
        {"index_format": "scip", "tool": tool.name or "unknown", "version": tool.version or None},
    )
    for info in index.external_symbols:
        symbols.document(info, "")
    for document in index.documents:  # a symbol may be used before the document defining it
        for info in document.symbols:
            if not info.symbol.startswith(_LOCAL):
                symbols.document(info, "")
    for info in index.external_symbols:
        _symbol(first, symbols, info.symbol, "", None)
    root = _project_root(index.metadata.project_root, repo)
    batch = first
    in_batch = 0
    for document in index.documents:
        path = _repo_path(root, document.relative_path, repo)
        disk = files.get(path) if path is not None else None
        if path is None or disk is None:
            counts.skipped_documents += 1
            continue
        try:
            data = (repo / disk).read_bytes()
        except OSError:
            counts.skipped_documents += 1
            continue
        _document(batch, symbols, counts, document, repo_id, path, data)
        in_batch += 1
        if in_batch == documents_per_batch:
            yield batch
            batch, in_batch = FileFacts(), 0
    counts.symbols = len(symbols.seen)
    if in_batch or batch is first:
        yield batch


def _document(
    facts: FileFacts,
    symbols: _Symbols,
    counts: ScipCounts,
    document: Any,
    repo_id: str,
    path: str,
    data: bytes,
) -> None:
    """The rows of one document of the file at ``path``."""
    counts.documents += 1
    file_id = file_node_id(repo_id, path)
    facts.add_node(
        NodeRow(stable_id(SCIP_DOCUMENT, file_id), SCIP_DOCUMENT, path, file_id),
        {"path": path, "language": document.language or "python"},
    )
    for info in document.symbols:
        if info.symbol.startswith(_LOCAL):
            symbols.document(info, file_id)
    for info in document.symbols:
        source = _symbol(facts, symbols, info.symbol, file_id, path)
        _inferred_type(facts, symbols, source, info)
        for related in info.relationships:
            target = _symbol(facts, symbols, related.symbol, file_id, path)
            facts.add_relation_row(
                RELATIONSHIPS,
                {
                    "symbol": source,
                    "related_symbol": target,
                    "is_reference": related.is_reference,
                    "is_implementation": related.is_implementation,
                    "is_type_definition": related.is_type_definition,
                    "is_definition": related.is_definition,
                },
            )
    lines = Utf16Lines(data)
    occurrences: list[NodeRow] = []
    defined = {
        o.symbol
        for o in document.occurrences
        if o.symbol_roles & _DEFINITION and _is_local(o.symbol)
    }
    for occurrence in document.occurrences:
        symbol = occurrence.symbol
        where = scip_range(list(occurrence.range))
        span = None if where is None or not symbol else lines.span(where)
        if span is None:
            counts.misplaced += 1
            continue
        counts.occurrences += 1
        roles = occurrence.symbol_roles
        symbol_id = _symbol(facts, symbols, symbol, file_id, path)
        node = NodeRow(
            joined_id(SCIP_OCCURRENCE, f"{file_id}{SEP}{span[0]}{SEP}{span[1]}{SEP}{symbol}"),
            SCIP_OCCURRENCE,
            path,
            file_id,
            span[0],
            span[1],
        )
        facts.add_node(node, {"symbol": symbol, "symbol_roles": roles})
        occurrences.append(node)
        if _is_local(symbol) and symbol not in defined:
            counts.unresolved += 1
            continue
        facts.add_relation_row(
            OCCURRENCES,
            {
                "path": path,
                "bstart": span[0],
                "bend": span[1],
                "symbol": symbol_id,
                "symbol_roles": roles,
            },
        )
    facts.extend(extract_file_contains(occurrences, path=path, file_id=file_id))


def _inferred_type(facts: FileFacts, symbols: _Symbols, symbol_id: str, info: Any) -> None:
    """The return type scip-python shows as inferred (``): # -> T:``) for a function without a
    return annotation: a TYPE node (``origin`` ``inferred``; its text kept as ``other`` when it
    is no Python expression, as pyright's ``() -> int``) and a ``scip_inferred_types`` row."""
    found = _INFERRED_RETURN.search(info.documentation[0]) if info.documentation else None
    if found is None:
        return
    text = found.group(1).strip()
    normal = normalize(text) or NormalType(text, "other")
    type_id = stable_id(TYPE, SCIP_ORIGIN, normal.type_repr)
    if type_id not in symbols.seen:
        symbols.seen.add(type_id)
        facts.add_node(
            NodeRow(type_id, TYPE, None, None),
            {"type_repr": normal.type_repr, "type_form": normal.type_form, "origin": "inferred"},
        )
    facts.add_relation_row(INFERRED_TYPES, {"symbol": symbol_id, "type_id": type_id})


def _is_local(symbol: str) -> bool:
    return symbol.startswith(_LOCAL)


def _symbol(
    facts: FileFacts, symbols: _Symbols, symbol: str, file_id: str, path: str | None
) -> str:
    """The node id of ``symbol``, adding its node the first time it is seen."""
    local = _is_local(symbol)
    node_id = symbols.node_id(symbol, file_id)
    if node_id not in symbols.seen:
        symbols.seen.add(node_id)
        facts.add_node(
            NodeRow(node_id, SCIP_SYMBOL, path if local else None, file_id if local else None),
            {"symbol": symbol},
            {"documentation": symbols.docs.get(node_id)},
        )
    return node_id


def _project_root(uri: str, repo: Path) -> Path:
    """The folder the index's document paths are relative to (its ``file://`` project root)."""
    parsed = urlparse(uri)
    if parsed.scheme == "file" and parsed.path:
        return Path(unquote(parsed.path))
    return repo


def _repo_path(root: Path, relative: str, repo: Path) -> str | None:
    """A document's path relative to the repository (POSIX), None when outside it."""
    try:
        return (root / relative).relative_to(repo).as_posix()
    except ValueError:
        return None
