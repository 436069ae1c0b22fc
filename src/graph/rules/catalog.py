"""The rules of a registry, decoded and checked, and which of them a build can run.

``rule_catalog(registry)`` decodes the rule definitions, relation contracts and policies the
build just exported (with the edge contracts, node and source kinds they refer to) and runs the
same checks as spec validation before anything executes: a registry from a shared store with a
hostile or broken rule is a ``RegistryDecodeError`` naming table, row, column and rule.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pyarrow as pa

from cpg.contracts import EdgeContract
from cpg.derivation import DerivationStatus
from cpg.registry_readers import (
    edge_contracts_from_table,
    node_contracts_from_table,
    required_table,
    source_kinds_from_table,
)
from cpg.registry_source import RegistryPath, load
from relspec.rules.model import (
    AmbiguityPolicy,
    ConfidencePolicy,
    RelationContract,
    RuleDefinition,
    RuleKind,
)
from relspec.rules.plan import PlannedRule
from relspec.rules.relation_schemas import relation_schema
from relspec.rules.spec_tables import (
    ambiguity_policies_from_table,
    confidence_policies_from_table,
    relation_contracts_from_table,
    rule_definitions_from_table,
)
from relspec.rules.validation import RuleSpecs, plan_of, rule_violations
from storage.spec_codec import RegistryDecodeError

RULE_TABLES: tuple[str, ...] = (
    "relspec_rule_definitions",
    "relspec_relation_contracts",
    "relspec_confidence_policies",
    "relspec_ambiguity_policies",
    "cpg_edge_contracts",
    "cpg_node_contracts",
    "cpg_source_kinds",
)


@dataclass(frozen=True)
class Schedule:
    """The rules a build runs, in dependency order, and those it skips with their missing
    inputs (the relations no layer of this build produces)."""

    order: tuple[PlannedRule, ...]
    skipped: Mapping[str, tuple[str, ...]]

    def summary(self) -> str:
        """One line for the build summary."""
        ran = f"{len(self.order)} run"
        if not self.skipped:
            return ran
        missing = sorted({name for names in self.skipped.values() for name in names})
        return (
            f"{ran}, {len(self.skipped)} skipped (this build has no {', '.join(missing)}): "
            f"{', '.join(sorted(self.skipped))}"
        )


@dataclass(frozen=True)
class RuleCatalog:
    """Decoded, checked rules with everything they refer to, by name."""

    rules: tuple[RuleDefinition, ...]
    relations: Mapping[str, RelationContract]
    confidence: Mapping[str, ConfidencePolicy]
    ambiguity: Mapping[str, AmbiguityPolicy]
    edge_contracts: Mapping[str, EdgeContract]
    _schemas: dict[str, pa.Schema] = field(default_factory=dict, compare=False, repr=False)

    def relation_schema(self, name: str) -> pa.Schema:
        """The Arrow schema of relation ``name``, derived from its contract."""
        schema = self._schemas.get(name)
        if schema is None:
            schema = relation_schema(self.relations[name])
            self._schemas[name] = schema
        return schema

    def extracted(self) -> tuple[str, ...]:
        """The relations a build has: those an implemented extractor of this project produces."""
        return tuple(
            name
            for name, contract in sorted(self.relations.items())
            if contract.extractor is not None and contract.status == DerivationStatus.IMPLEMENTED
        )

    def schedule(self, available: Collection[str]) -> Schedule:
        """Every rule whose inputs are (transitively) ``available``, each after the rules that
        produce its inputs; ties go by rule name, so the order is the same on every run."""
        have = set(available)
        pending = sorted(self.rules, key=lambda rule: rule.name)
        order: list[PlannedRule] = []
        progress = True
        while progress:
            progress = False
            for rule in list(pending):
                if all(name in have for name in required_inputs(rule)):
                    order.append(plan_of(rule, self.relations))
                    have.add(rule.output)
                    pending.remove(rule)
                    progress = True
        skipped = {rule.name: self._missing(rule, have) for rule in pending}
        return Schedule(tuple(order), MappingProxyType(skipped))

    def _missing(self, rule: RuleDefinition, have: Collection[str]) -> tuple[str, ...]:
        """The relations without producer behind ``rule``'s unavailable inputs."""
        producers = {r.output: r for r in self.rules}
        missing: set[str] = set()
        stack = [name for name in required_inputs(rule) if name not in have]
        while stack:
            name = stack.pop()
            upstream = producers.get(name)
            if upstream is None or upstream is rule:
                missing.add(name)
            else:
                stack.extend(n for n in upstream.inputs if n not in have)
        return tuple(sorted(missing))


def required_inputs(rule: RuleDefinition) -> tuple[str, ...]:
    """The inputs a rule cannot run without. The right input of a ``left anti`` join is not one:
    a relation the build does not have holds no rows, so every left row passes (with no SCIP
    layer, every call site takes the qualified-name fallback)."""
    join = rule.payload.hash_join
    if rule.kind == RuleKind.HASH_JOIN and join is not None and join.join_type == "left anti":
        return rule.inputs[:1]
    return rule.inputs


def rule_catalog_from_tables(tables: Mapping[str, pa.Table]) -> RuleCatalog:
    """Decode the rule tables (by name) and check them; the first problem is raised."""
    rules = rule_definitions_from_table(required_table(tables, "relspec_rule_definitions"))
    relations = relation_contracts_from_table(required_table(tables, "relspec_relation_contracts"))
    confidence = confidence_policies_from_table(
        required_table(tables, "relspec_confidence_policies")
    )
    ambiguity = ambiguity_policies_from_table(required_table(tables, "relspec_ambiguity_policies"))
    edge_contracts = edge_contracts_from_table(required_table(tables, "cpg_edge_contracts"))
    node_contracts = node_contracts_from_table(required_table(tables, "cpg_node_contracts"))
    source_kinds = source_kinds_from_table(required_table(tables, "cpg_source_kinds"))
    specs = RuleSpecs(
        rules=rules,
        relations=relations,
        confidence_policies=confidence,
        ambiguity_policies=ambiguity,
        edge_contracts=edge_contracts,
        node_kinds={c.kind for c in node_contracts},
        source_kinds={s.name for s in source_kinds},
    )
    for violation in rule_violations(specs):
        where = violation.where
        assert where is not None, "every rule violation is located"
        message = f"{violation.spec}: {violation.message}"
        raise RegistryDecodeError(where.table, where.column, message, row=where.row)
    return RuleCatalog(
        rules=rules,
        relations=MappingProxyType({r.name: r for r in relations}),
        confidence=MappingProxyType({p.name: p for p in confidence}),
        ambiguity=MappingProxyType({p.name: p for p in ambiguity}),
        edge_contracts=MappingProxyType({c.kind: c for c in edge_contracts}),
    )


def rule_catalog(registry: RegistryPath | None = None) -> RuleCatalog:
    """The checked rule catalog of ``registry`` (None: the default registry), cached."""
    return load(registry, RULE_TABLES, rule_catalog_from_tables)
