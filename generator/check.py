"""``python -m generator --check``: compare specs, registry and ``generated/``; write nothing.

Three pairs are held to each other: specs vs registry (table by table, row by key, column by
column; rows are verified against the fingerprint their commit recorded), registry vs
``generated/`` (what the registry as stored would render), and specs vs ``generated/``. Each
drifting pair is reported under its own heading on stderr; unified diffs go to stdout.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from cpg.spec_set import canonical_spec_set
from cpg.validation import require_valid_specs
from generator.options import Options, Reporter, display
from generator.outputs import OutputDrift, compare, leftovers, read_outputs
from generator.pipeline import RegistryInconsistentError, decode_registry, render_outputs
from generator.pycode import UnusableNamesError
from generator.registry_drift import TableDrift, compare_registry
from storage.deltalake.delta import DeltaTableMissingError
from storage.deltalake.registry_history import read_export
from storage.deltalake.registry_io import RegistryTableMissingError, inspect_registry_table
from storage.deltalake.registry_layout import all_tables, table_path
from storage.deltalake.registry_runner import build_registry_tables
from storage.spec_codec import RegistryDecodeError


@dataclass
class _Findings:
    """Drift found so far: headed sections for stderr, diffs for stdout."""

    sections: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)

    def add(self, heading: str, lines: list[str], fix: str) -> None:
        body = "\n".join(f"  {line}" for line in lines)
        self.sections.append(f"drift: {heading}:\n{body}\n  fix: {fix}")


def check(options: Options, report: Reporter) -> int:
    """Exit code 0 when everything agrees, 1 on drift (``--check``)."""
    findings = _Findings()
    on_disk = read_outputs(options.output)
    label = display(options.output)
    left = leftovers(options.output)
    if left:
        names = [f"left by an interrupted run: {path}" for path in left]
        findings.add(
            f"{label} was being replaced", names, f"{options.regenerate_command} (removes them)"
        )
    if options.exports:
        source = _check_from_specs(options, on_disk, findings)
    else:
        source = _check_from_registry(options, on_disk, findings)
    if findings.sections:
        print("".join(findings.diffs), end="")
        print("\n".join(findings.sections), file=sys.stderr)
        return 1
    report.info(f"clean: {source} and {label} agree ({len(on_disk)} files)")
    return 0


def _check_from_specs(options: Options, on_disk: Mapping[str, str], findings: _Findings) -> str:
    specs = canonical_spec_set()
    require_valid_specs(specs)
    built = build_registry_tables(specs)
    tables = {name: table for by_name in built.values() for name, table in by_name.items()}
    final = render_outputs(
        decode_registry(tables, "specs", validated=True),
        tables,
        on_disk,
        cache=options.cache,
        write_cache=False,
    )
    registry = display(options.registry)
    fix = f"{options.regenerate_command} (re-exports the registry and regenerates the files)"
    if not options.registry_exists():
        findings.add(
            f"specs vs registry ({registry})",
            ["the registry is missing: the specs were not compared with a registry"],
            fix,
        )
    else:
        comparison = compare_registry(options.registry, built)
        if comparison.drifts:
            lines = [line for drift in comparison.drifts for line in drift.describe().splitlines()]
            findings.add(f"specs vs registry ({registry})", lines, fix)
            if comparison.complete:
                _registry_vs_outputs(options, comparison.stored, on_disk, findings)
    _outputs(final, on_disk, "specs", options, findings, fix)
    return f"specs, registry at {registry}"


def _registry_vs_outputs(
    options: Options,
    stored: Mapping[str, pa.Table],
    on_disk: Mapping[str, str],
    findings: _Findings,
) -> None:
    """What the registry as stored would render, against ``generated/`` (names only: the diff
    shown is the one against the specs)."""
    heading = f"registry ({display(options.registry)}) vs {display(options.output)}"
    fix = f"{options.regenerate_command} (re-exports the registry from the specs)"
    try:
        final = render_outputs(
            decode_registry(stored, str(options.registry)),
            stored,
            on_disk,
            cache=options.cache,
            write_cache=False,
        )
    except (RegistryDecodeError, RegistryInconsistentError, UnusableNamesError) as exc:
        findings.add(heading, [f"the registry cannot be rendered: {exc}"], fix)
        return
    drift = compare(final, on_disk, display(options.output))
    if not drift.clean:
        findings.add(heading, _file_lines(drift), fix)


def _check_from_registry(options: Options, on_disk: Mapping[str, str], findings: _Findings) -> str:
    options.require_registry()
    if options.registry_version is not None:
        tables = read_export(options.registry, options.registry_version)
        source = f"registry version {options.registry_version} at {display(options.registry)}"
    else:
        tables, problems = _stored_tables(options)
        source = f"registry at {display(options.registry)}"
        if problems:
            lines = [line for drift in problems for line in drift.describe().splitlines()]
            heading = f"registry ({display(options.registry)}) does not verify"
            findings.add(heading, lines, options.regenerate_command)
    final = render_outputs(
        decode_registry(tables, source), tables, on_disk, cache=options.cache, write_cache=False
    )
    fix = f"{options.regenerate_command} --no-export"
    _outputs(final, on_disk, source, options, findings, fix)
    return source


def _stored_tables(options: Options) -> tuple[dict[str, pa.Table], list[TableDrift]]:
    """Every registry table as stored, and the tables whose rows do not verify."""
    tables: dict[str, pa.Table] = {}
    problems: list[TableDrift] = []
    for target, spec in all_tables():
        try:
            state = inspect_registry_table(table_path(options.registry, target, spec.name), spec)
        except DeltaTableMissingError:
            raise RegistryTableMissingError(spec.name, options.registry) from None
        tables[spec.name] = state.table
        if state.problem is not None:
            problems.append(TableDrift(spec.name, problem=state.problem))
    return tables, problems


def _outputs(
    final: Mapping[str, str],
    on_disk: Mapping[str, str],
    source: str,
    options: Options,
    findings: _Findings,
    fix: str,
) -> None:
    """``source``'s render (``final``) against ``generated/``, with a diff per changed file."""
    drift = compare(final, on_disk, display(options.output))
    heading = f"{source} vs {display(options.output)}"
    if drift.clean:
        return
    findings.add(heading, _file_lines(drift), fix)
    findings.diffs.extend(drift.changed.values())


def _file_lines(drift: OutputDrift) -> list[str]:
    return [
        *(f"missing file: {name}" for name in drift.missing),
        *(f"stray file: {name}" for name in drift.stray),
        *(f"changed file: {name}" for name in drift.changed),
    ]
