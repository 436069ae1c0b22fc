"""The relspec registry tables, as exported under ``OUTPUT_DIR/registry/relspec/<name>``."""

from __future__ import annotations

from cpg.spec_set import SORT_KEYS
from relspec.rules import spec_tables
from storage.deltalake.registry_models import RegistryTableSpec

REGISTRY_TABLE_SPECS: tuple[RegistryTableSpec, ...] = (
    RegistryTableSpec(
        name="relspec_rule_definitions",
        builder=spec_tables.rule_definitions_table,
        description="Relationship rule definitions, templates expanded.",
        schema=spec_tables.RULE_DEFINITIONS_SCHEMA,
        sort_key=SORT_KEYS["rules"],
    ),
    RegistryTableSpec(
        name="relspec_rule_templates",
        builder=spec_tables.rule_templates_table,
        description="Relationship rule templates and their parameters.",
        schema=spec_tables.RULE_TEMPLATES_SCHEMA,
        sort_key=SORT_KEYS["rule_templates"],
    ),
    RegistryTableSpec(
        name="relspec_relation_contracts",
        builder=spec_tables.relation_contracts_table,
        description="Relations the rules read and produce: columns, types, producer.",
        schema=spec_tables.RELATION_CONTRACTS_SCHEMA,
        sort_key=SORT_KEYS["relation_contracts"],
    ),
    RegistryTableSpec(
        name="relspec_confidence_policies",
        builder=spec_tables.confidence_policies_table,
        description="Confidence policies rules name: base and per-rival penalty.",
        schema=spec_tables.CONFIDENCE_POLICIES_SCHEMA,
        sort_key=SORT_KEYS["confidence_policies"],
    ),
    RegistryTableSpec(
        name="relspec_ambiguity_policies",
        builder=spec_tables.ambiguity_policies_table,
        description="Ambiguity policies rules name: winner selection among candidate edges.",
        schema=spec_tables.AMBIGUITY_POLICIES_SCHEMA,
        sort_key=SORT_KEYS["ambiguity_policies"],
    ),
)
