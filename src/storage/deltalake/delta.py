"""The only module that talks to ``deltalake``: write, read back exactly, inspect commits.

Delta Lake keeps neither schema-level metadata nor dictionary types nor row order, so reads
restore the canonical schema (by table name for registry tables, or the schema given) and the
canonical sort.

Storage failures (an unreachable endpoint, a dropped connection, denied access, a full disk)
surface as ``DeltaStorageError``, an ``OSError`` whose message is one line naming the table
location; a commit that lost a race with another writer is a ``DeltaCommitConflictError``.
Writes hold back what the native code prints meanwhile (``storage.native_stderr``): on a full
disk delta-rs panics in a worker thread before it returns the error.

Data files are Parquet with ZSTD level 1: measured on a batch of CPG tables, as fast to write
as delta-rs' default (snappy) and half the bytes.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from storage.deltalake.folders import exchange_folders
from storage.deltalake.locations import Location, is_uri, storage_options
from storage.faults import fault_point
from storage.native_stderr import held_native_stderr
from storage.parquet_files import DataFile
from storage.spec_codec import RegistryDecodeError
from storage.table_order import SortSpec, sort_table

if TYPE_CHECKING:  # imported where used: a registry read needs neither
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.fs as pa_fs

PathLike = Location

_WRITER = WriterProperties(compression="ZSTD", compression_level=1)


class DeltaTableMissingError(FileNotFoundError):
    """No Delta table at a path."""

    def __init__(self, path: PathLike) -> None:
        super().__init__(f"no Delta table at {path}")
        self.path = str(path)


class DeltaStorageError(OSError):
    """The storage behind a Delta table failed; ``reason`` is the cause, on one line."""

    def __init__(self, path: PathLike, action: str, reason: str) -> None:
        super().__init__(f"cannot {action} {path}: {reason}")
        self.path = str(path)
        self.reason = reason


class DeltaCommitConflictError(DeltaStorageError):
    """Another writer committed to the table since this writer read it."""


class DeltaFileMissingError(DeltaStorageError, FileNotFoundError):
    """A file the Delta log refers to is gone (e.g. a vacuumed version's data)."""


class DeltaCorruptError(DeltaStorageError):
    """The table's log or data cannot be decoded: truncated, overwritten or not Delta at all."""


def _is_rust_panic(error: BaseException) -> bool:
    """deltalake's Rust panics arrive as ``pyo3_runtime.PanicException`` (a ``BaseException``)."""
    return type(error).__name__ == "PanicException"


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def one_line(error: BaseException) -> str:
    """``error``'s message on one line: deltalake's multi-line, coloured cause chains joined."""
    plain = _ANSI.sub("", str(error))
    lines = (line.strip().lstrip("\u21b3").strip() for line in plain.splitlines())
    text = ": ".join(line for line in lines if line)
    return re.sub(r"\s+", " ", text) or type(error).__name__


@contextmanager
def _storage(path: PathLike, action: str) -> Iterator[None]:
    """Every failure of deltalake (and of the pyarrow readers under it) as a one-line error naming
    ``path``: ``OSError``s as ``DeltaStorageError`` (``DeltaFileMissingError`` for a missing file),
    anything else, a Rust panic included, as ``DeltaCorruptError``."""
    try:
        with held_native_stderr():
            yield
    except (DeltaTableMissingError, DeltaStorageError, TableNotFoundError, CommitFailedError):
        raise
    except OSError as exc:
        error = DeltaFileMissingError if isinstance(exc, FileNotFoundError) else DeltaStorageError
        raise error(path, action, one_line(exc)) from exc
    except Exception as exc:
        raise DeltaCorruptError(path, action, one_line(exc)) from exc
    except BaseException as exc:
        if _is_rust_panic(exc):
            raise DeltaCorruptError(path, action, f"deltalake panicked: {one_line(exc)}") from exc
        raise


@contextmanager
def _writing(path: PathLike, action: str) -> Iterator[None]:
    """``_storage`` for a write: any other ``DeltaError`` (``ENOSPC`` arrives as one) is a
    ``DeltaStorageError`` too, and native stderr is held back until the outcome is known."""
    with _storage(path, action):
        try:
            yield
        except DeltaError as exc:
            raise DeltaStorageError(path, action, one_line(exc)) from exc


def _open(path: PathLike, version: int | None = None) -> DeltaTable:
    try:
        with _storage(path, "open"):
            return DeltaTable(str(path), version=version, storage_options=storage_options(path))
    except TableNotFoundError:
        raise DeltaTableMissingError(path) from None


def table_exists(path: PathLike) -> bool:
    """Whether a Delta table exists at ``path``."""
    with _storage(path, "open"):
        return bool(DeltaTable.is_deltatable(str(path), storage_options=storage_options(path)))


@dataclass(frozen=True)
class TableIdentity:
    """What a table is, stored in its Delta ``metaData`` action when the table is created:
    ``name`` (a registry table's ``spec_kind``) and a one-line ``description``."""

    name: str
    description: str = ""


def write_table_delta(
    path: PathLike,
    table: pa.Table,
    *,
    commit_metadata: Mapping[str, str] | None = None,
    identity: TableIdentity | None = None,
) -> int:
    """Overwrite the Delta table at ``path`` with ``table`` (schema too); return the new version.

    ``identity`` is stored when this write creates the table (Delta keeps it across overwrites).
    The commit is atomic: a failure leaves the previous version as the latest (data files
    written before it are unreferenced and never read). Raises ``DeltaStorageError`` or, when
    another writer committed since the table was read, ``DeltaCommitConflictError``.
    """
    _overwrite(path, str(path), table, commit_metadata or {}, identity)
    return _open(path).version()


def overwrite_open_table(
    table_handle: DeltaTable, path: PathLike, table: pa.Table, commit_metadata: Mapping[str, str]
) -> int:
    """Overwrite an open table exactly on top of the version it was opened at; the new version.

    A writer that committed in between makes this a ``DeltaCommitConflictError``.
    """
    _overwrite(path, table_handle, table, commit_metadata, None)
    return int(table_handle.version())


def replace_table_delta(
    path: PathLike, table: pa.Table, *, commit_metadata: Mapping[str, str], identity: TableIdentity
) -> int:
    """Replace the local table at ``path`` by a new table holding only ``table`` (version 0).

    For registries whose history lives elsewhere (a git checkout): the folder never holds more
    than one version. The new table is written to a sibling temporary folder and exchanged with
    the old one in one atomic ``renameat2(RENAME_EXCHANGE)`` where the OS has it (two renames
    otherwise); a kill leaves either table whole, plus a ``.replaced-*`` or ``.new-*`` sibling that
    ``remove_replace_leftovers`` deletes.
    """
    if is_uri(path):
        msg = f"{path}: single-version tables are local folders only"
        raise ValueError(msg)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".new-{target.name}-", dir=target.parent))
    staging.chmod(target.parent.stat().st_mode & 0o7777)  # mkdtemp's 0o700 is for a temp dir
    try:
        _overwrite(path, str(staging), table, commit_metadata, identity)
        if target.exists():
            exchange_folders(staging, target)
            staging = staging.rename(staging.with_name(f".replaced-{staging.name[5:]}"))
        else:
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return 0


