"""The rule engine's part of a build, kept out of the pipeline's own code.

Before extraction: decode and check the rules of the registry the build exported, and schedule
those its implemented relations make runnable (``relation_schemas`` go to the workers, which
shape each batch's relation rows). During: ``collect`` each batch's relation tables (in memory:
Arrow keeps them compact, and the rules need every file's rows at once, e.g. qualified names
defined in one file and called in another). After: ``finish`` runs the rules, validates their
edges and props against the contracts like every other row (endpoint kinds come from the nodes
already written), appends them to the datasets and writes the losers to ``cpg_rule_losers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from cpg.contract_registry import ContractRegistry
from cpg.registry_specs import DatasetContract
from graph.facts_tables import EDGES, NODES, PROPS, PROPS_JSON, PlainTables, dataset_table
from graph.own_tables import LOSERS_TABLE, ContractViolation
from graph.row_validation import RowValidator
from graph.rules.catalog import rule_catalog
from graph.rules.engine import run_rules
from storage.deltalake.delta import read_delta_columns, write_table_delta


@dataclass(frozen=True)
class RuleStageResult:
    """What the rules added: violations of their rows and the summary lines of the build."""

    violations: list[ContractViolation]
    summary: tuple[str, ...]


class DatasetSink(Protocol):
    """What ``finish`` needs of the build's dataset writer."""

    def write_table(self, name: str, table: pa.Table) -> None: ...


class RuleStage:
    """Runs the relspec rules of a build's registry over the relations its layers extracted."""

    def __init__(self, registry: Path, datasets: Mapping[str, DatasetContract]) -> None:
        self.catalog = rule_catalog(registry)
        self.datasets = datasets
        extracted = self.catalog.extracted()
        self.schedule = self.catalog.schedule(extracted)
        self.relation_schemas = {name: self.catalog.relation_schema(name) for name in extracted}
        self._parts: dict[str, list[pa.Table]] = {name: [] for name in extracted}

    def collect(self, relations: Mapping[str, pa.Table]) -> None:
        """Keep one batch's relation tables."""
        for name, table in relations.items():
            self._parts[name].append(table)

    def finish(
        self, output_dir: Path, registry: ContractRegistry, writer: DatasetSink
    ) -> RuleStageResult:
        """Run the rules, check and append their rows; write the losers."""
        relations = {
            name: pa.concat_tables(parts) if parts else self.relation_schemas[name].empty_table()
            for name, parts in self._parts.items()
        }
        self._parts.clear()
        run = run_rules(self.catalog, relations, self.datasets, self.schedule)
        edges = dataset_table(run.edges, self.datasets[EDGES])
        props = dataset_table(run.props, self.datasets[PROPS])
        empty = {name: self.datasets[name].schema.empty_table() for name in (NODES, PROPS_JSON)}
        tables = PlainTables(empty[NODES], edges, props, empty[PROPS_JSON])
        known = _endpoint_kinds(output_dir / self.datasets[NODES].name, edges)
        violations = RowValidator(registry, self.datasets).validate_tables(tables, known)
        writer.write_table(EDGES, edges)
        writer.write_table(PROPS, props)
        write_table_delta(output_dir / LOSERS_TABLE, run.losers)
        per_rule = ", ".join(f"{name} {count}" for name, count in sorted(run.edges_by_rule.items()))
        summary = (
            f"rules: {self.schedule.summary()}",
            f"rule edges: {per_rule or 'none'}; {run.losers.num_rows} lost ({LOSERS_TABLE})",
        )
        return RuleStageResult(violations, summary)


def _endpoint_kinds(nodes: Path, edges: pa.Table) -> dict[str, str]:
    """Node id -> kind for the rule edges' endpoints, read from the nodes written so far."""
    if not edges.num_rows:
        return {}
    ids = pc.unique(
        pa.chunked_array([*edges.column("src_node_id").chunks, *edges.column("dst_node_id").chunks])
    )
    found = read_delta_columns(nodes, ("node_id", "node_kind"), pc.field("node_id").isin(ids))
    return dict(
        zip(
            found.column("node_id").to_pylist(),
            found.column("node_kind").cast(pa.string()).to_pylist(),
            strict=True,
        )
    )
