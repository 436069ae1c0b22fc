"""The relspec registry tables: rule definitions, rule templates, relation contracts and rule
policies; schemas and codecs."""

from __future__ import annotations

import pyarrow as pa

from cpg.spec_set import SpecSet, canonical_spec_set
from relspec.rules.model import (
    AmbiguityPolicy,
    ConfidencePolicy,
    RelationContract,
    RuleDefinition,
    RuleTemplateSpec,
)
from storage.spec_codec import decode_table, encode_table, schema_for

RULE_DEFINITIONS_SCHEMA = schema_for(RuleDefinition, "relspec_rule_definitions")
RULE_TEMPLATES_SCHEMA = schema_for(RuleTemplateSpec, "relspec_rule_templates")
RELATION_CONTRACTS_SCHEMA = schema_for(RelationContract, "relspec_relation_contracts")
CONFIDENCE_POLICIES_SCHEMA = schema_for(ConfidencePolicy, "relspec_confidence_policies")
AMBIGUITY_POLICIES_SCHEMA = schema_for(AmbiguityPolicy, "relspec_ambiguity_policies")


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


def relation_contracts_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per relation contract, sorted by name."""
    return encode_table(
        RelationContract, _specs(specs).relation_contracts, "relspec_relation_contracts"
    )


def relation_contracts_from_table(table: pa.Table) -> tuple[RelationContract, ...]:
    """The relation contracts of a ``relspec_relation_contracts`` table, in table order."""
    return decode_table(RelationContract, table, "relspec_relation_contracts")


def confidence_policies_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per confidence policy, sorted by name."""
    return encode_table(
        ConfidencePolicy, _specs(specs).confidence_policies, "relspec_confidence_policies"
    )


def confidence_policies_from_table(table: pa.Table) -> tuple[ConfidencePolicy, ...]:
    """The confidence policies of a ``relspec_confidence_policies`` table, in table order."""
    return decode_table(ConfidencePolicy, table, "relspec_confidence_policies")


def ambiguity_policies_table(specs: SpecSet | None = None) -> pa.Table:
    """One row per ambiguity policy, sorted by name."""
    return encode_table(
        AmbiguityPolicy, _specs(specs).ambiguity_policies, "relspec_ambiguity_policies"
    )


def ambiguity_policies_from_table(table: pa.Table) -> tuple[AmbiguityPolicy, ...]:
    """The ambiguity policies of a ``relspec_ambiguity_policies`` table, in table order."""
    return decode_table(AmbiguityPolicy, table, "relspec_ambiguity_policies")
