"""The relspec registry tables: rule definitions and rule templates, schemas and codecs."""

from __future__ import annotations

import pyarrow as pa

from cpg.spec_set import SpecSet, canonical_spec_set
from relspec.rules.model import RuleDefinition, RuleTemplateSpec
from storage.spec_codec import decode_table, encode_table, schema_for

RULE_DEFINITIONS_SCHEMA = schema_for(RuleDefinition, "relspec_rule_definitions")
RULE_TEMPLATES_SCHEMA = schema_for(RuleTemplateSpec, "relspec_rule_templates")


def _specs(specs: SpecSet | None) -> SpecSet:
    return canonical_spec_set() if specs is None else specs


def rule_definitions_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per rule definition (templates already expanded), sorted by name."""
    return encode_table(RuleDefinition, _specs(specs).rules, "relspec_rule_definitions")


def rule_templates_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per rule template, sorted by name."""
    return encode_table(RuleTemplateSpec, _specs(specs).rule_templates, "relspec_rule_templates")


def rule_definitions_from_table(table: pa.Table) -> tuple[RuleDefinition, ...]:
    """The rule definitions of a ``relspec_rule_definitions`` table, in table order."""
    return decode_table(RuleDefinition, table, "relspec_rule_definitions")


def rule_templates_from_table(table: pa.Table) -> tuple[RuleTemplateSpec, ...]:
    """The rule templates of a ``relspec_rule_templates`` table, in table order."""
    return decode_table(RuleTemplateSpec, table, "relspec_rule_templates")
