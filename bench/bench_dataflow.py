"""The data-flow layer's cost per million instructions against its floor, and its share of a build.

Part 1, in one process (cycle collector paused, as in a build worker), on an evenly spaced stdlib
sample and on click; inputs (compiled code, symtable, the bytecode layer's CFGs, LibCST rows) are
prepared once, outside the timings. Each run times:

- floor: ``decode_instructions`` on every code unit, decoding the instructions alone;
- bytecode: ``extract_bytecode_table`` (BC_* and CFG_* rows and the CFGs), for scale;
- dataflow: ``extract_dataflow`` (code units to tables, events, reaching definitions, DF_*,
  STEP_*, REACHES rows);
- anchors: ``extract_bytecode_anchors`` (BYTECODE_ANCHOR rows from BC_INSTR and CST rows).

Reports medians over ``--runs``, seconds per million instructions, ratios to the floor, and the
layer's rows (with the largest REACHES count of one code unit). Times are CPU seconds of this
process (``time.process_time``): on a shared machine, wall time mostly measures the others.

Part 2: ``build_graph_product`` (in this process, ``workers=0``) on a copy of ``--build-files``
stdlib files, with the layer and with it patched out, alternating; medians over
``--build-runs``, rows of each, and the layer's share of the build.

    python bench/bench_dataflow.py [--runs 5] [--files 200] [--build-files 40] [--build-runs 3]
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import gc
import importlib.util
import os
import shutil
import statistics
import symtable
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import graph.extract.file_facts as file_facts  # noqa: E402
from graph.extract.bytecode_anchor import extract_bytecode_anchors  # noqa: E402
from graph.extract.bytecode_decode import decode_instructions  # noqa: E402
from graph.extract.bytecode_extract import BytecodeFile, extract_bytecode_table  # noqa: E402
from graph.extract.cst_extract import extract_cst_tables  # noqa: E402
from graph.extract.dataflow_extract import extract_dataflow  # noqa: E402
from graph.extract.rows import EDGE, FileFacts, NodeRow  # noqa: E402
from graph.extract.source import DecodeError, LineIndex, decode_source  # noqa: E402
from graph.product_build import build_graph_product  # noqa: E402

LIB = Path(os.__file__).parent


@dataclass
class Prepared:
    """One file, compiled and parsed, with the bytecode layer's output and its CST rows."""

    path: str
    code: CodeType
    units: list[CodeType]
    table: symtable.SymbolTable
    lines: LineIndex
    bytecode: BytecodeFile
    cst_nodes: list[NodeRow]


def prepare(root: Path, paths: list[Path]) -> list[Prepared]:
    found: list[Prepared] = []
    for path in paths:
        data = path.read_bytes()
        try:
            text, encoding = decode_source(data)
            tree = ast.parse(text)
            code = compile(tree, str(path), "exec", dont_inherit=True, optimize=0)
            table = symtable.symtable(text, str(path), "exec")
        except (DecodeError, SyntaxError, ValueError):
            continue
        relpath = path.relative_to(root).as_posix()
        lines = LineIndex(data, text, encoding)
        bytecode = extract_bytecode_table(code, path=relpath, file_id="f", lines=lines)
        cst = extract_cst_tables(
            text,
            data,
            path=relpath,
            file_id="f",
            module_fqn="m",
            encoding=encoding,
            lines=lines,
        )
        units = [flow.code for flow in bytecode.flows]
        found.append(Prepared(relpath, code, units, table, lines, bytecode, cst.facts.nodes))
    return found


def floor(files: list[Prepared]) -> None:
    for f in files:
        for unit in f.units:
            decode_instructions(unit)


def bytecode(files: list[Prepared]) -> None:
    for f in files:
        extract_bytecode_table(f.code, path=f.path, file_id="f", lines=f.lines)


def dataflow(files: list[Prepared]) -> list[FileFacts]:
    return [extract_dataflow(f.bytecode.flows, f.table, path=f.path, file_id="f") for f in files]


def anchors(files: list[Prepared]) -> list[FileFacts]:
    return [
        extract_bytecode_anchors([*f.bytecode.facts.nodes, *f.cst_nodes], path=f.path, file_id="f")
        for f in files
    ]


