"""The SCIP layer in real builds: calls of a fixture package against targets written down by
hand, and a build that goes on without SCIP when node is missing, scip-python times out or runs
out of heap."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from graph.extract.scip_proto import tools_dir
from graph.extract.scip_run import SCIP_PYTHON, ScipIndexFile, ScipLimits, ScipProcess
from graph.product_build import BuildResult, build_graph_product
from graph.repo_layers import RepoLayerOptions

FIXTURE = Path(__file__).parent.parent / "fixtures" / "calls_pkg"
T, S, A = "calls_pkg/text.py", "calls_pkg/store.py", "app.py"

Call = tuple[str, int, str]
"""``(path, line, callee text)`` of a call."""
Definition = tuple[str, int, str]
"""``(path, line, name)`` of the definition a call reaches."""

# Every call of the fixture, written down by hand before the build was run: the definition in
# the package it reaches, None where it reaches none (builtins, the stdlib, methods of a value
# whose type nothing declares, a parameter holding whatever the caller passed).
EXPECTED: dict[Call, Definition | None] = {
    (T, 6, "value.lower"): None,
    (T, 6, "value.lower().replace"): None,
    (T, 10, "functools.wraps"): None,
    (T, 12, "fn"): None,
    (T, 19, "slug(value).upper"): None,
    (T, 19, "slug"): (T, 5, "slug"),
    (T, 23, "osp.join"): None,  # os.path.join through an alias
    (T, 23, "slug"): (T, 5, "slug"),
    (S, 8, "self.key"): (S, 10, "key"),  # Base.key, the method of self's class
    (S, 11, "make_slug"): (T, 5, "slug"),  # an aliased import
    (S, 11, "type"): None,
    (S, 16, "make_slug"): (T, 5, "slug"),
    (S, 19, "text.path_of"): (T, 22, "path_of"),  # a module imported relatively
    (S, 23, "cls"): (S, 14, "Store"),  # the class, through the classmethod's parameter
    (S, 27, "shout"): (T, 18, "shout"),  # a decorated function
    (S, 31, "Store"): (S, 14, "Store"),
    (S, 32, "store.save"): (S, 7, "save"),  # inherited from Base
    (A, 7, "calls_pkg.open_store"): (S, 30, "open_store"),  # through the re-export
    (A, 8, "S.empty().save"): (S, 7, "save"),
    (A, 8, "S.empty"): (S, 22, "empty"),  # an aliased re-export
    (A, 9, "S.loud"): (S, 26, "loud"),  # a static method
    (A, 10, "yell"): (T, 18, "shout"),  # an aliased import of a decorated function
    (A, 11, "s.key"): (S, 18, "key"),  # Store.key: s is what open_store returns
    (A, 12, "calls_pkg.text.slug"): (T, 5, "slug"),
}

# Where SCIP's answer differs from the truth above, and why: it resolves the callee's name, so a
# parameter called as a function resolves to that parameter.
SCIP_NAMES_THE_PARAMETER: dict[Call, Definition] = {
    (T, 12, "fn"): (T, 9, "fn"),
    (S, 23, "cls"): (S, 22, "cls"),
}


@dataclass(frozen=True)
class Tables:
    nodes: pl.DataFrame
    edges: pl.DataFrame
    props: pl.DataFrame
    result: BuildResult


def _build(repo: Path, out: Path, layers: RepoLayerOptions | None = None) -> Tables:
    result = build_graph_product(repo, out, workers=1, layers=layers)
    return Tables(
        pl.read_delta(str(out / "cpg_nodes_v1")).with_columns(pl.col("node_kind").cast(pl.Utf8)),
        pl.read_delta(str(out / "cpg_edges_v1")).with_columns(pl.col("edge_kind").cast(pl.Utf8)),
        pl.read_delta(str(out / "cpg_props_v1")).with_columns(pl.col("prop_key").cast(pl.Utf8)),
        result,
    )


def _prop(tables: Tables, key: str) -> pl.DataFrame:
    return tables.props.filter(pl.col("prop_key") == key).select(
        pl.col("entity_id").alias("node_id"), pl.col("value_str").alias(key)
    )


def _line(repo: Path, path: str, offset: int) -> int:
    return (repo / path).read_bytes().count(b"\n", 0, offset) + 1


def _name(repo: Path, path: str, start: int, end: int) -> str:
    return (repo / path).read_bytes()[start:end].decode()


def _resolved_calls(tables: Tables, repo: Path) -> dict[Call, list[Definition | None]]:
    """Each call site -> the definitions its PY_CALLS_SYMBOL edges reach in the repository
    (None for a symbol defined outside it)."""
    calls = tables.nodes.filter(pl.col("node_kind") == "CST_CALLSITE").join(
        _prop(tables, "callee_text"), on="node_id"
    )
    edges = tables.edges
    called = edges.filter(pl.col("edge_kind") == "PY_CALLS_SYMBOL").select(
        pl.col("src_node_id").alias("node_id"), pl.col("dst_node_id").alias("symbol")
    )
    defined = (
        edges.filter(pl.col("edge_kind") == "PY_DEFINES_SYMBOL")
        .select(pl.col("src_node_id").alias("name_id"), pl.col("dst_node_id").alias("symbol"))
        .join(
            tables.nodes.select(
                pl.col("node_id").alias("name_id"),
                pl.col("path").alias("def_path"),
                pl.col("bstart").alias("def_start"),
                pl.col("bend").alias("def_end"),
            ),
            on="name_id",
        )
    )
    rows = calls.join(called, on="node_id", how="left").join(defined, on="symbol", how="left")
    resolved: dict[Call, list[Definition | None]] = {}
    for row in rows.iter_rows(named=True):
        call = (row["path"], _line(repo, row["path"], row["bstart"]), row["callee_text"])
        targets = resolved.setdefault(call, [])
        if row["symbol"] is None:
            continue
        if row["def_path"] is None:
            targets.append(None)
            continue
        start, end = row["def_start"], row["def_end"]
        path = row["def_path"]
        targets.append((path, _line(repo, path, start), _name(repo, path, start, end)))
    return resolved


@pytest.fixture(scope="module")
def calls_build(tmp_path_factory: pytest.TempPathFactory) -> Tables:
    return _build(FIXTURE, tmp_path_factory.mktemp("calls") / "out")


def test_every_call_reaches_the_definition_written_down_by_hand(calls_build: Tables) -> None:
    resolved = _resolved_calls(calls_build, FIXTURE)
    assert set(resolved) == set(EXPECTED), "the fixture's calls changed: update EXPECTED"
    wrong = {}
    for call, truth in EXPECTED.items():
        want = SCIP_NAMES_THE_PARAMETER.get(call, truth)
        reached = [target for target in resolved[call] if target is not None]
        if reached != ([] if want is None else [want]):
            wrong[call] = (want, resolved[call])
    assert wrong == {}


def test_only_calls_scip_leaves_unresolved_fall_back_to_qualified_names(
    calls_build: Tables,
) -> None:
    edges = calls_build.edges
    by_symbol = set(edges.filter(pl.col("edge_kind") == "PY_CALLS_SYMBOL")["src_node_id"])
    by_qname = set(edges.filter(pl.col("edge_kind") == "PY_CALLS_QNAME")["src_node_id"])
    assert by_symbol and not by_symbol & by_qname


def test_the_build_summary_names_the_scip_run(calls_build: Tables) -> None:
    (line,) = calls_build.result.layers
    assert line.startswith("scip: scip-python 0.6.6 indexed 4 files in ")
    assert calls_build.result.violations == 0


def _no_scip_build(tmp_path: Path, layers: RepoLayerOptions, code: str) -> Tables:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURE, repo)
    tables = _build(repo, tmp_path / "out", layers)
    (line,) = tables.result.layers
    assert line.startswith(f"scip: no SCIP layer ({code}): ")
    diags = tables.nodes.filter(pl.col("node_kind") == "DIAG").join(
        _prop(tables, "code"), on="node_id"
    )
    assert diags["code"].to_list() == [code]
    has = tables.edges.filter(pl.col("edge_kind") == "HAS_DIAGNOSTIC")
    repo_node = tables.nodes.filter(pl.col("node_kind") == "PY_REPO")["node_id"].item()
    assert has["src_node_id"].to_list() == [repo_node]
    kinds = set(tables.nodes["node_kind"])
    assert "SCIP_OCCURRENCE" not in kinds and {"CST_CALLSITE", "AST_CALL"} <= kinds
    assert set(tables.edges["edge_kind"]) >= {"PY_CALLS_QNAME"}
    assert tables.result.violations == 0
    return tables


def test_without_node_the_build_has_a_diag_and_the_rest_of_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    _no_scip_build(tmp_path, RepoLayerOptions(), "scip-unavailable")


def test_a_scip_timeout_is_a_diag(tmp_path: Path) -> None:
    _no_scip_build(tmp_path, RepoLayerOptions(scip_limits=ScipLimits(timeout=0.5)), "scip-timeout")


def test_a_scip_heap_too_small_is_a_diag(tmp_path: Path) -> None:
    limits = ScipLimits(heap_mib=8)
    _no_scip_build(tmp_path, RepoLayerOptions(scip_limits=limits), "scip-memory-limit")


_FATAL_AFTER_INDEXING = """\
const fs = require("fs");
const args = process.argv;
fs.copyFileSync(process.env.CPG_TEST_INDEX, args[args.indexOf("--output") + 1]);
console.log("Experienced Fatal Error While Indexing:");
console.log("Please create an issue at github.com/sourcegraph/scip-python: {");
console.log("  currentFilepath: '" + process.cwd() + "/calls_pkg/text.py',");
console.log("  error: Error: Debug Failure. False expression.");
console.log("}");
"""
"""What scip-python 0.6.6 did on the stdlib (exit code 1 after "Experienced Fatal Error" naming
the file, having written the index of the files before it), replayed: it writes a real index."""


def test_a_fatal_error_after_some_files_keeps_them_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _build(FIXTURE, tmp_path / "first")
    assert first.result.violations == 0
    run = ScipProcess.start(FIXTURE, "", ScipLimits(), tools_dir())
    assert isinstance(run, ScipProcess)
    index = run.wait()
    assert isinstance(index, ScipIndexFile)
    (tmp_path / "index.scip").write_bytes(index.data)
    tools = tmp_path / "tools"
    script = tools / SCIP_PYTHON
    script.parent.mkdir(parents=True)
    script.write_text(_FATAL_AFTER_INDEXING, encoding="utf-8")
    (tools / "node_modules" / "@c4312").symlink_to(tools_dir() / "node_modules" / "@c4312")
    monkeypatch.setenv("CPG_TEST_INDEX", str(tmp_path / "index.scip"))
    tables = _build(FIXTURE, tmp_path / "out", RepoLayerOptions(tools=tools))
    indexed, stopped = tables.result.layers
    assert indexed.startswith("scip: scip-python 0.6.6 indexed 4 files in ")
    assert stopped == (
        "scip: partial index (scip-partial): scip-python stopped with a fatal error at "
        "calls_pkg/text.py (Debug Failure. False expression.)"
    )
    diags = tables.nodes.filter(pl.col("node_kind") == "DIAG").join(
        _prop(tables, "code"), on="node_id"
    )
    assert diags["code"].to_list() == ["scip-partial"]
    assert tables.result.violations == 0
    scip_kinds = tables.nodes.filter(pl.col("node_kind").str.starts_with("SCIP_"))
    assert (
        scip_kinds.height == first.nodes.filter(pl.col("node_kind").str.starts_with("SCIP_")).height
    )
