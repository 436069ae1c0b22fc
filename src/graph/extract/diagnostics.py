"""DIAG nodes, and their ``diagnostics_norm`` relation rows, for files that fail (or warn) while
being read. The HAS_DIAGNOSTIC edge from the file is not emitted here: the relspec rule
``diagnostic_edges`` makes it from the relation rows (``graph.rules``), its one producer.

Stages and their ``diag_source`` (a SourceKind value): decode -> ``pipeline``, parse -> ``py_ast``,
symtable -> ``symtable``, compile -> ``dis``, cst -> ``libcst``, dataflow (a code unit over the
REACHES bound) -> ``derived``; the build's own stages, scan (a
directory that cannot be listed) and extract (a worker that died, ran out of memory or time), ->
``pipeline``; the repository-level layers scip -> ``scip`` and runtime -> ``inspect``. A DIAG
of a directory or a repository-level layer hangs on PY_REPO, every other on the file's PY_FILE.
Failures are ERROR, warnings recorded by ``warnings.catch_warnings`` (SyntaxWarning,
DeprecationWarning for invalid escapes...) are WARNING. DIAG requires an anchor, so every
diagnostic gets a byte span: the exception's position when it has one (SyntaxError columns are
characters, mapped to bytes), the warning's line, else ``(0, 0)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from generated.cpg_contracts import NodeKind, SourceKind
from graph.extract.file_contains import extract_file_contains
from graph.extract.filesystem import extract_file_entry, file_node_id, repo_node_id
from graph.extract.ids import stable_id
from graph.extract.module_names import ModuleNames
from graph.extract.rows import NODE, FileFacts, NodeRow
from graph.extract.source import DecodeError, LineIndex

DIAG = NodeKind.DIAG.value
RELATION = "diagnostics_norm"

ERROR = "ERROR"
WARNING = "WARNING"

STAGE_SOURCE: dict[str, str] = {
    "decode": SourceKind.PIPELINE.value,
    "parse": SourceKind.PY_AST.value,
    "symtable": SourceKind.SYMTABLE.value,
    "compile": SourceKind.DIS.value,
    "scan": SourceKind.PIPELINE.value,
    "extract": SourceKind.PIPELINE.value,
    "cst": SourceKind.LIBCST.value,
    "dataflow": SourceKind.DERIVED.value,
    "scip": SourceKind.SCIP.value,
    "runtime": SourceKind.INSPECT.value,
}


def diagnostic(
    facts: FileFacts,
    *,
    file_id: str,
    path: str,
    stage: str,
    severity: str,
    code: str,
    message: str,
    span: tuple[int, int],
    details: Mapping[str, object] | None = None,
) -> None:
    """Append one DIAG node and its ``diagnostics_norm`` row to ``facts``."""
    source = STAGE_SOURCE[stage]
    diag_id = stable_id(DIAG, file_id, source, code, span[0], span[1], message)
    facts.add_node(
        NodeRow(diag_id, DIAG, path, file_id, span[0], span[1]),
        {"severity": severity, "message": message, "diag_source": source, "code": code},
        {"details": {"stage": stage, **(details or {})}},
    )
    _relation_row(facts, diag_id, file_id, None, path, span, severity, message, source, code)


def _relation_row(
    facts: FileFacts,
    diag_id: str,
    file_id: str | None,
    repo_id: str | None,
    path: str,
    span: tuple[int, int],
    severity: str,
    message: str,
    source: str,
    code: str,
) -> None:
    """The ``diagnostics_norm`` row of a DIAG: owned by its file, or by the repo node."""
    facts.add_relation_row(
        RELATION,
        {
            "diag_id": diag_id,
            "file_id": file_id,
            "repo_id": repo_id,
            "path": path,
            "bstart": span[0],
            "bend": span[1],
            "severity": severity,
            "message": message,
            "diag_source": source,
            "code": code,
        },
    )


def unextracted_file(
    repo_id: str,
    path: str,
    *,
    modules: ModuleNames,
    content: tuple[int, str] | None,
    stage: str,
    code: str,
    message: str,
) -> FileFacts:
    """PY_FILE (+ PY_MODULE) of a file whose source was not extracted, and the ERROR saying why.

    ``content`` is ``(size, sha256)`` when known; otherwise the file gets neither prop (nothing
    was read, nothing is invented).
    """
    facts = extract_file_entry(repo_id, path, b"", modules=modules)
    file_id = file_node_id(repo_id, path)
    facts.props = [p for p in facts.props if p.prop_key not in {"size_bytes", "file_sha256"}]
    if content is not None:
        size, sha256 = content
        facts.nodes[0] = facts.nodes[0]._replace(bend=size)
        facts.add_props(NODE, file_id, {"size_bytes": size, "file_sha256": sha256})
    diagnostic(
        facts,
        file_id=file_id,
        path=path,
        stage=stage,
        severity=ERROR,
        code=code,
        message=message,
        span=(0, 0),
    )
    facts.extend(extract_file_contains(facts.nodes, path=path, file_id=file_id))
    return facts


def directory_diagnostic(repo_id: str, path: str, error: OSError) -> FileFacts:
    """The ERROR of a directory the scan could not list, on PY_REPO: its files are unknown.

    The DIAG's ``path`` is the directory (see ``repo_diagnostic``).
    """
    code = f"read-error:{type(error).__name__}"
    message = f"cannot list the directory: {error.strerror or error}"
    return repo_diagnostic(repo_id, path=path, stage="scan", code=code, message=message)


def repo_diagnostic(
    repo_id: str, *, path: str, stage: str, code: str, message: str, severity: str = ERROR
) -> FileFacts:
    """A DIAG about the repository rather than one file (a directory that cannot be listed, a
    repository-level layer that failed), on PY_REPO.

    It has no ``file_id``: its ``diagnostics_norm`` row names the repo node (``repo_id``) as the
    owner, so the ``diagnostic_edges`` rule hangs it on PY_REPO. Its id hashes the repo node and
    the path, and its anchor is the empty span (0, 0).
    """
    source = STAGE_SOURCE[stage]
    repo = repo_node_id(repo_id)
    diag_id = stable_id(DIAG, repo, path, source, code, 0, 0, message)
    facts = FileFacts()
    facts.add_node(
        NodeRow(diag_id, DIAG, path, None, 0, 0),
        {"severity": severity, "message": message, "diag_source": source, "code": code},
        {"details": {"stage": stage}},
    )
    _relation_row(facts, diag_id, None, repo, path, (0, 0), severity, message, source, code)
    return facts


def decode_diagnostic(failure: DecodeError, *, file_id: str, path: str) -> FileFacts:
    """The diagnostic of a file that cannot be decoded."""
    facts = FileFacts()
    diagnostic(
        facts,
        file_id=file_id,
        path=path,
        stage="decode",
        severity=ERROR,
        code=failure.code,
        message=failure.message,
        span=(failure.bstart, failure.bend),
    )
    return facts


def exception_diagnostic(
    facts: FileFacts,
    exc: BaseException,
    *,
    stage: str,
    file_id: str,
    path: str,
    data: bytes,
    lines: LineIndex,
) -> None:
    """Append the diagnostic of a stage that raised ``exc``."""
    details: dict[str, object] = {}
    span = (0, 0)
    if isinstance(exc, SyntaxError) and exc.lineno is not None:
        start = lines.char_offset(exc.lineno, (exc.offset or 1) - 1)
        end = start
        if exc.end_lineno is not None and exc.end_offset is not None:
            end = max(start, lines.char_offset(exc.end_lineno, exc.end_offset - 1))
        span = (start, end)
        details = {"lineno": exc.lineno, "offset": exc.offset}
    elif b"\0" in data:  # "source code cannot contain null bytes" comes without a position
        nul = data.index(b"\0")
        span = (nul, nul + 1)
    message = exc.msg if isinstance(exc, SyntaxError) and exc.msg else str(exc)
    diagnostic(
        facts,
        file_id=file_id,
        path=path,
        stage=stage,
        severity=ERROR,
        code=type(exc).__name__,
        message=message or type(exc).__name__,
        span=span,
        details=details,
    )


def warning_diagnostics(
    facts: FileFacts,
    caught: list[warnings.WarningMessage],
    *,
    stage: str,
    file_id: str,
    path: str,
    lines: LineIndex,
) -> None:
    """Append one WARNING diagnostic per distinct (category, message, line) of ``caught``."""
    seen: set[tuple[str, str, int]] = set()
    for warning in caught:
        code = warning.category.__name__
        message = str(warning.message)
        lineno = warning.lineno if warning.filename == path else 0
        if (code, message, lineno) in seen:
            continue
        seen.add((code, message, lineno))
        span = lines.line_span(lineno) if lineno > 0 else (0, 0)
        diagnostic(
            facts,
            file_id=file_id,
            path=path,
            stage=stage,
            severity=WARNING,
            code=code,
            message=message,
            span=span,
            details={"lineno": lineno},
        )
