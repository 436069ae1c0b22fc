"""DIAG nodes and HAS_DIAGNOSTIC edges for files that fail (or warn) while being read.

Stages and their ``diag_source`` (a SourceKind value): decode -> ``pipeline``, parse -> ``py_ast``,
symtable -> ``symtable``, compile -> ``dis``, cst -> ``libcst``. Failures are ERROR, warnings
recorded by ``warnings.catch_warnings`` (SyntaxWarning, DeprecationWarning for invalid escapes...)
are WARNING.
DIAG requires an anchor, so every diagnostic gets a byte span: the exception's position when it has
one (SyntaxError columns are characters, mapped to bytes), the warning's line, else ``(0, 0)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

from generated.cpg_contracts import EdgeKind, NodeKind, SourceKind
from graph.extract.ids import stable_id
from graph.extract.provenance import edge_row
from graph.extract.rows import FileFacts, NodeRow
from graph.extract.source import DecodeError, LineIndex

DIAG = NodeKind.DIAG.value
HAS_DIAGNOSTIC = EdgeKind.HAS_DIAGNOSTIC.value

ERROR = "ERROR"
WARNING = "WARNING"

STAGE_SOURCE: dict[str, str] = {
    "decode": SourceKind.PIPELINE.value,
    "parse": SourceKind.PY_AST.value,
    "symtable": SourceKind.SYMTABLE.value,
    "compile": SourceKind.DIS.value,
    "cst": SourceKind.LIBCST.value,
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
    """Append one DIAG node and its HAS_DIAGNOSTIC edge from the file to ``facts``."""
    source = STAGE_SOURCE[stage]
    diag_id = stable_id(DIAG, file_id, source, code, span[0], span[1], message)
    facts.add_node(
        NodeRow(diag_id, DIAG, path, file_id, span[0], span[1]),
        {"severity": severity, "message": message, "diag_source": source, "code": code},
        {"details": {"stage": stage, **(details or {})}},
    )
    facts.add_edge(
        edge_row(HAS_DIAGNOSTIC, file_id, diag_id, path=path, file_id=file_id, method=stage),
        {"diag_source": source, "severity": severity},
    )


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
