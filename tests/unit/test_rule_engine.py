"""The generic executor on hand-made relation tables: the qualified-name fallback (no SCIP
layer, every call site takes it), policies and ambiguity, cross-rule priorities, determinism,
and the schedule's skipped rules."""

from __future__ import annotations

import random
from dataclasses import replace

import pyarrow as pa
import pytest

from cpg.registry_specs import DatasetContract, dataset_for_role
from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import validate_specs
from graph.facts_tables import EDGES, PROPS, dataset_table
from graph.rules.catalog import RuleCatalog, rule_catalog, rule_catalog_from_tables
from graph.rules.engine import RuleRun, run_rules
from relspec.rules.model import ColumnExpr, PolicyOverrides, RuleDefinition
from storage.deltalake.registry_runner import build_registry_tables


@pytest.fixture(scope="module")
def datasets() -> dict[str, DatasetContract]:
    return {role: dataset_for_role(role) for role in (EDGES, PROPS)}


def _relation(catalog: RuleCatalog, name: str, rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=catalog.relation_schema(name))


def _call(call_id: str, qname: str, source: str, start: int) -> dict[str, object]:
    return {
        "call_id": call_id,
        "file_id": "F",
        "path": "m.py",
        "call_bstart": start,
        "call_bend": start + 5,
        "qname": qname,
        "qname_source": source,
    }


def _qname_inputs(catalog: RuleCatalog) -> dict[str, pa.Table]:
    """C1 calls a name defined twice (a.f, b.f); C2 one defined once; C3 one defined nowhere;
    C4 has a SCIP symbol, so it takes no fallback."""
    candidates = [
        _call("C1", "pkg.a.f", "IMPORT", 0),
        _call("C1", "pkg.b.f", "LOCAL", 0),
        _call("C2", "pkg.a.g", "IMPORT", 10),
        _call("C3", "nowhere", "IMPORT", 20),
        _call("C4", "pkg.a.g", "IMPORT", 30),
    ]
    qnames = [
        {"qname_id": "Q_af", "qname": "pkg.a.f"},
        {"qname_id": "Q_bf", "qname": "pkg.b.f"},
        {"qname_id": "Q_ag", "qname": "pkg.a.g"},
    ]
    symbols = [
        {
            "call_id": "C4",
            "path": "m.py",
            "call_bstart": 30,
            "call_bend": 35,
            "symbol": "scip pkg/a.g().",
            "symbol_roles": 0,
        },
    ]
    return {
        "callsite_qname_candidates": _relation(catalog, "callsite_qname_candidates", candidates),
        "dim_qualified_names": _relation(catalog, "dim_qualified_names", qnames),
        "rel_callsite_symbol": _relation(catalog, "rel_callsite_symbol", symbols),
    }


def _edges(run: RuleRun) -> dict[tuple[str, str], dict[str, object]]:
    return {(row["src_node_id"], row["dst_node_id"]): row for row in run.edges.to_pylist()}


def test_qname_fallback_calls(datasets: dict[str, DatasetContract]) -> None:
    catalog = rule_catalog()
    run = run_rules(catalog, _qname_inputs(catalog), datasets)
    edges = _edges(run)
    # C4's SCIP symbol makes a PY_CALLS_SYMBOL edge (call_edges), and no fallback
    c4 = edges.pop(("C4", "scip pkg/a.g()."))
    assert (c4["edge_kind"], c4["rule_name"], c4["confidence"]) == (
        "PY_CALLS_SYMBOL",
        "call_edges",
        1.0,
    )
    # C1 has two candidates: each costs the other 0.1 (0.4 - 0.1); the tie goes to the lower
    # qname id, the other is a loser of C1's group. C2's only candidate keeps the base 0.4.
    assert set(edges) == {("C1", "Q_af"), ("C2", "Q_ag")}
    c1, c2 = edges[("C1", "Q_af")], edges[("C2", "Q_ag")]
    assert c1["confidence"] == pytest.approx(0.3) and c1["score"] == pytest.approx(0.3)
    assert c2["confidence"] == pytest.approx(0.4)
    assert (c1["edge_kind"], c1["origin"], c1["resolution_method"]) == (
        "PY_CALLS_QNAME",
        "libcst",
        "QNP_CALLEE_FALLBACK",
    )
    assert (c1["ambiguity_group_id"], c2["ambiguity_group_id"]) == ("C1", "C2")
    assert (c1["rule_name"], c1["rule_priority"], c1["qname_source"]) == (
        "qname_fallback_calls",
        100,
        "IMPORT",
    )
    assert (c1["path"], c1["bstart"], c1["bend"]) == ("m.py", 0, 5)
    (loser,) = run.losers.to_pylist()
    assert (loser["reason"], loser["src_node_id"], loser["dst_node_id"]) == (
        "AMBIGUITY_POLICY",
        "C1",
        "Q_bf",
    )
    assert (loser["ambiguity_group_id"], loser["winner_edge_id"]) == ("C1", c1["edge_id"])
    assert run.edges_by_rule["qname_fallback_calls"] == 2
    props = {(r["entity_id"], r["prop_key"]) for r in run.props.to_pylist()}
    assert {(c1["edge_id"], key) for key in ("origin", "qname_source", "score")} <= props
    assert (loser["edge_id"], "origin") not in props  # losers' props are dropped too


