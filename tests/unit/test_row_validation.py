"""``RowValidator``: one test per rule, on hand-built rows and on real extractor output that is then
broken on purpose; and a build whose extractor breaks a contract, in process and with ``--strict``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cpg.contract_registry import contracts_from_tables, load_contracts_from_registry
from graph.extract.file_facts import extract_file
from graph.extract.filesystem import extract_repo, file_node_id
from graph.extract.module_names import ModuleNames
from graph.extract.provenance import edge_row
from graph.extract.rows import EDGE, NODE, EdgeRow, FileFacts, NodeRow, PropRow
from graph.product_build import build_graph_product
from graph.repo_layers import RepoLayerOptions
from graph.own_tables import VIOLATIONS_TABLE, ContractViolation
from graph.row_validation import RowValidator
from storage.deltalake.delta import read_raw_delta

ROOT = Path(__file__).resolve().parents[2]
REPO = "proj"
PATH = "pkg/mod.py"
FILE_ID = file_node_id(REPO, PATH)
SOURCE = '''\
"""A small module."""
import os


def helper(x):
    if x > 1:
        return os.path.join("a", str(x))
    else:
        return None


class Box:
    def run(self):
        try:
            return helper(2)
        except ValueError:
            return None
'''


@pytest.fixture(scope="module")
def validator() -> RowValidator:
    return RowValidator(contracts_from_tables())


def real_facts(source: str = SOURCE, path: str = PATH) -> FileFacts:
    modules = ModuleNames(packages=frozenset({"pkg"}))
    return extract_file(REPO, path, source.encode(), modules=modules)


def only(violations: list[ContractViolation]) -> ContractViolation:
    assert len(violations) == 1, violations
    return violations[0]


def first_index(rows: list[EdgeRow], kind: str) -> int:
    return next(i for i, row in enumerate(rows) if row.edge_kind == kind)


def node_of(facts: FileFacts, kind: str) -> NodeRow:
    return next(node for node in facts.nodes if node.node_kind == kind)


def replace_prop(facts: FileFacts, entity_id: str, key: str, prop: PropRow | None) -> None:
    """Replace (or, with None, drop) the prop ``key`` of ``entity_id``."""
    rows = facts.props
    index = next(
        i for i, row in enumerate(rows) if row.entity_id == entity_id and row.prop_key == key
    )
    if prop is None:
        del rows[index]
    else:
        rows[index] = prop
    facts.props = rows


# --------------------------------------------------------------------------- clean output


def test_real_extractor_output_has_no_violations(validator: RowValidator) -> None:
    facts = real_facts()
    kinds = {node.node_kind for node in facts.nodes}
    assert {"PY_FILE", "AST_DEF", "AST_CALL", "SYM_SCOPE", "BC_INSTR", "CFG_BLOCK"} <= kinds
    assert validator.validate(facts) == []
    broken = real_facts("def f(:\n    pass\n")  # DIAG, HAS_DIAGNOSTIC and TS rows are clean too
    assert {node.node_kind for node in broken.nodes} == {
        "PY_FILE", "PY_MODULE", "DIAG", "TS_NODE", "TS_MISSING"
    }  # fmt: skip
    assert validator.validate(broken) == []


def test_repo_rows_are_clean_given_the_file_nodes(validator: RowValidator) -> None:
    paths = ["pkg/__init__.py", PATH]
    repo = extract_repo(REPO, REPO, paths)
    files = {file_node_id(REPO, path): "PY_FILE" for path in paths}
    assert validator.validate(repo, files) == []
    # without them every REPO_CONTAINS dangles
    dangling = validator.validate(repo)
    assert {v.rule for v in dangling} == {"DANGLING_ENDPOINT"}
    assert {v.entity_id for v in dangling} == {edge.edge_id for edge in repo.edges}


def test_the_registry_on_disk_validates_like_the_in_memory_one(
    exported_registry: Path, validator: RowValidator
) -> None:
    facts = real_facts()
    facts.add_prop(PropRow(NODE, FILE_ID, "bogus", 1))
    from_disk = RowValidator(load_contracts_from_registry(exported_registry))
    assert from_disk.validate(facts) == validator.validate(facts) != []


# --------------------------------------------------------------------------- one test per rule


def test_unknown_node_kind(validator: RowValidator) -> None:
    facts = FileFacts()
    facts.add_node(NodeRow("WIDGET:1", "WIDGET", PATH, FILE_ID), {"anything": "goes"})
    violation = only(validator.validate(facts))
    assert violation == ContractViolation(
        "UNKNOWN_NODE_KIND", NODE, "WIDGET:1", "WIDGET", PATH, "node kind 'WIDGET' has no contract"
    )


def test_unknown_edge_kind(validator: RowValidator) -> None:
    facts = real_facts()
    module = node_of(facts, "PY_MODULE")
    row = edge_row("REPO_CONTAINS", FILE_ID, module.node_id, path=PATH, file_id=FILE_ID, method="x")
    bad = row._replace(edge_id="edge:bad", edge_kind="TELEPORTS_TO")
    facts.add_edge(bad)
    violation = only(validator.validate(facts))
    assert (violation.rule, violation.entity_kind, violation.entity_id, violation.kind) == (
        "UNKNOWN_EDGE_KIND",
        EDGE,
        "edge:bad",
        "TELEPORTS_TO",
    )
    assert violation.path == PATH


def test_origin_not_allowed(validator: RowValidator) -> None:
    facts = real_facts()
    i = first_index(facts.edges, "AST_PARENT_OF")
    facts.edges[i] = facts.edges[i]._replace(origin="scip")
    violation = only(validator.validate(facts))
    assert (violation.rule, violation.entity_kind, violation.entity_id, violation.kind) == (
        "ORIGIN_NOT_ALLOWED",
        EDGE,
        facts.edges[i].edge_id,
        "AST_PARENT_OF",
    )
    assert "'scip'" in violation.detail


def test_dangling_endpoint(validator: RowValidator) -> None:
    facts = real_facts()
    i = first_index(facts.edges, "SCOPE_PARENT")
    facts.edges[i] = facts.edges[i]._replace(dst_node_id="SYM_SCOPE:404")
    violation = only(validator.validate(facts))
    assert (violation.rule, violation.entity_kind, violation.entity_id, violation.kind) == (
        "DANGLING_ENDPOINT",
        EDGE,
        facts.edges[i].edge_id,
        "SCOPE_PARENT",
    )
    assert violation.detail.startswith("dst node 'SYM_SCOPE:404'")


def test_endpoint_kind_not_allowed(validator: RowValidator) -> None:
    facts = real_facts()
    i = first_index(facts.edges, "AST_PARENT_OF")
    facts.edges[i] = facts.edges[i]._replace(src_node_id=FILE_ID)  # a PY_FILE parents no AST
    violation = only(validator.validate(facts))
    assert (violation.rule, violation.entity_kind, violation.entity_id, violation.kind) == (
        "ENDPOINT_KIND_NOT_ALLOWED",
        EDGE,
        facts.edges[i].edge_id,
        "AST_PARENT_OF",
    )
    assert violation.detail.startswith(f"src node {FILE_ID!r} is a PY_FILE")


def test_endpoint_kind_is_checked_against_known_nodes(validator: RowValidator) -> None:
    repo = extract_repo(REPO, REPO, [PATH])
    violation = only(validator.validate(repo, {FILE_ID: "DIAG"}))
    assert (violation.rule, violation.entity_id, violation.kind) == (
        "ENDPOINT_KIND_NOT_ALLOWED",
        repo.edges[0].edge_id,
        "REPO_CONTAINS",
    )


def test_prop_of_unknown_entity(validator: RowValidator) -> None:
    facts = real_facts()
    facts.add_prop(PropRow(NODE, "AST_NODE:404", "ast_type", "Expr"))
    violation = only(validator.validate(facts))
    assert violation == ContractViolation(
        "PROP_OF_UNKNOWN_ENTITY",
        NODE,
        "AST_NODE:404",
        "",
        None,
        "prop 'ast_type' belongs to no emitted node",
    )


def test_prop_of_an_edge_id_used_as_a_node_is_unknown(validator: RowValidator) -> None:
    facts = real_facts()
    edge = facts.edges[0]
    facts.add_prop(PropRow(NODE, edge.edge_id, "field", "body"))  # entity_kind is wrong
    violation = only(validator.validate(facts))
    assert (violation.rule, violation.entity_kind, violation.entity_id) == (
        "PROP_OF_UNKNOWN_ENTITY",
        NODE,
        edge.edge_id,
    )


def test_missing_required_prop(validator: RowValidator) -> None:
    facts = real_facts()
    replace_prop(facts, FILE_ID, "path", None)
    violation = only(validator.validate(facts))
    assert violation == ContractViolation(
        "MISSING_REQUIRED_PROP", NODE, FILE_ID, "PY_FILE", PATH, "required prop 'path' is missing"
    )


def test_missing_required_prop_hidden_by_a_repeated_one(validator: RowValidator) -> None:
    """Counting rows per kind is not enough: one name's ``id`` twice, another's not at all."""
    facts = real_facts()
    names = [node.node_id for node in facts.nodes if node.node_kind == "AST_NAME"]
    twice = next(p for p in facts.props if p.entity_id == names[0] and p.prop_key == "id")
    replace_prop(facts, names[1], "id", None)
    facts.add_prop(twice)
    violation = only(validator.validate(facts))
    assert violation == ContractViolation(
        "MISSING_REQUIRED_PROP", NODE, names[1], "AST_NAME", PATH, "required prop 'id' is missing"
    )


def test_missing_required_prop_of_an_edge(validator: RowValidator) -> None:
    facts = real_facts()
    declares = next(edge for edge in facts.edges if edge.edge_kind == "FILE_DECLARES_MODULE")
    replace_prop(facts, declares.edge_id, "module_fqn", None)
    violation = only(validator.validate(facts))
    assert (violation.rule, violation.entity_kind, violation.entity_id, violation.kind) == (
        "MISSING_REQUIRED_PROP",
        EDGE,
        declares.edge_id,
        "FILE_DECLARES_MODULE",
    )


def test_undeclared_prop(validator: RowValidator) -> None:
    facts = real_facts()
    facts.add_prop(PropRow(NODE, FILE_ID, "bogus_prop", 1))
    violation = only(validator.validate(facts))
    assert violation == ContractViolation(
        "UNDECLARED_PROP",
        NODE,
        FILE_ID,
        "PY_FILE",
        PATH,
        "prop 'bogus_prop' is not in the contract",
    )


@pytest.mark.parametrize(
    ("key", "value", "is_json"),
    [
        ("size_bytes", "25", False),  # int prop given a str
        ("size_bytes", True, False),  # a bool is not an int here
        ("size_bytes", 25.0, False),
        ("path", 7, False),  # str prop given an int
        ("path", '"pkg/mod.py"', True),  # str prop given json
    ],
)
def test_prop_type(validator: RowValidator, key: str, value: object, is_json: bool) -> None:
    facts = real_facts()
    replace_prop(facts, FILE_ID, key, PropRow(NODE, FILE_ID, key, value, is_json))  # type: ignore[arg-type]
    violation = only(validator.validate(facts))
    assert (violation.rule, violation.entity_kind, violation.entity_id, violation.kind) == (
        "PROP_TYPE",
        NODE,
        FILE_ID,
        "PY_FILE",
    )
    assert violation.detail.startswith(f"prop {key!r} is ")


def test_json_prop_given_a_scalar_is_a_type_error(validator: RowValidator) -> None:
    facts = real_facts()
    unit = node_of(facts, "BC_CODE_UNIT")
    replace_prop(facts, unit.node_id, "flags_json", PropRow(NODE, unit.node_id, "flags_json", "x"))
    violation = only(validator.validate(facts))
    assert (violation.rule, violation.entity_id, violation.kind) == (
        "PROP_TYPE",
        unit.node_id,
        "BC_CODE_UNIT",
    )


def test_prop_enum(validator: RowValidator) -> None:
    facts = real_facts("def f(:\n")
    diag = node_of(facts, "DIAG")
    replace_prop(facts, diag.node_id, "severity", PropRow(NODE, diag.node_id, "severity", "FATAL"))
    violation = only(validator.validate(facts))
    assert violation == ContractViolation(
        "PROP_ENUM",
        NODE,
        diag.node_id,
        "DIAG",
        PATH,
        "prop 'severity' = 'FATAL' is not a value of enum severity",
    )


def test_prop_enum_of_an_ast_kind(validator: RowValidator) -> None:
    facts = real_facts()
    definition = node_of(facts, "AST_DEF")
    replace_prop(
        facts, definition.node_id, "ast_type", PropRow(NODE, definition.node_id, "ast_type", "If")
    )
    violation = only(validator.validate(facts))
    assert (violation.rule, violation.entity_id, violation.kind) == (
        "PROP_ENUM",
        definition.node_id,
        "AST_DEF",
    )


def test_every_problem_of_a_file_is_reported(validator: RowValidator) -> None:
    facts = real_facts()
    facts.add_prop(PropRow(NODE, FILE_ID, "bogus_prop", 1))
    facts.add_prop(PropRow(NODE, "AST_NODE:404", "ast_type", "Expr"))
    i = first_index(facts.edges, "AST_PARENT_OF")
    facts.edges[i] = facts.edges[i]._replace(origin="scip")
    rules = sorted(v.rule for v in validator.validate(facts))
    assert rules == ["ORIGIN_NOT_ALLOWED", "PROP_OF_UNKNOWN_ENTITY", "UNDECLARED_PROP"]


# --------------------------------------------------------------------------- in a build


def breaking(extract: Callable[..., FileFacts]) -> Callable[..., FileFacts]:
    """``extract_file`` that adds an undeclared prop to the PY_FILE of ``pkg/mod.py``."""

    def broken(repo_id: str, relpath: str, data: bytes, **kwargs: object) -> FileFacts:
        facts = extract(repo_id, relpath, data, **kwargs)
        if relpath == PATH:
            facts.add_prop(PropRow(NODE, file_node_id(repo_id, relpath), "bogus_prop", 1))
        return facts

    return broken


def make_repo(parent: Path) -> Path:
    repo = parent / REPO
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / PATH).write_text(SOURCE)
    return repo


def test_a_build_records_violations_and_keeps_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("graph.build_worker.extract_file", breaking(extract_file))
    out = tmp_path / "out"
    result = build_graph_product(
        make_repo(tmp_path), out, workers=0, layers=RepoLayerOptions(scip=False)
    )
    assert result.violations == 1
    assert result.rows[VIOLATIONS_TABLE] == 1
    assert read_raw_delta(out / VIOLATIONS_TABLE).to_pylist() == [
        {
            "rule": "UNDECLARED_PROP",
            "entity_kind": NODE,
            "entity_id": FILE_ID,
            "kind": "PY_FILE",
            "path": PATH,
            "detail": "prop 'bogus_prop' is not in the contract",
        }
    ]
    props = read_raw_delta(out / "cpg_props_v1").to_pylist()
    bogus = [row for row in props if row["prop_key"] == "bogus_prop"]
    assert [(row["entity_id"], row["value_int"]) for row in bogus] == [(FILE_ID, 1)]


DRIVER = """\
import runpy, sys
import graph.build_worker as build
from graph.extract.file_facts import extract_file
from tests.unit.test_row_validation import breaking
build.extract_file = breaking(extract_file)
sys.argv = ["graph", *sys.argv[1:]]
runpy.run_module("graph", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "lenient"])
def test_cli_strict_exits_1_on_a_violation(tmp_path: Path, strict: bool) -> None:
    """``python -m graph build`` in a subprocess whose extractor breaks a contract."""
    out = tmp_path / "out"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    args = ["build", str(make_repo(tmp_path)), "--out", str(out), "--workers", "0", "--no-scip"]
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, *args, *(["--strict"] if strict else [])],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert proc.returncode == (1 if strict else 0), proc.stderr
    assert "1 contract violations" in proc.stdout
    if strict:
        assert f"error: 1 rows break their contracts (see {out}/cpg_build_violations)" in (
            proc.stderr
        )
    assert [row["rule"] for row in read_raw_delta(out / VIOLATIONS_TABLE).to_pylist()] == [
        "UNDECLARED_PROP"
    ]
