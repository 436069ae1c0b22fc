"""The rule engine's part of a build, kept out of the pipeline's own code.

Before extraction: decode and check the rules of the registry the build exported, and schedule
those its implemented relations make runnable (``relation_schemas`` go to the workers, which
shape each batch's relation rows and store them with its segment). After: ``run`` runs the rules
over every file's relation rows at once (they need them all, e.g. qualified names defined in one
file and called in another) and validates their edges and props against the contracts like
every other row (endpoint kinds come from the build's nodes of the kinds rule edges may join:
the endpoint index, ``endpoint_kinds``); the build writes them, and the
losers (``cpg_rule_losers``), as its rules segment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from cpg.contract_registry import ContractRegistry
from cpg.registry_specs import DatasetContract
from graph.facts_tables import EDGES, NODES, PROPS, PROPS_JSON, PlainTables, dataset_table
from graph.own_tables import LOSERS_TABLE, ContractViolation
from graph.row_validation import RowValidator
from graph.rules.catalog import rule_catalog
from graph.rules.engine import run_rules

NodeKinds = Callable[[pa.Array], Mapping[str, str]]
"""Node id -> kind for the given node ids, read from the build's nodes."""


@dataclass(frozen=True)
class RuleStageResult:
    """What the rules made: edges and props (by dataset role) shaped by the datasets' contracts,
    the losers, the violations of their rows and the summary lines of the build."""

    tables: Mapping[str, pa.Table]
    losers: pa.Table
    violations: list[ContractViolation]
    summary: tuple[str, ...]


class RuleStage:
    """Runs the relspec rules of a build's registry over the relations its layers extracted."""

    def __init__(self, registry: Path, datasets: Mapping[str, DatasetContract]) -> None:
        self.catalog = rule_catalog(registry)
        self.datasets = datasets
        extracted = self.catalog.extracted()
        self.schedule = self.catalog.schedule(extracted)
        self.relation_schemas = {name: self.catalog.relation_schema(name) for name in extracted}

    def endpoint_kinds(self, registry: ContractRegistry) -> frozenset[str]:
        """The node kinds the edges of the scheduled rules may join (their contracts')."""
        kinds: set[str] = set()
        for planned in self.schedule.order:
            emit = planned.rule.payload.edge_emit
            if emit is not None:
                contract = registry.edge_contract(emit.edge_kind)
                kinds.update(contract.src_kinds, contract.dst_kinds)
        return frozenset(kinds)

    def run(
        self,
        relations: Mapping[str, pa.Table],
        registry: ContractRegistry,
        node_kinds: NodeKinds,
    ) -> RuleStageResult:
        """Run the rules over ``relations`` (every file's rows, by name) and check their rows."""
        run = run_rules(self.catalog, relations, self.datasets, self.schedule)
        edges = dataset_table(run.edges, self.datasets[EDGES])
        props = dataset_table(run.props, self.datasets[PROPS])
        empty = {name: self.datasets[name].schema.empty_table() for name in (NODES, PROPS_JSON)}
        tables = PlainTables(empty[NODES], edges, props, empty[PROPS_JSON])
        known = dict(node_kinds(_endpoints(edges))) if edges.num_rows else {}
        violations = RowValidator(registry, self.datasets).validate_tables(tables, known)
        per_rule = ", ".join(f"{name} {count}" for name, count in sorted(run.edges_by_rule.items()))
        summary = (
            f"rules: {self.schedule.summary()}",
            f"rule edges: {per_rule or 'none'}; {run.losers.num_rows} lost ({LOSERS_TABLE})",
        )
        return RuleStageResult({EDGES: edges, PROPS: props}, run.losers, violations, summary)


def _endpoints(edges: pa.Table) -> pa.Array:
    """The distinct node ids the edges join."""
    ids = [*edges.column("src_node_id").chunks, *edges.column("dst_node_id").chunks]
    return pc.unique(pa.chunked_array(ids, pa.string()))
