"""Benchmark ``python -m generator`` against the import floor, at 1x/10x/100x, by two scalers.

Every measurement is a fresh process; each command run is paired with a run of the floor
(``python -c "import pyarrow, deltalake, jinja2, black"``) in the same iteration, so machine
noise hits both. Reports medians, the ratio to the floor and peak RSS.

Cases, for each scaler (``specs``: ``bench/scale_specs.py`` copies kinds, fields, datasets and
rules; ``rows``: ``bench/scale_registry.py`` copies the registry tables' rows) and scale, run
with ``--no-export`` against a pre-exported registry:

- ``warm``: generate when ``generated/`` already holds the render;
- ``cold``: generate with no generator cache and no ``generated/`` (every file is new);
- ``edit``: generate after a one-kind edit (a node kind's description changes, a new text each
  run), with the cache and ``generated/`` as the previous run left them;
- ``check``: ``--check`` when nothing changed.

``project`` rows run the project's own commands at 1x (``python -m generator`` exports the
specs; ``--check`` compares specs, registry and ``generated/``). ``--project DIR`` measures
another checkout (e.g. an older commit) with this benchmark. Bytecode caching is on in the
measured processes (``PYTHONDONTWRITEBYTECODE`` is dropped), as on a developer's machine.

    python bench/bench_generator.py [--runs 3] [--scales 1,10,100] [--scalers specs,rows]
        [--cases warm,cold,edit,check] [--project DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "src")]

from bench.scale_registry import scale_registry  # noqa: E402
from bench.scale_specs import scale_spec_set  # noqa: E402
from cpg.spec_set import SpecSet  # noqa: E402
from storage.deltalake.registry_runner import export_registry  # noqa: E402

FLOOR = (sys.executable, "-c", "import pyarrow, deltalake, jinja2, black")
GENERATOR = (sys.executable, "-m", "generator")
SCALERS: dict[str, Callable[[int], SpecSet]] = {"specs": scale_spec_set, "rows": scale_registry}


@dataclass(frozen=True)
class Sample:
    """One fresh-process run: wall seconds and peak resident memory in MiB."""

    seconds: float
    peak_mib: float


@dataclass(frozen=True)
class Result:
    """The medians of one case."""

    scaler: str
    scale: int
    case: str
    median_s: float
    floor_s: float
    peak_mib: float

    @property
    def ratio(self) -> float:
        return self.median_s / self.floor_s


_LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""
"""Runs a command and reports its wall time, peak RSS (KiB) and exit code. A small process
forks the command, so the peak is the command's own: a child forked from the benchmark would
start out with the benchmark's memory (the scaled specs) counted in its peak."""


def run(command: tuple[str, ...], cwd: Path, env: dict[str, str]) -> Sample:
    """Run ``command`` to completion; fail loudly on a non-zero exit."""
    result = subprocess.run(
        (sys.executable, "-S", "-c", _LAUNCHER, *command),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    fields = result.stdout.split()
    if result.returncode != 0 or len(fields) != 3 or fields[2] != "0":
        raise SystemExit(f"{' '.join(command)} failed\n{result.stderr}")
    return Sample(float(fields[0]), int(fields[1]) / 1024)


def project_copy(source: Path, target: Path) -> Path:
    """A copy of the project parts the generator reads, so the benchmark edits nothing real."""
    for name in ("src", "generator", "generated", "registry"):
        shutil.copytree(source / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(source / "pyproject.toml", target / "pyproject.toml")
    return target


def measure(
    command: tuple[str, ...],
    cwd: Path,
    env: dict[str, str],
    runs: int,
    prepare: Callable[[], None] = lambda: None,
) -> tuple[float, float, float]:
    """Median seconds of ``runs`` paired (floor, command) runs, the floor's median and the peak
    RSS; ``prepare`` runs (untimed) before each command run."""
    floors, samples = [], []
    for _ in range(runs):
        prepare()
        floors.append(run(FLOOR, cwd, env))
        samples.append(run(command, cwd, env))
    return (
        statistics.median(s.seconds for s in samples),
        statistics.median(s.seconds for s in floors),
        max(s.peak_mib for s in samples),
    )


def edited(specs: SpecSet, number: int) -> SpecSet:
    """``specs`` with the first node kind's description changed (``number`` makes it new)."""
    first, *rest = specs.node_contracts
    changed = dataclasses.replace(first, description=f"{first.description} (edit {number})")
    return dataclasses.replace(specs, node_contracts=(changed, *rest))


def bench_scale(
    scaler: str,
    scale: int,
    cases: list[str],
    root: Path,
    work: Path,
    env: dict[str, str],
    runs: int,
) -> list[Result]:
    specs = SCALERS[scaler](scale)
    registry = work / f"registry-{scaler}-{scale}"
    export_registry(registry, specs=specs)
    out = work / f"out-{scaler}-{scale}" / "generated"
    cache = root / "build" / ".generator-cache"
    options = ("--no-export", "--registry", str(registry), "--output", str(out))
    generate = (*GENERATOR, *options)
    run(generate, root, env)
    edits = iter(range(1, 1000))

    def cold() -> None:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)

    def edit() -> None:
        export_registry(registry, specs=edited(specs, next(edits)))

    plans: dict[str, tuple[tuple[str, ...], Callable[[], None]]] = {
        "warm": (generate, lambda: None),
        "cold": (generate, cold),
        "edit": (generate, edit),
        "check": ((*GENERATOR, "--check", *options), lambda: None),
    }
    results = []
    for case in cases:
        command, prepare = plans[case]
        run(generate, root, env)  # the state every case starts from: generated, cache warm
        median, floor, peak = measure(command, root, env, runs, prepare)
        results.append(Result(scaler, scale, case, median, floor, peak))
        print(
            f"  {scaler} {scale}x {case}: {median:.2f} s (floor {floor:.2f}), {peak:.0f} MiB",
            file=sys.stderr,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--scalers", default="specs,rows")
    parser.add_argument("--cases", default="warm,cold,edit,check")
    parser.add_argument("--project", type=Path, default=PROJECT)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cases = args.cases.split(",")
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp:
        work = Path(tmp)
        root = project_copy(args.project.resolve(), work / "project")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPATH"] = os.pathsep.join([str(root / "src"), str(root)])
        for case, command in (("generate", GENERATOR), ("check", (*GENERATOR, "--check"))):
            median, floor, peak = measure(command, root, env, args.runs)
            results.append(Result("project", 1, case, median, floor, peak))
        for scaler in args.scalers.split(","):
            for scale in (int(s) for s in args.scales.split(",")):
                results.extend(bench_scale(scaler, scale, cases, root, work, env, args.runs))
    print("| scaler | scale | case | median s | floor s | ratio | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.scaler} | {r.scale}x | {r.case} | {r.median_s:.2f} | {r.floor_s:.2f} "
            f"| {r.ratio:.2f}x | {r.peak_mib:.0f} |"
        )
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=1))


if __name__ == "__main__":
    main()