REPLACE_LEFTOVER_PREFIXES = (".new-", ".replaced-")


def remove_replace_leftovers(folder: Path) -> list[str]:
    """Delete what killed ``replace_table_delta`` runs left in ``folder``; return their names."""
    removed = []
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(REPLACE_LEFTOVER_PREFIXES) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
    return removed


def _overwrite(
    path: PathLike,
    target: str | DeltaTable,
    table: pa.Table,
    commit_metadata: Mapping[str, str],
    identity: TableIdentity | None,
) -> None:
    """Overwrite data and schema of ``target`` (a URI, or an open table, which is then updated
    to the new version), committing exactly on top of the version it read.

    ``max_commit_retries=0``: when another writer took that version first, fail instead of
    letting delta-rs rebase the commit. delta-rs 1.6.6 rebases an overwrite that created the
    table onto a concurrent creation as if it were an append (both writers "succeed" and the
    table holds both writers' rows; seen on S3 and on local disk). The commit itself is
    exclusive either way: S3 conditional put (``If-None-Match: *``), rename-no-replace locally.
    """
    properties = CommitProperties(custom_metadata=dict(commit_metadata), max_commit_retries=0)
    with _writing(path, "write"):
        fault_point("delta.before_commit")
        try:
            write_deltalake(
                target,
                table,
                mode="overwrite",
                schema_mode="overwrite",
                name=identity.name if identity else None,
                description=identity.description if identity else None,
                storage_options=storage_options(path) if isinstance(target, str) else None,
                commit_properties=properties,
                writer_properties=_WRITER,
            )
        except CommitFailedError as exc:
            reason = f"another writer committed to the table first ({one_line(exc)})"
            raise DeltaCommitConflictError(path, "commit to", reason) from exc
        except TableNotFoundError as exc:  # the table's folder cannot be created
            raise DeltaStorageError(path, "write", one_line(exc)) from exc


