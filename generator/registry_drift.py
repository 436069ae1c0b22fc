"""Specs vs registry: which tables differ, and which rows (by key) were added, removed, changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from storage.deltalake.delta import latest_commit_metadata, read_table_delta, table_exists
from storage.deltalake.locations import Location
from storage.deltalake.registry_layout import all_tables, table_path
from storage.deltalake.registry_models import FINGERPRINT_KEY, table_fingerprint


@dataclass(frozen=True)
class TableDrift:
    """One registry table that differs from the specs."""

    table: str
    missing: bool = False
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line per difference."""
        if self.missing:
            return f"table {self.table}: missing from the registry"
        parts = [
            f"{label} {', '.join(keys)}"
            for label, keys in (
                ("added", self.added),
                ("removed", self.removed),
                ("changed", self.changed),
            )
            if keys
        ]
        return f"table {self.table}: " + ("; ".join(parts) or "schema or row order differs")


def _keyed(table: pa.Table, key: tuple[str, ...]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for row in table.to_pylist():
        rows["/".join(str(row[column]) for column in key)] = row
    return rows


def diff_table(name: str, key: tuple[str, ...], expected: pa.Table, actual: pa.Table) -> TableDrift:
    """Row differences of two versions of one table, rows identified by ``key``."""
    want, have = _keyed(expected, key), _keyed(actual, key)
    return TableDrift(
        table=name,
        added=tuple(sorted(set(want) - set(have))),
        removed=tuple(sorted(set(have) - set(want))),
        changed=tuple(sorted(k for k in set(want) & set(have) if want[k] != have[k])),
    )


def registry_exists(root: Location) -> bool:
    """Whether any registry table exists under ``root``."""
    return any(table_exists(table_path(root, target, spec.name)) for target, spec in all_tables())


def registry_drift(root: Location, built: Mapping[str, Mapping[str, pa.Table]]) -> list[TableDrift]:
    """Tables of the registry at ``root`` that differ from ``built`` (target -> name -> table).

    The fingerprint in the latest commit tells "unchanged" without reading the table's data.
    """
    drifts = []
    for target, spec in all_tables():
        if target not in built:
            continue
        expected = built[target][spec.name]
        path = table_path(root, target, spec.name)
        metadata = latest_commit_metadata(path)
        if metadata is None:
            drifts.append(TableDrift(spec.name, missing=True))
            continue
        if metadata.get(FINGERPRINT_KEY) == table_fingerprint(expected):
            continue
        actual = read_table_delta(path)
        if table_fingerprint(actual) != table_fingerprint(expected):
            drifts.append(diff_table(spec.name, spec.sort_key, expected, actual))
    return drifts
