"""Every example of docs/cookbook.md, run on the click fixture build and checked against an oracle
of its own: ``ast``, ``symtable``, ``dis`` and LibCST's FullyQualifiedNameProvider read click's
source directly, never the graph.

The examples are the fenced python blocks after ``<!-- cookbook: NAME -->`` markers; each runs
in a fresh namespace holding only ``OUT``. A block without an oracle here fails the suite.
"""

from __future__ import annotations

import ast
import dis
import functools
import itertools
import json
import re
import symtable
import types
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libcst as cst
import pyarrow as pa
import pytest
from libcst.metadata import (
    ByteSpanPositionProvider,
    FullyQualifiedNameProvider,
    MetadataWrapper,
    ParentNodeProvider,
)
from libcst.metadata.name_provider import ModuleNameAndPackage

from generated.cpg_contracts import AstCallType
from generated.cpg_views import AstCallNode
from tests.conftest import BROKEN_FILE
from tests.generator_support import PROJECT_ROOT

COOKBOOK = PROJECT_ROOT / "docs" / "cookbook.md"
_BLOCK = re.compile(r"<!-- cookbook: ([a-z-]+) -->\n```python\n(.*?)```", re.DOTALL)
ECHO = "click.utils.echo"


def examples() -> dict[str, str]:
    """Example name -> code, in the order of the cookbook."""
    found: dict[str, str] = {}
    for name, code in _BLOCK.findall(COOKBOOK.read_text(encoding="utf-8")):
        assert name not in found, f"two cookbook examples are named {name}"
        found[name] = code
    return found


def run_example(name: str, out: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"OUT": out}
    exec(compile(examples()[name], f"cookbook:{name}", "exec"), namespace)
    return namespace


def _repo(out: Path) -> Path:
    return Path(json.loads((out / "_build.json").read_text())["repo"])


def _sources(out: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(_repo(out).glob("*.py")):
        yield path.name, path.read_text(encoding="utf-8")


def _calls(source: str) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]


@functools.cache
def _echo_calls(out: Path) -> set[tuple[str, int, int, str | None]]:
    """(path, start, end, enclosing def name) of each call LibCST resolves to click.utils.echo."""
    found = set()
    for name, source in _sources(out):
        if name == BROKEN_FILE:
            continue
        module = "click" if name == "__init__.py" else f"click.{name[:-3]}"
        wrapper = MetadataWrapper(
            cst.parse_module(source),
            cache={FullyQualifiedNameProvider: ModuleNameAndPackage(module, "click")},
        )
        names = wrapper.resolve(FullyQualifiedNameProvider)
        spans = wrapper.resolve(ByteSpanPositionProvider)
        parents = wrapper.resolve(ParentNodeProvider)
        for node, qualified in names.items():
            if isinstance(node, cst.Call) and ECHO in {q.name for q in qualified}:
                span = spans[node]
                found.add((name, span.start, span.start + span.length, _enclosing(node, parents)))
    return found


def _enclosing(node: cst.CSTNode, parents: Any) -> str | None:
    while node in parents:
        node = parents[node]
        if isinstance(node, cst.FunctionDef | cst.ClassDef):
            return node.name.value
        if isinstance(node, cst.Lambda):
            return "<lambda>"
    return None


def _nodes_by_kind(result: dict[str, Any], out: Path) -> None:
    core = dict(_sources(out))["core.py"]
    assert result["calls"].num_rows == len(_calls(core))
    first = result["first"]
    assert isinstance(first, AstCallNode)
    assert first.ast_type is AstCallType.CALL
    assert first.lineno == min(call.lineno for call in _calls(core))


def _call_sites(result: dict[str, Any], out: Path) -> None:
    table: pa.Table = result["echo_calls"]
    found = {(r["path"], r["bstart"], r["bend"]) for r in table.to_pylist()}
    assert found == {call[:3] for call in _echo_calls(out)}
    assert len(found) > 10


def _callers(result: dict[str, Any], out: Path) -> None:
    rows = result["callers"].to_pylist()
    found = Counter((r["path"], r["bstart"], r["bend"], r["name"]) for r in rows)
    expected = _echo_calls(out)
    assert found == Counter(expected)
    assert {name for *_, name in expected} >= {"secho", "show_help"}


