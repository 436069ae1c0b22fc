"""LibCST layer of one file: CST_* nodes and CST_PARENT_OF, TYPE_EXPR, PEP 695 TYPE_ALIAS and
TYPE_PARAM, PY_QUALIFIED_NAME and PY_MODULE_FQN, the candidate-qname edges, and the relations the
relspec rules read (``cst_name_refs``, ``cst_imports``, ``cst_defs``, ``cst_callsites``,
``callsite_qname_candidates``, ``dim_qualified_names``, ``type_exprs_norm``).

One ``MetadataWrapper`` per file (``unsafe_skip_copy``: the module is fresh), three providers:
``ByteSpanPositionProvider`` for spans, ``ScopeProvider`` for scopes and qualified names, and
``ExpressionContextProvider`` (load/store/del), which the scope provider computes anyway. The walk
is ``cst_walk``; what each node type adds is ``cst_handlers``; qualified names are ``cst_qnames``.

LibCST parses on its own (a native parser that also reads syntax newer than the interpreter's),
so this layer runs whether or not ``ast`` could parse the file; a file LibCST cannot parse gets
a DIAG (``diag_source`` ``libcst``) and keeps the other layers' rows.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import (
    ByteSpanPositionProvider,
    ExpressionContextProvider,
    MetadataWrapper,
    ScopeProvider,
)

from graph.extract.cst_handlers import HANDLERS, ROLES, node_kind
from graph.extract.cst_qnames import QualifiedNames
from graph.extract.cst_spans import FileOffsets
from graph.extract.cst_walk import CstFile, Metadata, Walk
from graph.extract.diagnostics import ERROR, diagnostic
from graph.extract.rows import FileFacts
from graph.extract.source import LineIndex

CST_ERRORS: tuple[type[BaseException], ...] = (Exception,)
"""What parsing and metadata resolution may raise: ``ParserSyntaxError``, ``CSTValidationError``
(``b'x' 'y'``), ``NotImplementedError`` from the scope provider (``nonlocal`` at module level),
``RecursionError`` on deep nesting. The ``try`` holds LibCST calls only, never this layer's code."""


PROVIDERS = (ByteSpanPositionProvider, ScopeProvider, ExpressionContextProvider)
"""In ``Metadata`` order. Resolved one by one, LibCST would walk the module once more: each
``resolve`` ends with a batch of batchable providers, empty after ByteSpanPositionProvider."""


def extract_cst_tables(
    text: str,
    data: bytes,
    *,
    path: str,
    file_id: str,
    module_fqn: str,
    encoding: str,
    lines: LineIndex,
) -> CstFile:
    """The LibCST rows of one file (``data`` as stored, ``text`` decoded from it)."""
    try:
        module = cst.parse_module(text)
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        resolved = wrapper.resolve_many(PROVIDERS)  # one call: no empty batch walks the tree
        meta = Metadata(*(resolved[provider] for provider in PROVIDERS))  # type: ignore[arg-type]
    except CST_ERRORS as exc:
        facts = FileFacts()
        _diagnose(facts, exc, path=path, file_id=file_id, lines=lines)
        return CstFile(facts)
    qnames = QualifiedNames(module_fqn, file_id=file_id, path=path)
    qnames.set_package(path.rpartition("/")[2].startswith("__init__."))
    walk = Walk(
        module,
        meta,
        kinds=node_kind,
        handlers=HANDLERS,
        roles=ROLES,
        offsets=FileOffsets(data, text, encoding),
        size=len(data),
        qnames=qnames,
        raw=text.encode("utf-8"),
    )
    walk.run()
    return CstFile(walk.facts, walk.sites, walk.all_scopes(), walk.scope_key)


def _diagnose(
    facts: FileFacts, exc: BaseException, *, path: str, file_id: str, lines: LineIndex
) -> None:
    span = (0, 0)
    details: dict[str, object] = {}
    message = str(exc)
    if isinstance(exc, cst.ParserSyntaxError):
        start = lines.char_offset(exc.raw_line, exc.raw_column)
        span = (start, start)
        details = {"lineno": exc.raw_line, "column": exc.raw_column}
        message = exc.message
    diagnostic(
        facts,
        file_id=file_id,
        path=path,
        stage="cst",
        severity=ERROR,
        code=type(exc).__name__,
        message=message.strip() or type(exc).__name__,
        span=span,
        details=details,
    )
