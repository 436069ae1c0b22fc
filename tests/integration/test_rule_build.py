"""The rule engine inside real builds: HAS_DIAGNOSTIC from ``diagnostic_edges`` through
``python -m graph build``; a rule added to a test spec set changes the built edges with no other
code change; a registry whose rule was swapped for a hostile one (its fingerprint forged, as a
shared store could) stops the build with exit 2 before anything runs."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cpg.spec_set import canonical_spec_set
from relspec.rules.model import PolicyOverrides
from relspec.rules.spec_tables import rule_definitions_table
from storage.deltalake.delta import latest_commit_metadata, read_raw_delta, write_table_delta
from storage.deltalake.registry_layout import registry_root, table_path
from storage.deltalake.registry_models import FINGERPRINT_KEY, table_fingerprint
from storage.deltalake.registry_runner import run_registry_exports
from tests.integration.test_graph_build import (
    EDGES,
    NODES,
    ROOT,
    build,
    make_repo,
    props_of,
    read_rows,
    run_cli,
)

FILES = {
    "pkg/__init__.py": "",
    "pkg/ok.py": "x = 1\n",
    "pkg/broken.py": "def f(:\n    pass\n",
    "pkg/warns.py": "x = '\\d'\n",
}


def _diagnostic_edges(out: Path) -> dict[str, dict[str, object]]:
    rows = read_rows(out)
    return {
        str(row["dst_node_id"]): row for row in rows[EDGES] if row["edge_kind"] == "HAS_DIAGNOSTIC"
    }


def test_build_emits_has_diagnostic_through_the_rule(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, FILES)
    out = tmp_path / "out"
    result = run_cli("build", repo, "--out", out, "--strict", "--workers", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("scip: ")
    assert lines[2] == "rules: 23 run"  # every relation has its layer
    rows = read_rows(out)
    diags = {row["node_id"]: row for row in rows[NODES] if row["node_kind"] == "DIAG"}
    assert f", diagnostic_edges {len(diags)}, " in lines[3]
    assert lines[3].endswith("; 0 lost (cpg_rule_losers)")
    files = {row["path"]: row["node_id"] for row in rows[NODES] if row["node_kind"] == "PY_FILE"}
    edges = _diagnostic_edges(out)
    assert set(edges) == set(diags)  # one edge per diagnostic, and only the rule makes them
    props = props_of(rows)
    for diag_id, edge in edges.items():
        diag = diags[diag_id]
        severity = props[diag_id]["severity"]
        assert edge["src_node_id"] == files[diag["path"]] == edge["edge_owner_file_id"]
        assert (edge["path"], edge["bstart"], edge["bend"]) == (
            diag["path"],
            diag["bstart"],
            diag["bend"],
        )
        assert (edge["rule_name"], edge["rule_priority"], edge["origin"]) == (
            "diagnostic_edges",
            100,
            "derived",
        )
        assert edge["resolution_method"] == "DIAGNOSTIC"
        expected = {"ERROR": 1.0, "WARNING": 0.7}[str(severity)]
        assert edge["confidence"] == pytest.approx(expected)  # float32 in the dataset
        edge_props = props[str(edge["edge_id"])]
        assert edge_props["diag_source"] == props[diag_id]["diag_source"]
        assert edge_props["severity"] == severity
    assert {props[d]["severity"] for d in diags} == {"ERROR", "WARNING"}
    assert read_raw_delta(out / "cpg_rule_losers").num_rows == 0


def test_a_rule_added_to_the_specs_changes_the_built_edges(tmp_path: Path) -> None:
    """A second rule making HAS_DIAGNOSTIC for errors only, with a lower priority number: the
    error's edge becomes its edge, the warning's stays diagnostic_edges', and the duplicate it
    beat is recorded. Nothing but the spec set differs between the two builds."""
    repo = make_repo(tmp_path, FILES)
    specs = canonical_spec_set()
    base = next(rule for rule in specs.rules if rule.name == "diagnostic_edges")
    extra = replace(
        base,
        name="error_diagnostics",
        output="error_diagnostics",
        template=None,
        priority=10,
        policy_overrides=PolicyOverrides(),
        payload=replace(base.payload, predicate="equal(severity, 'ERROR')"),
    )
    build(repo, tmp_path / "before")
    result = build(repo, tmp_path / "after", specs=replace(specs, rules=(*specs.rules, extra)))
    assert result.violations == 0
    before, after = _diagnostic_edges(tmp_path / "before"), _diagnostic_edges(tmp_path / "after")
    assert set(before) == set(after)
    severity = {
        str(row["entity_id"]): row["value_str"]
        for row in read_rows(tmp_path / "after")["cpg_props_v1"]
        if row["entity_kind"] == "node" and row["prop_key"] == "severity"
    }
    errors = {d for d in after if severity[d] == "ERROR"}
    assert errors and errors != set(after)  # the corpus has errors and a warning
    counts = f"diagnostic_edges {len(after) - len(errors)}, error_diagnostics {len(errors)}"
    assert f", {counts}, " in result.rules[1]
    assert result.rules[1].endswith(f"; {len(errors)} lost (cpg_rule_losers)")
    changed = {d for d in after if after[d]["rule_name"] != before[d]["rule_name"]}
    assert changed == errors
    for error in errors:
        assert (before[error]["rule_name"], after[error]["rule_name"]) == (
            "diagnostic_edges",
            "error_diagnostics",
        )
        assert after[error]["rule_priority"] == 10
    losers = read_raw_delta(tmp_path / "after" / "cpg_rule_losers").to_pylist()
    assert {loser["edge_id"] for loser in losers} == {after[e]["edge_id"] for e in errors}
    for loser in losers:
        assert (loser["reason"], loser["rule_name"], loser["winner_rule_name"]) == (
            "DUPLICATE_EDGE",
            "diagnostic_edges",
            "error_diagnostics",
        )


def test_the_endpoint_index_holds_the_nodes_rule_edges_may_join(tmp_path: Path) -> None:
    """``_relations/_endpoint_nodes`` is the nodes of the kinds the run rules' edge contracts
    allow as endpoints, row for row, and every rule edge's endpoints are in it."""
    repo = make_repo(tmp_path, FILES)
    out = tmp_path / "out"
    build(repo, out)
    specs = canonical_spec_set()
    emitted = {str(r.payload.edge_emit.edge_kind) for r in specs.rules if r.payload.edge_emit}
    rows = read_rows(out)
    built = {str(row["edge_kind"]) for row in rows[EDGES] if row["rule_name"]}
    assert built and built <= emitted
    allowed = {
        kind
        for contract in specs.edge_contracts
        if str(contract.kind) in built
        for kind in (*contract.src_kinds, *contract.dst_kinds)
    }
    index = read_raw_delta(out / "_relations" / "_endpoint_nodes").to_pylist()
    wanted = [
        {"node_id": n["node_id"], "node_kind": n["node_kind"], "file_id": n["file_id"]}
        for n in rows[NODES]
        if n["node_kind"] in allowed
    ]
    kinds = {row["node_kind"] for row in index}
    assert {"PY_FILE", "DIAG"} <= kinds and len(index) < len(rows[NODES])
    # the index may hold kinds of rules that ran without edges; the built ones are all there
    in_index = [row for row in index if row["node_kind"] in allowed]
    key = lambda row: str(row["node_id"])  # noqa: E731
    assert sorted(in_index, key=key) == sorted(wanted, key=key)
    ids = {row["node_id"] for row in index}
    for edge in rows[EDGES]:
        if edge["rule_name"]:
            assert {edge["src_node_id"], edge["dst_node_id"]} <= ids