def test_the_same_input_in_another_order_gives_the_same_edges(
    datasets: dict[str, DatasetContract],
) -> None:
    catalog = rule_catalog()
    inputs = _qname_inputs(catalog)
    shuffled = {}
    rng = random.Random(7)
    for name, table in inputs.items():
        order = list(range(table.num_rows))
        rng.shuffle(order)
        shuffled[name] = table.take(pa.array(order))
    first, second = run_rules(catalog, inputs, datasets), run_rules(catalog, shuffled, datasets)
    for part in ("edges", "props"):
        name = EDGES if part == "edges" else PROPS
        assert dataset_table(getattr(first, part), datasets[name]).equals(
            dataset_table(getattr(second, part), datasets[name])
        )
    assert first.losers.sort_by("edge_id").equals(second.losers.sort_by("edge_id"))


def _catalog(specs: SpecSet) -> RuleCatalog:
    assert validate_specs(specs) == ()
    tables = build_registry_tables(specs)
    return rule_catalog_from_tables({n: t for target in tables.values() for n, t in target.items()})


def _diagnostic_rule(specs: SpecSet) -> RuleDefinition:
    return next(rule for rule in specs.rules if rule.name == "diagnostic_edges")


def _diagnostics(catalog: RuleCatalog) -> dict[str, pa.Table]:
    rows = [
        {
            "diag_id": f"D{i}",
            "file_id": "F",
            "path": "m.py",
            "bstart": i,
            "bend": i + 1,
            "severity": severity,
            "message": "m",
            "diag_source": "py_ast",
            "code": "E",
        }
        for i, severity in enumerate(["ERROR", "WARNING"])
    ]
    return {"diagnostics_norm": _relation(catalog, "diagnostics_norm", rows)}


@pytest.mark.parametrize(
    ("priority", "policy", "winner"),
    [
        (50, None, "error_diagnostics"),  # equal score and confidence: lower priority wins
        (150, None, "diagnostic_edges"),
        (150, "qname_fallback", "diagnostic_edges"),  # a lower score loses, whatever priority
    ],
)
def test_when_two_rules_emit_the_same_edge_score_then_priority_decide(
    datasets: dict[str, DatasetContract], priority: int, policy: str | None, winner: str
) -> None:
    specs = canonical_spec_set()
    base = _diagnostic_rule(specs)
    payload = replace(base.payload, predicate="equal(severity, 'ERROR')")
    if policy is not None:  # confidence and score from the policy (0.4), not the severity (1.0)
        owner = ColumnExpr("edge_owner_file_id", "file_id")
        payload = replace(payload, project_exprs=(owner,))
    extra = replace(
        base,
        name="error_diagnostics",
        output="error_diagnostics",
        template=None,
        priority=priority,
        policy_overrides=PolicyOverrides(confidence_policy=policy),
        payload=payload,
    )
    catalog = _catalog(replace(specs, rules=(*specs.rules, extra)))
    run = run_rules(catalog, _diagnostics(catalog), datasets)
    edges = {row["dst_node_id"]: row for row in run.edges.to_pylist()}
    assert set(edges) == {"D0", "D1"}
    assert edges["D0"]["rule_name"] == winner
    assert edges["D1"]["rule_name"] == "diagnostic_edges"  # only one rule emits the warning
    (loser,) = run.losers.to_pylist()
    loser_rule = ({"error_diagnostics", "diagnostic_edges"} - {winner}).pop()
    assert (loser["reason"], loser["rule_name"], loser["winner_rule_name"]) == (
        "DUPLICATE_EDGE",
        loser_rule,
        winner,
    )
    assert loser["edge_id"] == loser["winner_edge_id"] == edges["D0"]["edge_id"]


def test_rules_without_their_inputs_are_skipped_in_one_line(
    datasets: dict[str, DatasetContract],
) -> None:
    catalog = rule_catalog()
    extracted = catalog.extracted()
    assert catalog.schedule(extracted).skipped == {}  # every relation has its layer now
    # a build without the SCIP layer's relations (no node, --no-scip)
    schedule = catalog.schedule(
        [name for name in extracted if not name.startswith("scip_")]
    )
    order = [planned.rule.name for planned in schedule.order]
    # each rule after the rules making its inputs; qname_fallback_calls runs: its SCIP input
    # (rel_callsite_symbol) is the optional right side of a left anti join
    assert order.index("qname_fallback_calls") > order.index(
        "callsite_qname_candidates__join__dim_qualified_names"
    )
    assert "call_edges" not in order
    assert schedule.skipped["symbol_role_defines"] == ("scip_occurrences",)
    assert schedule.skipped["scip_inferred_type_edges"] == ("scip_inferred_types", "scip_occurrences")
    line = schedule.summary()
    assert "\n" not in line
    assert line.startswith(f"{len(order)} run, {len(schedule.skipped)} skipped (this build has no ")
    assert "no scip_inferred_types, scip_occurrences, scip_symbol_relationships): " in line
    run = run_rules(catalog, _diagnostics(catalog), datasets, schedule)
    assert run.edges_by_rule["diagnostic_edges"] == 2
    assert sum(run.edges_by_rule.values()) == 2  # the other rules had empty inputs
