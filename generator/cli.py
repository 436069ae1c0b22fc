"""``python -m generator``: export the registry, read it back, render ``generated/``; or check.

Exit codes, for every command: 0 clean (or written), 1 drift (``--check``, a blocking
``--check-compat``), 2 error: bad options, broken specs or registry, unwritable outputs. An error
is one line (or one line per violation) naming the file, table, row or column at fault; a
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from generator.options import Options, Reporter, UsageError, resolve
from generator.project import ProjectError, find_project

_MODES = ("--check", "--check-compat", "--history")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m generator",
        description=(
            "Export the CPG registry from the specs (src/cpg, src/relspec) as Delta tables, read "
            "the tables back, and render typed modules into generated/. The project is the "
            "nearest pyproject.toml with [tool.cpg-registry] from the working directory up; its "
            "registry (default registry/) is committed. Exit codes: 0 clean, 1 drift, 2 error."
        ),
    )
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--check",
        action="store_true",
        help=(
            "write nothing; compare specs vs registry (row by row), registry vs generated/ and "
            "specs vs generated/; exit 1 on drift (summary on stderr, diff on stdout)"
        ),
    )
    modes.add_argument(
        "--check-compat",
        action="store_true",
        help=(
            "classify every change between the current specs and the registry as last committed "
            "(git HEAD; or --against); exit 1 on a breaking change"
        ),
    )
    modes.add_argument(
        "--history",
        action="store_true",
        help="list every table's versions (timestamp, fingerprint, rows), newest first",
    )
    parser.add_argument(
        "--registry",
        metavar="URI",
        help=(
            "registry root (the folder holding cpg/ and relspec/), a folder holding registry/, "
            "or an object-store URI such as s3://bucket/prefix with credentials and endpoint from "
            "the AWS_* environment variables (default: the project's registry/)"
        ),
    )
    parser.add_argument(
        "--no-export",
        action="store_true",
        help="do not export the specs: render from (or --check against) the registry as it is",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        type=Path,
        help="folder of the generated modules (default: the project's generated/)",
    )
    parser.add_argument(
        "--against",
        metavar="REV_PATH_OR_N",
        help=(
            "with --check-compat: a git revision (e.g. main), another registry (path or URI), or "
            "N for registry version N at --registry (default: the registry as committed at HEAD)"
        ),
    )
    parser.add_argument(
        "--registry-version",
        metavar="N",
        type=int,
        help="render (or --check against) registry version N, the N-th export; implies --no-export",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="print every table and file"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (exit code stays 2)"
    )
    return parser


def _check_combinations(args: argparse.Namespace) -> None:
    """Options that would be silently ignored are usage errors."""
    if args.against is not None and not args.check_compat:
        msg = "--against only applies to --check-compat"
        raise UsageError(msg)
    for flag, value in (
        ("--no-export", args.no_export),
        ("--registry-version", args.registry_version is not None),
    ):
        if value and (args.check_compat or args.history):
            mode = "--check-compat" if args.check_compat else "--history"
            msg = f"{flag} does not apply to {mode}"
            raise UsageError(msg)
    if args.output is not None and (args.check_compat or args.history):
        msg = "--output does not apply to --check-compat or --history"
        raise UsageError(msg)
    if args.registry_version is not None and args.registry_version < 0:
        msg = f"--registry-version counts from 0 (the first export); got {args.registry_version}"
        raise UsageError(msg)


def _options(args: argparse.Namespace) -> Options:
    project = find_project(Path.cwd())
    exports = not args.no_export and args.registry_version is None
    output = args.output
    if args.check_compat or args.history:
        output = Path()  # not used by these commands
    return resolve(
        project, args.registry, output, exports=exports, registry_version=args.registry_version
    )


def _dispatch(args: argparse.Namespace, report: Reporter) -> int:
    _check_combinations(args)
    options = _options(args)
    if args.history:
        from generator.registry_commands import history

        options.require_registry()
        print(history(options.registry), end="")
        return 0
    if args.check_compat:
        from generator.registry_commands import check_compat

        code, text = check_compat(options, args.against)
        print(text, end="")
        return code
    if args.check:
        from generator.check import check

        return check(options, report)
    from generator.generate import generate

    return generate(options, report)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = _parser().parse_args(argv)
    report = Reporter(quiet=args.quiet, verbose=args.verbose)
    started = time.perf_counter()
    try:
        code = _dispatch(args, report)
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: {describe_error(exc)}", file=sys.stderr)
        return 2
    report.detail(f"done in {time.perf_counter() - started:.2f} s")
    return code


def describe_error(error: BaseException) -> str:
    """The message of an error for a person: expected errors as they are, anything else as an
    internal error with its type (the traceback is one ``--debug`` away)."""
    from generator.errors import EXPECTED_ERRORS

    if isinstance(error, (*EXPECTED_ERRORS, UsageError, ProjectError)):
        return str(error)
    return (
        f"internal error: {type(error).__name__}: {error} "
        "(rerun with --debug for the traceback, and report it)"
    )
