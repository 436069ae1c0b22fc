"""``python -m graph build REPO --out DIR``: build the CPG of a repository.

Exit codes: 0 built, 1 contract violations with ``--strict``, 2 error (missing repository,
unwritable output).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from graph.product_build import build_graph_product
from graph.progress import ProgressBar
from storage.spec_codec import RegistryDecodeError


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
    build.add_argument("--workers", type=int, default=None, help="extraction processes")
    build.add_argument(
        "--exclude",
        metavar="DIRNAME",
        action="append",
        default=[],
        help="skip directories with this name (repeatable)",
    )
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = _parser().parse_args(argv)
    bar: list[ProgressBar] = []
    try:
        result = build_graph_product(
            args.repo,
            args.out,
            workers=args.workers,
            exclude=frozenset(args.exclude),
            on_start=None if args.quiet else lambda total: bar.append(ProgressBar(total)),
            on_file=None if args.quiet else lambda done: bar[0].advance(done),
        )
    except (OSError, RegistryDecodeError) as exc:  # missing repo, unwritable or failing storage
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if bar:
            bar[0].close()
    if not args.quiet:
        counts = ", ".join(f"{name} {rows}" for name, rows in result.rows.items())
        print(
            f"built {result.files} files into {result.output_dir}: {counts}; "
            f"{result.diagnostics} diagnostics, {result.violations} contract violations"
        )
        for line in result.rules:
            print(line)
    if args.strict and result.violations:
        print(
            f"error: {result.violations} rows break their contracts "
            f"(see {result.output_dir}/cpg_build_violations)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
