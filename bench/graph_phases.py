"""Where one process's time goes when the graph pipeline builds a sample of the standard library.

Runs the worker's steps in this process, batch by batch, and times each: the three stdlib
passes' floor (``ast.parse`` alone, for scale), extraction (``extract_file``, cycle collector
paused as in a worker), Arrow tables (``plain_tables``), dedupe and canonical sort
(``dataset_table``), contract checks (``validate_tables``) and the Parquet writes of a segment.

    python bench/graph_phases.py [--files 120] [--batch 32] [--seed 1]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from cpg.contract_registry import contracts_from_tables  # noqa: E402
from cpg.registry_specs import dataset_contract  # noqa: E402
from graph.extract.file_facts import extract_file  # noqa: E402
from graph.extract.rows import FileFacts  # noqa: E402
from graph.facts_tables import (  # noqa: E402
    DATASETS,
    PlainTables,
    dataset_table,
    plain_schema,
    plain_tables,
    props_sorted,
)
from graph.row_validation import RowValidator  # noqa: E402
from storage.parquet_files import write_data_file  # noqa: E402

LIB = Path(os.__file__).parent


def sample(count: int, seed: int) -> list[tuple[str, bytes]]:
    files = sorted(p for p in LIB.rglob("*.py") if "site-packages" not in p.parts)
    picked = random.Random(seed).sample(files, min(count, len(files)))
    return [(str(p.relative_to(LIB)), p.read_bytes()) for p in picked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    files = sample(args.files, args.seed)
    contracts = {name: dataset_contract(name) for name in DATASETS}
    validator = RowValidator(contracts_from_tables(), contracts)
    sorted_props = props_sorted(contracts)
    seconds = dict.fromkeys(["ast.parse", "extract", "tables", "shape", "validate", "write"], 0.0)
    rows = dict.fromkeys(DATASETS, 0)
    started = time.perf_counter()
    for _, data in files:
        with contextlib.suppress(SyntaxError, ValueError):
            ast.parse(data)
    seconds["ast.parse"] = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="cpg-graph-phases-") as out:
        for first in range(0, len(files), args.batch):
            mark = time.perf_counter()
            gc.disable()
            facts = FileFacts()
            for relpath, data in files[first : first + args.batch]:
                facts.extend(extract_file("repo", relpath, data))
            seconds["extract"] += time.perf_counter() - mark
            mark = time.perf_counter()
            plain = plain_tables(facts, contracts).by_dataset()
            del facts
            gc.enable()
            seconds["tables"] += time.perf_counter() - mark
            mark = time.perf_counter()
            tables = {name: dataset_table(plain[name], contracts[name]) for name in DATASETS}
            seconds["shape"] += time.perf_counter() - mark
            mark = time.perf_counter()
            shaped = PlainTables(*(tables[name] for name in DATASETS))
            validator.validate_tables(shaped, props_sorted=sorted_props)
            seconds["validate"] += time.perf_counter() - mark
            mark = time.perf_counter()
            for name, table in tables.items():
                rows[name] += table.num_rows
                folder = Path(out) / contracts[name].name
                schema = plain_schema(table.schema).remove_metadata()
                write_data_file(folder, f"batch-{first}.parquet", schema, [table])
            seconds["write"] += time.perf_counter() - mark
    print(f"{len(files)} stdlib files, batches of {args.batch}; rows: {rows}")
    print("| " + " | ".join(seconds) + " |")
    print("|" + "---|" * len(seconds))
    print("| " + " | ".join(f"{value:.2f} s" for value in seconds.values()) + " |")


if __name__ == "__main__":
    main()
