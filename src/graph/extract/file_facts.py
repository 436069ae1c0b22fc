"""``extract_file``: every row of one Python file, robust to bad input.

The file is decoded once (BOM / PEP 263 cookie), parsed once with ``ast``; ``symtable`` re-parses
the text (it has no AST entry point) and bytecode is compiled from the parsed tree. Tree-sitter
parses the file's bytes on its own (``tree_sitter_extract``). Building the rows still dominates:
on 120 stdlib modules, ~3x the time of the three stdlib calls (7.5 s vs 2.2 s for 605k nodes,
274k edges and 3.3M props). FILE_CONTAINS is derived last, from all the file's nodes.

LibCST parses the text on its own (``cst_extract``), so its rows do not depend on ``ast``; the
name-binding layer joins its name sites with the symtable (``name_binding``). Data flow
(``dataflow_extract``) runs on the bytecode layer's CFGs with the symtable, and BYTECODE_ANCHOR
(``bytecode_anchor``) joins the instructions' spans with the CST nodes'.

A stage that fails adds a DIAG and skips only what depends on it: a decode failure leaves PY_FILE
(+ PY_MODULE) and the tree-sitter rows of the raw bytes; a LibCST failure skips the CST rows,
bindings and anchors; a parse failure skips symtable, bindings and bytecode (tree-sitter recovers
from syntax errors: its rows stay, with ERROR and MISSING nodes at the broken spans); a symtable
failure skips bindings and bytecode (compile runs the same pass); a compile failure (``return``
outside a function) keeps AST and symtable rows. Data flow and anchors need bytecode.

Warnings are recorded, not printed, through ``warnings.catch_warnings``, which swaps process-global
state: run files in parallel with processes, not threads.
"""

from __future__ import annotations

import ast
import symtable
import warnings
from types import CodeType

from graph.extract.ast_extract import extract_ast_tables
from graph.extract.bytecode_anchor import extract_bytecode_anchors
from graph.extract.bytecode_extract import extract_bytecode_table
from graph.extract.cst_extract import extract_cst_tables
from graph.extract.dataflow_extract import extract_dataflow
from graph.extract.diagnostics import (
    decode_diagnostic,
    exception_diagnostic,
    warning_diagnostics,
)
from graph.extract.file_contains import extract_file_contains
from graph.extract.filesystem import extract_file_entry, file_node_id, normalize_relpath
from graph.extract.module_names import ModuleNames
from graph.extract.name_binding import extract_name_bindings
from graph.extract.rows import FileFacts
from graph.extract.source import DecodeError, LineIndex, decode_source
from graph.extract.symtable_extract import extract_symtables_table
from graph.extract.tree_sitter_extract import extract_ts_tables

STAGE_ERRORS: tuple[type[BaseException], ...] = (
    SyntaxError,
    ValueError,
    RecursionError,
    MemoryError,
)
"""What ``ast.parse``, ``symtable.symtable`` and ``compile`` raise on bad or pathological input."""


def extract_file(
    repo_id: str, relpath: str, data: bytes, *, modules: ModuleNames | None = None
) -> FileFacts:
    """All rows of one file; ``modules`` names its module (default: by its whole path)."""
    path = normalize_relpath(relpath)
    file_id = file_node_id(repo_id, path)
    try:
        text, encoding = decode_source(data)
    except DecodeError as failure:
        facts = extract_file_entry(repo_id, path, data, modules=modules)
        facts.extend(decode_diagnostic(failure, file_id=file_id, path=path))
        facts.extend(extract_ts_tables(data, path=path, file_id=file_id, text=None, encoding=None))
        return _with_file_contains(facts, path, file_id)
    facts = extract_file_entry(repo_id, path, data, encoding=encoding, modules=modules)
    facts.extend(extract_ts_tables(data, path=path, file_id=file_id, text=text, encoding=encoding))
    run = _FileRun(path, file_id, data, LineIndex(data, text, encoding))
    name = (modules or ModuleNames()).of(path)
    module = "" if name is None else name.fqn
    cst = extract_cst_tables(
        text,
        data,
        path=path,
        file_id=file_id,
        module_fqn=module,
        encoding=encoding,
        lines=run.lines,
    )
    facts.extend(cst.facts)
    tree = run.parse(text)
    if tree is not None:
        facts.extend(extract_ast_tables(tree, path=path, file_id=file_id, lines=run.lines))
        table = run.symtable(text)
        if table is not None:  # compile runs the same symtable pass: it would fail the same way
            facts.extend(extract_symtables_table(table, path=path, file_id=file_id))
            bindings = extract_name_bindings(
                table, cst, path=path, file_id=file_id, module_fqn=module
            )
            facts.extend(bindings)
            code = run.compile(tree)
            if code is not None:
                lines = run.lines
                bytecode = extract_bytecode_table(code, path=path, file_id=file_id, lines=lines)
                facts.extend(bytecode.facts)
                facts.extend(extract_dataflow(bytecode.flows, table, path=path, file_id=file_id))
                anchored = (*bytecode.facts.nodes, *cst.facts.nodes)
                facts.extend(extract_bytecode_anchors(anchored, path=path, file_id=file_id))
    facts.extend(run.diagnostics)
    return _with_file_contains(facts, path, file_id)


def _with_file_contains(facts: FileFacts, path: str, file_id: str) -> FileFacts:
    facts.extend(extract_file_contains(facts.nodes, path=path, file_id=file_id))
    return facts


class _FileRun:
    """Runs the stdlib stages of one file, turning their errors and warnings into diagnostics."""

    def __init__(self, path: str, file_id: str, data: bytes, lines: LineIndex) -> None:
        self.path = path
        self.file_id = file_id
        self.data = data
        self.lines = lines
        self.diagnostics = FileFacts()

    def parse(self, text: str) -> ast.Module | None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return ast.parse(text, filename=self.path)
            except STAGE_ERRORS as exc:
                self._error(exc, "parse")
                return None
            finally:
                self._warnings(caught, "parse")

    def symtable(self, text: str) -> symtable.SymbolTable | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the same warnings as parse: symtable re-parses
            try:
                return symtable.symtable(text, self.path, "exec")
            except STAGE_ERRORS as exc:
                self._error(exc, "symtable")
                return None

    def compile(self, tree: ast.Module) -> CodeType | None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                code: CodeType = compile(tree, self.path, "exec", dont_inherit=True, optimize=0)
                return code
            except STAGE_ERRORS as exc:
                self._error(exc, "compile")
                return None
            finally:
                self._warnings(caught, "compile")

    def _error(self, exc: BaseException, stage: str) -> None:
        exception_diagnostic(
            self.diagnostics,
            exc,
            stage=stage,
            file_id=self.file_id,
            path=self.path,
            data=self.data,
            lines=self.lines,
        )

    def _warnings(self, caught: list[warnings.WarningMessage], stage: str) -> None:
        warning_diagnostics(
            self.diagnostics,
            caught,
            stage=stage,
            file_id=self.file_id,
            path=self.path,
            lines=self.lines,
        )
