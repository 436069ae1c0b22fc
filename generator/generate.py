"""``python -m generator``: export the specs, read the registry back, write ``generated/``.

Every rule (spec invariants, then every name the templates need) runs on the specs before
anything is written, and every violation is listed at once. After the export the registry is read
back and verified: if another writer changed it in between, nothing is rendered from foreign rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from cpg.spec_set import canonical_spec_set
from cpg.validation import require_valid_specs
from generator.options import Options, Reporter, display
from generator.outputs import read_outputs, remove_leftovers, write_outputs
from generator.pipeline import decode_registry, render_outputs
from storage.deltalake.registry_history import read_export
from storage.deltalake.registry_io import read_registry_tables
from storage.deltalake.registry_layout import TABLE_NAMES
from storage.deltalake.registry_models import table_fingerprint
from storage.deltalake.registry_runner import build_registry_tables, export_registry


class ConcurrentWriterError(RuntimeError):
    """The registry changed between this run's export and its read (another writer)."""


def _flat(built: Mapping[str, Mapping[str, pa.Table]]) -> dict[str, pa.Table]:
    return {name: table for tables in built.values() for name, table in tables.items()}


def generate(options: Options, report: Reporter) -> int:
    """Export (unless ``--no-export``), read back, render and replace ``generated/``."""
    on_disk = read_outputs(options.output)
    if options.exports:
        specs = canonical_spec_set()
        require_valid_specs(specs)
        built = build_registry_tables(specs)
        tables = _flat(built)
        final = render_outputs(
            decode_registry(tables, "specs", validated=True),
            tables,
            on_disk,
            cache=options.cache,
            write_cache=True,
        )
        export = export_registry(
            options.registry, specs=specs, single_version=options.single_version
        )
        changed = len(export.changed)
        report.info(
            f"exported {len(export.tables)} tables to {options.registry} ({changed} changed)"
        )
        for table in export.tables:
            report.detail(f"  {table.table}: version {table.version}, {table.rows} rows")
        _require_own_rows(options, tables, read_registry_tables(options.registry, TABLE_NAMES))
    else:
        options.require_registry()
        if options.registry_version is not None:
            tables = read_export(options.registry, options.registry_version)
        else:
            tables = read_registry_tables(options.registry, TABLE_NAMES)
        final = render_outputs(
            decode_registry(tables, str(options.registry)),
            tables,
            on_disk,
            cache=options.cache,
            write_cache=True,
        )
    removed = remove_leftovers(options.output)
    written = write_outputs(options.output, final)
    stray = sorted(set(on_disk) - set(final))
    report.info(
        f"read {len(tables)} tables; wrote {len(written)} files, "
        f"{len(final) - len(written)} unchanged"
        + (f", removed {len(stray)} stray" if stray else "")
        + f" in {display(options.output)}"
    )
    for name in removed:
        report.info(f"removed {name}, left by an interrupted run")
    for name in written:
        report.detail(f"  wrote {name}")
    return 0


def _require_own_rows(
    options: Options, exported: Mapping[str, pa.Table], read: Mapping[str, pa.Table]
) -> None:
    """Raise ``ConcurrentWriterError`` unless the registry holds exactly the exported rows."""
    for name, table in exported.items():
        if table_fingerprint(read[name]) != table_fingerprint(table):
            msg = (
                f"another writer changed registry table {name} at {options.registry} after this "
                "run exported it; nothing was rendered: rerun when the other writer is done"
            )
            raise ConcurrentWriterError(msg)
