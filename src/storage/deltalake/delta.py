"""The only module that talks to ``deltalake``: write, read back exactly, inspect commits.

Delta Lake keeps neither schema-level metadata nor dictionary types nor row order, so reads
restore the canonical schema (by table name for registry tables, or the schema given) and the
canonical sort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from storage.spec_codec import RegistryDecodeError

PathLike = str | Path


class DeltaTableMissingError(FileNotFoundError):
    """No Delta table at a path."""

    def __init__(self, path: PathLike) -> None:
        super().__init__(f"no Delta table at {path}")
        self.path = str(path)


def _open(path: PathLike, version: int | None = None) -> DeltaTable:
    try:
        return DeltaTable(str(path), version=version)
    except TableNotFoundError:
        raise DeltaTableMissingError(path) from None


def table_exists(path: PathLike) -> bool:
    """Whether a Delta table exists at ``path``."""
    return DeltaTable.is_deltatable(str(path))


def write_table_delta(
    path: PathLike, table: pa.Table, *, commit_metadata: Mapping[str, str] | None = None
) -> int:
    """Overwrite the Delta table at ``path`` with ``table`` (schema too); return the new version."""
    write_deltalake(
        str(path),
        table,
        mode="overwrite",
        schema_mode="overwrite",
        commit_properties=CommitProperties(custom_metadata=dict(commit_metadata or {})),
    )
    return _open(path).version()


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


def restore_table(
    table: pa.Table, schema: pa.Schema, sort_key: Sequence[str], name: str
) -> pa.Table:
    """``table`` with exactly ``schema`` (types, nullability, metadata) and sorted by ``sort_key``.

    Raises ``RegistryDecodeError`` naming the table and column that cannot be restored.
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
        column = table.column(index)
        try:
            column = column.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            actual = table.schema.field(index).type
            msg = f"has type {actual}, cannot be restored to {field.type} ({exc})"
            raise RegistryDecodeError(name, field.name, msg) from None
        if not field.nullable and column.null_count:
            raise RegistryDecodeError(
                name, field.name, f"{column.null_count} null(s) in a non-null column"
            )
        arrays.append(column)
    restored = pa.Table.from_arrays(arrays, schema=schema)
    if sort_key and restored.num_rows > 1:
        order = pc.sort_indices(restored, sort_keys=[(key, "ascending") for key in sort_key])
        restored = restored.take(order)
    return restored.combine_chunks()


def read_raw_delta(path: PathLike, *, version: int | None = None) -> pa.Table:
    """The table at ``path`` as Delta returns it (no schema restoration)."""
    return _open(path, version).to_pyarrow_table()


def read_table_delta(
    path: PathLike,
    *,
    schema: pa.Schema | None = None,
    sort_key: Sequence[str] | None = None,
    version: int | None = None,
) -> pa.Table:
    """Read a Delta table back exactly as it was written.

    A registry table is recognised by its folder name; other tables need ``schema`` (and
    ``sort_key`` for their canonical order).
    """
    name = Path(str(path)).name
    if schema is None:
        from storage.deltalake.registry_layout import table_spec

        spec = table_spec(name)
        if spec is None:
            msg = f"{path}: not a registry table; pass the schema to restore"
            raise ValueError(msg)
        schema = spec.schema
        sort_key = spec.sort_key if sort_key is None else sort_key
    return restore_table(read_raw_delta(path, version=version), schema, sort_key or (), name)
