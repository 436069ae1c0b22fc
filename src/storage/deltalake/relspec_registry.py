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
)
