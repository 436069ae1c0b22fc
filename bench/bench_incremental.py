"""Benchmark full and incremental builds of this interpreter's standard library (``Lib/``).

On a copy of ``Lib/`` (``site-packages`` excluded), in fresh processes:

- the floor: one process reading every file and calling ``ast.parse`` (as ``bench_graph.py``);
- a full build (``python -m graph build COPY --out OUT``): wall time, the main process's peak
  RSS, the phases and data file counts its summary prints;
- incremental builds after editing one file (a comment appended to ``EDITED``, a different one
  each run), against that file's own extraction (``extract_file`` in one process) and the
  issue's budget of 3 s plus it;
- optionally (``--ray``) the same full build with ``--executor ray`` on a local cluster.

Builds run with ``--no-scip`` unless ``--scip``: the SCIP layer sees the whole repository, so an
incremental build after any edit runs scip-python over all of it again (``graph.repo_layers``),
which is not what the one-file target measures.

    python bench/bench_incremental.py [--runs 3] [--full-runs 1] [--ray] [--scip] [--subset DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIB = Path(os.__file__).parent
EXCLUDE = "site-packages"
EDITED = "email/_header_value_parser.py"
"""A large module (about 3,000 lines) that other modules import: a hard case for one edit."""
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
OWN_EXTRACTION = """
import sys, time
from pathlib import Path
from graph.extract.file_facts import extract_file
from graph.extract.module_names import ModuleNames
data = Path(sys.argv[1], sys.argv[2]).read_bytes()
started = time.perf_counter()
extract_file("lib", sys.argv[2], data, modules=ModuleNames())
print(time.perf_counter() - started)
"""


CPU: list[float] = []
"""CPU seconds (user + system, with the workers') of each command run, in order."""


def timed(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MiB (the largest of the process and its workers), and stdout;
    the CPU seconds go to ``CPU`` (on a shared machine they vary less than wall time)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = process.stdout.read().decode() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"failed ({status}): {' '.join(command)}")
    CPU.append(usage.ru_utime + usage.ru_stime)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out


LAYERS: list[str] = ["--no-scip"]
"""The repository-level layer options every build gets (``--scip`` empties it)."""


def build(corpus: Path, out: Path, *args: str) -> tuple[float, float, str]:
    command = [sys.executable, "-m", "graph", "build", str(corpus), "--out", str(out)]
    return timed([*command, "--exclude", EXCLUDE, *LAYERS, *args])


def summary_lines(stdout: str) -> str:
    lines = stdout.splitlines()
    starts = ("full", "incremental", "seconds", "scip")
    return "\n".join(line for line in lines if line.startswith(starts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="incremental builds and floors")
    parser.add_argument("--full-runs", type=int, default=1)
    parser.add_argument("--ray", action="store_true", help="also a full build on local Ray")
    parser.add_argument("--scip", action="store_true", help="run the SCIP layer in every build")
    parser.add_argument(
        "--subset",
        metavar="DIR",
        help=f"only this folder of Lib/ (it must hold {EDITED}'s folder, e.g. email)",
    )
    args = parser.parse_args()
    if args.scip:
        LAYERS.clear()
    with tempfile.TemporaryDirectory(prefix="cpg-incr-bench-") as temp:
        corpus = Path(temp, "Lib")
        source = LIB / args.subset if args.subset else LIB
        target = corpus / args.subset if args.subset else corpus
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(EXCLUDE, "__pycache__"))
        floors = [timed([sys.executable, "-c", FLOOR, str(corpus)])[0] for _ in range(args.runs)]
        floor = statistics.median(floors)
        cpu = statistics.median(CPU)
        print(f"floor (read + ast.parse, one process): median {floor:.1f} s ({cpu:.1f} s CPU)")
        out = Path(temp, "out")
        fulls = []
        for _ in range(args.full_runs):
            seconds, peak, stdout = build(corpus, out, "--full")
            fulls.append(seconds)
            ratio = seconds / floor
            cpu = CPU[-1]
            print(
                f"full build: {seconds:.1f} s ({ratio:.1f}x floor), {cpu:.0f} s CPU, {peak:.0f} MiB"
            )
            print(summary_lines(stdout))
        full = statistics.median(fulls)
        own = float(timed([sys.executable, "-c", OWN_EXTRACTION, str(corpus), EDITED])[2])
        print(f"{EDITED}: its own extraction {own:.2f} s; budget 3 s + that = {3 + own:.2f} s")
        incrementals = []
        for run in range(args.runs):
            with (corpus / EDITED).open("a", encoding="utf-8") as stream:
                stream.write(f"# edit {run}\n")
            seconds, peak, stdout = build(corpus, out)
            incrementals.append(seconds)
            print(f"incremental build: {seconds:.2f} s, {CPU[-1]:.2f} s CPU, peak {peak:.0f} MiB")
            print(summary_lines(stdout))
        incremental = statistics.median(incrementals)
        print(
            f"incremental median {incremental:.2f} s (budget {3 + own:.2f} s); "
            f"full median {full:.1f} s: {full / incremental:.0f}x less"
        )
        if args.ray:
            seconds, peak, stdout = build(corpus, Path(temp, "ray"), "--executor", "ray")
            ratio = seconds / floor
            print(
                f"ray (local) full build: {seconds:.1f} s ({ratio:.1f}x floor), {CPU[-1]:.0f} s CPU"
            )
            print(summary_lines(stdout))


if __name__ == "__main__":
    main()
