"""Benchmark the graph pipeline on this interpreter's standard library (``Lib/``).

Pairs, in the same run, ``python -m graph build LIB`` with the floor: one process reading every
file and calling ``ast.parse`` on it. Reports wall time, files/s, nodes/s, edges/s, the ratio to
the floor and peak memory: the max RSS of the build's main process and of the largest process
of the run (main or worker).

    python bench/bench_graph.py [--runs 1] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIB = Path(os.__file__).parent
EXCLUDE = "site-packages"  # installed packages, not the standard library
FLOOR = f"""
import ast, os, sys
for folder, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if d != {EXCLUDE!r}]
    for name in files:
        if name.endswith(".py"):
            data = open(os.path.join(folder, name), "rb").read()
            try:
                ast.parse(data)
            except (SyntaxError, ValueError):
                pass
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB of the process itself, and its stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = process.stdout.read().decode() if process.stdout else ""
    _, _, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out


def largest_descendant_mib() -> float:
    """Max RSS of any finished descendant so far (the build waits for its workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    floors, builds, peaks, summary = [], [], [], ""
    for _ in range(args.runs):
        floors.append(timed([sys.executable, "-c", FLOOR, str(LIB)])[0])
        with tempfile.TemporaryDirectory(prefix="cpg-graph-bench-") as out:
            command = [sys.executable, "-m", "graph", "build", str(LIB), "--out", out]
            command += ["--exclude", EXCLUDE]
            if args.workers:
                command += ["--workers", str(args.workers)]
            seconds, peak, summary = timed(command)
            builds.append(seconds)
            peaks.append(peak)
    floor, build = statistics.median(floors), statistics.median(builds)
    counts = dict(
        part.strip().rsplit(" ", 1) for part in summary.split(":", 1)[1].split(";")[0].split(",")
    )
    files = int(summary.split()[1])
    nodes, edges = int(counts["cpg_nodes_v1"]), int(counts["cpg_edges_v1"])
    print(f"stdlib: {LIB} ({files} files, excluding {EXCLUDE})")
    largest = largest_descendant_mib()  # the floor's process is far smaller than a build's
    print("| floor s | build s | ratio | files/s | nodes/s | edges/s | peak MiB main | largest |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {floor:.1f} | {build:.1f} | {build / floor:.1f}x | {files / build:.1f} "
        f"| {nodes / build:,.0f} | {edges / build:,.0f} | {max(peaks):.0f} | {largest:.0f} |"
    )


if __name__ == "__main__":
    main()
