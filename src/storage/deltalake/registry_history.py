"""Registry history: the exports a registry went through, read back from Delta commit metadata.

"Registry version N" (``--against N``): the registry as the N-th export (counting from 0) left
it. Delta versions cannot stand for that: each table's version only advances when its content
changes, so version N of two tables may come from different exports. Every export commit
carries the export's spec fingerprint and the table's fingerprint; ordering the commits of all
tables by time and grouping consecutive commits of one spec fingerprint gives the exports, and
the tables' versions as of export N are checked against that export's spec fingerprint before
anything is read. Commits without those keys (vacuum, optimize, foreign writes) are no exports.
This assumes exports of one registry do not overlap in time (one writer at a time); when they
did, or when an export wrote only some targets, the fingerprint check refuses that version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from storage.deltalake.delta import commit_history, table_exists
from storage.deltalake.locations import Location
from storage.deltalake.registry_io import read_registry_table
from storage.deltalake.registry_layout import (
    TABLE_NAMES,
    all_tables,
    registry_table_path,
    resolve_registry_root,
    table_path,
    table_spec,
)
from storage.deltalake.registry_models import (
    FINGERPRINT_KEY,
    SPEC_FINGERPRINT_KEY,
    combined_fingerprint,
)


class RegistryVersionError(ValueError):
    """A registry version that does not exist or can no longer be read."""


@dataclass(frozen=True, order=True)
class _Commit:
    """One export commit of one table (fields in time order for sorting)."""

    timestamp: int
    table_index: int
    table: str
    version: int
    spec_fingerprint: str
    table_fingerprint: str


@dataclass(frozen=True)
class RegistryExportState:
    """The registry as one export left it: each table's version and content fingerprint
    (tables created by later exports are absent)."""

    number: int
    spec_fingerprint: str
    versions: Mapping[str, int]
    fingerprints: Mapping[str, str]


def registry_exports(registry_root: Location) -> tuple[RegistryExportState, ...]:
    """Every export of the registry at ``registry_root``, oldest first (number = index).

    An export is a run of consecutive commits (in time order) with one spec fingerprint that
    writes each table at most once.
    """
    states: list[RegistryExportState] = []
    versions: dict[str, int] = {}
    fingerprints: dict[str, str] = {}
    current: str | None = None
    written: set[str] = set()

    def close() -> None:
        if current is not None:
            states.append(
                RegistryExportState(len(states), current, dict(versions), dict(fingerprints))
            )

    for commit in _export_commits(resolve_registry_root(registry_root)):
        if commit.spec_fingerprint != current or commit.table in written:
            close()
            current, written = commit.spec_fingerprint, set()
        versions[commit.table] = commit.version
        fingerprints[commit.table] = commit.table_fingerprint
        written.add(commit.table)
    close()
    return tuple(states)


def _export_commits(root: Location) -> list[_Commit]:
    commits = []
    for index, (target, spec) in enumerate(all_tables()):
        path = table_path(root, target, spec.name)
        if not table_exists(path):
            continue
        history = commit_history(path)
        if history and int(history[0]["version"]) != 0:
            msg = (
                f"table {spec.name} at {root}: its commit log starts at version "
                f"{history[0]['version']} (older entries were cleaned up), so registry versions "
                "cannot be counted; compare against a registry path instead"
            )
            raise RegistryVersionError(msg)
        for entry in history:
            spec_fingerprint = entry.get(SPEC_FINGERPRINT_KEY)
            fingerprint = entry.get(FINGERPRINT_KEY)
            if spec_fingerprint and fingerprint:
                commits.append(
                    _Commit(
                        int(entry["timestamp"]),
                        index,
                        spec.name,
                        int(entry["version"]),
                        str(spec_fingerprint),
                        str(fingerprint),
                    )
                )
    return sorted(commits)


def read_export(registry_root: Location, number: int) -> dict[str, pa.Table]:
    """Every registry table as export ``number`` left it, by name.

    Raises ``RegistryVersionError`` naming the registry, the version and (where one is at
    fault) the table: no such export, a table created by a later export, tables that do not add
    up to the export's spec fingerprint, or a table version whose data was vacuumed away.
    """
    root = resolve_registry_root(registry_root)
    exports = registry_exports(root)
    where = f"registry version {number} at {root}"
    if number >= len(exports):
        known = f"versions 0..{len(exports) - 1}" if exports else "no export commits"
        msg = f"no {where}: it has {len(exports)} export(s) ({known})"
        raise RegistryVersionError(msg)
    state = exports[number]
    for name in TABLE_NAMES:
        if name not in state.versions:
            msg = f"{where}: table {name} did not exist yet (a later export created it)"
            raise RegistryVersionError(msg)
    if combined_fingerprint(state.fingerprints.items()) != state.spec_fingerprint:
        msg = (
            f"{where}: the tables' versions do not add up to the export's spec fingerprint "
            "(a partial or concurrent export?); compare against a registry path instead"
        )
        raise RegistryVersionError(msg)
    return {name: _read_version(root, name, state.versions[name], where) for name in TABLE_NAMES}


def _read_version(root: Location, name: str, version: int, where: str) -> pa.Table:
    spec = table_spec(name)
    assert spec is not None  # name comes from TABLE_NAMES
    try:
        return read_registry_table(registry_table_path(root, name), spec, version=version)
    except FileNotFoundError as exc:
        msg = f"{where}: table {name} version {version} can no longer be read (vacuumed?): {exc}"
        raise RegistryVersionError(msg) from None
