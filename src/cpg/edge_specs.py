"""Edge plan specs: how each CPG edge-emitting rule turns its output rows into edges.

They are derived from the relspec rule definitions (the ``relspec_rule_definitions`` table), never
declared separately: only rules of domain ``cpg`` with an ``edge_emit`` payload become plans.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import pyarrow as pa

from cpg.registry_readers import edge_contracts_from_table, required_table
from cpg.registry_source import RegistryPath, load
from relspec.rules.model import RuleDefinition, RuleDomain
from relspec.rules.spec_tables import rule_definitions_from_table
from storage.spec_codec import RegistryDecodeError

RULES_TABLE = "relspec_rule_definitions"
EDGE_CONTRACTS_TABLE = "cpg_edge_contracts"
EDGE_PLAN_TABLES: tuple[str, ...] = (RULES_TABLE, EDGE_CONTRACTS_TABLE)


@dataclass(frozen=True)
class EdgePlanSpec:
    """One rule's edge emission: candidate columns per endpoint/span part, provenance, priority.

    Each ``*_cols`` tuple lists candidate columns; an edge takes the first non-null one.
    """

    rule_name: str
    edge_kind: str
    option_flag: str
    src_cols: tuple[str, ...]
    dst_cols: tuple[str, ...]
    path_cols: tuple[str, ...]
    bstart_cols: tuple[str, ...]
    bend_cols: tuple[str, ...]
    origin: str
    resolution_method: str
    priority: int


def edge_plan_specs_from_definitions(
    definitions: Iterable[RuleDefinition], *, edge_kinds: Collection[str] | None = None
) -> tuple[EdgePlanSpec, ...]:
    """The plans of the CPG rules that emit edges, in the order of ``definitions``.

    With ``edge_kinds``, a plan for an edge kind outside it is an error naming the rule's row
    (its position in ``definitions``) and column of ``relspec_rule_definitions``.
    """
    plans: list[EdgePlanSpec] = []
    for row, rule in enumerate(definitions):
        emit = rule.payload.edge_emit
        if rule.domain != RuleDomain.CPG or emit is None:
            continue
        if edge_kinds is not None and emit.edge_kind not in edge_kinds:
            message = f"rule {rule.name!r} emits unknown edge kind {emit.edge_kind!r}"
            raise RegistryDecodeError(RULES_TABLE, "payload.edge_emit.edge_kind", message, row=row)
        plans.append(
            EdgePlanSpec(
                rule_name=rule.name,
                edge_kind=emit.edge_kind,
                option_flag=emit.option_flag,
                src_cols=emit.src_cols,
                dst_cols=emit.dst_cols,
                path_cols=emit.path_cols,
                bstart_cols=emit.bstart_cols,
                bend_cols=emit.bend_cols,
                origin=emit.origin,
                resolution_method=emit.resolution_method,
                priority=rule.priority,
            )
        )
    return tuple(plans)


def edge_plan_specs_from_tables(tables: Mapping[str, pa.Table]) -> tuple[EdgePlanSpec, ...]:
    """Decode rule definitions and edge contracts; every plan's edge kind must be a contract's."""
    definitions = rule_definitions_from_table(required_table(tables, RULES_TABLE))
    contracts = edge_contracts_from_table(required_table(tables, EDGE_CONTRACTS_TABLE))
    edge_kinds = {c.kind for c in contracts}
    return edge_plan_specs_from_definitions(definitions, edge_kinds=edge_kinds)


def edge_plan_specs_from_registry(path: RegistryPath) -> tuple[EdgePlanSpec, ...]:
    """The edge plans of the Delta registry at ``path`` (a registry root or an output dir)."""
    return load(path, EDGE_PLAN_TABLES, edge_plan_specs_from_tables)


def edge_plan_specs(registry: RegistryPath | None = None) -> tuple[EdgePlanSpec, ...]:
    """The edge plans of ``registry``; None means the default (in-memory tables unless set)."""
    return load(registry, EDGE_PLAN_TABLES, edge_plan_specs_from_tables)
