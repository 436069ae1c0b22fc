"""Export the registry: validate the specs, then write every table as a Delta table.

Example, for ``run_registry_exports("build")``::

    build/registry/cpg/cpg_node_contracts
    build/registry/cpg/cpg_edge_contracts
    ...
    build/registry/relspec/relspec_rule_definitions
    build/registry/relspec/relspec_rule_templates

Both the on-demand run (``python -m generator``) and the graph pipeline call this function, so
every CPG output directory carries the registry that describes it. A table whose content did
not change keeps its version: the content fingerprint kept in the Delta commit metadata is
compared before writing.

Each table is committed on its own (Delta has no multi-table transactions). A table that
cannot be written raises ``RegistryWriteError`` naming the table and its location; the tables
exported before it stay committed, the failed one keeps its previous version, and rerunning the
export completes the registry. Two exporters may run at once: a commit that loses the race to
one holding the same content counts as done.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import require_valid_specs
from storage.deltalake.delta import (
    DeltaCommitConflictError,
    DeltaCorruptError,
    DeltaFileMissingError,
    DeltaStorageError,
    DeltaTableMissingError,
    TableIdentity,
    latest_commit_metadata,
    open_table,
    overwrite_open_table,
    remove_replace_leftovers,
    replace_table_delta,
    write_table_delta,
)
from storage.deltalake.locations import Location, is_uri
from storage.deltalake.registry_io import ForeignTableError, TableState, inspect_registry_table
from storage.deltalake.registry_layout import (
    DEFAULT_TARGETS,
    TARGETS,
    check_targets,
    registry_root,
    table_path,
)
from storage.deltalake.registry_models import (
    FINGERPRINT_KEY,
    GENERATOR_VERSION_KEY,
    SPEC_FINGERPRINT_KEY,
    RegistryExport,
    RegistryTableSpec,
    TableExport,
    combined_fingerprint,
    table_fingerprint,
)
from storage.spec_codec import RegistryDecodeError

TABLE_SPECS = {spec.name: spec for specs in TARGETS.values() for spec in specs}


def generator_version() -> str:
    """The installed cpg-registry version, recorded with every export."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("cpg-registry")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


class RegistryWriteError(OSError):
    """A registry table could not be exported: names the table, its location and the cause."""

    def __init__(self, table: str, path: Location, reason: str, done: int, total: int) -> None:
        super().__init__(
            f"registry table {table} was not exported to {path}: {reason} "
            f"({done} of {total} tables exported before it; rerun the export to complete it)"
        )
        self.table = table
        self.path = str(path)


def build_registry_tables(
    specs: SpecSet, targets: tuple[str, ...] = DEFAULT_TARGETS
) -> dict[str, dict[str, pa.Table]]:
    """The in-memory registry tables of ``specs``: target -> table name -> table."""
    check_targets(targets)
    return {
        target: {spec.name: spec.builder(specs) for spec in TARGETS[target]} for target in targets
    }


def run_registry_exports(
    output_dir: Location,
    targets: tuple[str, ...] = DEFAULT_TARGETS,
    *,
    specs: SpecSet | None = None,
) -> RegistryExport:
    """Validate ``specs`` (the canonical ones by default) and write ``output_dir/registry/...``.

    The spec fingerprint recorded in each commit covers every table of every target, whichever
    targets are exported.

    Raises ``UnknownTargetError`` or ``SpecValidationError`` (listing every violation) before
    anything is written.
    """
    return export_registry(registry_root(output_dir), targets, specs=specs)


