"""Benchmark the candidate engines for the relspec rule engine on the same synthetic relations.

Each candidate runs the four operations the rules need, on relations shaped like the ones the
CST and SCIP layers produce (string ids of ~25 characters, ``pkg/mod_NNNN.py`` paths, byte
spans, ~500 rows of each relation per file):

- ``filter_project``: the symbol-role predicate plus the diagnostic severity weight
  (``fill_null(not_equal(bit_wise_and(symbol_roles, 1), 0), False)``, ``if_else(...)``);
- ``inner_join``: call-site qname candidates joined to qualified names on ``qname``;
- ``anti_join``: call sites without a symbol edge (``left anti`` on ``call_id``);
- ``interval_align``: name refs aligned with SCIP occurrences, ``CONTAINED_BEST`` (same path,
  occurrence inside the ref's span, the smallest such occurrence wins).

Every candidate's result is checked against the others' (same rows, whatever the order) before
its time counts. Times are medians over ``--runs``, reported per million input rows (left plus
right rows), with the ratio to a floor measured in the same run: pyarrow sorting the same input
rows by path and start (``sort_indices`` + ``take``), a step any engine's answer costs at least.

    python bench/bench_rules.py [--rows 1000000] [--runs 5] [--per-file 500]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import datafusion
import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from graph.rules.arrow_ops import filter_project, hash_join, interval_align
from relspec.rules.model import (
    ColumnExpr,
    HashJoinPayload,
    IntervalAlignPayload,
    PolicyOverrides,
    RuleDefinition,
    RuleDomain,
    RuleKind,
    RulePayload,
)
from relspec.rules.plan import PlannedColumn, PlannedRule, plan_rule

PREDICATE = "fill_null(not_equal(bit_wise_and(symbol_roles, 1), 0), False)"
WEIGHT = (
    "if_else(equal(fill_null(severity, 'ERROR'), 'ERROR'), 1.0, "
    "if_else(equal(fill_null(severity, 'ERROR'), 'WARNING'), 0.7, 0.5))"
)
SQL_PREDICATE = "coalesce((symbol_roles & 1) <> 0, false)"
SQL_WEIGHT = (
    "CASE WHEN coalesce(severity, 'ERROR') = 'ERROR' THEN 1.0 "
    "WHEN coalesce(severity, 'ERROR') = 'WARNING' THEN 0.7 ELSE 0.5 END"
)
ALIGN = IntervalAlignPayload(
    mode="CONTAINED_BEST",
    how="inner",
    left_path_col="path",
    left_start_col="bstart",
    left_end_col="bend",
    right_path_col="path",
    right_start_col="bstart",
    right_end_col="bend",
    select_left=("name_ref_id", "path", "bstart", "bend"),
    select_right=("symbol", "symbol_roles"),
    emit_match_meta=False,
)


@dataclass(frozen=True)
class Inputs:
    """The synthetic relations, one pair (left, right) per operation."""

    occurrences: pa.Table
    name_refs: pa.Table
    candidates: pa.Table
    qnames: pa.Table
    calls: pa.Table
    call_symbols: pa.Table


def _ids(prefix: str, count: int, salt: int = 0) -> pa.Array:
    return pa.array([f"{prefix}:{(i * 2654435761 + salt) % (1 << 63):019d}" for i in range(count)])


def synthetic(rows: int, per_file: int) -> Inputs:
    """Relations of about ``rows`` rows in all, ``per_file`` rows of a relation per file."""
    half = rows // 2
    files = max(1, half // per_file)
    path_of = [f"pkg/mod_{i % files:04d}.py" for i in range(half)]
    # name refs: spans 4..11 bytes wide, 16 bytes apart, in file order
    slot = [i // files for i in range(half)]
    starts = [s * 16 for s in slot]
    widths = [4 + (i % 8) for i in range(half)]
    name_refs = pa.table(
        {
            "name_ref_id": _ids("CST_NAME_REF", half),
            "path": path_of,
            "bstart": pa.array(starts, pa.int64()),
            "bend": pa.array([s + w for s, w in zip(starts, widths, strict=True)], pa.int64()),
        }
    )
    # occurrences: one inside every ref but every tenth (a shorter one at its start for every
    # third ref, so a ref may hold two), plus some between refs that match nothing
    occ_path, occ_start, occ_end, occ_symbol, occ_roles = [], [], [], [], []
    for i in range(half):
        if i % 10 == 9:
            occ_path.append(path_of[i])
            occ_start.append(starts[i] + 12)
            occ_end.append(starts[i] + 14)
        else:
            occ_path.append(path_of[i])
            occ_start.append(starts[i])
            occ_end.append(starts[i] + widths[i] - (1 if i % 3 == 0 else 0))
        occ_symbol.append(f"scip-python python pkg 1.0 `pkg.mod`/name_{i % 5000}().")
        occ_roles.append(i % 16)
    occurrences = pa.table(
        {
            "path": occ_path,
            "bstart": pa.array(occ_start, pa.int64()),
            "bend": pa.array(occ_end, pa.int64()),
            "symbol": occ_symbol,
            "symbol_roles": pa.array(occ_roles, pa.int32()),
            "severity": pa.array(
                [(None, "ERROR", "WARNING", "INFO")[i % 4] for i in range(half)], pa.string()
            ),
        }
    )
    calls = half // 2
    call_ids = _ids("CST_CALLSITE", calls)
    qname_count = max(1, calls // 4)
    qname_text = [f"pkg.mod_{i % files:04d}.func_{i}" for i in range(qname_count)]
    candidates = pa.table(
        {
            "call_id": pa.concat_arrays([call_ids, call_ids]),
            "path": path_of[:calls] * 2,
            "call_bstart": pa.array(starts[:calls] * 2, pa.int64()),
            "call_bend": pa.array([s + 20 for s in starts[:calls]] * 2, pa.int64()),
            "qname": [qname_text[(i * 7) % qname_count] for i in range(2 * calls)],
            "qname_source": [("IMPORT", "LOCAL")[i % 2] for i in range(2 * calls)],
        }
    )
    qnames = pa.table(
        {
            "qname_id": _ids("PY_QUALIFIED_NAME", qname_count, salt=7),
            "qname": qname_text,
        }
    )
    call_symbols = pa.table(
        {"call_id": call_ids.filter(pa.array([i % 2 == 0 for i in range(calls)]))}
    )
    return Inputs(occurrences, name_refs, candidates, qnames, candidates, call_symbols)


Operation = Callable[[Inputs], pa.Table]


def _filter_rule(table: pa.Table) -> PlannedRule:
    """The filter/project rule the candidates run, planned like the engine plans rules."""
    rule = RuleDefinition(
        name="bench_filter",
        domain=RuleDomain.CPG,
        kind=RuleKind.FILTER_PROJECT,
        inputs=("occurrences",),
        output="bench_filter",
        contract_name=None,
        priority=0,
        execution_mode=None,
        template=None,
        evidence=None,
        policy_overrides=PolicyOverrides(),
        payload=RulePayload(
            predicate=PREDICATE,
            project_select=("path", "bstart", "symbol"),
            project_exprs=(ColumnExpr("confidence", WEIGHT),),
        ),
    )
    types = {pa.string(): "string", pa.int64(): "int64", pa.int32(): "int32"}
    columns = [PlannedColumn(f.name, types[f.type], True) for f in table.schema]
    return plan_rule(rule, [columns])


class PyArrowCandidate:
    """The project's engine: pyarrow compute, Acero and its joins (``graph.rules.arrow_ops``)."""

    name = "pyarrow"

    def filter_project(self, data: Inputs) -> pa.Table:
        return filter_project(data.occurrences, _filter_rule(data.occurrences))

    def inner_join(self, data: Inputs) -> pa.Table:
        payload = HashJoinPayload(
            "inner", ("qname",), ("qname",), ("call_id", "qname_source"), ("qname_id",)
        )
        return hash_join(data.candidates, data.qnames, payload)

    def anti_join(self, data: Inputs) -> pa.Table:
        payload = HashJoinPayload("left anti", ("call_id",), ("call_id",), ("call_id", "qname"), ())
        return hash_join(data.calls, data.call_symbols, payload)

    def interval_align(self, data: Inputs) -> pa.Table:
        return interval_align(data.name_refs, data.occurrences, ALIGN)


