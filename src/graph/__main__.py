"""``python -m graph build REPO --out DIR``: build the CPG of a repository.

Exit codes: 0 built, 1 contract violations with ``--strict``, 2 any error (a missing repository,
an unusable ``--source-root``, broken specs, an unwritable output: one line on stderr; ``--debug``
adds the traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from graph.executors import EXECUTORS, PROCESS, RAY, ExecutorChoice
from graph.extract.runtime_inspect import DEFAULT_MODULE_TIMEOUT, RuntimeLimits
from graph.extract.runtime_inspect import DEFAULT_TIMEOUT as DEFAULT_RUNTIME_TIMEOUT
from graph.extract.scip_run import DEFAULT_HEAP_MIB, DEFAULT_TIMEOUT, ScipLimits
from graph.file_read import DEFAULT_MAX_FILE_BYTES
from graph.product_build import (
    DEFAULT_BATCH_TIMEOUT,
    BuildResult,
    WorkLimits,
    build_graph_product,
)
from graph.progress import ProgressBar
from graph.repo_layers import RepoLayerOptions
from storage.deltalake.delta import one_line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m graph",
        description="Build the CPG of a Python repository, validated against its registry.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build",
        help="scan REPO and write the CPG datasets and the registry under --out",
        description=(
            "Write cpg_nodes_v1, cpg_edges_v1, cpg_props_v1, cpg_props_json_v1 and "
            "cpg_build_violations as Delta tables under DIR, plus DIR/registry/{cpg,relspec}."
        ),
    )
    build.add_argument("repo", metavar="REPO", help="the repository to scan")
    build.add_argument("--out", metavar="DIR", required=True, help="the output directory")
    build.add_argument(
        "--strict", action="store_true", help="exit 1 when any row breaks its contract"
    )
    build.add_argument(
        "--workers",
        type=int,
        default=None,
        help="extraction processes (default: one per CPU; 0: extract in this process, with no "
        "memory or time limit)",
    )
    build.add_argument(
        "--max-file-bytes",
        type=int,
        metavar="BYTES",
        default=DEFAULT_MAX_FILE_BYTES,
        help="a larger file gets a DIAG instead of being read (default: %(default)s)",
    )
    build.add_argument(
        "--worker-memory",
        type=int,
        metavar="MIB",
        default=None,
        help="a worker whose resident memory passes this is ended and its file gets a DIAG "
        "(default: half the machine's memory shared by the workers)",
    )
    build.add_argument(
        "--batch-timeout",
        type=float,
        metavar="SECONDS",
        default=DEFAULT_BATCH_TIMEOUT,
        help="a batch of files not extracted by then is retried file by file; a file that "
        "times out alone gets a DIAG (default: %(default)s; 0: no limit)",
    )
    build.add_argument(
        "--exclude",
        metavar="DIRNAME",
        action="append",
        default=[],
        help="skip directories with this name (repeatable)",
    )
    build.add_argument(
        "--source-root",
        metavar="DIR",
        action="append",
        default=[],
        help=(
            "an import root that names modules (repeatable; relative to REPO; an ancestor of "
            "REPO, such as '..', makes REPO the package its path names). Default: the layout's "
            "(REPO's parent if REPO holds __init__.py, setuptools package-dir/where in "
            "pyproject.toml, src/, else REPO)"
        ),
    )
    build.add_argument(
        "--full",
        action="store_true",
        help="extract every file, even when the previous build in DIR could keep the rows of "
        "unchanged ones",
    )
    build.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=PROCESS,
        help="where files are extracted: worker processes on this machine (default), or Ray "
        "tasks (needs the ray extra)",
    )
    build.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        default=None,
        help="the Ray cluster to run on (default: RAY_ADDRESS, else a local cluster); every "
        "node must see REPO and DIR at the same paths",
    )
    build.add_argument(
        "--no-scip",
        action="store_true",
        help="skip the SCIP layer (scip-python: resolved symbols and calls, PY_*_SYMBOL edges)",
    )
    build.add_argument(
        "--scip-timeout",
        type=float,
        metavar="SECONDS",
        default=DEFAULT_TIMEOUT,
        help="scip-python not done by then is stopped; the build goes on without SCIP rows and "
        "a DIAG says why (default: %(default)s; 0: no limit)",
    )
    build.add_argument(
        "--scip-heap",
        type=int,
        metavar="MIB",
        default=DEFAULT_HEAP_MIB,
        help="Node heap for scip-python (--max-old-space-size; default: %(default)s)",
    )
    build.add_argument(
        "--runtime",
        action="store_true",
        help="also import the repository's modules and record what they hold (RT_* nodes). "
        "This RUNS THE REPOSITORY'S CODE: in a separate process, a scratch directory, without "
        "network where unshare allows it; only for code you trust",
    )
    build.add_argument(
        "--runtime-timeout",
        type=float,
        metavar="SECONDS",
        default=DEFAULT_RUNTIME_TIMEOUT,
        help="the runtime probe is stopped after this (default: %(default)s; each module may "
        f"take {DEFAULT_MODULE_TIMEOUT:g} s)",
    )
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    build.add_argument("--debug", action="store_true", help="print the traceback of an error")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = _parser().parse_args(argv)
    bar: list[ProgressBar] = []
    limits = WorkLimits(
        max_file_bytes=args.max_file_bytes,
        worker_memory_bytes=None if args.worker_memory is None else args.worker_memory << 20,
        batch_timeout=args.batch_timeout or None,
    )
    if args.ray_address is not None and args.executor != RAY:
        print("error: --ray-address needs --executor ray", file=sys.stderr)
        return 2
    layers = RepoLayerOptions(
        scip=not args.no_scip,
        scip_limits=ScipLimits(args.scip_timeout or None, args.scip_heap),
        runtime=args.runtime,
        runtime_limits=RuntimeLimits(args.runtime_timeout or None),
    )
    try:
        result = build_graph_product(
            args.repo,
            args.out,
            workers=args.workers,
            exclude=frozenset(args.exclude),
            source_roots=args.source_root,
            limits=limits,
            full=args.full,
            executor=ExecutorChoice(args.executor, args.workers, args.ray_address),
            layers=layers,
            on_start=None if args.quiet else lambda total: bar.append(ProgressBar(total)),
            on_file=None if args.quiet else lambda done: bar[0].advance(done),
        )
    except KeyboardInterrupt:
        _close(bar)
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every error is one line and exit 2; --debug shows where
        _close(bar)
        if args.debug:
            traceback.print_exc()
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return 2
    _close(bar)
    if not args.quiet:
        counts = ", ".join(f"{name} {rows}" for name, rows in result.rows.items())
        roots = ", ".join(map(str, result.import_roots)) or "the repository"
        print(
            f"built {result.files} files into {result.output_dir}: {counts}; "
            f"{result.diagnostics} diagnostics, {result.violations} contract violations; "
            f"modules named from {roots}"
        )
        for line in (*result.layers, *result.rules):
            print(line)
        print(_mode(result))
        phases = ", ".join(f"{name} {seconds:.2f}" for name, seconds in result.phases.items())
        written, kept = result.data_files
        print(
            f"seconds: {phases}; data files: {written} written, {kept} after compaction; "
            f"peak {result.peak_bytes >> 20} MiB"
        )
    if args.strict and result.violations:
        print(
            f"error: {result.violations} rows break their contracts "
            f"(see {result.output_dir}/cpg_build_violations)",
            file=sys.stderr,
        )
        return 1
    return 0


def _mode(result: BuildResult) -> str:
    """One line: a full build and why, or what an incremental build extracted and dropped."""
    if result.full_reason is not None:
        return f"full build: {result.full_reason}"
    kept = result.files - result.extracted
    return (
        f"incremental build: {result.extracted} files extracted, {result.removed} removed, "
        f"{kept} kept"
    )


def _close(bar: list[ProgressBar]) -> None:
    if bar:
        bar[0].close()


def _describe(exc: Exception) -> str:
    """One line: what failed and where (an ``OSError``'s path), never a traceback."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    if isinstance(exc, OSError | ValueError | LookupError) and str(exc):
        return one_line(exc)
    return f"{type(exc).__name__}: {one_line(exc)} (--debug shows the traceback)"


if __name__ == "__main__":
    sys.exit(main())
