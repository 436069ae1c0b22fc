"""The build's own tables, beside the datasets the registry describes: contract violations and
rule losers. Their rows and schemas live here, apart from the validator and the rule engine,
so readers and the schema catalog get them without importing either (or pyarrow.compute)."""

from __future__ import annotations

from dataclasses import dataclass

from storage.spec_codec import schema_for

VIOLATIONS_TABLE = "cpg_build_violations"
LOSERS_TABLE = "cpg_rule_losers"


@dataclass(frozen=True)
class ContractViolation:
    """One row that breaks its contract, and which rule it breaks."""

    rule: str
    entity_kind: str
    entity_id: str
    kind: str
    path: str | None
    detail: str


@dataclass(frozen=True)
class RuleLoser:
    """An edge a rule produced that another edge beat (one row of ``cpg_rule_losers``)."""

    reason: str
    rule_name: str
    edge_id: str
    edge_kind: str
    src_node_id: str
    dst_node_id: str
    path: str | None
    bstart: int | None
    bend: int | None
    score: float | None
    ambiguity_group_id: str | None
    winner_edge_id: str
    winner_rule_name: str


LOSERS_SCHEMA = schema_for(RuleLoser, LOSERS_TABLE)
