"""The one generic executor of the relspec rules: relation rules make relations, edge rules make
``cpg_edges_v1`` rows. No code here knows any rule, relation or edge kind by name.

``run_rules(catalog, relations, datasets)`` runs the catalog's schedule over the relations a
build extracted: each rule's source step (its one input; the hash join; the interval alignment),
then its filter and projection; a relation rule's result is cast to its output's contract schema
and becomes an input of later rules, an edge rule's result goes through ``emission``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from cpg.registry_specs import DatasetContract
from graph.facts_tables import EDGES, PROPS, plain_schema
from graph.own_tables import LOSERS_SCHEMA
from graph.rules.arrow_ops import filter_project, hash_join, interval_align
from graph.rules.catalog import RuleCatalog, Schedule
from graph.rules.emission import Emitted, prop_rows, resolve, rule_edges
from relspec.rules.model import RuleKind
from relspec.rules.plan import PlannedRule
from relspec.rules.policies import DEFAULT_CONFIDENCE_POLICY


@dataclass(frozen=True)
class RuleRun:
    """What the rules produced: plain edge and prop rows, the losers, edges per rule."""

    schedule: Schedule
    edges: pa.Table
    props: pa.Table
    losers: pa.Table
    edges_by_rule: Mapping[str, int]
    relations: Mapping[str, pa.Table]


def run_rules(
    catalog: RuleCatalog,
    relations: Mapping[str, pa.Table],
    datasets: Mapping[str, DatasetContract],
    schedule: Schedule | None = None,
) -> RuleRun:
    """Run every rule ``relations`` (by name, in their contracts' schemas) make runnable."""
    schedule = catalog.schedule(relations) if schedule is None else schedule
    tables = dict(relations)
    parts: list[Emitted] = []
    for planned in schedule.order:
        inputs = [
            tables[name] if name in tables else catalog.relation_schema(name).empty_table()
            for name in planned.rule.inputs
        ]
        output = filter_project(_source(planned, inputs), planned)
        rule = planned.rule
        emit = rule.payload.edge_emit
        if emit is None:
            tables[rule.output] = output.cast(catalog.relation_schema(rule.output))
            continue
        overrides = rule.policy_overrides
        confidence = catalog.confidence[overrides.confidence_policy or DEFAULT_CONFIDENCE_POLICY]
        ambiguity = (
            None
            if overrides.ambiguity_policy is None
            else catalog.ambiguity[overrides.ambiguity_policy]
        )
        parts.append(
            rule_edges(
                planned,
                output,
                datasets[EDGES],
                catalog.edge_contracts[emit.edge_kind],
                confidence,
                ambiguity,
            )
        )
    if not parts:
        empty = datasets[EDGES].schema.empty_table()
        return RuleRun(
            schedule, empty, _props(None, datasets), LOSERS_SCHEMA.empty_table(), {}, tables
        )
    resolved = resolve(parts, datasets[EDGES])
    counts = resolved.edges.group_by("rule_name").aggregate([("rule_name", "count")]).to_pylist()
    by_rule = {
        planned.rule.name: 0 for planned in schedule.order if planned.rule.payload.edge_emit
    } | {str(row["rule_name"]): int(row["rule_name_count"]) for row in counts}
    return RuleRun(
        schedule,
        resolved.edges,
        _props(resolved.props, datasets),
        resolved.losers,
        by_rule,
        tables,
    )


def _props(props: pa.Table | None, datasets: Mapping[str, DatasetContract]) -> pa.Table:
    plain = plain_schema(datasets[PROPS].schema)
    if props is None:
        return plain.empty_table()
    return prop_rows(props, plain)


def _source(planned: PlannedRule, inputs: list[pa.Table]) -> pa.Table:
    """The rows a rule's filter and projection read: its kind's source step."""
    rule = planned.rule
    if rule.kind == RuleKind.FILTER_PROJECT:
        return inputs[0]
    if rule.kind == RuleKind.HASH_JOIN:
        assert rule.payload.hash_join is not None
        return hash_join(inputs[0], inputs[1], rule.payload.hash_join)
    assert rule.payload.interval_align is not None
    return interval_align(inputs[0], inputs[1], rule.payload.interval_align, rule.name)
