"""The only module that talks to ``deltalake``: write, read back exactly, inspect commits.

Delta Lake keeps neither schema-level metadata nor dictionary types nor row order, so reads
restore the canonical schema (by table name for registry tables, or the schema given) and the
canonical sort.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from storage.deltalake.locations import Location, storage_options
from storage.spec_codec import RegistryDecodeError
from storage.table_order import SortSpec, sort_table

PathLike = Location


class DeltaTableMissingError(FileNotFoundError):
    """No Delta table at a path."""

    def __init__(self, path: PathLike) -> None:
        super().__init__(f"no Delta table at {path}")
        self.path = str(path)


def _open(path: PathLike, version: int | None = None) -> DeltaTable:
    try:
        return DeltaTable(str(path), version=version, storage_options=storage_options(path))
    except TableNotFoundError:
        raise DeltaTableMissingError(path) from None


def table_exists(path: PathLike) -> bool:
    """Whether a Delta table exists at ``path``."""
    return DeltaTable.is_deltatable(str(path), storage_options=storage_options(path))


def write_table_delta(
    path: PathLike, table: pa.Table, *, commit_metadata: Mapping[str, str] | None = None
) -> int:
    """Overwrite the Delta table at ``path`` with ``table`` (schema too); return the new version."""
    write_deltalake(
        str(path),
        table,
        mode="overwrite",
        schema_mode="overwrite",
        storage_options=storage_options(path),
        commit_properties=CommitProperties(custom_metadata=dict(commit_metadata or {})),
    )
    return _open(path).version()


def table_identity(path: PathLike) -> tuple[str, int] | None:
    """``(table id, latest version)``, or None when there is no table.

    An overwrite bumps the version and a re-created table gets a new id, so together they tell a
    cache whether what it holds is stale; only the log is read, not the data.
    """
    try:
        table = _open(path)
    except DeltaTableMissingError:
        return None
    return str(table.metadata().id), table.version()


def table_version(path: PathLike) -> int | None:
    """The latest version of the table at ``path``, or None when there is no table."""
    if not table_exists(path):
        return None
    return _open(path).version()


def latest_commit_metadata(path: PathLike) -> Mapping[str, Any] | None:
    """The commit info of the latest version (custom metadata included), or None."""
    if not table_exists(path):
        return None
    history = _open(path).history(1)
    return history[0] if history else None


def commit_history(path: PathLike) -> list[dict[str, Any]]:
    """Every commit info of the table at ``path`` (custom metadata included), oldest first."""
    history: list[dict[str, Any]] = _open(path).history()
    return sorted(history, key=lambda entry: int(entry["version"]))


def restore_table(table: pa.Table, schema: pa.Schema, sort_key: SortSpec, name: str) -> pa.Table:
    """``table`` with exactly ``schema`` (types, nullability, metadata) and sorted by ``sort_key``.

    Only what Delta itself changes is restored (dictionary to plain values, list item names,
    large variants); any other type change is an error, so a drifted table is never coerced
    silently. Raises ``RegistryDecodeError`` naming the table and column (and, for a null in a
    non-null column, the first such row of the restored order).
    """
    expected = set(schema.names)
    for column in table.schema.names:
        if column not in expected:
            raise RegistryDecodeError(name, column, "unexpected column")
    arrays = []
    for field in schema:
        index = table.schema.get_field_index(field.name)
        if index < 0:
            raise RegistryDecodeError(name, field.name, "column is missing")
        actual = table.schema.field(index).type
        if not _restorable(actual, field.type):
            msg = f"has type {actual}, expected {field.type}"
            raise RegistryDecodeError(name, field.name, msg)
        try:
            arrays.append(table.column(index).cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            msg = f"has type {actual}, cannot be restored to {field.type} ({exc})"
            raise RegistryDecodeError(name, field.name, msg) from None
    restored = pa.Table.from_arrays(arrays, schema=schema)
    restored = sort_table(restored, sort_key)
    for field in schema:
        column = restored.column(field.name)
        if not field.nullable and column.null_count:
            row = column.is_null().index(True).as_py()
            msg = f"null in a non-null column ({column.null_count} null(s) in all)"
            raise RegistryDecodeError(name, field.name, msg, row=row)
    return restored.combine_chunks()


def _restorable(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Whether ``actual`` is ``expected`` up to what a Delta round trip changes."""
    if pa.types.is_dictionary(actual):
        actual = actual.value_type
    if pa.types.is_dictionary(expected):
        expected = expected.value_type
    lists = (pa.types.is_list, pa.types.is_large_list, pa.types.is_list_view)
    if any(check(actual) for check in lists) and any(check(expected) for check in lists):
        return _restorable(actual.value_type, expected.value_type)
    if pa.types.is_struct(actual) and pa.types.is_struct(expected):
        if [f.name for f in actual] != [f.name for f in expected]:
            return False
        return all(_restorable(a.type, e.type) for a, e in zip(actual, expected, strict=True))
    large = {pa.large_string(): pa.string(), pa.large_binary(): pa.binary()}
    return bool(large.get(actual, actual).equals(large.get(expected, expected)))