def commit_data_files(
    path: PathLike,
    schema: pa.Schema,
    add: Sequence[DataFile],
    remove: Mapping[str, int] | None = None,
    *,
    replace: bool = False,
    data_change: bool = True,
) -> int:
    """Commit Parquet files already written into the table's folder, in one transaction; return
    the new version.

    ``replace`` (or no table yet) makes ``add`` the whole table, with ``schema``; otherwise the
    files of ``add`` join the table and those of ``remove`` (path -> size, as the table lists
    them) leave it. ``data_change=False`` says the rows are the same, only rearranged (a
    compaction), as Delta's own ``OPTIMIZE`` says.
    """
    adds = [AddAction(f.path, f.size, {}, f.modification_time, data_change, f.stats) for f in add]
    with _writing(path, "commit to"):
        fault_point("delta.before_commit")
        if replace or not table_exists(path):
            create_table_with_add_actions(
                str(path),
                DeltaSchema.from_arrow(schema),
                adds,
                mode="overwrite",
                storage_options=storage_options(path),
            )
            return _open(path).version()
        table = _open(path)
        stamp = int(time.time() * 1000)
        removes = [
            RemoveAction(name, data_change, stamp, size) for name, size in (remove or {}).items()
        ]
        if not adds and not removes:
            return int(table.version())
        table.create_write_transaction([*adds, *removes], mode="append", schema=schema)
        return _open(path).version()


def data_files(path: PathLike) -> dict[str, tuple[int, int]]:
    """The data files of the table's latest version: path relative to the table -> (bytes, rows;
    -1 when its add action has no statistics). Empty when there is no table."""
    try:
        table = _open(path)
    except DeltaTableMissingError:
        return {}
    with _storage(path, "read the log of"):
        actions = pa.table(table.get_add_actions(flatten=True))
    rows = (
        actions.column("num_records").fill_null(-1)
        if "num_records" in actions.column_names
        else None
    )
    counts = rows.to_pylist() if rows is not None else [-1] * actions.num_rows
    return {
        unquote(name): (size, count)
        for name, size, count in zip(
            actions.column("path").to_pylist(),
            actions.column("size_bytes").to_pylist(),
            counts,
            strict=True,
        )
    }


def vacuum_table(path: PathLike) -> int:
    """Delete every file in the table's folder that its latest version does not refer to: files
    earlier versions removed, and files no commit ever added (a killed writer's). Returns how many.

    Older versions become unreadable (their data is gone); the log keeps their entries.
    """
    table = _open(path)
    with _writing(path, "vacuum"):
        deleted = table.vacuum(
            retention_hours=0, dry_run=False, enforce_retention_duration=False, full=True
        )
    return len(deleted)


def table_identity(path: PathLike) -> tuple[str, int] | None:
    """``(table id, latest version)``, or None when there is no table.

    An overwrite bumps the version and a re-created table gets a new id, so together they tell a
    cache whether what it holds is stale; only the log is read, not the data.
    """
    try:
        table = _open(path)
    except DeltaTableMissingError:
        return None
    with _storage(path, "read the metadata of"):
        return str(table.metadata().id), table.version()


def table_version(path: PathLike) -> int | None:
    """The latest version of the table at ``path``, or None when there is no table."""
    try:
        return _open(path).version()
    except DeltaTableMissingError:
        return None


