"""The tree-sitter layer's cost against its own floor, on a stdlib sample and on click.

Per corpus, in one process (cycle collector paused, as in a build worker), each run times:

- floor: ``tree_sitter.Parser.parse`` on every file, nothing else;
- layer: ``extract_ts_tables`` (parse, walk, rows) on every file;
- +contains: the layer plus the FILE_CONTAINS edges of its nodes (``extract_file_contains``);
- +arrow: that, plus the rows shaped into the datasets' Arrow tables (``plain_tables`` and
  ``dataset_table``: schema, dedupe, canonical sort) in batches of 32 files as a build worker
  does, the per-row cost the build pays after the layer;
- ast layer: ``ast.parse`` + ``extract_ast_tables`` on the same files, for scale.

Reports medians over ``--runs`` and ratios to the floor of the same runs, plus row counts of the
TS and AST layers (the layer's volume).

    python bench/bench_ts.py [--runs 5] [--files 300]
"""

from __future__ import annotations

import argparse
import ast
import gc
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from cpg.registry_specs import dataset_contract  # noqa: E402
from graph.extract.ast_extract import extract_ast_tables  # noqa: E402
from graph.extract.file_contains import extract_file_contains  # noqa: E402
from graph.extract.rows import FileFacts  # noqa: E402
from graph.extract.source import DecodeError, LineIndex, decode_source  # noqa: E402
from graph.extract.tree_sitter_extract import extract_ts_tables, python_parser  # noqa: E402
from graph.facts_tables import DATASETS, dataset_table, plain_tables  # noqa: E402
from graph.product_build import DEFAULT_BATCH_FILES  # noqa: E402

LIB = Path(os.__file__).parent
File = tuple[str, bytes, str | None, str | None]
"""``(relpath, data, text, encoding)``; text and encoding are None when the file does not decode."""


def load(root: Path, paths: list[Path]) -> list[File]:
    files: list[File] = []
    for path in paths:
        data = path.read_bytes()
        try:
            text, encoding = decode_source(data)
        except DecodeError:
            text, encoding = None, None
        files.append((path.relative_to(root).as_posix(), data, text, encoding))
    return files


def stdlib_sample(count: int) -> list[File]:
    paths = sorted(p for p in LIB.rglob("*.py") if "site-packages" not in p.parts)
    return load(LIB, paths[:: max(len(paths) // count, 1)][:count])


def click_files() -> list[File]:
    spec = importlib.util.find_spec("click")
    assert spec is not None and spec.submodule_search_locations, "click is not installed"
    folder = Path(next(iter(spec.submodule_search_locations)))
    return load(folder, sorted(folder.glob("*.py")))


def floor(files: list[File]) -> None:
    parser = python_parser()
    for _, data, _, _ in files:
        parser.parse(data)


def layer(files: list[File]) -> list[FileFacts]:
    return [
        extract_ts_tables(data, path=path, file_id=path, text=text, encoding=encoding)
        for path, data, text, encoding in files
    ]


def with_contains(files: list[File]) -> list[FileFacts]:
    facts = layer(files)
    for (path, _, _, _), rows in zip(files, facts, strict=True):
        rows.extend(extract_file_contains(rows.nodes, path=path, file_id=path))
    return facts


def with_arrow(files: list[File]) -> None:
    contracts = {name: dataset_contract(name) for name in DATASETS}
    for start in range(0, len(files), DEFAULT_BATCH_FILES):
        batch = FileFacts.merge(with_contains(files[start : start + DEFAULT_BATCH_FILES]))
        for name, table in plain_tables(batch, contracts).by_dataset().items():
            dataset_table(table, contracts[name])


def ast_layer(files: list[File]) -> list[FileFacts]:
    facts = []
    for path, data, text, encoding in files:
        if text is None or encoding is None:
            continue
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        lines = LineIndex(data, text, encoding)
        facts.append(extract_ast_tables(tree, path=path, file_id=path, lines=lines))
    return facts


def timed(step: Callable[[list[File]], object], files: list[File]) -> float:
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        step(files)
        return time.perf_counter() - started
    finally:
        gc.enable()


def rows(facts: list[FileFacts]) -> tuple[int, int, int]:
    merged = FileFacts.merge(facts)
    return len(merged.nodes), len(merged.edges), merged.prop_count


STEPS: dict[str, Callable[[list[File]], object]] = {
    "floor": floor,
    "layer": layer,
    "+contains": with_contains,
    "+arrow": with_arrow,
    "ast layer": ast_layer,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=300, help="stdlib files in the sample")
    args = parser.parse_args()
    corpora = {f"stdlib ({args.files} files)": stdlib_sample(args.files), "click": click_files()}
    print("| corpus | MiB | floor s | layer s | ratio | +contains s | ratio | +arrow s | ratio "
          "| ast layer s | TS rows n/e/p | AST rows n/e/p |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, files in corpora.items():
        times: dict[str, list[float]] = {step: [] for step in STEPS}
        for _ in range(args.runs):
            for step, run in STEPS.items():
                times[step].append(timed(run, files))
        median = {step: statistics.median(values) for step, values in times.items()}
        base = median["floor"]
        mib = sum(len(data) for _, data, _, _ in files) / 2**20
        ts_rows, ast_rows = rows(with_contains(files)), rows(ast_layer(files))
        print(
            f"| {name} | {mib:.1f} | {base:.3f} | "
            + " | ".join(
                f"{median[step]:.3f} | {median[step] / base:.1f}x"
                for step in ("layer", "+contains", "+arrow")
            )
            + f" | {median['ast layer']:.3f} | "
            + " / ".join(f"{count:,}" for count in ts_rows)
            + " | "
            + " / ".join(f"{count:,}" for count in ast_rows)
            + " |"
        )


if __name__ == "__main__":
    main()
