"""Small value types of the registry export: what a table is, and what exporting it did."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyarrow as pa

from cpg.spec_set import SpecSet

REGISTRY_DIR = "registry"
FINGERPRINT_KEY = "cpg_registry.fingerprint"
SPEC_FINGERPRINT_KEY = "cpg_registry.spec_fingerprint"
GENERATOR_VERSION_KEY = "cpg_registry.generator_version"


@dataclass(frozen=True)
class RegistryTableSpec:
    """A registry table: its name, canonical schema, row order and how to build it from specs."""

    name: str
    builder: Callable[[SpecSet], pa.Table]
    description: str
    schema: pa.Schema
    sort_key: tuple[str, ...]


@dataclass(frozen=True)
class TableExport:
    """The outcome of exporting one table."""

    target: str
    table: str
    path: str
    version: int
    rows: int
    changed: bool
    fingerprint: str


@dataclass(frozen=True)
class RegistryExport:
    """The outcome of one ``run_registry_exports`` call."""

    root: str
    spec_fingerprint: str
    tables: tuple[TableExport, ...]

    @property
    def changed(self) -> tuple[TableExport, ...]:
        """The tables that got a new Delta version."""
        return tuple(table for table in self.tables if table.changed)


_FINGERPRINTS: dict[int, str] = {}
"""Fingerprints of live tables by ``id`` (tables are immutable; an entry leaves with its table):
a table read and verified is not hashed again to name it in a generated file's header."""


def table_fingerprint(table: pa.Table) -> str:
    """A content hash of a table: schema (with metadata) and rows in order."""
    known = _FINGERPRINTS.get(id(table))
    if known is not None:
        return known
    digest = hashlib.sha256()
    digest.update(table.schema.to_string(show_schema_metadata=True).encode())
    for row in table.to_pylist():
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    fingerprint = digest.hexdigest()
    _FINGERPRINTS[id(table)] = fingerprint
    weakref.finalize(table, _FINGERPRINTS.pop, id(table), None)
    return fingerprint


def combined_fingerprint(fingerprints: Iterable[tuple[str, str]]) -> str:
    """One hash over (table name, table fingerprint) pairs, independent of their order."""
    digest = hashlib.sha256()
    for name, fingerprint in sorted(fingerprints):
        digest.update(f"{name}={fingerprint}\n".encode())
    return digest.hexdigest()
