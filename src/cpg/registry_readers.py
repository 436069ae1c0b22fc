"""Decoders: registry tables back into exactly the spec objects they were built from."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from cpg.contracts import EdgeContract, NodeContract, PropDecl, PropEnum, SourceKindSpec
from cpg.datasets import BundleSpec, DatasetRow, FieldSpec, RegistryTemplate
from cpg.derivation import Derivation
from cpg.spec_set import SpecSet
from cpg.validation import RegistryDiagnostic
from relspec.rules.spec_tables import (
    ambiguity_policies_from_table,
    confidence_policies_from_table,
    relation_contracts_from_table,
    rule_definitions_from_table,
    rule_templates_from_table,
)
from storage.spec_codec import RegistryDecodeError, decode_table


def source_kinds_from_table(table: pa.Table) -> tuple[SourceKindSpec, ...]:
    """Decode ``cpg_source_kinds``."""
    return decode_table(SourceKindSpec, table, "cpg_source_kinds")


def prop_enums_from_table(table: pa.Table) -> tuple[PropEnum, ...]:
    """Decode ``cpg_prop_enums``."""
    return decode_table(PropEnum, table, "cpg_prop_enums")


def prop_catalog_from_table(table: pa.Table) -> tuple[PropDecl, ...]:
    """Decode ``cpg_prop_catalog``."""
    return decode_table(PropDecl, table, "cpg_prop_catalog")


def node_contracts_from_table(table: pa.Table) -> tuple[NodeContract, ...]:
    """Decode ``cpg_node_contracts``."""
    return decode_table(NodeContract, table, "cpg_node_contracts")


def edge_contracts_from_table(table: pa.Table) -> tuple[EdgeContract, ...]:
    """Decode ``cpg_edge_contracts``."""
    return decode_table(EdgeContract, table, "cpg_edge_contracts")


def derivations_from_table(table: pa.Table) -> tuple[Derivation, ...]:
    """Decode ``cpg_kind_derivations``."""
    return decode_table(Derivation, table, "cpg_kind_derivations")


def field_catalog_from_table(table: pa.Table) -> tuple[FieldSpec, ...]:
    """Decode ``cpg_field_catalog``."""
    return decode_table(FieldSpec, table, "cpg_field_catalog")


def bundle_catalog_from_table(table: pa.Table) -> tuple[BundleSpec, ...]:
    """Decode ``cpg_bundle_catalog``."""
    return decode_table(BundleSpec, table, "cpg_bundle_catalog")


def dataset_rows_from_table(table: pa.Table) -> tuple[DatasetRow, ...]:
    """Decode ``cpg_dataset_rows``."""
    return decode_table(DatasetRow, table, "cpg_dataset_rows")


def registry_templates_from_table(table: pa.Table) -> tuple[RegistryTemplate, ...]:
    """Decode ``cpg_registry_templates``."""
    return decode_table(RegistryTemplate, table, "cpg_registry_templates")


def diagnostics_from_table(table: pa.Table) -> tuple[RegistryDiagnostic, ...]:
    """Decode ``registry_diagnostics``."""
    return decode_table(RegistryDiagnostic, table, "registry_diagnostics")


def required_table(tables: Mapping[str, pa.Table], name: str) -> pa.Table:
    """``tables[name]``, or an error naming the table missing from the registry."""
    if name not in tables:
        raise RegistryDecodeError(name, "*", "table is missing from the registry")
    return tables[name]


def spec_set_from_tables(tables: Mapping[str, pa.Table]) -> SpecSet:
    """The spec set a full registry (table name -> table) describes.

    Node and edge kinds are the kinds of the contract tables: a kind is declared by its contract.
    """

    node_contracts = node_contracts_from_table(required_table(tables, "cpg_node_contracts"))
    edge_contracts = edge_contracts_from_table(required_table(tables, "cpg_edge_contracts"))
    return SpecSet(
        source_kinds=source_kinds_from_table(required_table(tables, "cpg_source_kinds")),
        node_kinds=tuple(c.kind for c in node_contracts),
        edge_kinds=tuple(c.kind for c in edge_contracts),
        prop_enums=prop_enums_from_table(required_table(tables, "cpg_prop_enums")),
        prop_catalog=prop_catalog_from_table(required_table(tables, "cpg_prop_catalog")),
        node_contracts=node_contracts,
        edge_contracts=edge_contracts,
        derivations=derivations_from_table(required_table(tables, "cpg_kind_derivations")),
        fields=field_catalog_from_table(required_table(tables, "cpg_field_catalog")),
        bundles=bundle_catalog_from_table(required_table(tables, "cpg_bundle_catalog")),
        dataset_rows=dataset_rows_from_table(required_table(tables, "cpg_dataset_rows")),
        templates=registry_templates_from_table(required_table(tables, "cpg_registry_templates")),
        rule_templates=rule_templates_from_table(required_table(tables, "relspec_rule_templates")),
        rules=rule_definitions_from_table(required_table(tables, "relspec_rule_definitions")),
        relation_contracts=relation_contracts_from_table(
            required_table(tables, "relspec_relation_contracts")
        ),
        confidence_policies=confidence_policies_from_table(
            required_table(tables, "relspec_confidence_policies")
        ),
        ambiguity_policies=ambiguity_policies_from_table(
            required_table(tables, "relspec_ambiguity_policies")
        ),
    )
