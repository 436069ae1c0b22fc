"""The tables a build writes under its output folder, and how each row names the file it came from.

Every table is a Delta table of segments: one Parquet file per table per segment, named
``<segment>.parquet`` (``graph.segments``). What a row of a file segment belongs to is what lets
an incremental build take one file's rows out of a segment:

- nodes by ``file_id``, edges by ``edge_owner_file_id``: every row ``extract_file`` makes
  carries its file's id (repo-level rows, which carry other files' ids, live in the repo segment);
- props and violations by ``entity_id``: the id of a node or edge of the same segment;
- relations (the rule engine's inputs, kept under ``_relations/``) by ``owner_file_id``, a
  column the store adds to the relation's contract schema;
- the endpoint index (``_relations/_endpoint_nodes``: id, kind and file of every node of a kind
  a rule edge may join, so the rule engine checks its endpoints without reading every node) by
  ``file_id``;
- the rule engine's losers live in the rules segment only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pyarrow as pa

from cpg.registry_specs import DatasetContract
from graph.facts_tables import DATASETS, EDGES, NODES, plain_schema
from graph.own_tables import LOSERS_SCHEMA, LOSERS_TABLE, VIOLATIONS_TABLE, ContractViolation
from storage.spec_codec import schema_for

VIOLATIONS = "violations"
LOSERS = "losers"
ENDPOINTS = "endpoints"
ENDPOINT_COLUMNS = ("node_id", "node_kind", "file_id")
RELATION_PREFIX = "relation:"
RELATIONS_FOLDER = "_relations"
OWNER_COLUMN = "owner_file_id"
"""The column a relation's stored rows name their file with (not part of its contract)."""

_ENTITY_IDS = {NODES: "node_id", EDGES: "edge_id"}
_FILE_COLUMNS = {NODES: "file_id", EDGES: "edge_owner_file_id"}


@dataclass(frozen=True)
class BuildTable:
    """One table of a build: where it lives, what it stores, and how its rows name their file."""

    key: str
    """A dataset role (``nodes``, ...), ``violations``, ``losers`` or ``relation:<name>``."""
    folder: str
    """Relative to the output folder."""
    schema: pa.Schema
    """As stored: the registry's column types without dictionary encoding, no metadata."""
    file_column: str | None = None
    """The column holding the id of the file a row came from."""
    entity_column: str | None = None
    """The column holding the id of the node or edge a row belongs to."""
    id_column: str | None = None
    """For nodes and edges: the column other tables' ``entity_column`` refers to."""


@dataclass(frozen=True)
class BuildTables:
    """Every table of one build, by key."""

    tables: Mapping[str, BuildTable]

    def __iter__(self) -> Iterator[BuildTable]:
        return iter(self.tables.values())

    def __getitem__(self, key: str) -> BuildTable:
        return self.tables[key]

    @property
    def relations(self) -> dict[str, BuildTable]:
        """The relation tables by relation name."""
        return {
            key.removeprefix(RELATION_PREFIX): table
            for key, table in self.tables.items()
            if key.startswith(RELATION_PREFIX)
        }


def build_tables(
    datasets: Mapping[str, DatasetContract], relations: Mapping[str, pa.Schema]
) -> BuildTables:
    """The tables of a build with these datasets (by role) and relation schemas (by name)."""
    tables: dict[str, BuildTable] = {}
    for role in DATASETS:
        contract = datasets[role]
        tables[role] = BuildTable(
            role,
            contract.name,
            _stored(contract.schema),
            file_column=_FILE_COLUMNS.get(role),
            entity_column=None if role in _ENTITY_IDS else "entity_id",
            id_column=_ENTITY_IDS.get(role),
        )
    violations = schema_for(ContractViolation, VIOLATIONS_TABLE)
    tables[VIOLATIONS] = BuildTable(
        VIOLATIONS, VIOLATIONS_TABLE, _stored(violations), entity_column="entity_id"
    )
    tables[LOSERS] = BuildTable(LOSERS, LOSERS_TABLE, _stored(LOSERS_SCHEMA))
    nodes = tables[NODES].schema
    endpoints = nodes.empty_table().select(list(ENDPOINT_COLUMNS)).schema
    folder = f"{RELATIONS_FOLDER}/_endpoint_nodes"
    tables[ENDPOINTS] = BuildTable(ENDPOINTS, folder, endpoints, file_column="file_id")
    for name, schema in sorted(relations.items()):
        stored = _stored(schema).append(pa.field(OWNER_COLUMN, pa.string()))
        key = f"{RELATION_PREFIX}{name}"
        tables[key] = BuildTable(
            key, f"{RELATIONS_FOLDER}/{name}", stored, file_column=OWNER_COLUMN
        )
    return BuildTables(tables)


def _stored(schema: pa.Schema) -> pa.Schema:
    return plain_schema(schema).remove_metadata()