def test_a_rule_edge_joining_a_kind_outside_the_index_is_named_by_its_kind(
    tmp_path: Path,
) -> None:
    """Specs saying HAS_DIAGNOSTIC joins PY_FILE to PY_FILE and ``diagnostics_norm.diag_id``
    holds PY_FILE ids, while the extractor still writes DIAG ids there (an extractor bug, as the
    rule engine sees it): DIAG nodes are not in the endpoint index, and the rule's edges still
    get ENDPOINT_KIND_NOT_ALLOWED naming the DIAG, not a dangling endpoint (the build looks the
    ids the index lacks up among all nodes)."""
    repo = make_repo(tmp_path, FILES)
    specs = canonical_spec_set()
    contracts = tuple(
        replace(c, dst_kinds=("PY_FILE",)) if c.kind == "HAS_DIAGNOSTIC" else c
        for c in specs.edge_contracts
    )
    relations = tuple(
        replace(
            r,
            columns=tuple(
                replace(c, node_kind="PY_FILE") if c.name == "diag_id" else c for c in r.columns
            ),
        )
        if r.name == "diagnostics_norm"
        else r
        for r in specs.relation_contracts
    )
    out = tmp_path / "out"
    narrowed = replace(specs, edge_contracts=contracts, relation_contracts=relations)
    result = build(repo, out, specs=narrowed)
    index = read_raw_delta(out / "_relations" / "_endpoint_nodes").to_pylist()
    assert "DIAG" not in {row["node_kind"] for row in index}
    violations = read_raw_delta(out / "cpg_build_violations").to_pylist()
    rules = {(v["rule"], v["kind"]) for v in violations}
    assert ("ENDPOINT_KIND_NOT_ALLOWED", "HAS_DIAGNOSTIC") in rules
    assert ("DANGLING_ENDPOINT", "HAS_DIAGNOSTIC") not in rules
    details = [v["detail"] for v in violations if v["rule"] == "ENDPOINT_KIND_NOT_ALLOWED"]
    assert details and all(" is a DIAG, not one of PY_FILE" in d for d in details)
    assert result.violations == len(violations)


def test_a_forged_hostile_rule_in_the_registry_never_runs(tmp_path: Path) -> None:
    """A hostile predicate forged into a registry (its fingerprint recomputed, so the table
    verifies) is refused by the spec checks with exit 2 naming the rule when the registry is
    read as it is; a build, which exports first, repairs the table and runs the genuine rule."""
    repo = make_repo(tmp_path, FILES)
    out = tmp_path / "out"
    run_registry_exports(out)
    path = table_path(registry_root(out), "relspec", "relspec_rule_definitions")
    genuine = latest_commit_metadata(path)
    assert genuine is not None
    specs = canonical_spec_set()
    hostile = tuple(
        (
            replace(
                rule,
                payload=replace(rule.payload, predicate="__import__('os').system('touch pwned')"),
            )
            if rule.name == "diagnostic_edges"
            else rule
        )
        for rule in specs.rules
    )
    forged_table = rule_definitions_table(replace(specs, rules=hostile))
    forged = {k: str(v) for k, v in genuine.items() if k.startswith("cpg_registry.")}
    forged[FINGERPRINT_KEY] = table_fingerprint(forged_table)
    write_table_delta(path, forged_table, commit_metadata=forged)

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    rendered = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator",
            "--no-export",
            "--registry",
            str(out),
            "--output",
            str(tmp_path / "generated"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert rendered.returncode == 2, rendered.stderr
    assert "rules[diagnostic_edges]" in rendered.stderr and "predicate" in rendered.stderr
    assert "Traceback" not in rendered.stderr

    result = run_cli("build", repo, "--out", out, "-q")
    assert result.returncode == 0, result.stderr
    assert not (Path.cwd() / "pwned").exists() and not (repo / "pwned").exists()
    assert not (tmp_path / "pwned").exists()
