"""Benchmark the LibCST layer against its own floor, in one process, on a stdlib sample and click.

Per corpus and run, over every file (each read and decoded once, before timing):

- floor: ``libcst.parse_module`` + ``MetadataWrapper.resolve_many`` of the layer's three providers
  (ByteSpanPositionProvider, ScopeProvider, ExpressionContextProvider): what LibCST alone costs;
- layer: ``extract_cst_tables`` (the floor's work, the walk, every row and relation);
- bindings: ``symtable.symtable`` + ``extract_name_bindings`` on the layer's result;
- providers: the floor plus QualifiedNameProvider and FullyQualifiedNameProvider, the providers
  the layer replaces by asking only the nodes that carry names (``cst_qnames``).

Runs alternate the cases, so noise hits all of them; the report gives medians and ratios to the
floor. click 8.1.7 is the pinned sdist: ``pip download --no-deps --no-binary :all: click==8.1.7``
and unpack it, then pass ``--click DIR`` (its ``src/click``).

    python bench/bench_cst.py [--runs 5] [--sample 120] [--click DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import symtable
import time
from collections.abc import Callable
from pathlib import Path

import libcst as cst
from libcst.helpers.module import ModuleNameAndPackage
from libcst.metadata import (
    FullyQualifiedNameProvider,
    MetadataWrapper,
    QualifiedNameProvider,
)

from graph.extract.cst_extract import PROVIDERS, extract_cst_tables
from graph.extract.name_binding import extract_name_bindings
from graph.extract.source import LineIndex, decode_source

LIB = Path(os.__file__).parent

Source = tuple[str, bytes, str, str]
"""``(relpath, data, text, encoding)``."""


def stdlib_sample(count: int) -> list[Path]:
    """Every k-th module of the standard library (no tests, no site-packages), sorted."""
    files = sorted(
        p
        for p in LIB.rglob("*.py")
        if "site-packages" not in p.parts and "test" not in p.parts and "tests" not in p.parts
    )
    return files[:: max(len(files) // count, 1)][:count]


def load(root: Path, paths: list[Path]) -> list[Source]:
    sources = []
    for path in paths:
        data = path.read_bytes()
        try:
            text, encoding = decode_source(data)
            MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True).resolve_many(PROVIDERS)
        except Exception:  # LibCST rejects it (pydoc_data/topics.py: RecursionError): one DIAG
            continue
        sources.append((path.relative_to(root).as_posix(), data, text, encoding))
    return sources


def floor(sources: list[Source]) -> None:
    for _, _, text, _ in sources:
        MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True).resolve_many(PROVIDERS)


def module_name(relpath: str) -> ModuleNameAndPackage:
    """``a/b/c.py`` -> ``a.b.c`` in package ``a.b``; ``a/b/__init__.py`` -> ``a.b`` in ``a.b``."""
    parts = relpath.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
        return ModuleNameAndPackage(".".join(parts), ".".join(parts))
    return ModuleNameAndPackage(".".join(parts), ".".join(parts[:-1]))


def providers(sources: list[Source]) -> None:
    for relpath, _, text, _ in sources:
        cache = {FullyQualifiedNameProvider: module_name(relpath)}
        wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True, cache=cache)
        wrapper.resolve_many((*PROVIDERS, QualifiedNameProvider, FullyQualifiedNameProvider))


def layer(sources: list[Source]) -> None:
    for relpath, data, text, encoding in sources:
        lines = LineIndex(data, text, encoding)
        module = module_name(relpath).name
        extract_cst_tables(
            text, data, path=relpath, file_id="F", module_fqn=module, encoding=encoding, lines=lines
        )


def layer_and_bindings(sources: list[Source]) -> None:
    for relpath, data, text, encoding in sources:
        lines = LineIndex(data, text, encoding)
        module = module_name(relpath).name
        result = extract_cst_tables(
            text, data, path=relpath, file_id="F", module_fqn=module, encoding=encoding, lines=lines
        )
        table = symtable.symtable(text, relpath, "exec")
        extract_name_bindings(table, result, path=relpath, file_id="F", module_fqn=module)


CASES: dict[str, Callable[[list[Source]], None]] = {
    "floor": floor,
    "layer": layer,
    "layer+bindings": layer_and_bindings,
    "providers": providers,
}


def measure(sources: list[Source], runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        for name, case in CASES.items():
            started = time.perf_counter()
            case(sources)
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample", type=int, default=120, help="stdlib modules to use")
    parser.add_argument("--click", type=Path, help="an unpacked click sdist (or its src/click)")
    args = parser.parse_args()
    corpora = {"stdlib": load(LIB, stdlib_sample(args.sample))}
    if args.click is not None:
        root = args.click / "src" / "click" if (args.click / "src").is_dir() else args.click
        corpora["click"] = load(root, sorted(root.rglob("*.py")))
    print("| corpus | files | MiB | floor s | layer s | ratio | +bindings s | ratio "
          "| providers s | ratio |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, sources in corpora.items():
        size = sum(len(data) for _, data, _, _ in sources) / (1 << 20)
        m = measure(sources, args.runs)
        base = m["floor"]
        print(
            f"| {name} | {len(sources)} | {size:.2f} | {base:.2f} | {m['layer']:.2f} "
            f"| {m['layer'] / base:.2f}x | {m['layer+bindings']:.2f} "
            f"| {m['layer+bindings'] / base:.2f}x | {m['providers']:.2f} "
            f"| {m['providers'] / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