def open_table(path: PathLike, version: int | None = None) -> DeltaTable:
    """The table at ``path`` (at ``version``): its log is read, its data is not."""
    return _open(path, version)


def stored_identity(table: DeltaTable, path: PathLike) -> TableIdentity | None:
    """The identity stored in the table's ``metaData`` action, or None when it has none."""
    with _storage(path, "read the metadata of"):
        metadata = table.metadata()
    if not metadata.name:
        return None
    return TableIdentity(str(metadata.name), str(metadata.description or ""))


def commit_info(path: PathLike, version: int | None = None) -> Mapping[str, Any] | None:
    """The commit info of ``version`` (default: the latest) of the table at ``path``, custom
    metadata included, or None when that version's log entry has none (a foreign writer's, or
    one cleaned up).

    A local table's log entry is read from its own file: delta-rs 1.6.6 reports the previous
    commit's info for an emptied entry, and mislabels the history of a table opened at an older
    version. An entry that is empty or not JSON is a ``DeltaCorruptError``.
    """
    if version is not None and not is_uri(path):
        return _local_commit_info(Path(path), version)
    latest = _open(path)
    wanted = int(latest.version()) if version is None else version
    if not is_uri(path):
        return _local_commit_info(Path(path), wanted)
    with _storage(path, "read the log of"):
        history = latest.history(1) if version is None else latest.history()
    for entry in history:
        if int(entry.get("version", -1)) == wanted:
            return dict(entry)
    return None


def _local_commit_info(path: Path, version: int) -> Mapping[str, Any] | None:
    entry = path / "_delta_log" / f"{version:020d}.json"
    try:
        text = entry.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeltaCorruptError(path, "read the log of", f"{entry.name}: {exc}") from exc
    actions = []
    try:
        actions = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise DeltaCorruptError(
            path, "read the log of", f"{entry.name} is not JSON ({exc})"
        ) from exc
    if not actions:
        raise DeltaCorruptError(path, "read the log of", f"log entry {entry.name} is empty")
    for action in actions:
        info = action.get("commitInfo") if isinstance(action, dict) else None
        if isinstance(info, dict):
            return {**info, "version": version}
    return None


def read_table_data(table: DeltaTable, path: PathLike) -> pa.Table:
    """The data of the version ``table`` is at, as stored (no schema restoration).

    A local table that needs no reader features (no deletion vectors, no column mapping: reader
    version 1) is read file by file with ``pyarrow.parquet``: for the small registry tables that
    is a fraction of deltalake's scan, which imports ``pyarrow.dataset`` (as ``pq.read_table``
    does; ``ParquetFile.read`` does not). Measured: 13 tables, ~0.26 s through deltalake.
    """
    with _storage(path, "read"):
        if is_uri(path) or table.protocol().min_reader_version > 1:
            return table.to_pyarrow_table()
        actions = pa.table(table.get_add_actions(flatten=True))
        if not actions.num_rows:
            return table.to_pyarrow_table()
        import pyarrow.parquet as pq

        parts = []
        for name, size in zip(
            actions.column("path").to_pylist(),
            actions.column("size_bytes").to_pylist(),
            strict=True,
        ):
            file = Path(path, unquote(name))
            actual = file.stat().st_size
            if actual != size:
                reason = f"data file {name} has {actual} bytes, its add action says {size}"
                raise DeltaCorruptError(path, "read", reason)
            parts.append(pq.ParquetFile(file).read())
        return pa.concat_tables(parts)


def latest_commit_metadata(path: PathLike) -> Mapping[str, Any] | None:
    """The commit info of the latest version (``version`` and custom metadata included), or None."""
    try:
        table = _open(path)
    except DeltaTableMissingError:
        return None
    with _storage(path, "read the log of"):
        history = table.history(1)
    return history[0] if history else None


