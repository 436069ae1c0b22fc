"""``build_graph_product`` and ``python -m graph build`` end to end: real repositories under
pytest's temp dirs, real Delta tables read back with the generated readers, real subprocesses."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from cpg.registry_specs import dataset_contract
from generated.cpg_readers import (
    read_cpg_edges_v1,
    read_cpg_edges_v1_table,
    read_cpg_nodes_v1,
    read_cpg_nodes_v1_table,
    read_cpg_props_json_v1_table,
    read_cpg_props_v1_table,
)
from generated.cpg_schemas import DATASET_SCHEMAS
from graph.extract.file_facts import extract_file
from graph.extract.filesystem import extract_repo, file_node_id
from graph.extract.module_names import ModuleNames
from graph.product_build import BuildResult, build_graph_product, file_batches
from graph.repo_layers import RepoLayerOptions
from storage.deltalake.delta import latest_commit_metadata, read_raw_delta, read_table_delta
from storage.deltalake.registry_layout import all_tables, table_path
from storage.deltalake.registry_models import FINGERPRINT_KEY

ROOT = Path(__file__).resolve().parents[2]
NODES = "cpg_nodes_v1"
EDGES = "cpg_edges_v1"
PROPS = "cpg_props_v1"
PROPS_JSON = "cpg_props_json_v1"
VIOLATIONS = "cpg_build_violations"
READERS: Mapping[str, Callable[[Path], pa.Table]] = {
    NODES: read_cpg_nodes_v1_table,
    EDGES: read_cpg_edges_v1_table,
    PROPS: read_cpg_props_v1_table,
    PROPS_JSON: read_cpg_props_json_v1_table,
}
REPO_NAME = "proj"
"""Every test repo has this folder name: ``repo_id`` (and so every id) derives from it."""
NO_SCIP = RepoLayerOptions(scip=False)

MOD_SOURCE = '''\
"""A module with a function, a class, calls, an if/else and a try/except."""
import os

LABEL = "héllo wörld"


def helper(x):
    if x > 1:
        return os.path.join("a", str(x))
    else:
        return None


class Box:
    def run(self):
        try:
            t = "ü€"; value = helper(len(t + LABEL))
        except ValueError:
            value = None
        return value
'''
SMALL_FILES: dict[str, str | bytes] = {
    "pkg/__init__.py": '"""The package."""\n',
    "pkg/mod.py": MOD_SOURCE,
    "README.md": "not python\n",
}

Rows = dict[str, list[dict[str, object]]]


# --------------------------------------------------------------------------- helpers


def make_repo(parent: Path, files: Mapping[str, str | bytes], name: str = REPO_NAME) -> Path:
    """A repository folder ``parent/name`` holding ``files`` (relative path -> content)."""
    repo = parent / name
    repo.mkdir(parents=True)
    for relpath, content in files.items():
        target = repo / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return repo


def build(repo: Path, out: Path, **kwargs: object) -> BuildResult:
    """An in-process build (extraction in this process) unless ``workers`` says otherwise, with
    no SCIP layer unless ``layers`` asks for it (``test_scip_build`` covers it; the CLI tests
    below run it)."""
    kwargs.setdefault("workers", 0)
    kwargs.setdefault("layers", NO_SCIP)
    return build_graph_product(repo, out, **kwargs)  # type: ignore[arg-type]


def read_rows(out: Path) -> Rows:
    """The four datasets of a build, read with the generated readers (canonical order)."""
    return {name: reader(out / name).to_pylist() for name, reader in READERS.items()}


def read_violations(out: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = read_raw_delta(out / VIOLATIONS).to_pylist()
    return rows


def props_of(rows: Rows) -> dict[str, dict[str, object]]:
    """entity id -> {prop key: value}, over both prop lanes."""
    props: dict[str, dict[str, object]] = {}
    for row in [*rows[PROPS], *rows[PROPS_JSON]]:
        value = next(
            (
                row[lane]
                for lane in ("value_str", "value_int", "value_float", "value_bool")
                if row[lane] is not None
            ),
            row["value_json"],
        )
        props.setdefault(str(row["entity_id"]), {})[str(row["prop_key"])] = value
    return props


def file_rows(rows: Rows, path: str) -> Rows:
    """The rows one file contributed: its nodes and edges, and the props of those."""
    nodes = [row for row in rows[NODES] if row["path"] == path]
    edges = [row for row in rows[EDGES] if row["path"] == path]
    ids = {row["node_id"] for row in nodes} | {row["edge_id"] for row in edges}
    return {
        NODES: nodes,
        EDGES: edges,
        PROPS: [row for row in rows[PROPS] if row["entity_id"] in ids],
        PROPS_JSON: [row for row in rows[PROPS_JSON] if row["entity_id"] in ids],
    }


def as_multiset(rows: Rows) -> dict[str, Counter[tuple[tuple[str, object], ...]]]:
    return {
        name: Counter(tuple(sorted(row.items())) for row in part) for name, part in rows.items()
    }


def assert_closed(rows: Rows) -> None:
    """Every edge endpoint is an emitted node; every prop belongs to an emitted node or edge."""
    node_ids = {row["node_id"] for row in rows[NODES]}
    edge_ids = {row["edge_id"] for row in rows[EDGES]}
    dangling = [
        (row["edge_kind"], side, row[f"{side}_node_id"])
        for row in rows[EDGES]
        for side in ("src", "dst")
        if row[f"{side}_node_id"] not in node_ids
    ]
    assert dangling == []
    entities = {"node": node_ids, "edge": edge_ids}
    orphans = [
        (row["entity_kind"], row["entity_id"], row["prop_key"])
        for row in [*rows[PROPS], *rows[PROPS_JSON]]
        if row["entity_id"] not in entities[str(row["entity_kind"])]
    ]
    assert orphans == []


def diagnostics_of(rows: Rows, path: str) -> list[dict[str, object]]:
    """The DIAG nodes of ``path`` that its PY_FILE links with HAS_DIAGNOSTIC, with their props."""
    file_id = next(
        row["node_id"]
        for row in rows[NODES]
        if row["node_kind"] == "PY_FILE" and row["path"] == path
    )
    linked = {
        row["dst_node_id"]
        for row in rows[EDGES]
        if row["edge_kind"] == "HAS_DIAGNOSTIC" and row["src_node_id"] == file_id
    }
    diags = [row for row in rows[NODES] if row["node_kind"] == "DIAG" and row["path"] == path]
    assert {row["node_id"] for row in diags} == linked
    props = props_of(rows)
    return [{**row, **props[str(row["node_id"])]} for row in diags]


def run_cli(*args: object, module: str = "graph") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=180,
        check=False,
    )


def tree_snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


# --------------------------------------------------------------------------- the small repo


@dataclass(frozen=True)
class SmallBuild:
    repo: Path
    out: Path
    result: BuildResult
    rows: Rows


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> SmallBuild:
    """The small repo, built once in-process with one worker; do not modify."""
    base = tmp_path_factory.mktemp("small")
    repo = make_repo(base, SMALL_FILES)
    out = base / "out"
    result = build(repo, out)
    return SmallBuild(repo, out, result, read_rows(out))


def test_small_repo_has_every_expected_kind(small: SmallBuild) -> None:
    node_kinds = Counter(row.node_kind for row in read_cpg_nodes_v1(small.out / NODES))
    edge_kinds = Counter(row.edge_kind for row in read_cpg_edges_v1(small.out / EDGES))
    expected_nodes = {
        "PY_REPO", "PY_FILE", "PY_PACKAGE", "PY_MODULE",
        "AST_NODE", "AST_DEF", "AST_CALL", "AST_NAME", "AST_ATTRIBUTE",
        "SYM_SCOPE", "SYM_SYMBOL", "BC_CODE_UNIT", "BC_INSTR", "CFG_BLOCK", "CFG_EXIT",
        "TS_NODE",
        "CST_NODE", "CST_DEF", "CST_CALLSITE", "CST_NAME_REF", "CST_DOCSTRING", "CST_LITERAL",
        "PY_SCOPE", "PY_BINDING", "PY_DEF_SITE", "PY_USE_SITE", "PY_QUALIFIED_NAME",
    }  # fmt: skip
    expected_edges = {
        "REPO_CONTAINS", "FILE_DECLARES_MODULE", "AST_PARENT_OF", "SCOPE_PARENT",
        "CFG_NEXT", "CFG_JUMP", "CFG_BRANCH_TRUE", "CFG_BRANCH_FALSE", "CFG_EXC",
        "TS_PARENT_OF", "FILE_CONTAINS",
        "CST_PARENT_OF", "CALLSITE_CANDIDATE_QNAME", "SCOPE_BINDS", "DEF_SITE_OF", "USE_SITE_OF",
    }  # fmt: skip
    assert expected_nodes <= set(node_kinds), expected_nodes - set(node_kinds)
    assert expected_edges <= set(edge_kinds), expected_edges - set(edge_kinds)
    assert (node_kinds["PY_REPO"], node_kinds["PY_FILE"], node_kinds["PY_PACKAGE"]) == (1, 2, 1)
    assert node_kinds["PY_MODULE"] == 2
    assert node_kinds["AST_DEF"] == 3  # helper, Box, Box.run
    assert edge_kinds["REPO_CONTAINS"] == 2  # README.md is not listed
    assert "DIAG" not in node_kinds
    assert "HAS_DIAGNOSTIC" not in edge_kinds


def test_small_repo_build_is_clean_and_counted(small: SmallBuild) -> None:
    result = small.result
    assert result.output_dir == small.out
    assert (result.files, result.violations, result.diagnostics) == (2, 0, 0)
    assert read_violations(small.out) == []
    for name, rows in small.rows.items():
        assert result.rows[name] == len(rows), name
    assert result.rows[VIOLATIONS] == 0
    props = props_of(small.rows)
    modules = {
        props[str(row["node_id"])]["module_fqn"]
        for row in small.rows[NODES]
        if row["node_kind"] == "PY_MODULE"
    }
    assert modules == {"pkg", "pkg.mod"}
    repo_node = next(row for row in small.rows[NODES] if row["node_kind"] == "PY_REPO")
    assert props[str(repo_node["node_id"])] == {"repo_root": REPO_NAME, "repo_id": REPO_NAME}


def test_every_edge_endpoint_and_prop_entity_exists(small: SmallBuild) -> None:
    assert small.rows[EDGES]
    assert_closed(small.rows)


def test_node_spans_slice_the_file_bytes(small: SmallBuild) -> None:
    data = (small.repo / "pkg/mod.py").read_bytes()
    text = data.decode("utf-8")
    nodes = [row for row in read_cpg_nodes_v1(small.out / NODES) if row.path == "pkg/mod.py"]

    def slices(kind: str) -> Counter[str]:
        return Counter(
            data[row.bstart : row.bend].decode("utf-8")
            for row in nodes
            if row.node_kind == kind and row.bstart is not None and row.bend is not None
        )

    tree = ast.parse(text)

    def expected(*types: type[ast.AST]) -> Counter[str | None]:
        return Counter(
            ast.get_source_segment(text, node) for node in ast.walk(tree) if isinstance(node, types)
        )

    assert slices("AST_CALL") == expected(ast.Call)
    assert slices("AST_DEF") == expected(ast.FunctionDef, ast.ClassDef)
    assert slices("AST_NAME") == expected(ast.Name)
    assert slices("AST_ATTRIBUTE") == expected(ast.Attribute)
    assert slices("CST_CALLSITE") == expected(ast.Call)
    assert slices("CST_DEF") == expected(ast.FunctionDef, ast.ClassDef)
    assert slices("CST_ATTRIBUTE_ACCESS") == expected(ast.Attribute)
    # a few by hand, after multi-byte characters on the same line
    calls = slices("AST_CALL")
    assert calls["helper(len(t + LABEL))"] == calls["len(t + LABEL)"] == 1
    assert calls['os.path.join("a", str(x))'] == 1
    assert slices("AST_NAME")["LABEL"] == 2  # the assignment and the use
    helper = [s for s in slices("AST_DEF") if s.startswith("def helper(x):")]
    assert len(helper) == 1
    assert helper[0].endswith("return None")
    file_row = next(row for row in nodes if row.node_kind == "PY_FILE")
    assert (file_row.bstart, file_row.bend) == (0, len(data))
    whole = [row for row in nodes if (row.bstart, row.bend) == (0, len(data))]
    # the file and its module, as ast, LibCST and tree-sitter see it
    assert sorted(row.node_kind for row in whole) == ["AST_NODE", "CST_NODE", "PY_FILE", "TS_NODE"]
    assert {row.file_id for row in nodes} == {file_row.node_id}


def test_tables_have_the_registry_schemas(small: SmallBuild) -> None:
    for name, reader in READERS.items():
        schema = reader(small.out / name).schema
        assert schema.equals(DATASET_SCHEMAS[name], check_metadata=True), name


def test_rows_follow_the_registry_dedupe_contract(small: SmallBuild) -> None:
    for name, rows in small.rows.items():
        contract = dataset_contract(name, registry=small.out)
        keys = Counter(tuple(row[key] for key in contract.dedupe_keys) for row in rows)
        duplicates = [key for key, count in keys.items() if count > 1]
        assert contract.dedupe_keys, name
        assert duplicates == [], name
    node_keys = Counter((row["node_kind"], row["node_id"]) for row in small.rows[NODES])
    assert max(node_keys.values()) == 1
    assert len({row["node_id"] for row in small.rows[NODES]}) == len(small.rows[NODES])
    assert len({row["edge_id"] for row in small.rows[EDGES]}) == len(small.rows[EDGES])
    one_value = Counter(
        (row["entity_kind"], row["entity_id"], row["prop_key"])
        for row in [*small.rows[PROPS], *small.rows[PROPS_JSON]]
    )
    assert max(one_value.values()) == 1


def test_the_dedupe_drops_nothing_the_extractor_emitted(small: SmallBuild) -> None:
    """Keeping the first of duplicates must never be what hides a row: there are none."""
    paths = ("pkg/__init__.py", "pkg/mod.py")
    repo_facts = extract_repo(REPO_NAME, REPO_NAME, paths)  # PY_PACKAGE, REPO_CONTAINS
    for path in paths:
        data = (small.repo / path).read_bytes()
        modules = ModuleNames(packages=frozenset({"pkg"}))
        facts = extract_file(REPO_NAME, path, data, modules=modules)
        ids = {n.node_id for n in repo_facts.nodes if n.path == path}
        ids |= {e.edge_id for e in repo_facts.edges if e.path == path}
        facts.nodes.extend(n for n in repo_facts.nodes if n.node_id in ids)
        facts.edges.extend(e for e in repo_facts.edges if e.edge_id in ids)
        for prop in repo_facts.props:
            if prop.entity_id in ids:
                facts.add_prop(prop)
        mine = file_rows(small.rows, path)
        ruled = {e["edge_id"] for e in mine[EDGES] if e["rule_name"] is not None}  # the engine's
        extracted = [e for e in mine[EDGES] if e["edge_id"] not in ruled]
        props = [p for p in (*mine[PROPS], *mine[PROPS_JSON]) if p["entity_id"] not in ruled]
        assert len(mine[NODES]) == len(facts.nodes) == len({n.node_id for n in facts.nodes})
        assert len(extracted) == len(facts.edges) == len({e.edge_id for e in facts.edges})
        assert len(props) == len(facts.props)


def test_ids_and_rows_are_stable_across_builds_workers_and_checkouts(
    small: SmallBuild, tmp_path: Path
) -> None:
    again = build(small.repo, tmp_path / "again")
    moved = shutil.copytree(small.repo, tmp_path / "elsewhere" / REPO_NAME)
    parallel = build(moved, tmp_path / "parallel", workers=2, batch_files=1)
    assert again.rows == parallel.rows == small.result.rows
    first = small.rows
    for out in (tmp_path / "again", tmp_path / "parallel"):
        rows = read_rows(out)
        assert {r["node_id"] for r in rows[NODES]} == {r["node_id"] for r in first[NODES]}
        assert {r["edge_id"] for r in rows[EDGES]} == {r["edge_id"] for r in first[EDGES]}
        for name in (PROPS, PROPS_JSON):
            ids = {(r["entity_id"], r["prop_key"]) for r in rows[name]}
            assert ids == {(r["entity_id"], r["prop_key"]) for r in first[name]}
        assert rows == first


def test_many_files_in_two_workers_and_small_batches_match_one_worker(tmp_path: Path) -> None:
    files = {f"pkg/m{i}.py": f"def f{i}(x):\n    return x + {i}\n" for i in range(12)}
    files["pkg/__init__.py"] = ""
    repo = make_repo(tmp_path, files)
    done: list[int] = []
    started: list[int] = []
    one = build(repo, tmp_path / "one")
    two = build(
        repo, tmp_path / "two", workers=2, batch_files=5, on_file=done.append,
        on_start=started.append,
    )  # fmt: skip
    assert started == [13]
    assert sum(done) == 13
    assert one.rows == two.rows
    assert read_rows(tmp_path / "one") == read_rows(tmp_path / "two")
    assert_closed(read_rows(tmp_path / "two"))


# --------------------------------------------------------------------------- bad input

GOOD_FILES: dict[str, str | bytes] = {
    "good1.py": "def good(a, b):\n    return a if a > b else b\n",
    "sub/good2.py": "class G:\n    xs = [i * 2 for i in range(3)]\n",
}
BAD_FILES: dict[str, str | bytes] = {
    "syntax.py": "def f(:\n    pass\n",
    "undecodable.py": b"\xff\xfe\x00bad",
    "x.py": bytes(range(256)) * 4,
    "empty.py": b"",
}


def test_bad_files_get_a_diag_and_lose_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "mixed", {**GOOD_FILES, **BAD_FILES})
    (repo / "a").symlink_to(".")  # a -> . : a directory loop
    (repo / "d1").mkdir()
    (repo / "d2").mkdir()
    (repo / "d1" / "link").symlink_to("../d2")  # d1/link <-> d2/link
    (repo / "d2" / "link").symlink_to("../d1")
    (repo / "self.py").symlink_to("self.py")  # a file symlink to itself
    result = build(repo, tmp_path / "out")
    rows = read_rows(tmp_path / "out")

    files = {row["path"] for row in rows[NODES] if row["node_kind"] == "PY_FILE"}
    assert files == {*GOOD_FILES, *BAD_FILES, "self.py"}  # nothing twice through the loops
    assert result.files == len(files)
    assert result.violations == 0
    assert read_violations(tmp_path / "out") == []
    assert_closed(rows)

    expected = {
        "syntax.py": [("libcst", "ParserSyntaxError"), ("py_ast", "SyntaxError")],
        "undecodable.py": [("pipeline", "SyntaxError")],  # detect_encoding rejects the bytes
        "x.py": [("pipeline", "UnicodeDecodeError")],  # line 1 is no cookie: decoded as UTF-8
        "self.py": [("pipeline", "read-error:OSError")],
    }
    total = 0
    for path, found in expected.items():
        diags = diagnostics_of(rows, path)
        total += len(diags)
        assert sorted((d["diag_source"], d["code"], d["severity"]) for d in diags) == [
            (source, code, "ERROR") for source, code in found
        ], path
        assert all(d["message"] for d in diags)
    spans = {
        path: (d["bstart"], d["bend"])
        for path in expected
        for d in diagnostics_of(rows, path)
        if d["diag_source"] != "libcst"
    }
    assert spans["x.py"] == (128, 129)  # the first byte that is not UTF-8
    assert spans["undecodable.py"] == (0, 1)
    assert spans["self.py"] == (0, 0)
    assert "Too many levels of symbolic links" in str(diagnostics_of(rows, "self.py")[0]["message"])
    assert result.diagnostics == total
    assert diagnostics_of(rows, "empty.py") == []
    empty_kinds = {row["node_kind"] for row in file_rows(rows, "empty.py")[NODES]}
    assert {"PY_FILE", "PY_MODULE", "AST_NODE", "SYM_SCOPE", "BC_CODE_UNIT"} <= empty_kinds
    # a file that fails to parse keeps PY_FILE, PY_MODULE, its DIAG and the tree-sitter rows,
    # whose MISSING node marks the absent ')'
    syntax_kinds = {row["node_kind"] for row in file_rows(rows, "syntax.py")[NODES]}
    assert syntax_kinds == {"PY_FILE", "PY_MODULE", "DIAG", "TS_NODE", "TS_MISSING"}

    alone_repo = make_repo(tmp_path / "alone", GOOD_FILES)
    build(alone_repo, tmp_path / "alone_out")
    alone = read_rows(tmp_path / "alone_out")
    for path in GOOD_FILES:
        mine, theirs = file_rows(rows, path), file_rows(alone, path)
        assert as_multiset(mine) == as_multiset(theirs), path
        ast_nodes = [row for row in mine[NODES] if str(row["node_kind"]).startswith("AST_")]
        assert len(ast_nodes) > 5
        assert diagnostics_of(rows, path) == []


def test_a_file_that_disappears_mid_scan_gets_a_read_error(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "a.py": "def a():\n    return 1\n",
        "b.py": "def b():\n    return 2\n",
        "c.py": "import a\nprint(a.a())\n",
    }
    baseline_repo = make_repo(tmp_path / "baseline", files)
    build(baseline_repo, tmp_path / "baseline_out")
    baseline = read_rows(tmp_path / "baseline_out")

    repo = make_repo(tmp_path / "vanish", files)
    totals: list[int] = []

    def delete_b(total: int) -> None:
        totals.append(total)
        (repo / "b.py").unlink()

    result = build(repo, tmp_path / "out", on_start=delete_b)
    rows = read_rows(tmp_path / "out")
    assert totals == [3]
    assert result.files == 3
    assert result.violations == 0
    assert_closed(rows)
    diags = diagnostics_of(rows, "b.py")
    assert [(d["code"], d["severity"], d["diag_source"]) for d in diags] == [
        ("read-error:FileNotFoundError", "ERROR", "pipeline")
    ]
    assert result.diagnostics == 1
    b_kinds = {row["node_kind"] for row in file_rows(rows, "b.py")[NODES]}
    assert {"PY_FILE", "PY_MODULE", "DIAG"} <= b_kinds
    for path in ("a.py", "c.py"):
        assert as_multiset(file_rows(rows, path)) == as_multiset(file_rows(baseline, path))


def test_an_unreadable_file_gets_no_invented_content(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a.py": "x = 1\n", "b.py": "def b():\n    return 2\n"})
    result = build(repo, tmp_path / "out", on_start=lambda _: (repo / "b.py").unlink())
    assert result.diagnostics == 1
    rows = read_rows(tmp_path / "out")
    b_rows = file_rows(rows, "b.py")
    kinds = {row["node_kind"] for row in b_rows[NODES]}
    assert kinds == {"PY_FILE", "PY_MODULE", "DIAG"}
    file_props = props_of(rows)[file_node_id(REPO_NAME, "b.py")]
    assert "size_bytes" not in file_props
    assert "file_sha256" not in file_props


def test_empty_repository_writes_the_datasets_and_the_registry(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"README.md": "no python here\n", "data/x.txt": "1\n"})
    out = tmp_path / "out"
    result = build(repo, out)
    assert (result.files, result.violations, result.diagnostics) == (0, 0, 0)
    rows = read_rows(out)
    assert [row["node_kind"] for row in rows[NODES]] == ["PY_REPO"]
    assert rows[EDGES] == []
    assert {row["prop_key"] for row in rows[PROPS]} == {"repo_root", "repo_id"}
    assert rows[PROPS_JSON] == []
    assert read_violations(out) == []
    assert result.rows == {NODES: 1, EDGES: 0, PROPS: 2, PROPS_JSON: 0, VIOLATIONS: 0}
    for name, reader in READERS.items():
        assert reader(out / name).schema.equals(DATASET_SCHEMAS[name], check_metadata=True)
    for target, spec in all_tables():
        assert read_table_delta(table_path(out / "registry", target, spec.name)).num_rows >= 0


# --------------------------------------------------------------------------- errors


def test_missing_repository_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("build", tmp_path / "nope", "--out", out)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert "nope" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("under_file", [True, False], ids=["under-a-file", "is-a-file"])
def test_unwritable_output_exits_2(tmp_path: Path, small: SmallBuild, under_file: bool) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("keep me\n")
    out = blocker / "out" if under_file else blocker
    proc = run_cli("build", small.repo, "--out", out, "--workers", "1")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: output directory")
    assert "not writable" in lines[0]
    assert blocker.read_text() == "keep me\n"
    assert tree_snapshot(tmp_path) == {"file.txt"}


def test_output_blocked_below_the_probe_exits_2(tmp_path: Path, small: SmallBuild) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "registry").write_text("in the way\n")
    proc = run_cli("build", small.repo, "--out", out, "--workers", "1", "-q")
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr


def test_non_utf8_file_name_does_not_abort_the_build(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"ok.py": "x = 1\n"})
    Path(os.fsdecode(os.fsencode(repo) + b"/bad\xffname.py")).write_bytes(b"y = 2\n")
    result = build(repo, tmp_path / "out")
    assert result.files == 2
    rows = read_rows(tmp_path / "out")
    assert "ok.py" in {row["path"] for row in rows[NODES] if row["node_kind"] == "PY_FILE"}


# --------------------------------------------------------------------------- registry parity


def test_pipeline_registry_equals_the_generator_export(small: SmallBuild, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    proc = run_cli(
        "--registry", registry, "--output", tmp_path / "generated", "-q", module="generator"
    )
    assert proc.returncode == 0, proc.stderr
    ours_root = small.out / "registry"
    expected = {f"{target}/{spec.name}" for target, spec in all_tables()}
    assert {f"{p.parent.name}/{p.name}" for p in ours_root.glob("*/*")} == expected
    for target, spec in all_tables():
        ours = read_table_delta(table_path(ours_root, target, spec.name))
        theirs = read_table_delta(table_path(registry, target, spec.name))
        assert ours.schema.equals(theirs.schema, check_metadata=True), spec.name
        assert ours.equals(theirs), spec.name
        our_commit = latest_commit_metadata(table_path(ours_root, target, spec.name))
        their_commit = latest_commit_metadata(table_path(registry, target, spec.name))
        assert our_commit is not None and their_commit is not None
        assert our_commit[FINGERPRINT_KEY] == their_commit[FINGERPRINT_KEY], spec.name


# --------------------------------------------------------------------------- CLI


def test_cli_prints_progress_and_a_summary(small: SmallBuild, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("build", small.repo, "--out", out, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    assert "files/s" in proc.stderr
    assert "2/2 files" in proc.stderr
    assert "built 2 files" in proc.stdout
    assert "0 contract violations" in proc.stdout
    assert "\nscip: scip-python 0.6.6 indexed 2 files in " in proc.stdout
    without_scip = run_cli("build", small.repo, "--out", out, "--workers", "2", "--no-scip")
    assert "scip:" not in without_scip.stdout
    assert read_rows(out) == small.rows  # the in-process build has no SCIP layer either


def test_cli_quiet_and_strict_on_a_clean_repo(small: SmallBuild, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("build", small.repo, "--out", out, "--workers", "1", "-q", "--strict")
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout, proc.stderr) == ("", "")
    kinds = {row["node_kind"] for row in read_rows(out)[NODES]}  # exit 0 with --strict: clean
    assert "SCIP_OCCURRENCE" in kinds and "DIAG" not in kinds


def test_cli_exclude_skips_directories(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path,
        {"keep.py": "x = 1\n", "vendor/skip.py": "y = 2\n", "deep/vendor/skip2.py": "z = 3\n"},
    )
    out = tmp_path / "out"
    proc = run_cli("build", repo, "--out", out, "--workers", "1", "-q", "--exclude", "vendor")
    assert proc.returncode == 0, proc.stderr
    files = {row["path"] for row in read_rows(out)[NODES] if row["node_kind"] == "PY_FILE"}
    assert files == {"keep.py"}


def test_file_ids_are_the_documented_recipe(small: SmallBuild) -> None:
    files = {
        row["path"]: row["node_id"] for row in small.rows[NODES] if row["node_kind"] == "PY_FILE"
    }
    assert files == {
        path: file_node_id(REPO_NAME, path) for path in ("pkg/__init__.py", "pkg/mod.py")
    }


def test_batches_are_capped_by_files_and_by_source_bytes(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {f"m{i}.py": "x = 1\n" * (i + 1) for i in range(6)}
    repo = make_repo(tmp_path, files)
    relpaths = sorted(files)
    sizes = {path: len(text) for path, text in files.items()}
    by_files = file_batches(repo, relpaths, max_files=4, max_bytes=1 << 20)
    assert [len(batch) for batch in by_files] == [4, 2]
    by_bytes = file_batches(repo, relpaths, max_files=99, max_bytes=sizes["m0.py"] + sizes["m1.py"])
    assert [list(batch) for batch in by_bytes] == [["m0.py", "m1.py"], *[[p] for p in relpaths[2:]]]
    assert [p for batch in by_bytes for p in batch] == relpaths  # nothing lost, order kept