def _packed(table: pa.Table, paths: pa.Array) -> pa.Table:
    """``table`` plus ``ks``/``ke``: ``path code << 32 | bstart`` (``bend``), for SQL engines to
    see the alignment as a pure range join (two inequalities, no equality on the path)."""
    code = pc.cast(pc.index_in(table.column("path"), value_set=paths), pa.int64())
    shifted = pc.shift_left(code, pa.scalar(32, pa.int64()))
    return table.append_column("ks", pc.add(shifted, table.column("bstart"))).append_column(
        "ke", pc.add(shifted, table.column("bend"))
    )


class SqlCandidate:
    """A SQL engine over the same Arrow tables; subclasses say how to register and run.

    The alignment can be written two ways: ``packed_align`` joins on packed keys (a pure range
    join, which DuckDB runs as an IEJoin: 0.69 s per M rows at 200k rows against 1.87 s for the
    other way), ``path_align`` on ``l.path = r.path`` plus the span bounds (a hash join on the
    path with a residual filter; DataFusion runs the packed form as a nested loop, 158 s per M
    rows against 6.2 s). Each engine runs its faster form.
    """

    name = ""

    def run(self, sql: str, tables: dict[str, pa.Table]) -> pa.Table:
        raise NotImplementedError

    def filter_project(self, data: Inputs) -> pa.Table:
        sql = (
            f"SELECT path, bstart, symbol, {SQL_WEIGHT} AS confidence FROM t WHERE {SQL_PREDICATE}"
        )
        return self.run(sql, {"t": data.occurrences})

    def inner_join(self, data: Inputs) -> pa.Table:
        sql = "SELECT l.call_id, l.qname_source, r.qname_id FROM l JOIN r ON l.qname = r.qname"
        return self.run(sql, {"l": data.candidates, "r": data.qnames})

    def anti_join(self, data: Inputs) -> pa.Table:
        sql = (
            "SELECT l.call_id, l.qname FROM l "
            "WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.call_id = l.call_id)"
        )
        return self.run(sql, {"l": data.calls, "r": data.call_symbols})

    def _align(self, left: pa.Table, right: pa.Table, condition: str) -> pa.Table:
        left = left.append_column("lid", pa.array(range(left.num_rows), pa.int64()))
        sql = (
            "SELECT name_ref_id, path, bstart, bend, symbol, symbol_roles FROM ("
            " SELECT l.lid, l.name_ref_id, l.path, l.bstart, l.bend, r.symbol, r.symbol_roles,"
            "  row_number() OVER (PARTITION BY l.lid ORDER BY r.bend - r.bstart, r.bstart,"
            "   r.symbol, r.symbol_roles) AS rank"
            f" FROM l JOIN r ON {condition}) AS m WHERE rank = 1"
        )
        return self.run(sql, {"l": left, "r": right})

    def packed_align(self, data: Inputs) -> pa.Table:
        paths = pc.unique(
            pa.concat_arrays(
                [
                    data.name_refs.column("path").combine_chunks(),
                    data.occurrences.column("path").combine_chunks(),
                ]
            )
        )
        return self._align(
            _packed(data.name_refs, paths),
            _packed(data.occurrences.drop_columns(["severity"]), paths),
            "r.ks >= l.ks AND r.ke <= l.ke",
        )

    def path_align(self, data: Inputs) -> pa.Table:
        return self._align(
            data.name_refs,
            data.occurrences,
            "l.path = r.path AND r.bstart >= l.bstart AND r.bend <= l.bend",
        )