def read_raw_delta(path: PathLike, *, version: int | None = None) -> pa.Table:
    """The table at ``path`` as Delta returns it (no schema restoration)."""
    return _open(path, version).to_pyarrow_table()


def read_table_delta(
    path: PathLike,
    *,
    schema: pa.Schema | None = None,
    sort_key: SortSpec | None = None,
    version: int | None = None,
) -> pa.Table:
    """Read a Delta table back exactly as it was written.

    A registry table is recognised by its folder name; other tables need ``schema`` (and
    ``sort_key`` for their canonical order).
    """
    name = str(path).rstrip("/").rsplit("/", 1)[-1]
    if schema is None:
        from storage.deltalake.registry_layout import table_spec

        spec = table_spec(name)
        if spec is None:
            msg = f"{path}: not a registry table; pass the schema to restore"
            raise ValueError(msg)
        schema = spec.schema
        sort_key = spec.sort_key if sort_key is None else sort_key
    return restore_table(read_raw_delta(path, version=version), schema, sort_key or (), name)


class RegistryTableMissingError(RegistryDecodeError):
    """A registry table that should be in a registry is not there."""

    def __init__(self, name: str, root: PathLike) -> None:
        super().__init__(name, "*", f"table is missing from the registry at {root}")


def registry_table_identities(
    path: PathLike, names: Iterable[str]
) -> tuple[tuple[str, str, int], ...]:
    """``(name, table id, version)`` of each named table of the registry at ``path``.

    ``path`` is a registry root or an output dir holding ``registry/``. Raises
    ``RegistryTableMissingError`` naming the first table that is not there.
    """
    from storage.deltalake.registry_layout import registry_table_path, resolve_registry_root

    root = resolve_registry_root(path)
    identities = []
    for name in names:
        identity = table_identity(registry_table_path(root, name))
        if identity is None:
            raise RegistryTableMissingError(name, root)
        identities.append((name, *identity))
    return tuple(identities)


def read_registry_tables(
    path: PathLike, names: Iterable[str], *, versions: Mapping[str, int] | None = None
) -> dict[str, pa.Table]:
    """The named registry tables (read back exactly), by name, optionally at given versions.

    ``path`` is a registry root or an output dir holding ``registry/``.
    """
    from storage.deltalake.registry_layout import registry_table_path, resolve_registry_root

    root = resolve_registry_root(path)
    tables: dict[str, pa.Table] = {}
    for name in names:
        table_dir = registry_table_path(root, name)
        try:
            tables[name] = read_table_delta(table_dir, version=(versions or {}).get(name))
        except DeltaTableMissingError:
            raise RegistryTableMissingError(name, root) from None
    return tables
