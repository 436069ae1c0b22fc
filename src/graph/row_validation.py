"""Check extracted rows against the contracts of a registry: kinds, props, endpoints, origins.

Every problem becomes a ``ContractViolation`` row (the build's diagnostics table); nothing is
dropped, so a violating row is still written and the violation says what is wrong with it.

The checks run on Arrow tables (``facts_tables.PlainTables``), not row by row: a build checks tens
of millions of prop rows. Each check first reduces the rows to their distinct combinations (node
kinds; edge kind, origin and endpoint kinds; entity kind, kind, prop key and value lane), decides
per combination, and only goes back to the rows of a combination that breaks a rule, to name them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import pyarrow as pa
import pyarrow.compute as pc

from cpg.contract_registry import ContractRegistry
from cpg.contracts import PropSpec, PropType
from cpg.registry_specs import DatasetContract, dataset_for_role
from graph.extract.rows import EDGE, NODE, FileFacts
from graph.facts_tables import DATASETS, JSON_LANE, PlainTables, plain_tables
from graph.own_tables import ContractViolation
from storage.table_order import rows_are_distinct, sort_table

_LANES: tuple[tuple[PropType, str], ...] = (
    (PropType.STR, "value_str"),
    (PropType.INT, "value_int"),
    (PropType.FLOAT, "value_float"),
    (PropType.BOOL, "value_bool"),
    (PropType.JSON, JSON_LANE),
)
"""The ``value_*`` column each prop type is written to; lane codes give each one bit."""
_LANE_BITS: Mapping[str, int] = {column: 1 << i for i, (_, column) in enumerate(_LANES)}
_LANE_OF_TYPE: Mapping[PropType, int] = {kind: 1 << i for i, (kind, _) in enumerate(_LANES)}
_LANE_NAMES: Mapping[int, str] = {0: "null", **{bit: str(k) for k, bit in _LANE_OF_TYPE.items()}}
"""What a lane code says a value is, in messages (a code with two bits set reads "mixed")."""

_ENTITY_KEY = ("entity_kind", "entity_id", "prop_key")


@dataclass(frozen=True)
class _PropCheck:
    """What one declared prop must look like: its lane and enum values."""

    lane: int
    enum: str | None
    enum_values: frozenset[str] | None
    type_name: str


@dataclass(frozen=True)
class _KindRules:
    required: tuple[str, ...]
    declared: Mapping[str, _PropCheck]


class RowValidator:
    """Validates rows (of a batch of files, or of the repository listing) against a registry.

    ``datasets`` shape the tables ``validate(facts)`` builds; by default the default registry's.
    """

    def __init__(
        self,
        registry: ContractRegistry,
        datasets: Mapping[str, DatasetContract] | None = None,
    ) -> None:
        self.registry = registry
        self.datasets = datasets
        enums = {e.name: frozenset(e.values) for e in registry.prop_enums}
        self._rules: dict[tuple[str, str], _KindRules] = {}
        for node in registry.node_contracts:
            self._rules[(NODE, node.kind)] = _kind_rules(
                node.required_props, node.optional_props, enums
            )
        for edge in registry.edge_contracts:
            self._rules[(EDGE, edge.kind)] = _kind_rules(
                edge.required_props, edge.optional_props, enums
            )

    def validate(
        self, facts: FileFacts, known_nodes: Mapping[str, str] = MappingProxyType({})
    ) -> list[ContractViolation]:
        """Violations of ``facts``; ``known_nodes`` maps node ids outside ``facts`` to kinds."""
        datasets = self.datasets
        if datasets is None:
            datasets = {role: dataset_for_role(role) for role in DATASETS}
        return self.validate_tables(plain_tables(facts, datasets), known_nodes)

    def validate_tables(
        self,
        tables: PlainTables,
        known_nodes: Mapping[str, str] = MappingProxyType({}),
        *,
        props_sorted: bool = False,
    ) -> list[ContractViolation]:
        """Violations of the rows in ``tables``, ordered by path, entity and rule.

        ``props_sorted``: both prop tables are sorted by entity kind, entity id and key (as the
        pipeline's shaped tables are), which lets a cheap check prove no entity repeats a key.
        """
        nodes = _Entities.of(tables.nodes, "node_id", "node_kind")
        edges = _Entities.of(tables.edges, "edge_id", "edge_kind")
        parts = [tables.props, tables.props_json]
        if not props_sorted:
            parts = [sort_table(part, _ENTITY_KEY) for part in parts]
        exact = all(rows_are_distinct(part, _ENTITY_KEY, _ENTITY_KEY) for part in parts)
        violations = [
            *self._nodes(nodes),
            *self._edges(tables.edges, edges, nodes.with_known(known_nodes)),
            *self._props(pa.concat_tables(parts), _Lookup(nodes, edges), exact),
        ]
        return sorted(
            violations, key=lambda v: (v.path or "", v.entity_kind, v.entity_id, v.rule, v.detail)
        )

    # ------------------------------------------------------------------ nodes

    def _nodes(self, nodes: _Entities) -> Iterator[ContractViolation]:
        for kind in pc.unique(nodes.kinds).to_pylist():
            if (NODE, kind) in self._rules:
                continue
            for node_id, path in nodes.rows_of_kind(kind):
                detail = f"node kind {kind!r} has no contract"
                yield ContractViolation("UNKNOWN_NODE_KIND", NODE, node_id, kind, path, detail)

    # ------------------------------------------------------------------ edges

    def _edges(
        self, table: pa.Table, edges: _Entities, nodes: _Entities
    ) -> Iterator[ContractViolation]:
        if not table.num_rows:
            return
        src_kinds = nodes.kind_of(table.column("src_node_id"))
        dst_kinds = nodes.kind_of(table.column("dst_node_id"))
        keyed = pa.table(
            {
                "edge_kind": edges.kinds,
                "origin": table.column("origin").cast(pa.string()),
                "src_kind": src_kinds,
                "dst_kind": dst_kinds,
            }
        )
        for combo in _distinct(keyed):
            if not self._edge_combo_breaks(combo):
                continue
            mask = _matching(keyed, combo)
            for row in table.filter(mask).to_pylist():
                yield from self._edge_row(row, combo["src_kind"], combo["dst_kind"])

    def _edge_combo_breaks(self, combo: Mapping[str, object]) -> bool:
        kind = combo["edge_kind"]
        if not isinstance(kind, str) or (EDGE, kind) not in self._rules:
            return True
        contract = self.registry.edge_contract(kind)
        return (
            combo["origin"] not in contract.allowed_sources
            or combo["src_kind"] not in contract.src_kinds
            or combo["dst_kind"] not in contract.dst_kinds
        )

    def _edge_row(
        self, row: Mapping[str, object], src_kind: object, dst_kind: object
    ) -> Iterator[ContractViolation]:
        kind = str(row["edge_kind"])
        edge_id = str(row["edge_id"])
        path = row.get("path")
        where = path if isinstance(path, str) else None

        def violation(rule: str, detail: str) -> ContractViolation:
            return ContractViolation(rule, EDGE, edge_id, kind, where, detail)

        if (EDGE, kind) not in self._rules:
            yield violation("UNKNOWN_EDGE_KIND", f"edge kind {kind!r} has no contract")
            return
        contract = self.registry.edge_contract(kind)
        origin = row.get("origin")
        if origin not in contract.allowed_sources:
            allowed = ", ".join(contract.allowed_sources)
            yield violation("ORIGIN_NOT_ALLOWED", f"origin {origin!r} not in ({allowed})")
        for side, node_id, node_kind, allowed_kinds in (
            ("src", row["src_node_id"], src_kind, contract.src_kinds),
            ("dst", row["dst_node_id"], dst_kind, contract.dst_kinds),
        ):
            if node_kind is None:
                yield violation("DANGLING_ENDPOINT", f"{side} node {node_id!r} was not emitted")
            elif node_kind not in allowed_kinds:
                kinds = ", ".join(allowed_kinds)
                detail = f"{side} node {node_id!r} is a {node_kind}, not one of {kinds}"
                yield violation("ENDPOINT_KIND_NOT_ALLOWED", detail)

    # ------------------------------------------------------------------ props

    def _props(
        self, props: pa.Table, entities: _Lookup, counts_exact: bool
    ) -> Iterator[ContractViolation]:
        kind = entities.kind_of(props.column("entity_kind"), props.column("entity_id"))
        keyed = pa.table(
            {
                "entity_kind": props.column("entity_kind"),
                "kind": kind,
                "prop_key": props.column("prop_key"),
                "lane": _lane_codes(props),
            }
        )
        combos = (
            keyed.group_by(keyed.column_names, use_threads=False)
            .aggregate([("lane", "count")])
            .to_pylist()
        )
        seen: dict[tuple[str, str, str], list[int]] = {}
        enum_rows: tuple[pa.Table, pa.Table] | None = None
        for combo in combos:
            problem = self._prop_combo_problem(combo)
            ek, k, key = combo["entity_kind"], combo["kind"], combo["prop_key"]
            if k is not None:
                seen.setdefault((ek, k, key), []).append(combo["lane_count"])
            if problem is None:
                continue
            among, where = props, keyed
            if problem == "PROP_ENUM":  # many rows, all fine as a rule: look only at enum keys
                if enum_rows is None:
                    enum_rows = self._enum_rows(props, keyed)
                among, where = enum_rows
            rows = among.filter(_matching(where, {c: combo[c] for c in where.column_names}))
            yield from self._prop_rows(problem, combo, rows, entities)
        if not counts_exact:
            seen = {}  # a repeated (entity, key) could hide a missing one: check every kind
        yield from self._missing(props, keyed, entities, seen)

    def _enum_rows(self, props: pa.Table, keyed: pa.Table) -> tuple[pa.Table, pa.Table]:
        """The prop rows (and their keyed rows) whose key is an enum prop of some contract."""
        keys = sorted(
            {name for rules in self._rules.values() for name, c in rules.declared.items() if c.enum}
        )
        mask = pc.is_in(keyed.column("prop_key"), value_set=pa.array(keys, pa.string()))
        return props.filter(mask), keyed.filter(mask)

    def _prop_combo_problem(self, combo: Mapping[str, object]) -> str | None:
        """The rule every row of this (entity kind, kind, key, lane) breaks, or ``"enum"``."""
        if combo["kind"] is None:
            return "PROP_OF_UNKNOWN_ENTITY"
        rules = self._rules.get((str(combo["entity_kind"]), str(combo["kind"])))
        if rules is None:
            return None  # the unknown kind is reported on its node or edge
        check = rules.declared.get(str(combo["prop_key"]))
        if check is None:
            return "UNDECLARED_PROP"
        if combo["lane"] != check.lane:
            return "PROP_TYPE"
        return "PROP_ENUM" if check.enum_values is not None else None

    def _prop_rows(
        self,
        rule: str,
        combo: Mapping[str, object],
        rows: pa.Table,
        entities: _Lookup,
    ) -> Iterator[ContractViolation]:
        ek, key = str(combo["entity_kind"]), str(combo["prop_key"])
        kind = "" if combo["kind"] is None else str(combo["kind"])
        if rule == "PROP_OF_UNKNOWN_ENTITY":
            detail = f"prop {key!r} belongs to no emitted {ek}"
            for entity_id in rows.column("entity_id").to_pylist():
                yield ContractViolation(rule, ek, entity_id, "", None, detail)
            return
        check = self._rules[(ek, kind)].declared.get(key)
        details: list[str]
        if check is None:
            details = [f"prop {key!r} is not in the contract"] * rows.num_rows
        elif rule == "PROP_TYPE":
            got = _LANE_NAMES.get(int(str(combo["lane"])), "mixed")
            details = [
                f"prop {key!r} is {got}, the contract says {check.type_name}"
            ] * rows.num_rows
        else:
            assert check.enum_values is not None
            allowed = pa.array(sorted(check.enum_values), pa.string())
            rows = rows.filter(pc.invert(pc.is_in(rows.column("value_str"), value_set=allowed)))
            details = [
                f"prop {key!r} = {value!r} is not a value of enum {check.enum}"
                for value in rows.column("value_str").to_pylist()
            ]
        if not rows.num_rows:
            return
        paths = entities.path_of(rows.column("entity_kind"), rows.column("entity_id"))
        for entity_id, path, detail in zip(
            rows.column("entity_id").to_pylist(), paths.to_pylist(), details, strict=True
        ):
            yield ContractViolation(rule, ek, entity_id, kind, path, detail)

    def _missing(
        self,
        props: pa.Table,
        keyed: pa.Table,
        entities: _Lookup,
        seen: Mapping[tuple[str, str, str], list[int]],
    ) -> Iterator[ContractViolation]:
        """MISSING_REQUIRED_PROP: an entity with no row at all for a required prop key.

        ``seen`` counts the prop rows per (entity kind, kind, key) and lane; one lane with as many
        rows as there are entities of the kind means every entity has the key.
        """
        for ek, group in ((NODE, entities.nodes), (EDGE, entities.edges)):
            for kind, count in group.counts().items():
                rules = self._rules.get((ek, kind))
                if rules is None:
                    continue
                for key in rules.required:
                    counts = seen.get((ek, kind, key), [])
                    if len(counts) == 1 and counts[0] == count:
                        continue
                    mask = _matching(keyed, {"entity_kind": ek, "kind": kind, "prop_key": key})
                    have = pc.filter(props.column("entity_id"), mask)
                    detail = f"required prop {key!r} is missing"
                    for entity_id, path in group.rows_of_kind(kind, without=have):
                        yield ContractViolation(
                            "MISSING_REQUIRED_PROP", ek, entity_id, kind, path, detail
                        )


@dataclass(frozen=True)
class _Entities:
    """Ids, kinds and paths of the nodes (or edges) of a batch, for lookups by id."""

    ids: pa.Array
    kinds: pa.Array
    paths: pa.Array

    @classmethod
    def of(cls, table: pa.Table, id_column: str, kind_column: str) -> _Entities:
        def column(name: str) -> pa.Array:
            if name not in table.column_names:
                return pa.nulls(table.num_rows, pa.string())
            return table.column(name).combine_chunks().cast(pa.string())

        return cls(column(id_column), column(kind_column), column("path"))

    def with_known(self, known: Mapping[str, str]) -> _Entities:
        """These entities plus ``known`` (ids outside the batch, with their kinds)."""
        if not known:
            return self
        return _Entities(
            pa.concat_arrays([self.ids, pa.array(list(known), pa.string())]),
            pa.concat_arrays([self.kinds, pa.array(list(known.values()), pa.string())]),
            pa.concat_arrays([self.paths, pa.nulls(len(known), pa.string())]),
        )

    def kind_of(self, ids: pa.ChunkedArray | pa.Array) -> pa.Array:
        """The kind of each id (null where the id is not one of these entities)."""
        return self.kinds.take(pc.index_in(ids, value_set=self.ids))

    def counts(self) -> dict[str, int]:
        """Rows per kind."""
        grouped = pc.value_counts(self.kinds).to_pylist()
        return {str(item["values"]): int(item["counts"]) for item in grouped}

    def rows_of_kind(
        self, kind: str, without: pa.ChunkedArray | pa.Array | None = None
    ) -> list[tuple[str, str | None]]:
        """``(id, path)`` of the entities of ``kind``, less those whose id is in ``without``."""
        mask = pc.equal(self.kinds, kind)
        if without is not None:
            mask = pc.and_(mask, pc.invert(pc.is_in(self.ids, value_set=without)))
        return list(
            zip(self.ids.filter(mask).to_pylist(), self.paths.filter(mask).to_pylist(), strict=True)
        )


@dataclass(frozen=True)
class _Lookup:
    """Resolves ``(entity_kind, entity_id)`` of prop rows to the kind and path of the entity.

    One hash lookup over node and edge ids together; the entity kind must match the half the id
    was found in. An id that is both a node's and an edge's takes one lookup per half.
    """

    nodes: _Entities
    edges: _Entities

    @cached_property
    def _both(self) -> _Entities:
        """Node then edge ids, kinds and paths, one array each."""
        return _Entities(
            pa.concat_arrays([self.nodes.ids, self.edges.ids]),
            pa.concat_arrays([self.nodes.kinds, self.edges.kinds]),
            pa.concat_arrays([self.nodes.paths, self.edges.paths]),
        )

    @cached_property
    def _shared_ids(self) -> bool:
        """Whether some id is both a node's and an edge's."""
        if not len(self.nodes.ids) or not len(self.edges.ids):
            return False
        return bool(pc.any(pc.is_in(self.edges.ids, value_set=self.nodes.ids)).as_py())

    def _index(
        self, entity_kind: pa.ChunkedArray | pa.Array, entity_id: pa.ChunkedArray | pa.Array
    ) -> tuple[_Entities, pa.Array]:
        """Entities and, per row, the index of its entity there (null when there is none)."""
        both = self._both
        split = len(self.nodes.ids)
        if self._shared_ids:
            in_nodes = pc.index_in(entity_id, value_set=self.nodes.ids).cast(pa.int64())
            in_edges = pc.add(
                pc.index_in(entity_id, value_set=self.edges.ids).cast(pa.int64()), split
            )
        else:
            in_nodes = in_edges = pc.index_in(entity_id, value_set=both.ids).cast(pa.int64())
        none = pa.scalar(None, pa.int64())
        index = pc.if_else(
            pc.equal(entity_kind, NODE),
            pc.if_else(pc.less(in_nodes, split), in_nodes, none),
            pc.if_else(
                pc.equal(entity_kind, EDGE),
                pc.if_else(pc.greater_equal(in_edges, split), in_edges, none),
                none,
            ),
        )
        return both, index

    def kind_of(
        self, entity_kind: pa.ChunkedArray | pa.Array, entity_id: pa.ChunkedArray | pa.Array
    ) -> pa.Array:
        both, index = self._index(entity_kind, entity_id)
        return both.kinds.take(index)

    def path_of(
        self, entity_kind: pa.ChunkedArray | pa.Array, entity_id: pa.ChunkedArray | pa.Array
    ) -> pa.Array:
        both, index = self._index(entity_kind, entity_id)
        return both.paths.take(index)


def _lane_codes(props: pa.Table) -> pa.Array:
    """Per prop row, the sum of the bits of its set ``value_*`` columns."""
    total: pa.Array | None = None
    for lane, bit in _LANE_BITS.items():
        term = pc.multiply(
            pc.cast(pc.is_valid(props.column(lane)), pa.int8()), pa.scalar(bit, pa.int8())
        )
        total = term if total is None else pc.add(total, term)
    assert total is not None
    return total


def _distinct(table: pa.Table) -> list[dict[str, object]]:
    """The distinct rows of ``table`` (nulls equal)."""
    grouped = table.group_by(table.column_names, use_threads=False).aggregate([])
    rows: list[dict[str, object]] = grouped.to_pylist()
    return rows


def _matching(table: pa.Table, values: Mapping[str, object]) -> pa.Array:
    """Mask of the rows equal to ``values`` in every named column (null matches null)."""
    mask: pa.Array | None = None
    for name, value in values.items():
        column = table.column(name)
        if value is None:
            term = pc.is_null(column)
        else:
            term = pc.fill_null(pc.equal(column, pa.scalar(value, column.type)), False)
        mask = term if mask is None else pc.and_(mask, term)
    assert mask is not None
    return mask


def _kind_rules(
    required: tuple[PropSpec, ...],
    optional: tuple[PropSpec, ...],
    enums: Mapping[str, frozenset[str]],
) -> _KindRules:
    declared = {
        spec.name: _PropCheck(
            lane=_LANE_OF_TYPE[spec.type],
            enum=spec.enum,
            enum_values=None if spec.enum is None else enums.get(spec.enum, frozenset()),
            type_name=str(spec.type),
        )
        for spec in (*required, *optional)
    }
    return _KindRules(tuple(p.name for p in required), declared)