def export_registry(
    root: Location,
    targets: tuple[str, ...] = DEFAULT_TARGETS,
    *,
    specs: SpecSet | None = None,
    single_version: bool = False,
) -> RegistryExport:
    """Like ``run_registry_exports``, but ``root`` is the registry folder itself
    (the one that holds ``cpg/`` and ``relspec/``).

    ``single_version``: each written table is replaced by a new one-version table (a local
    registry whose history is kept elsewhere, e.g. in git); otherwise an overwrite adds a Delta
    version. Either way a table is written only when its content changed or it does not verify
    (``registry_io``): a table with missing, overwritten or foreign data is repaired.
    """
    check_targets(targets)
    specs = canonical_spec_set() if specs is None else specs
    require_valid_specs(specs)
    every_table = build_registry_tables(specs)
    fingerprints = {
        (target, name): table_fingerprint(table)
        for target, tables in every_table.items()
        for name, table in tables.items()
    }
    spec_fingerprint = combined_fingerprint(
        (name, fingerprint) for (_, name), fingerprint in fingerprints.items()
    )
    built = {target: every_table[target] for target in targets}
    exported_by = generator_version()
    results: list[TableExport] = []
    total = sum(len(tables) for tables in built.values())
    if single_version and not is_uri(root):
        for target in targets:
            remove_replace_leftovers(Path(root, target))
    for target, tables in built.items():
        for name, table in tables.items():
            spec = TABLE_SPECS[name]
            path = table_path(root, target, name)
            fingerprint = fingerprints[(target, name)]
            metadata = {
                FINGERPRINT_KEY: fingerprint,
                SPEC_FINGERPRINT_KEY: spec_fingerprint,
                GENERATOR_VERSION_KEY: exported_by,
            }
            try:
                version, changed = _export_table(path, spec, table, metadata, single_version)
            except DeltaStorageError as exc:
                raise RegistryWriteError(name, path, exc.reason, len(results), total) from exc
            results.append(
                TableExport(
                    target=target,
                    table=name,
                    path=str(path),
                    version=version,
                    rows=table.num_rows,
                    changed=changed,
                    fingerprint=fingerprint,
                )
            )
    return RegistryExport(root=str(root), spec_fingerprint=spec_fingerprint, tables=tuple(results))


def _current_state(path: Location, spec: RegistryTableSpec) -> TableState | str | None:
    """The table as stored: its state, None when there is none, or why an overwrite cannot fix
    it (unreadable, or another table)."""
    try:
        return inspect_registry_table(path, spec)
    except DeltaTableMissingError:
        return None
    except ForeignTableError as exc:
        return exc.problem
    except DeltaCommitConflictError:
        raise
    except (DeltaStorageError, RegistryDecodeError) as exc:
        if isinstance(exc, DeltaStorageError) and not isinstance(
            exc, (DeltaCorruptError, DeltaFileMissingError)
        ):
            raise  # the storage itself fails (unreachable, denied): nothing to repair
        return str(exc)


def _export_table(
    path: Location,
    spec: RegistryTableSpec,
    table: pa.Table,
    metadata: dict[str, str],
    single_version: bool,
) -> tuple[int, bool]:
    """Write ``table`` unless the stored table verifies and holds it: ``(version, changed)``.

    A table that cannot be read, or that is another table (its stored name), is replaced by a new
    one on local storage; on an object store that is an error (no atomic folder swap there).
    """
    state = _current_state(path, spec)
    if (
        isinstance(state, TableState)
        and state.verified
        and state.recorded_fingerprint == metadata[FINGERPRINT_KEY]
    ):
        return state.version, False
    identity = TableIdentity(spec.name, spec.description)
    unusable = state if isinstance(state, str) else None
    if single_version or (unusable is not None and not is_uri(path)):
        version = replace_table_delta(path, table, commit_metadata=metadata, identity=identity)
        return version, True
    if unusable is not None:
        msg = f"{unusable}; on an object store it cannot be repaired in place: delete the table"
        raise DeltaStorageError(path, "repair", msg)
    try:
        if not isinstance(state, TableState):
            version = write_table_delta(path, table, commit_metadata=metadata, identity=identity)
        else:
            version = overwrite_open_table(open_table(path, state.version), path, table, metadata)
    except DeltaCommitConflictError:
        # Another exporter committed first, or this commit landed but its answer was lost and
        # the retry found it: done if the table now holds exactly this content.
        latest = latest_commit_metadata(path)
        if latest is not None and latest.get(FINGERPRINT_KEY) == metadata[FINGERPRINT_KEY]:
            return int(latest["version"]), False
        raise
    return version, True
