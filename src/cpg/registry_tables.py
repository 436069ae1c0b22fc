"""The CPG registry tables: Arrow schemas (with ``spec_kind`` metadata) and their builders.

Each schema is derived from the row dataclass by ``storage.spec_codec``; each builder encodes one
collection of a spec set (the canonical specs by default), rows sorted by the collection key.
"""

from __future__ import annotations

import pyarrow as pa

from cpg.contracts import EdgeContract, NodeContract, PropDecl, PropEnum, SourceKindSpec
from cpg.datasets import BundleSpec, DatasetRow, FieldSpec, RegistryTemplate
from cpg.derivation import Derivation
from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import RegistryDiagnostic, registry_diagnostics
from storage.spec_codec import encode_table, schema_for

SOURCE_KINDS_SCHEMA = schema_for(SourceKindSpec, "cpg_source_kinds")
PROP_ENUMS_SCHEMA = schema_for(PropEnum, "cpg_prop_enums")
PROP_CATALOG_SCHEMA = schema_for(PropDecl, "cpg_prop_catalog")
NODE_CONTRACTS_SCHEMA = schema_for(NodeContract, "cpg_node_contracts")
EDGE_CONTRACTS_SCHEMA = schema_for(EdgeContract, "cpg_edge_contracts")
DERIVATIONS_SCHEMA = schema_for(Derivation, "cpg_kind_derivations")
FIELD_CATALOG_SCHEMA = schema_for(FieldSpec, "cpg_field_catalog")
BUNDLE_CATALOG_SCHEMA = schema_for(BundleSpec, "cpg_bundle_catalog")
DATASET_ROWS_SCHEMA = schema_for(DatasetRow, "cpg_dataset_rows")
REGISTRY_TEMPLATES_SCHEMA = schema_for(RegistryTemplate, "cpg_registry_templates")
DIAGNOSTICS_SCHEMA = schema_for(RegistryDiagnostic, "registry_diagnostics")


def _specs(specs: SpecSet | None) -> SpecSet:
    return canonical_spec_set() if specs is None else specs


def source_kinds_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per source kind."""
    return encode_table(SourceKindSpec, _specs(specs).source_kinds, "cpg_source_kinds")


def prop_enums_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per named property enum, with its values."""
    return encode_table(PropEnum, _specs(specs).prop_enums, "cpg_prop_enums")


def prop_catalog_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per property key, with its base type."""
    return encode_table(PropDecl, _specs(specs).prop_catalog, "cpg_prop_catalog")


def node_contracts_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per node kind: its contract."""
    return encode_table(NodeContract, _specs(specs).node_contracts, "cpg_node_contracts")


def edge_contracts_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per edge kind: its contract and endpoint node kinds."""
    return encode_table(EdgeContract, _specs(specs).edge_contracts, "cpg_edge_contracts")


def derivations_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per derivation of a node or edge kind."""
    return encode_table(Derivation, _specs(specs).derivations, "cpg_kind_derivations")


def field_catalog_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per catalog field."""
    return encode_table(FieldSpec, _specs(specs).fields, "cpg_field_catalog")


def bundle_catalog_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per field bundle."""
    return encode_table(BundleSpec, _specs(specs).bundles, "cpg_bundle_catalog")


def dataset_rows_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per dataset declaration."""
    return encode_table(DatasetRow, _specs(specs).dataset_rows, "cpg_dataset_rows")


def registry_templates_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per registry template."""
    return encode_table(RegistryTemplate, _specs(specs).templates, "cpg_registry_templates")


def diagnostics_table(specs: SpecSet | None = None) -> pa.Table:
    """The findings exported with the registry (see ``registry_diagnostics``)."""
    return encode_table(
        RegistryDiagnostic, registry_diagnostics(_specs(specs)), "registry_diagnostics"
    )