def _code_object(source: str, name: str, qualname: str) -> types.CodeType:
    pending = [compile(source, name, "exec")]
    while pending:
        code = pending.pop()
        if code.co_qualname == qualname:
            return code
        pending += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    raise AssertionError(f"no code object {qualname} in {name}")


def _cfg(result: dict[str, Any], out: Path) -> None:
    code = _code_object(dict(_sources(out))["utils.py"], "utils.py", "echo")
    blocks = sorted((b["start_off"], b["end_off"]) for b in result["blocks"].to_pylist())
    # The blocks tile the code object's bytecode exactly...
    assert blocks[0][0] == 0 and blocks[-1][1] == len(code.co_code)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(blocks))
    # ...and every jump target and exception handler starts one.
    starts = {start for start, _ in blocks}
    targets = {i.offset for i in dis.get_instructions(code) if i.is_jump_target}
    targets |= {entry.target for entry in dis.Bytecode(code).exception_entries}
    assert targets <= starts
    ids = {b["node_id"] for b in result["blocks"].to_pylist()}
    flow = result["flow"].to_pylist()
    assert flow and all(edge["src_node_id"] in ids for edge in flow)
    assert {edge["edge_kind"] for edge in flow} >= {"CFG_NEXT", "CFG_BRANCH_TRUE", "CFG_JUMP"}


def _scope_symbols(result: dict[str, Any], out: Path) -> None:
    table = symtable.symtable(dict(_sources(out))["utils.py"], "utils.py", "exec")
    (echo,) = [child for child in table.get_children() if child.get_name() == "echo"]
    bindings = result["bindings"].to_pylist()
    assert sorted(b["name"] for b in bindings) == sorted(echo.get_identifiers())
    params = {b["name"] for b in bindings if b["binding_kind"] == "param"}
    assert params == set(echo.get_parameters())


def _violations_and_diagnostics(result: dict[str, Any], out: Path) -> None:
    record = json.loads((out / "_build.json").read_text())
    assert result["violations"].num_rows == record["rows"]["cpg_build_violations"]
    failing = set()
    for name, source in _sources(out):
        try:
            compile(source, name, "exec")
        except SyntaxError:
            failing.add(name)
    diagnostics = result["diagnostics"].to_pylist()
    assert failing == {BROKEN_FILE}
    assert {d["path"] for d in diagnostics} == failing
    assert all(d["severity"] == "ERROR" for d in diagnostics)


def _callee(call: ast.Call) -> str | None:
    parts = []
    node = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _polars_duckdb(result: dict[str, Any], out: Path) -> None:
    per_file = {name: len(_calls(source)) for name, source in _sources(out) if name != BROKEN_FILE}
    assert dict(result["per_file"]) == {name: n for name, n in per_file.items() if n}
    callees = Counter(
        _callee(call) for _, source in _sources(out) if _ != BROKEN_FILE for call in _calls(source)
    )
    top = result["top_callees"].to_dicts()
    assert len(top) == 5
    fifth = sorted(callees.values(), reverse=True)[4]
    assert all(callees[row["callee_dotted"]] == row["calls"] >= fifth for row in top)


def _datasets(result: dict[str, Any], out: Path) -> None:
    counts = dict(zip(*result["kinds_in_file"].to_pydict().values(), strict=True))
    tree = ast.parse(dict(_sources(out))["termui.py"])
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    assert counts["AST_CALL"] == sum(isinstance(n, ast.Call) for n in ast.walk(tree))
    assert counts["AST_DEF"] == sum(isinstance(n, defs) for n in ast.walk(tree))


ORACLES: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "nodes-by-kind": _nodes_by_kind,
    "call-sites": _call_sites,
    "callers": _callers,
    "cfg": _cfg,
    "scope-symbols": _scope_symbols,
    "violations-and-diagnostics": _violations_and_diagnostics,
    "polars-duckdb": _polars_duckdb,
    "datasets": _datasets,
}


def test_every_example_has_an_oracle() -> None:
    assert list(examples()) == list(ORACLES)


@pytest.mark.parametrize("name", list(ORACLES))
def test_cookbook_example(name: str, click_build: Path) -> None:
    ORACLES[name](run_example(name, click_build), click_build)
