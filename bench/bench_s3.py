"""Benchmark the registry on a local S3 (moto on 127.0.0.1) against the local filesystem.

Per backend and run, in this process (imports paid once, before timing):

- export: ``export_registry`` of the canonical specs into a fresh, empty root (13 tables);
- re-export: the same again, where every table is unchanged (fingerprint check only);
- read: ``read_table_delta`` of all 13 tables (open the log, read the data, restore the schema).

Reports the median (and min/max) of ``--runs`` runs. The S3 server is the one the tests use
(``tests/s3_server.py``: moto in a child process, requests serialized, one TCP connection per
request), so the S3 figures are an upper bound on protocol overhead, not a cloud latency.

    python bench/bench_s3.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "src")]

from storage.deltalake.delta import read_table_delta  # noqa: E402
from storage.deltalake.locations import Location, join  # noqa: E402
from storage.deltalake.registry_layout import all_tables, table_path  # noqa: E402
from storage.deltalake.registry_runner import export_registry  # noqa: E402
from tests.s3_server import S3Server, aws_env  # noqa: E402

BUCKET = "cpg-registry-bench"


def read_all(root: Location) -> int:
    """Read every registry table back; return the total row count."""
    return sum(
        read_table_delta(table_path(root, target, spec.name)).num_rows
        for target, spec in all_tables()
    )


STEPS: dict[str, Callable[[Location], object]] = {
    "export": export_registry,
    "re-export": export_registry,
    "read 13 tables": read_all,
}


def measure(
    new_root: Callable[[], Location], runs: int, requests: Callable[[], int] | None = None
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Seconds per step and run, each run on a fresh root; and HTTP requests per step (last
    run) when ``requests`` counts the server's requests so far."""
    samples: dict[str, list[float]] = {step: [] for step in STEPS}
    counts: dict[str, int] = {}
    for _ in range(runs):
        root = new_root()
        for step, action in STEPS.items():
            before = requests() if requests else 0
            started = time.perf_counter()
            action(root)
            samples[step].append(time.perf_counter() - started)
            if requests:
                counts[step] = requests() - before
    return samples, counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    server = S3Server()
    server.start()
    try:
        server.create_bucket(BUCKET)
        os.environ.update(aws_env(server.endpoint))
        with tempfile.TemporaryDirectory() as scratch:
            backends: dict[str, Callable[[], Location]] = {
                "local": lambda: Path(scratch, uuid.uuid4().hex),
                "s3 (moto)": lambda: join(f"s3://{BUCKET}", uuid.uuid4().hex),
            }
            warmup = backends["local"]()
            export_registry(warmup)
            read_all(warmup)
            results = {"local": measure(backends["local"], args.runs)[0]}
            results["s3 (moto)"], counts = measure(
                backends["s3 (moto)"], args.runs, lambda: len(server.requests())
            )
    finally:
        server.stop()

    print(f"median of {args.runs} runs, seconds (min-max)")
    print(f"{'step':<16}" + "".join(f"{name:>24}" for name in results) + "  s3 requests")
    for step in STEPS:
        cells = []
        for samples in results.values():
            values = samples[step]
            cells.append(
                f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})".rjust(24)
            )
        print(f"{step:<16}" + "".join(cells) + f"{counts[step]:>13}")
    local, s3 = (statistics.median(r["export"]) for r in results.values())
    local_read, s3_read = (statistics.median(r["read 13 tables"]) for r in results.values())
    print(f"s3/local: export x{s3 / local:.1f}, read x{s3_read / local_read:.1f}")


if __name__ == "__main__":
    main()
