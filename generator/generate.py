"""``python -m generator``: export the specs, read the registry back, write ``generated/``.

Every rule (spec invariants, then every name the templates need) runs on the specs before
anything is written, and every violation is listed at once. After the export the registry is read
back and verified: if another writer changed it in between, nothing is rendered from foreign rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import require_valid_specs
from generator.options import Options, Reporter, display
from generator.outputs import leftovers, read_outputs, staged_outputs
from generator.pipeline import decode_registry, render_outputs
from storage.deltalake.registry_history import read_export
from storage.deltalake.registry_io import read_registry_tables
from storage.deltalake.registry_layout import TABLE_NAMES
from storage.deltalake.registry_models import table_fingerprint
from storage.deltalake.registry_runner import build_registry_tables, export_registry
from storage.faults import fault_point


class ConcurrentWriterError(RuntimeError):
    """The registry changed between this run's export and its read (another writer)."""


def _flat(built: Mapping[str, Mapping[str, pa.Table]]) -> dict[str, pa.Table]:
    return {name: table for tables in built.values() for name, table in tables.items()}


def generate(options: Options, report: Reporter) -> int:
    """Render and stage ``generated/``; export (unless ``--no-export``) and read the registry back;
    then swap the staged files in. Anything that fails before the swap leaves ``generated/`` as
    it was, and a full or read-only output disk is found before the registry is written."""
    on_disk = read_outputs(options.output)
    removed = [path.name for path in leftovers(options.output)]
    if options.exports:
        specs = canonical_spec_set()
        require_valid_specs(specs)
        tables = _flat(build_registry_tables(specs))
        specs_read = decode_registry(tables, "specs", validated=True)
    else:
        options.require_registry()
        if options.registry_version is not None:
            tables = read_export(options.registry, options.registry_version)
        else:
            tables = read_registry_tables(options.registry, TABLE_NAMES)
        specs_read = decode_registry(tables, display(options.registry))
    final = render_outputs(specs_read, tables, on_disk, cache=options.cache, write_cache=True)
    with staged_outputs(options.output, final) as replacement:
        if options.exports:
            _export(options, report, specs_read, tables)
        written = replacement.commit()
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


def _export(
    options: Options, report: Reporter, specs: SpecSet, tables: Mapping[str, pa.Table]
) -> None:
    """Export ``specs`` and make sure the registry now holds exactly ``tables``."""
    fault_point("generate.before_export")
    export = export_registry(options.registry, specs=specs, single_version=options.single_version)
    where = display(options.registry)
    report.info(f"exported {len(export.tables)} tables to {where} ({len(export.changed)} changed)")
    for table in export.tables:
        report.detail(f"  {table.table}: version {table.version}, {table.rows} rows")
    fault_point("generate.after_export")
    _require_own_rows(options, tables, read_registry_tables(options.registry, TABLE_NAMES))


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