class DuckDBCandidate(SqlCandidate):
    name = "duckdb"
    interval_align = SqlCandidate.packed_align

    def __init__(self) -> None:
        self.con = duckdb.connect()

    def run(self, sql: str, tables: dict[str, pa.Table]) -> pa.Table:
        for name, table in tables.items():
            self.con.register(name, table)
        result = self.con.sql(sql).to_arrow_table()
        for name in tables:
            self.con.unregister(name)
        return result


class DataFusionCandidate(SqlCandidate):
    name = "datafusion"
    interval_align = SqlCandidate.path_align

    def __init__(self) -> None:
        self.ctx = datafusion.SessionContext()

    def run(self, sql: str, tables: dict[str, pa.Table]) -> pa.Table:
        for name, table in tables.items():
            self.ctx.from_arrow(table, name=name)
        result: pa.Table = self.ctx.sql(sql).to_arrow_table()
        for name in tables:
            self.ctx.deregister_table(name)
        return result


OPERATIONS: dict[str, Callable[[Inputs], int]] = {
    "filter_project": lambda d: d.occurrences.num_rows,
    "inner_join": lambda d: d.candidates.num_rows + d.qnames.num_rows,
    "anti_join": lambda d: d.calls.num_rows + d.call_symbols.num_rows,
    "interval_align": lambda d: d.name_refs.num_rows + d.occurrences.num_rows,
}


def canonical(table: pa.Table) -> list[tuple[object, ...]]:
    """The rows of ``table`` as sorted tuples (floats rounded), for comparing candidates."""
    rows = table.select(sorted(table.column_names)).to_pylist()
    return sorted(
        tuple(round(v, 6) if isinstance(v, float) else v for v in row.values()) for row in rows
    )


def floor(data: Inputs) -> pa.Table:
    order = pc.sort_indices(data.occurrences, [("path", "ascending"), ("bstart", "ascending")])
    return data.occurrences.take(order)


def timed(step: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="input rows per operation")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--per-file", type=int, default=500)
    args = parser.parse_args()
    data = synthetic(args.rows, args.per_file)
    candidates = [PyArrowCandidate(), DuckDBCandidate(), DataFusionCandidate()]
    floor_s = timed(lambda: floor(data), args.runs)
    floor_per_m = floor_s / data.occurrences.num_rows * 1e6
    print(
        f"{args.rows:,} input rows per operation, {args.per_file} rows per file, medians of "
        f"{args.runs}; floor (pyarrow sort of the input): {floor_per_m:.3f} s per M rows"
    )
    print("| operation | " + " | ".join(c.name for c in candidates) + " | winner |")
    print("|---|" + "---|" * (len(candidates) + 1))
    for operation, count in OPERATIONS.items():
        expected = canonical(getattr(candidates[0], operation)(data))
        cells, best = [], ("", float("inf"))
        for candidate in candidates:
            step: Operation = getattr(candidate, operation)
            if canonical(step(data)) != expected:
                raise SystemExit(f"{candidate.name} {operation}: rows differ from pyarrow's")
            per_m = timed(lambda step=step: step(data), args.runs) / count(data) * 1e6
            cells.append(f"{per_m:.3f} s ({per_m / floor_per_m:.1f}x)")
            best = min(best, (candidate.name, per_m), key=lambda item: item[1])
        print(f"| {operation} | " + " | ".join(cells) + f" | {best[0]} |")


if __name__ == "__main__":
    main()
