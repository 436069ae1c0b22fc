"""Benchmark the SCIP layer against its own floor: scip-python alone on the same repository.

Per run, on one repository (default: click 8.1.7, the test extra's ``site-packages`` copy):

- floor: scip-python as the build runs it (``ScipProcess``: same flags, heap and environment),
  wall seconds and the node process's CPU seconds and peak resident memory;
- decode: ``index.scip`` decoded with the pinned schema (``scip_proto``);
- rows: ``scip_batches`` (positions to bytes, nodes, props, relations, FILE_CONTAINS);
- arrow: the rows shaped into the datasets' tables (``facts_tables``: schema, dedupe, sort) and
  the relations into theirs, as the build writes them.

The layer is floor + decode + rows + arrow; the report gives medians and the ratio to the floor.
``--build`` also times whole builds with and without the layer (``--no-scip``), alternating.

    python bench/bench_scip.py [--runs 3] [--repo DIR] [--build]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpg.registry_specs import dataset_for_role
from graph.extract.scip_extract import ScipCounts, scip_batches
from graph.extract.scip_proto import decode_index, tools_dir
from graph.extract.scip_run import ScipIndexFile, ScipLimits, ScipProcess
from graph.facts_tables import DATASETS, facts_tables
from graph.rules.catalog import rule_catalog
from graph.rules.relations import relation_tables
from graph.scan import display_path, scan_repository
from graph.source_roots import detect_source_roots


def click_folder() -> Path:
    spec = importlib.util.find_spec("click")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def one_run(repo: Path) -> dict[str, float]:
    roots = detect_source_roots(repo)
    prefix = next((r.prefix for r in roots if not r.path and r.prefix), "")
    files = {display_path(p): p for p in scan_repository(repo, ()).files}
    started = time.perf_counter()
    process = ScipProcess.start(repo, prefix, ScipLimits(), tools_dir())
    assert isinstance(process, ScipProcess), process
    ran = process.wait()
    assert isinstance(ran, ScipIndexFile), ran
    floor = time.perf_counter() - started
    started = time.perf_counter()
    index = decode_index(ran.data)
    decoded = time.perf_counter()
    counts = ScipCounts()
    batches = list(scip_batches(index, repo_id=repo.name, repo=repo, files=files, counts=counts))
    rows = time.perf_counter()
    datasets = {role: dataset_for_role(role) for role in DATASETS}
    catalog = rule_catalog()
    schemas = {name: catalog.relation_schema(name) for name in catalog.extracted()}
    for batch in batches:
        facts_tables(batch, datasets)
        relation_tables(batch.relations, schemas)
    arrow = time.perf_counter()
    return {
        "floor": floor,
        "floor_cpu": ran.cpu_seconds,
        "peak_mib": ran.peak_kib / 1024,
        "decode": decoded - started,
        "rows": rows - decoded,
        "arrow": arrow - rows,
        "occurrences": counts.occurrences,
        "nodes": sum(len(batch.nodes) for batch in batches),
    }


def build_seconds(repo: Path, *flags: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "graph", "build", str(repo), "--out", out, "-q", *flags],
            check=True,
        )
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repo", type=Path, default=None)
    parser.add_argument("--build", action="store_true")
    args = parser.parse_args()
    repo = (args.repo or click_folder()).resolve()
    runs = [one_run(repo) for _ in range(args.runs)]
    med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    layer = med["floor"] + med["decode"] + med["rows"] + med["arrow"]
    counted = f"{int(med['occurrences'])} occurrences, {int(med['nodes'])} nodes"
    print(f"{repo}: {counted}; medians of {args.runs}")
    print("| floor s (CPU s) | peak MiB | decode s | rows s | arrow s | layer s | ratio |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {med['floor']:.2f} ({med['floor_cpu']:.2f}) | {med['peak_mib']:.0f} | "
        f"{med['decode']:.3f} | {med['rows']:.2f} | {med['arrow']:.2f} | {layer:.2f} | "
        f"{layer / med['floor']:.2f}x |"
    )
    if args.build:
        with_scip, without = [], []
        for _ in range(args.runs):
            without.append(build_seconds(repo, "--no-scip"))
            with_scip.append(build_seconds(repo))
        print(
            f"build: {statistics.median(without):.1f} s without SCIP, "
            f"{statistics.median(with_scip):.1f} s with it (medians of {args.runs})"
        )


if __name__ == "__main__":
    main()
