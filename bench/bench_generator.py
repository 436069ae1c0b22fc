"""Benchmark ``python -m generator`` and ``--check`` against the import floor, at 1x/10x/100x.

Every measurement is a fresh process; each command run is paired with a run of the floor
(``python -c "import pyarrow, deltalake, jinja2, black"``) in the same iteration, so machine
noise hits both. Reports medians, the ratio to the floor, the time above it and peak RSS.

    python bench/bench_generator.py [--runs 5] [--scales 1,10,100]
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
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "src")]

from bench.scale_specs import scale_spec_set  # noqa: E402
from storage.deltalake.registry_runner import export_registry  # noqa: E402

FLOOR = (sys.executable, "-c", "import pyarrow, deltalake, jinja2, black")


@dataclass(frozen=True)
class Sample:
    """One fresh-process run: wall seconds and peak resident memory in MiB."""

    seconds: float
    peak_mib: float


def run(command: tuple[str, ...], cwd: Path, env: dict[str, str]) -> Sample:
    """Run ``command`` to completion; fail loudly on a non-zero exit."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        err = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}\n{err}")
    return Sample(elapsed, usage.ru_maxrss / 1024)


def project_copy(target: Path) -> Path:
    """A copy of the project parts the generator reads, so the benchmark edits nothing real."""
    for name in ("src", "generator", "generated", "registry"):
        shutil.copytree(PROJECT / name, target / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(PROJECT / "pyproject.toml", target / "pyproject.toml")
    return target


def measure(
    label: str, command: tuple[str, ...], cwd: Path, env: dict[str, str], runs: int
) -> dict[str, float | str]:
    """Median of ``runs`` paired (floor, command) fresh-process runs."""
    run(command, cwd, env)  # warm-up: caches and steady state
    floors, samples = [], []
    for _ in range(runs):
        floors.append(run(FLOOR, cwd, env))
        samples.append(run(command, cwd, env))
    floor = statistics.median(s.seconds for s in floors)
    median = statistics.median(s.seconds for s in samples)
    return {
        "case": label,
        "median_s": median,
        "floor_s": floor,
        "ratio": median / floor,
        "above_floor_s": median - floor,
        "peak_mib": max(s.peak_mib for s in samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scales", default="1,10,100")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="cpg-bench-") as tmp:
        root = project_copy(Path(tmp) / "project")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root / "src"), str(root)]))
        generator = (sys.executable, "-m", "generator")
        for scale in (int(s) for s in args.scales.split(",")):
            if scale == 1:
                results.append(measure("1x generate", generator, root, env, args.runs))
                results.append(measure("1x --check", (*generator, "--check"), root, env, args.runs))
                continue
            registry = Path(tmp) / f"registry-{scale}"
            export_registry(registry, specs=scale_spec_set(scale))
            out = Path(tmp) / f"out-{scale}" / "generated"
            options = ("--no-export", "--registry", str(registry), "--output", str(out))
            results.append(
                measure(f"{scale}x generate", (*generator, *options), root, env, args.runs)
            )
            results.append(
                measure(
                    f"{scale}x --check", (*generator, "--check", *options), root, env, args.runs
                )
            )
    print("| case | median s | floor s | ratio | above floor s | peak MiB |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['case']} | {r['median_s']:.2f} | {r['floor_s']:.2f} | {r['ratio']:.2f}x "
            f"| {r['above_floor_s']:.2f} | {r['peak_mib']:.0f} |"
        )


if __name__ == "__main__":
    main()
