"""The CPG registry tables, as exported under ``OUTPUT_DIR/registry/cpg/<name>``."""

from __future__ import annotations

from cpg import registry_tables as tables
from cpg.spec_set import SORT_KEYS
from storage.deltalake.registry_models import RegistryTableSpec

REGISTRY_TABLE_SPECS: tuple[RegistryTableSpec, ...] = (
    RegistryTableSpec(
        name="cpg_source_kinds",
        builder=tables.source_kinds_table,
        description="Source kinds: the parsers and steps CPG facts come from.",
        schema=tables.SOURCE_KINDS_SCHEMA,
        sort_key=SORT_KEYS["source_kinds"],
    ),
    RegistryTableSpec(
        name="cpg_prop_enums",
        builder=tables.prop_enums_table,
        description="Named closed value sets of string properties.",
        schema=tables.PROP_ENUMS_SCHEMA,
        sort_key=SORT_KEYS["prop_enums"],
    ),
    RegistryTableSpec(
        name="cpg_prop_catalog",
        builder=tables.prop_catalog_table,
        description="Every property key and its base type.",
        schema=tables.PROP_CATALOG_SCHEMA,
        sort_key=SORT_KEYS["prop_catalog"],
    ),
    RegistryTableSpec(
        name="cpg_node_contracts",
        builder=tables.node_contracts_table,
        description="Node kind contracts: anchor flag, allowed sources, required/optional props.",
        schema=tables.NODE_CONTRACTS_SCHEMA,
        sort_key=SORT_KEYS["node_contracts"],
    ),
    RegistryTableSpec(
        name="cpg_edge_contracts",
        builder=tables.edge_contracts_table,
        description="Edge kind contracts: endpoint node kinds, evidence anchor, sources, props.",
        schema=tables.EDGE_CONTRACTS_SCHEMA,
        sort_key=SORT_KEYS["edge_contracts"],
    ),
    RegistryTableSpec(
        name="cpg_kind_derivations",
        builder=tables.derivations_table,
        description="How each node and edge kind is derived, and whether it is implemented.",
        schema=tables.DERIVATIONS_SCHEMA,
        sort_key=SORT_KEYS["derivations"],
    ),
    RegistryTableSpec(
        name="cpg_field_catalog",
        builder=tables.field_catalog_table,
        description="CPG field catalog definitions.",
        schema=tables.FIELD_CATALOG_SCHEMA,
        sort_key=SORT_KEYS["fields"],
    ),
    RegistryTableSpec(
        name="cpg_bundle_catalog",
        builder=tables.bundle_catalog_table,
        description="CPG field bundle catalog.",
        schema=tables.BUNDLE_CATALOG_SCHEMA,
        sort_key=SORT_KEYS["bundles"],
    ),
    RegistryTableSpec(
        name="cpg_dataset_rows",
        builder=tables.dataset_rows_table,
        description="CPG dataset row declarations.",
        schema=tables.DATASET_ROWS_SCHEMA,
        sort_key=SORT_KEYS["dataset_rows"],
    ),
    RegistryTableSpec(
        name="cpg_registry_templates",
        builder=tables.registry_templates_table,
        description="CPG registry template defaults.",
        schema=tables.REGISTRY_TEMPLATES_SCHEMA,
        sort_key=SORT_KEYS["templates"],
    ),
    RegistryTableSpec(
        name="registry_diagnostics",
        builder=tables.diagnostics_table,
        description="Findings about the exported specs (e.g. kinds with no implemented extractor).",
        schema=tables.DIAGNOSTICS_SCHEMA,
        sort_key=("severity", "spec", "reference"),
    ),
)
