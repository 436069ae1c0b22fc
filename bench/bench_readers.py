"""Benchmark reading one kind's rows with their props from a build, against deltalake.

Every case runs in a fresh process that reads all rows of ``--kind`` (default AST_CALL) with
every prop of its contract, checks the row count against the other cases, and reports the
read's time (in-process, after imports) and the process's peak RSS. Cases alternate within each
run; medians over ``--runs``. The machine's noise hits all cases alike; report ratios.

- ``view``: ``open_build(out).nodes(kind).to_arrow()`` (generated view: filtered scans, pivot).
- ``view_rows``: the same as typed row objects (``.rows()``).
- ``view_polars``: the same through ``.to_polars().collect()``.
- ``delta_filtered``: deltalake reads the nodes of the kind and the node prop rows of the
  kind's keys with its own filters (``to_pyarrow_table(filters=...)``), no pivot: the floor of
  reading the same data.
- ``delta_whole``: deltalake reads the nodes and props tables whole, then filters in Arrow and
  pivots with a join per prop: what a user wrote before the views.

    python bench/bench_readers.py OUT [--runs 5] [--kind AST_CALL]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CASES = ("view", "view_rows", "view_polars", "delta_filtered", "delta_whole")


def _props_of(kind: str) -> tuple[list[str], list[str]]:
    from generated.cpg_contracts import NODE_CONTRACTS, NodeKind

    contract = NODE_CONTRACTS[NodeKind(kind)]
    props = [*contract.required_props, *contract.optional_props]
    return [p.name for p in props if p.type != "json"], [p.name for p in props if p.type == "json"]


def _delta_filtered(out: Path, kind: str) -> int:
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    from generated.cpg_schemas import DATASET_BY_ROLE, DatasetRole

    keys, json_keys = _props_of(kind)
    nodes = DeltaTable(str(out / DATASET_BY_ROLE[DatasetRole.NODES])).to_pyarrow_table(
        filters=[("node_kind", "=", kind)]
    )
    for role, wanted in ((DatasetRole.PROPS, keys), (DatasetRole.PROPS_JSON, json_keys)):
        if wanted:
            props = DeltaTable(str(out / DATASET_BY_ROLE[role])).to_pyarrow_table(
                filters=[("entity_kind", "=", "node"), ("prop_key", "in", wanted)]
            )
            props.filter(pc.is_in(props["entity_id"], value_set=nodes["node_id"]))
    return nodes.num_rows


def _delta_whole(out: Path, kind: str) -> int:
    import pyarrow.compute as pc
    from deltalake import DeltaTable

    from generated.cpg_schemas import DATASET_BY_ROLE, DatasetRole

    keys, json_keys = _props_of(kind)
    nodes = DeltaTable(str(out / DATASET_BY_ROLE[DatasetRole.NODES])).to_pyarrow_table()
    nodes = nodes.filter(pc.equal(nodes["node_kind"], kind))
    for role, wanted in ((DatasetRole.PROPS, keys), (DatasetRole.PROPS_JSON, json_keys)):
        props = DeltaTable(str(out / DATASET_BY_ROLE[role])).to_pyarrow_table()
        for key in wanted:
            rows = props.filter(pc.equal(props["prop_key"], key))
            rows = rows.select(["entity_id", "value_str", "value_int", "value_float", "value_bool"])
            nodes = nodes.join(rows, "node_id", "entity_id", join_type="left outer")
            names = [*nodes.column_names[:-4], *(f"{key}_{lane}" for lane in range(4))]
            nodes = nodes.rename_columns(names)
    return nodes.num_rows


def run_case(case: str, out: Path, kind: str) -> dict[str, float | int]:
    """One case in this process: rows read and seconds spent reading."""
    from generated.cpg_contracts import NodeKind
    from generated.cpg_views import open_build

    started = time.perf_counter()
    if case == "view":
        rows = open_build(out).nodes(NodeKind(kind)).to_arrow().num_rows
    elif case == "view_rows":
        rows = sum(1 for _ in open_build(out).nodes(NodeKind(kind)).rows())
    elif case == "view_polars":
        rows = open_build(out).nodes(NodeKind(kind)).to_polars().collect().height
    elif case == "delta_filtered":
        rows = _delta_filtered(out, kind)
    else:
        rows = _delta_whole(out, kind)
    return {"rows": rows, "seconds": time.perf_counter() - started}


def _fresh(case: str, out: Path, kind: str) -> dict[str, float | int]:
    command = [sys.executable, __file__, str(out), "--case", case, "--kind", kind]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PROJECT / "src"), str(PROJECT)]))
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    stdout = process.stdout.read() if process.stdout else b""
    if os.waitstatus_to_exitcode(status) != 0:
        err = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"case {case} failed:\n{err}")
    return {**json.loads(stdout), "peak_mib": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="a complete build's output folder")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kind", default="AST_CALL")
    parser.add_argument("--case", choices=CASES, help="run one case here (internal)")
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.out, args.kind)))
        return
    cases = args.cases.split(",")
    samples: dict[str, list[dict[str, float | int]]] = {case: [] for case in cases}
    for _ in range(args.runs):
        for case in cases:
            samples[case].append(_fresh(case, args.out, args.kind))
    counts = {case: {s["rows"] for s in runs} for case, runs in samples.items()}
    if len({n for found in counts.values() for n in found}) != 1:
        raise SystemExit(f"cases disagree on the row count: {counts}")
    floor = statistics.median(float(s["seconds"]) for s in samples["delta_filtered"])
    print(f"{args.kind}: {next(iter(counts[cases[0]]))} rows; medians of {args.runs}")
    print("| case | read s | vs delta_filtered | peak MiB |")
    print("|---|---|---|---|")
    for case, runs in samples.items():
        seconds = statistics.median(float(s["seconds"]) for s in runs)
        peak = statistics.median(float(s["peak_mib"]) for s in runs)
        print(f"| {case} | {seconds:.2f} | {seconds / floor:.2f}x | {peak:.0f} |")


if __name__ == "__main__":
    main()
