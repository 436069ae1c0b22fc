"""``python -m generator``: export the registry, read it back, render ``generated/``; or check.

Exit codes: 0 clean (or written), 1 drift (``--check``), 2 error.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pyarrow as pa

from cpg.dataset_schemas import DatasetSchemaError
from cpg.registry_readers import spec_set_from_tables
from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import SpecValidationError, require_valid_specs, validate_specs
from generator.formatting import FormattingError
from generator.outputs import compare, read_outputs, write_outputs
from generator.registry_drift import registry_drift, registry_exists
from generator.rendering import REGENERATE_COMMAND, finalize, render_all
from relspec.rules.templates import TemplateExpansionError
from storage.deltalake.delta import DeltaTableMissingError, read_table_delta
from storage.deltalake.registry_history import RegistryVersionError, read_export
from storage.deltalake.registry_layout import UnknownTargetError, all_tables, table_path
from storage.deltalake.registry_models import table_fingerprint
from storage.deltalake.registry_runner import build_registry_tables, export_registry
from storage.spec_codec import RegistryDecodeError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REGISTRY = PROJECT_ROOT / "build" / "registry"
DEFAULT_OUTPUT = PROJECT_ROOT / "generated"
CACHE_DIR = PROJECT_ROOT / "build" / ".generator-cache"
BLACK_CACHE = CACHE_DIR / "black"
TEMPLATE_CACHE = CACHE_DIR / "jinja"


class RegistryInconsistentError(ValueError):
    """The registry decodes, but its specs break the invariants (e.g. a hand-edited table)."""


class UsageError(ValueError):
    """Options that do not go together."""


EXPECTED_ERRORS = (
    UsageError,
    RegistryVersionError,
    SpecValidationError,
    RegistryInconsistentError,
    RegistryDecodeError,
    DeltaTableMissingError,
    UnknownTargetError,
    DatasetSchemaError,
    TemplateExpansionError,
    FormattingError,
    jinja2.TemplateError,
    OSError,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m generator",
        description=(
            "Export the CPG registry from the specs (src/cpg, src/relspec) as Delta tables, read "
            "the tables back, and render typed modules into generated/. Exit codes: 0 clean, "
            "1 drift (--check), 2 error."
        ),
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help=(
            "write nothing; compare specs vs registry (when a registry exists) and the "
            "registry/specs vs generated/; exit 1 on drift with a diff and the fixing command"
        ),
    )
    parser.add_argument(
        "--registry",
        metavar="URI",
        default=str(DEFAULT_REGISTRY),
        help=(
            "registry root, the folder holding cpg/ and relspec/: a local path or an object-store "
            "URI such as s3://bucket/prefix, with credentials and endpoint from the AWS_* "
            "environment variables (default: build/registry)"
        ),
    )
    parser.add_argument(
        "--no-export",
        action="store_true",
        help=(
            "do not export the specs: render from (or, with --check, compare against) the "
            "existing registry only"
        ),
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="folder of the generated modules (default: generated/)",
    )
    parser.add_argument(
        "--check-compat",
        action="store_true",
        help=(
            "classify every change between the current specs and the last published registry "
            "(compatible / allowed by a version bump / breaking); exit 1 on a breaking change"
        ),
    )
    parser.add_argument(
        "--against",
        metavar="PATH_OR_VERSION",
        help=(
            "with --check-compat: compare against registry version N (the N-th export) at "
            "--registry, or against another registry path or URI (default: the latest version)"
        ),
    )
    parser.add_argument(
        "--history",
        action="store_true",
        help="list every table's versions (timestamp, fingerprint, rows), newest first",
    )
    parser.add_argument(
        "--registry-version",
        metavar="N",
        type=int,
        help=(
            "render (or --check against) registry version N, the N-th export (time travel); "
            "implies --no-export"
        ),
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="print every table and file"
    )
    return parser


@dataclass(frozen=True)
class _Reporter:
    quiet: bool
    verbose: bool

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message)

    def detail(self, message: str) -> None:
        if self.verbose:
            print(message)


def _read_registry(root: str, version: int | None = None) -> dict[str, pa.Table]:
    """Every registry table read back from Delta, by name (as registry version N, if given)."""
    if version is not None:
        return read_export(root, version)
    tables: dict[str, pa.Table] = {}
    for target, spec in all_tables():
        tables[spec.name] = read_table_delta(table_path(root, target, spec.name))
    return tables


def _decode(tables: Mapping[str, pa.Table], origin: str, *, validated: bool = False) -> SpecSet:
    """The spec set of ``tables``, checked unless they were just built from validated specs."""
    specs = spec_set_from_tables(tables)
    violations = () if validated else validate_specs(specs)
    if violations:
        lines = "\n".join(f"  - {violation}" for violation in violations)
        msg = f"{origin}: {len(violations)} spec invariant(s) broken:\n{lines}"
        raise RegistryInconsistentError(msg)
    return specs


def _fingerprints(tables: Mapping[str, pa.Table]) -> dict[str, str]:
    return {name: table_fingerprint(table) for name, table in tables.items()}


def generate(args: argparse.Namespace, report: _Reporter) -> int:
    """Export (unless --no-export), read back, render and write generated/."""
    root: str = args.registry
    if not args.no_export and args.registry_version is None:
        export = export_registry(root)
        changed = len(export.changed)
        report.info(f"exported {len(export.tables)} tables to {root} ({changed} changed)")
        for table in export.tables:
            report.detail(f"  {table.table}: version {table.version}, {table.rows} rows")
    tables = _read_registry(root, args.registry_version)
    specs = _decode(tables, str(root))
    on_disk = read_outputs(args.output)
    rendered = render_all(specs, _fingerprints(tables), template_cache=TEMPLATE_CACHE)
    final = finalize(rendered, on_disk, cache_dir=BLACK_CACHE, write_cache=True)
    drift = compare(final, on_disk)
    written = write_outputs(args.output, final, drift.stray)
    unchanged = len(final) - len(written)
    report.info(
        f"read {len(tables)} tables; wrote {len(written)} files, {unchanged} unchanged"
        + (f", removed {len(drift.stray)} stray" if drift.stray else "")
        + f" in {args.output}"
    )
    for name in written:
        report.detail(f"  wrote {name}")
    return 0


def check(args: argparse.Namespace, report: _Reporter) -> int:
    """Compare specs -> registry -> generated/ without writing anything."""
    root: str = args.registry
    problems: list[str] = []
    if args.no_export or args.registry_version is not None:
        tables = _read_registry(root, args.registry_version)
        version = "" if args.registry_version is None else f" version {args.registry_version}"
        source = f"registry{version} at {root}"
    else:
        specs = canonical_spec_set()
        require_valid_specs(specs)
        built = build_registry_tables(specs)
        tables = {name: table for by_name in built.values() for name, table in by_name.items()}
        source = "specs"
        if registry_exists(root):
            drifts = registry_drift(root, built)
            if drifts:
                lines = "\n".join(f"  {drift.describe()}" for drift in drifts)
                problems.append(
                    f"drift: specs vs registry ({root}):\n{lines}\n"
                    f"  fix: {REGENERATE_COMMAND} (re-exports the registry)"
                )
    specs = _decode(tables, source, validated=not args.no_export and args.registry_version is None)
    on_disk = read_outputs(args.output)
    rendered = render_all(
        specs, _fingerprints(tables), template_cache=TEMPLATE_CACHE, write_cache=False
    )
    final = finalize(rendered, on_disk, cache_dir=BLACK_CACHE, write_cache=False)
    drift = compare(final, on_disk)
    if not drift.clean:
        fix = f"{REGENERATE_COMMAND} --no-export" if args.no_export else REGENERATE_COMMAND
        report_lines = [
            f"drift: {source} vs {args.output}:",
            *(f"  missing file: {name}" for name in drift.missing),
            *(f"  stray file: {name}" for name in drift.stray),
            *(f"  changed file: {name}" for name in drift.changed),
            f"  fix: {fix} (regenerates {args.output})",
        ]
        problems.append("\n".join(report_lines) + "\n" + "".join(drift.changed.values()))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    report.info(f"clean: {source} and {args.output} agree ({len(final)} files)")
    return 0


def _dispatch(args: argparse.Namespace, report: _Reporter) -> int:
    if args.history or args.check_compat:
        from generator.registry_commands import check_compat, history  # only these need them
    if args.history:
        print(history(args.registry), end="")
        return 0
    if args.check_compat:
        code, text = check_compat(args.registry, args.against)
        print(text, end="", file=sys.stderr if code else sys.stdout)
        return code
    if args.against is not None:
        msg = "--against only applies to --check-compat"
        raise UsageError(msg)
    return check(args, report) if args.check else generate(args, report)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = _parser().parse_args(argv)
    report = _Reporter(quiet=args.quiet, verbose=args.verbose)
    started = time.perf_counter()
    try:
        code = _dispatch(args, report)
    except EXPECTED_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report.detail(f"done in {time.perf_counter() - started:.2f} s")
    return code