CASES: dict[str, Callable[[list[Prepared]], object]] = {
    "floor": floor,
    "bytecode": bytecode,
    "dataflow": dataflow,
    "anchors": anchors,
}


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def layer_costs(name: str, files: list[Prepared], runs: int) -> None:
    instrs = sum(len(flow.instrs) for f in files for flow in f.bytecode.flows)
    seconds: dict[str, list[float]] = {case: [] for case in CASES}
    for _ in range(runs):
        for case, run in CASES.items():
            with collector_paused():
                start = time.process_time()
                run(files)
                seconds[case].append(time.process_time() - start)
    median = {case: statistics.median(values) for case, values in seconds.items()}
    per_m = 1e6 / instrs
    print(f"\n{name}: {len(files)} files, {instrs:,} instructions (medians of {runs})")
    print("| case | median s | s per M instructions | ratio to floor |")
    print("|---|---|---|---|")
    for case, value in median.items():
        ratio = value / median["floor"]
        print(f"| {case} | {value:.3f} | {value * per_m:.2f} | {ratio:.1f}x |")
    counts: Counter[str] = Counter()
    per_unit: Counter[object] = Counter()
    props = 0
    for facts in [*dataflow(files), *anchors(files)]:
        counts.update(node.node_kind for node in facts.nodes)
        counts.update(edge.edge_kind for edge in facts.edges)
        props += facts.prop_count
        units = facts.columns.get((EDGE, "code_unit_id", False))
        if units is not None:
            per_unit.update(units.values)
    largest = max(per_unit.values(), default=0)
    print(
        "rows: "
        + ", ".join(f"{kind} {counts[kind]:,}" for kind in sorted(counts))
        + f", props {props:,}; largest REACHES of one code unit: {largest:,}"
    )


def _no_rows(*_args: object, **_kwargs: object) -> FileFacts:
    return FileFacts()


def build_share(paths: list[Path], runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        for path in paths:
            target = repo / path.relative_to(LIB)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        seconds: dict[str, list[float]] = {"with": [], "without": []}
        rows: dict[str, dict[str, int]] = {}
        layers = (file_facts.extract_dataflow, file_facts.extract_bytecode_anchors)
        for _ in range(runs):
            for variant in ("with", "without"):
                patched = variant == "without"
                file_facts.extract_dataflow = _no_rows if patched else layers[0]  # type: ignore[assignment]
                file_facts.extract_bytecode_anchors = _no_rows if patched else layers[1]  # type: ignore[assignment]
                out = Path(tmp) / f"out-{variant}"
                shutil.rmtree(out, ignore_errors=True)
                start = time.process_time()
                result = build_graph_product(repo, out, workers=0)
                seconds[variant].append(time.process_time() - start)
                rows[variant] = result.rows
        file_facts.extract_dataflow, file_facts.extract_bytecode_anchors = layers
    median = {variant: statistics.median(values) for variant, values in seconds.items()}
    share = (median["with"] - median["without"]) / median["with"]
    print(f"\nbuild of {len(paths)} stdlib files, workers=0 (medians of {runs}):")
    print("| variant | median s | nodes | edges | props |")
    print("|---|---|---|---|---|")
    for variant, value in median.items():
        r = rows[variant]
        nodes, edges, props = (r.get(f"cpg_{k}_v1", 0) for k in ("nodes", "edges", "props"))
        print(f"| {variant} data flow | {value:.1f} | {nodes:,} | {edges:,} | {props:,} |")
    print(f"share of the build: {share:.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--build-files", type=int, default=40)
    parser.add_argument("--build-runs", type=int, default=3)
    args = parser.parse_args()
    stdlib = sorted(p for p in LIB.rglob("*.py") if "site-packages" not in p.parts)
    sample = stdlib[:: max(len(stdlib) // args.files, 1)][: args.files]
    layer_costs("stdlib sample", prepare(LIB, sample), args.runs)
    spec = importlib.util.find_spec("click")
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
        layer_costs("click", prepare(folder, sorted(folder.glob("*.py"))), args.runs)
    if args.build_files:
        picked = stdlib[:: max(len(stdlib) // args.build_files, 1)][: args.build_files]
        build_share(picked, args.build_runs)


if __name__ == "__main__":
    main()
