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
"""

from __future__ import annotations

import pyarrow as pa

from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import require_valid_specs
from storage.deltalake.delta import latest_commit_metadata, table_version, write_table_delta
from storage.deltalake.locations import Location
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
    TableExport,
    combined_fingerprint,
    table_fingerprint,
)

REGISTRY_FORMAT_VERSION = "1"


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
) -> RegistryExport:
    """Like ``run_registry_exports``, but ``root`` is the registry folder itself
    (the one that holds ``cpg/`` and ``relspec/``)."""
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
    results: list[TableExport] = []
    for target, tables in built.items():
        for name, table in tables.items():
            path = table_path(root, target, name)
            fingerprint = fingerprints[(target, name)]
            previous = latest_commit_metadata(path)
            version = table_version(path)
            changed = previous is None or previous.get(FINGERPRINT_KEY) != fingerprint
            if changed:
                version = write_table_delta(
                    path,
                    table,
                    commit_metadata={
                        FINGERPRINT_KEY: fingerprint,
                        SPEC_FINGERPRINT_KEY: spec_fingerprint,
                        GENERATOR_VERSION_KEY: REGISTRY_FORMAT_VERSION,
                    },
                )
            assert version is not None
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
