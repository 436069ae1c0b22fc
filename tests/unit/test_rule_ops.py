"""The engine's relational operations on small Arrow tables, against hand-checked rows, and the
interval alignment against a nested-loop oracle on random spans."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.rules.arrow_ops import RuleExecutionError, filter_project, hash_join, interval_align
from relspec.rules.model import (
    ColumnExpr,
    ColumnLiteral,
    HashJoinPayload,
    IntervalAlignPayload,
    PolicyOverrides,
    RuleDefinition,
    RuleDomain,
    RuleKind,
    RulePayload,
)
from relspec.rules.plan import PlannedColumn, plan_rule

DIAGS = pa.table(
    {
        "diag_id": ["D1", "D2", "D3", "D4"],
        "severity": ["ERROR", "WARNING", None, "INFO"],
        "symbol_roles": pa.array([1, 2, 3, None], pa.int32()),
    }
)


def _planned(payload: RulePayload, table: pa.Table) -> object:
    rule = RuleDefinition(
        "r",
        RuleDomain.CPG,
        RuleKind.FILTER_PROJECT,
        ("t",),
        "r",
        None,
        0,
        None,
        None,
        None,
        PolicyOverrides(),
        payload,
    )
    names = {pa.string(): "string", pa.int32(): "int32", pa.int64(): "int64"}
    columns = [PlannedColumn(f.name, names[f.type], True) for f in table.schema]
    return plan_rule(rule, [columns])


def test_filter_project_filters_computes_and_adds_literals() -> None:
    payload = RulePayload(
        predicate="fill_null(not_equal(bit_wise_and(symbol_roles, 1), 0), False)",
        project_select=("diag_id",),
        project_exprs=(
            ColumnExpr(
                "weight",
                "if_else(equal(fill_null(severity, 'ERROR'), 'ERROR'), 1.0, "
                "if_else(equal(fill_null(severity, 'ERROR'), 'WARNING'), 0.7, 0.5))",
            ),
            ColumnExpr("roles", "symbol_roles"),
        ),
        added_literals=(ColumnLiteral("origin", '"scip"'), ColumnLiteral("nothing", "null")),
    )
    out = filter_project(DIAGS, _planned(payload, DIAGS))  # type: ignore[arg-type]
    # D1 (roles 1) and D3 (roles 3) have bit 1; D4's null roles is filtered out, not an error.
    # D3's null severity counts as ERROR.
    assert out.to_pylist() == [
        {"diag_id": "D1", "weight": 1.0, "roles": 1, "origin": "scip", "nothing": None},
        {"diag_id": "D3", "weight": 1.0, "roles": 3, "origin": "scip", "nothing": None},
    ]


def test_filter_project_without_a_predicate_keeps_every_row() -> None:
    payload = RulePayload(project_select=("severity",))
    out = filter_project(DIAGS, _planned(payload, DIAGS))  # type: ignore[arg-type]
    assert out.column("severity").to_pylist() == ["ERROR", "WARNING", None, "INFO"]


CALLS = pa.table({"call_id": ["C1", "C2", "C3", None], "qname": ["a.f", "b.g", "zz", "a.f"]})
QNAMES = pa.table({"qname": ["a.f", "b.g", "a.f", None], "qname_id": ["Q1", "Q2", "Q3", "Q4"]})


@pytest.mark.parametrize(
    ("join_type", "right_output", "expected"),
    [
        (
            "inner",
            ("qname_id",),
            {("C1", "Q1"), ("C1", "Q3"), ("C2", "Q2"), (None, "Q1"), (None, "Q3")},
        ),
        (
            "left outer",
            ("qname_id",),
            {("C1", "Q1"), ("C1", "Q3"), ("C2", "Q2"), ("C3", None), (None, "Q1"), (None, "Q3")},
        ),
        ("left semi", (), {("C1",), ("C2",), (None,)}),
        ("left anti", (), {("C3",)}),
    ],
)
def test_hash_join_types(
    join_type: str, right_output: tuple[str, ...], expected: set[tuple[object, ...]]
) -> None:
    payload = HashJoinPayload(join_type, ("qname",), ("qname",), ("call_id",), right_output)
    out = hash_join(CALLS, QNAMES, payload)
    assert out.column_names == ["call_id", *right_output]
    assert {tuple(row.values()) for row in out.to_pylist()} == expected


def test_hash_join_null_keys_never_match() -> None:
    payload = HashJoinPayload("left anti", ("call_id",), ("call_id",), ("call_id",), ())
    right = pa.table({"call_id": pa.array([None, "C2"], pa.string())})
    out = hash_join(CALLS, right, payload)
    assert sorted(out.column("call_id").to_pylist(), key=str) == ["C1", "C3", None]


def _align(mode: str, how: str = "inner", meta: bool = False) -> IntervalAlignPayload:
    return IntervalAlignPayload(
        mode,
        how,
        "path",
        "bstart",
        "bend",
        "path",
        "bstart",
        "bend",
        ("id",),
        ("sym",),
        meta,
    )


REFS = pa.table(
    {
        "id": ["a", "b", "c", "d", "e"],
        "path": ["p.py", "p.py", "q.py", None, "q.py"],
        "bstart": [0, 10, 0, 0, 30],
        "bend": [5, 20, 3, 1, 31],
    }
)
OCCURRENCES = pa.table(
    {
        "path": ["p.py", "p.py", "p.py", "q.py", "q.py", "p.py"],
        "bstart": [0, 12, 10, 0, 1, 30],
        "bend": [5, 15, 20, 3, 2, 31],
        "sym": ["s1", "s2", "s3", "s4", "s5", "s6"],
    }
)


def test_contained_best_takes_the_smallest_span_inside_on_the_same_path() -> None:
    out = interval_align(REFS, OCCURRENCES, _align("CONTAINED_BEST", meta=True))
    assert sorted(out.to_pylist(), key=lambda r: r["id"]) == [
        {"id": "a", "sym": "s1", "match_kind": "CONTAINED_BEST", "match_score": 1.0},
        {"id": "b", "sym": "s2", "match_kind": "CONTAINED_BEST", "match_score": 0.3},
        {
            "id": "c",
            "sym": "s5",
            "match_kind": "CONTAINED_BEST",
            "match_score": pytest.approx(1 / 3),
        },
    ]  # e (q.py 30..31) has no occurrence on q.py there: s6 is on p.py


def test_exact_and_left_alignment() -> None:
    exact = interval_align(REFS, OCCURRENCES, _align("EXACT", how="left"))
    assert sorted(exact.to_pylist(), key=lambda r: r["id"]) == [
        {"id": "a", "sym": "s1"},
        {"id": "b", "sym": "s3"},
        {"id": "c", "sym": "s4"},
        {"id": "d", "sym": None},
        {"id": "e", "sym": None},
    ]


def test_offsets_beyond_four_gib_are_an_error_naming_the_rule() -> None:
    huge = REFS.set_column(3, "bend", pa.array([5, 20, 3, 1, 2**33]))
    with pytest.raises(RuleExecutionError, match="rule 'align_refs'"):
        interval_align(huge, OCCURRENCES, _align("CONTAINED_BEST"), "align_refs")


_spans = st.lists(
    st.tuples(st.sampled_from(["p", "q", "r"]), st.integers(0, 40), st.integers(0, 12)),
    max_size=25,
)


def _brute_force(
    lefts: list[tuple[str, int, int]], rights: list[tuple[str, int, int]]
) -> set[tuple[int, int]]:
    """For every left span the best right span inside it on the same path: smallest, then
    earliest, then lowest symbol (its index here)."""
    found = set()
    for li, (lpath, ls, le) in enumerate(lefts):
        inside = [
            (re - rs, rs, ri)
            for ri, (rpath, rs, re) in enumerate(rights)
            if rpath == lpath and rs >= ls and re <= le
        ]
        if inside:
            found.add((li, min(inside)[2]))
    return found


@settings(max_examples=150, deadline=None)
@given(_spans, _spans, st.randoms())
def test_contained_best_equals_a_nested_loop(
    left: list[tuple[str, int, int]], right: list[tuple[str, int, int]], rng: random.Random
) -> None:
    lefts = [(p, s, s + w) for p, s, w in left]
    rights = [(p, s, s + w) for p, s, w in right]
    order = list(range(len(rights)))
    rng.shuffle(order)  # the input order must not matter
    left_table = pa.table(
        {
            "id": pa.array(range(len(lefts)), pa.int64()),
            "path": pa.array([p for p, _, _ in lefts], pa.string()),
            "bstart": pa.array([s for _, s, _ in lefts], pa.int64()),
            "bend": pa.array([e for _, _, e in lefts], pa.int64()),
        }
    )
    right_table = pa.table(
        {
            "path": pa.array([rights[i][0] for i in order], pa.string()),
            "bstart": pa.array([rights[i][1] for i in order], pa.int64()),
            "bend": pa.array([rights[i][2] for i in order], pa.int64()),
            "sym": pa.array([f"{i:03d}" for i in order], pa.string()),
        }
    )
    out = interval_align(left_table, right_table, _align("CONTAINED_BEST"))
    got = {(row["id"], int(row["sym"])) for row in out.to_pylist()}
    assert got == _brute_force(lefts, rights)
