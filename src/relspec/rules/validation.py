"""Checks that make the rules executable: relations, expressions, endpoints, policies.

Run by ``cpg.validation.validate_specs`` (so an export refuses a broken or hostile rule) and by
the rule engine on the tables it decodes from a registry (so a registry from a shared store is
checked before anything runs). Every rule is planned against the declared contracts of its
inputs (``relspec.rules.plan``); a rule producing a relation must yield exactly the columns that
relation's contract declares, so downstream rules can be checked against the declaration.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from cpg.arrow_types import ARROW_TYPES
from cpg.contracts import EdgeContract
from cpg.derivation import DerivationStatus
from cpg.validation import Location, Violation, extractor_problem
from relspec.rules.model import (
    AmbiguityPolicy,
    ConfidencePolicy,
    RelationContract,
    RuleDefinition,
)
from relspec.rules.plan import (
    ALWAYS_FILLED_EDGE_PROPS,
    PlannedColumn,
    PlannedRule,
    RulePlanError,
    plan_rule,
)
from relspec.rules.policies import DEFAULT_CONFIDENCE_POLICY

RULES_TABLE = "relspec_rule_definitions"
RELATIONS_TABLE = "relspec_relation_contracts"
CONFIDENCE_TABLE = "relspec_confidence_policies"
AMBIGUITY_TABLE = "relspec_ambiguity_policies"


@dataclass(frozen=True)
class RuleSpecs:
    """The collections the rule checks read (a spec set's, or those decoded from a registry)."""

    rules: Sequence[RuleDefinition]
    relations: Sequence[RelationContract]
    confidence_policies: Sequence[ConfidencePolicy]
    ambiguity_policies: Sequence[AmbiguityPolicy]
    edge_contracts: Sequence[EdgeContract]
    node_kinds: Collection[str]
    source_kinds: Collection[str]


def planned_columns(contract: RelationContract) -> tuple[PlannedColumn, ...]:
    """A relation's declared columns, as the planner sees them."""
    return tuple(
        PlannedColumn(c.name, c.arrow_type, c.nullable, c.node_kind) for c in contract.columns
    )


def rule_violations(specs: RuleSpecs) -> Iterator[Violation]:
    """Every violation of the rule engine's invariants, relations and policies first."""
    yield from _relation_violations(specs)
    yield from _policy_violations(specs)
    relations = {r.name: r for r in specs.relations}
    producers: dict[str, list[str]] = {}
    for row, rule in enumerate(specs.rules):
        producers.setdefault(rule.output, []).append(rule.name)
        yield from _rule(specs, relations, row, rule)
    for row, relation in enumerate(specs.relations):
        if relation.extractor is None and len(producers.get(relation.name, [])) != 1:
            found = producers.get(relation.name, [])
            message = f"a derived relation needs exactly one rule producing it, found {found}"
            where = Location(RELATIONS_TABLE, row, "extractor")
            yield Violation(f"relation_contracts[{relation.name}]", "extractor", message, where)
    yield from _cycles(specs.rules)


def plan_of(rule: RuleDefinition, relations: Mapping[str, RelationContract]) -> PlannedRule:
    """The plan of ``rule`` over its inputs' declared columns (``RulePlanError`` if it has none)."""
    inputs = []
    for name in rule.inputs:
        contract = relations.get(name)
        if contract is None:
            raise RulePlanError(rule.name, "inputs", f"{name!r} is not a declared relation")
        inputs.append(planned_columns(contract))
    return plan_rule(rule, inputs)


def _rule(
    specs: RuleSpecs, relations: Mapping[str, RelationContract], row: int, rule: RuleDefinition
) -> Iterator[Violation]:
    spec = f"rules[{rule.name}]"
    try:
        planned = plan_of(rule, relations)
    except RulePlanError as exc:
        where = Location(RULES_TABLE, row, exc.field)
        yield Violation(spec, exc.field, exc.message, where)
        return
    emit = rule.payload.edge_emit
    if emit is None:
        yield from _relation_output(spec, row, planned, relations.get(rule.output))
    else:
        if rule.output in relations:
            message = f"an edge-emitting rule's output {rule.output!r} is a declared relation"
            yield Violation(spec, "output", message, Location(RULES_TABLE, row, "output"))
        yield from _emission(specs, spec, row, planned)


def _relation_output(
    spec: str, row: int, planned: PlannedRule, contract: RelationContract | None
) -> Iterator[Violation]:
    rule = planned.rule
    where = Location(RULES_TABLE, row, "output")
    if contract is None or contract.extractor is not None:
        message = f"output {rule.output!r} must be a declared relation that no extractor produces"
        yield Violation(spec, "output", message, where)
        return
    if rule.contract_name != contract.contract_name:
        message = f"contract_name must be {contract.contract_name!r}, not {rule.contract_name!r}"
        yield Violation(spec, "contract_name", message, Location(RULES_TABLE, row, "contract_name"))
    declared = [(c.name, c.arrow_type, c.nullable) for c in contract.columns]
    actual = [(c.name, c.arrow_type, c.nullable) for c in planned.columns]
    if declared != actual:
        shown = ", ".join(
            f"{name} {kind or 'null'}{'' if nullable else ' not null'}"
            for name, kind, nullable in actual
        )
        message = f"yields ({shown}), which is not what relation {rule.output!r} declares"
        yield Violation(spec, "output", message, where)


def _emission(specs: RuleSpecs, spec: str, row: int, planned: PlannedRule) -> Iterator[Violation]:
    rule = planned.rule
    emit = rule.payload.edge_emit
    assert emit is not None
    contract = next((c for c in specs.edge_contracts if c.kind == emit.edge_kind), None)
    if contract is None:
        return  # reported by the edge kind check of cpg.validation

    def located(field: str, message: str) -> Violation:
        return Violation(spec, field, message, Location(RULES_TABLE, row, field))

    expected = {
        "src_cols": ("str", contract.src_kinds),
        "dst_cols": ("str", contract.dst_kinds),
        "path_cols": ("str", None),
        "bstart_cols": ("int", None),
        "bend_cols": ("int", None),
    }
    for attr, (value_type, kinds) in expected.items():
        field = f"payload.edge_emit.{attr}"
        names: tuple[str, ...] = getattr(emit, attr)
        if attr in ("src_cols", "dst_cols") and not names:
            yield located(field, "needs at least one column")
        for name in names:
            column = planned.column(name)
            if column is None:
                yield located(field, f"{name!r} is not a column of the rule's output")
            elif column.value_type not in (value_type, "null"):
                yield located(field, f"{name!r} is {column.value_type}, not {value_type}")
            elif kinds is not None and column.node_kind and column.node_kind not in kinds:
                allowed = ", ".join(kinds)
                message = f"{name!r} holds {column.node_kind} ids, not one of {allowed}"
                yield located(field, message)
    overrides = rule.policy_overrides
    ambiguity = None
    if overrides.ambiguity_policy is not None:
        ambiguity = next(
            (p for p in specs.ambiguity_policies if p.name == overrides.ambiguity_policy), None
        )
        if ambiguity is None:
            message = f"unknown ambiguity policy {overrides.ambiguity_policy!r}"
            yield located("policy_overrides.ambiguity_policy", message)
        else:
            for key in ambiguity.group_keys:
                if planned.column(key) is None:
                    message = f"policy {ambiguity.name!r} groups by {key!r}, not an output column"
                    yield located("policy_overrides.ambiguity_policy", message)
    confidence = overrides.confidence_policy or DEFAULT_CONFIDENCE_POLICY
    if confidence not in {p.name for p in specs.confidence_policies}:
        yield located("policy_overrides.confidence_policy", f"unknown policy {confidence!r}")
    available = ALWAYS_FILLED_EDGE_PROPS | {c.name for c in planned.columns}
    if ambiguity is not None:
        available |= {"ambiguity_group_id"}
    for prop in contract.required_props:
        if prop.name not in available:
            message = f"{emit.edge_kind} requires prop {prop.name!r}; the rule does not yield it"
            yield located("payload.edge_emit", message)


def _relation_violations(specs: RuleSpecs) -> Iterator[Violation]:
    counts = Counter(r.name for r in specs.relations)
    for row, relation in enumerate(specs.relations):
        spec = f"relation_contracts[{relation.name}]"

        def located(field: str, message: str, row: int = row, spec: str = spec) -> Violation:
            return Violation(spec, field, message, Location(RELATIONS_TABLE, row, field))

        if counts[relation.name] > 1:
            yield located("name", f"declared {counts[relation.name]} times")
        if relation.version < 1:
            yield located("version", "must be 1 or more")
        if relation.layer not in specs.source_kinds:
            yield located("layer", f"{relation.layer!r} is not a source kind")
        if not relation.columns:
            yield located("columns", "a relation needs at least one column")
        names = Counter(c.name for c in relation.columns)
        for index, column in enumerate(relation.columns):
            field = f"columns.[{index}]"
            if names[column.name] > 1:
                yield located(f"{field}.name", f"column {column.name!r} appears twice")
            if column.arrow_type not in ARROW_TYPES:
                yield located(f"{field}.arrow_type", f"unknown Arrow type {column.arrow_type!r}")
            if column.node_kind is not None and column.node_kind not in specs.node_kinds:
                yield located(f"{field}.node_kind", f"unknown node kind {column.node_kind!r}")
        yield from _producer(relation, located)


def _producer(
    relation: RelationContract, located: Callable[[str, str], Violation]
) -> Iterator[Violation]:
    if relation.extractor is None:
        if relation.status != DerivationStatus.IMPLEMENTED:
            yield located("status", "a rule's output is implemented: the engine builds it")
        return
    module, sep, attr = relation.extractor.partition(":")
    if not (sep and attr.isidentifier() and all(p.isidentifier() for p in module.split("."))):
        yield located("extractor", "extractor must be 'module:function'")
    elif relation.status == DerivationStatus.IMPLEMENTED:
        problem = extractor_problem(relation.extractor)
        if problem is not None:
            yield located("extractor", f"implemented, but {problem}")


def _policy_violations(specs: RuleSpecs) -> Iterator[Violation]:
    yield from _duplicate_policies(
        CONFIDENCE_TABLE, "confidence_policies", [p.name for p in specs.confidence_policies]
    )
    yield from _duplicate_policies(
        AMBIGUITY_TABLE, "ambiguity_policies", [p.name for p in specs.ambiguity_policies]
    )
    for row, confidence in enumerate(specs.confidence_policies):
        for attr in ("base", "penalty"):
            value = getattr(confidence, attr)
            if not 0.0 <= value <= 1.0:
                where = Location(CONFIDENCE_TABLE, row, attr)
                message = f"must be between 0 and 1, not {value}"
                yield Violation(f"confidence_policies[{confidence.name}]", attr, message, where)
    for row, ambiguity in enumerate(specs.ambiguity_policies):
        if not ambiguity.group_keys:
            where = Location(AMBIGUITY_TABLE, row, "group_keys")
            message = "needs at least one group key"
            yield Violation(f"ambiguity_policies[{ambiguity.name}]", "group_keys", message, where)


def _duplicate_policies(table: str, spec: str, names: Sequence[str]) -> Iterator[Violation]:
    counts = Counter(names)
    for row, name in enumerate(names):
        if counts[name] > 1:
            message = f"declared {counts[name]} times"
            yield Violation(f"{spec}[{name}]", "name", message, Location(table, row, "name"))


def _cycles(rules: Sequence[RuleDefinition]) -> Iterator[Violation]:
    """Rules that (transitively) read their own output."""
    producer = {rule.output: rule for rule in rules}
    for row, rule in enumerate(rules):
        seen: set[str] = set()
        stack = list(rule.inputs)
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            upstream = producer.get(name)
            if upstream is not None:
                stack.extend(upstream.inputs)
        if rule.output in seen:
            message = (
                f"reads its own output {rule.output!r} (through the rules producing its inputs)"
            )
            yield Violation(
                f"rules[{rule.name}]", "inputs", message, Location(RULES_TABLE, row, "inputs")
            )