def commit_history(path: PathLike) -> list[dict[str, Any]]:
    """Every commit info of the table at ``path`` (custom metadata included), oldest first.

    A local table's entries are read from its log files (``_local_commit_info``): an emptied or
    garbled entry is a ``DeltaCorruptError`` naming it, not a gap that looks like cleaned-up
    history; versions before a checkpoint whose files were cleaned up are simply absent.
    """
    table = _open(path)
    if not is_uri(path):
        latest = int(table.version())
        found = []
        for version in range(latest + 1):
            entry = _local_commit_info(Path(path), version)
            if entry is not None:
                found.append(dict(entry))
        return found
    with _storage(path, "read the log of"):
        history: list[dict[str, Any]] = table.history()
    return sorted(history, key=lambda entry: int(entry["version"]))


def restore_table(table: pa.Table, schema: pa.Schema, sort_key: SortSpec, name: str) -> pa.Table:
    """``table`` with exactly ``schema`` (types, nullability, metadata) and sorted by ``sort_key``.

    Only what Delta itself changes is restored (dictionary to plain values, list item names,
    large variants); any other type change is an error, so a drifted table is never coerced
    silently. Raises ``RegistryDecodeError`` naming the table and column (and, for a null in a
    non-null column, the first such row of the restored order).
    """
    check_restorable(table.schema, schema, name)
    arrays = []
    for field in schema:
        column = table.column(field.name)
        try:
            arrays.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            msg = f"has type {column.type}, cannot be restored to {field.type} ({exc})"
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
    table = _open(path, version)
    with _storage(path, "read"):
        return table.to_pyarrow_table(filesystem=_native_files(path))


def _native_files(path: PathLike) -> pa_fs.FileSystem | None:
    """pyarrow's own file system rooted at a local table; None (deltalake's) for a URI.

    deltalake reads through a file system written in Python (``PyFileSystem``) by default, and
    pyarrow's pool threads may release its Python file objects after the interpreter began to
    exit, which aborts the process ("terminate called without an active exception": the thread
    takes the GIL, is ended by the finalizing interpreter, and unwinds through a C++ destructor;
    upstream apache/arrow#34314, open). Measured here, processes that read the 13 registry tables
    and exit, 3 at a time: 10 of 360 aborted with deltalake's file system, 0 of 360 with this.
    """
    if is_uri(path):
        return None
    import pyarrow.fs as pa_fs

    return pa_fs.SubTreeFileSystem(str(Path(path).resolve()), pa_fs.LocalFileSystem())


def read_delta_columns(
    path: PathLike, columns: Sequence[str], where: pc.Expression | None = None
) -> pa.Table:
    """Some columns of the table at ``path``, only the rows matching ``where`` (filtered as the
    files are read, so the whole table is never in memory)."""
    table = _open(path)
    with _storage(path, "read"):
        dataset = table.to_pyarrow_dataset(filesystem=_native_files(path))
        result: pa.Table = dataset.to_table(columns=list(columns), filter=where)
        return result


def open_dataset(path: PathLike) -> ds.Dataset:
    """The latest version of the table at ``path`` as a pyarrow dataset, read lazily.

    Each data file is a fragment whose guarantee holds the min/max statistics Delta recorded
    for it, so a filter on a column skips whole files; inside a file, Parquet's row-group
    statistics skip row groups (for columns stored as plain values: pyarrow does not prune by
    the statistics of a column it reads as a dictionary).
    """
    table = _open(path)
    with _storage(path, "open"):
        dataset: ds.Dataset = table.to_pyarrow_dataset(filesystem=_native_files(path))
    return dataset


def check_restorable(actual: pa.Schema, expected: pa.Schema, name: str) -> None:
    """Raise ``RegistryDecodeError`` naming table ``name`` and the column unless every column
    of ``actual`` is in ``expected`` and every column of ``expected`` is in ``actual`` with a type
    it can be restored from (what a Delta round trip changes, as in ``restore_table``)."""
    expected_names = set(expected.names)
    for column in actual.names:
        if column not in expected_names:
            raise RegistryDecodeError(name, column, "unexpected column")
    for field in expected:
        index = actual.get_field_index(field.name)
        if index < 0:
            raise RegistryDecodeError(name, field.name, "column is missing")
        if not _restorable(actual.field(index).type, field.type):
            msg = f"has type {actual.field(index).type}, expected {field.type}"
            raise RegistryDecodeError(name, field.name, msg)


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
