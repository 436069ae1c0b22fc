"""Specs vs registry: which tables differ, which rows (by key) and which columns.

Each stored table is read and verified (``storage.deltalake.registry_io``): a table is clean
only when its rows hash to the fingerprint its commit recorded and that fingerprint is the specs'.
A table whose rows were changed behind the exporter's back is drift even when the rows it holds
happen to decode; a table that cannot be read at all is an error (exit 2), raised by the reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from storage.deltalake.delta import DeltaTableMissingError
from storage.deltalake.locations import Location
from storage.deltalake.registry_io import TableState, inspect_registry_table
from storage.deltalake.registry_layout import all_tables, table_path
from storage.deltalake.registry_models import table_fingerprint

_MAX_KEYS = 20
"""Row keys listed per kind of difference before the rest is only counted."""


@dataclass(frozen=True)
class RowChange:
    """A row present on both sides whose columns differ."""

    key: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class TableDrift:
    """One registry table that differs from the specs."""

    table: str
    missing: bool = False
    problem: str | None = None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[RowChange, ...] = ()

    def describe(self) -> str:
        """What differs, one line per kind of difference (indented continuation lines)."""
        if self.missing:
            return f"table {self.table}: missing from the registry"
        lines = [f"table {self.table}: " + (self.problem or "rows differ from the specs")]
        for label, keys in (
            ("in specs, not in registry", self.added),
            ("in registry, not in specs", self.removed),
        ):
            if keys:
                lines.append(f"    rows {label}: {_listed(keys)}")
        if self.changed:
            shown = [
                f"{change.key} (columns {', '.join(change.columns)})" for change in self.changed
            ]
            lines.append(f"    rows changed: {_listed(shown)}")
        if self.problem is None and len(lines) == 1:
            lines.append("    schema or row order differs")
        return "\n".join(lines)


def _listed(items: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(items[:_MAX_KEYS])
    return shown + (f" and {len(items) - _MAX_KEYS} more" if len(items) > _MAX_KEYS else "")


def _keyed(table: pa.Table, key: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for row in table.to_pylist():
        rows["/".join(str(row[column]) for column in key)] = row
    return rows


def diff_table(
    name: str,
    key: tuple[str, ...],
    expected: pa.Table,
    actual: pa.Table,
    problem: str | None = None,
) -> TableDrift:
    """Row differences of two versions of one table, rows identified by ``key``."""
    want, have = _keyed(expected, key), _keyed(actual, key)
    changed = tuple(
        RowChange(k, tuple(column for column in want[k] if want[k][column] != have[k].get(column)))
        for k in sorted(set(want) & set(have))
        if want[k] != have[k]
    )
    return TableDrift(
        table=name,
        problem=problem,
        added=tuple(sorted(set(want) - set(have))),
        removed=tuple(sorted(set(have) - set(want))),
        changed=changed,
    )


@dataclass(frozen=True)
class RegistryComparison:
    """The stored registry against the specs' tables: per-table drift and the stored tables."""

    drifts: tuple[TableDrift, ...]
    stored: Mapping[str, pa.Table]
    """Every table that exists in the registry, by name (verified or not)."""

    @property
    def complete(self) -> bool:
        """Whether every table exists (so the registry can be decoded and rendered)."""
        return not any(drift.missing for drift in self.drifts)


def compare_registry(
    root: Location, built: Mapping[str, Mapping[str, pa.Table]]
) -> RegistryComparison:
    """The registry at ``root`` against ``built`` (target -> name -> table from the specs)."""
    drifts: list[TableDrift] = []
    stored: dict[str, pa.Table] = {}
    for target, spec in all_tables():
        if target not in built:
            continue
        expected = built[target][spec.name]
        try:
            state: TableState = inspect_registry_table(table_path(root, target, spec.name), spec)
        except DeltaTableMissingError:
            drifts.append(TableDrift(spec.name, missing=True))
            continue
        stored[spec.name] = state.table
        if not (state.verified and state.recorded_fingerprint == table_fingerprint(expected)):
            # unverified, or verified rows of other specs (a schema change diffs as no row)
            drifts.append(
                diff_table(spec.name, spec.sort_key, expected, state.table, state.problem)
            )
    return RegistryComparison(tuple(drifts), stored)
