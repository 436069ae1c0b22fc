"""Edge-emitting rules' output rows -> ``cpg_edges_v1`` rows, their props, and the losers.

For one rule (``rule_edges``), generically:

- endpoints and span: the first non-null of the payload's ``*_cols`` candidates;
- ``origin``, ``resolution_method``, ``confidence``, ``score``, ``ambiguity_group_id``: the rule's
  own column of that name where non-null, else the payload (origin, method) or the policies: the
  confidence policy gives ``base - penalty * (rivals in the ambiguity group)``, ``score`` defaults
  to the confidence; the ambiguity policy's group keys give the group, whose id is
  ``stable_id("ambiguity", rule, *keys)`` unless the rule computes one;
- every other output column named like an edges-dataset column fills it (``symbol_roles``,
  ``qname_source``, ``edge_owner_file_id``, ...); ``rule_name``/``rule_priority`` are the rule's;
- ``edge_id``: ``graph.extract.ids.edge_id`` of kind, endpoints and span;
- props: every prop of the edge kind's contract found among the edge's columns or the rule's
  output columns.

Then the ambiguity policy keeps the best edge per group (``score_column`` in ``score_order``,
ties by the edges dataset's tie-breakers, then the endpoints). Across rules (``resolve``), edges
equal on the edges dataset's dedupe keys keep the first by its tie-breakers, then rule name.
Every edge that loses is a row of the losers table, with its ambiguity group, the reason and
the edge that beat it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from cpg.contracts import EdgeContract, PropType
from cpg.registry_specs import DatasetContract
from graph.extract.ids import edge_id, stable_id
from graph.extract.rows import EDGE
from graph.own_tables import LOSERS_SCHEMA
from relspec.rules.model import AmbiguityPolicy, ConfidencePolicy
from relspec.rules.plan import EDGE_VALUE_COLUMNS, PlannedRule
from storage.table_order import sort_order

AMBIGUITY_LOSS = "AMBIGUITY_POLICY"
DUPLICATE_LOSS = "DUPLICATE_EDGE"

_COMPUTED = frozenset(
    {"edge_id", "edge_kind", "src_node_id", "dst_node_id", "path", "bstart", "bend"}
)
_LANES: Mapping[PropType, tuple[str, pa.DataType]] = {
    PropType.STR: ("value_str", pa.string()),
    PropType.INT: ("value_int", pa.int64()),
    PropType.FLOAT: ("value_float", pa.float64()),
    PropType.BOOL: ("value_bool", pa.bool_()),
}


@dataclass(frozen=True)
class Emitted:
    """Edges (plain edges-dataset columns), their props (``entity_id`` + lanes, with the rule
    name for matching) and losers so far."""

    edges: pa.Table
    props: pa.Table
    losers: pa.Table


def rule_edges(
    planned: PlannedRule,
    output: pa.Table,
    dataset: DatasetContract,
    contract: EdgeContract,
    confidence: ConfidencePolicy,
    ambiguity: AmbiguityPolicy | None,
) -> Emitted:
    """The edges of one rule's output rows, after its ambiguity policy (see the module doc)."""
    rule = planned.rule
    emit = rule.payload.edge_emit
    assert emit is not None
    count = output.num_rows
    columns: dict[str, pa.ChunkedArray | pa.Array] = {
        "edge_kind": pa.repeat(pa.scalar(emit.edge_kind), count),
        "src_node_id": _first_valid(output, emit.src_cols, pa.string()),
        "dst_node_id": _first_valid(output, emit.dst_cols, pa.string()),
        "path": _first_valid(output, emit.path_cols, pa.string()),
        "bstart": _first_valid(output, emit.bstart_cols, pa.int64()),
        "bend": _first_valid(output, emit.bend_cols, pa.int64()),
    }
    names = set(output.column_names)
    group_ids, rivals = _groups(rule.name, output, ambiguity)
    defaults: dict[str, pa.Array | pa.ChunkedArray] = {
        "origin": pa.repeat(pa.scalar(emit.origin), count),
        "resolution_method": pa.repeat(pa.scalar(emit.resolution_method), count),
        "confidence": _confidence(confidence, rivals, count),
        "ambiguity_group_id": group_ids,
    }
    for name in EDGE_VALUE_COLUMNS:
        if name == "score":
            continue
        own = output.column(name) if name in names else None
        columns[name] = defaults[name] if own is None else pc.coalesce(own, defaults[name])
    own_score = output.column("score") if "score" in names else None
    columns["score"] = pc.cast(
        (
            columns["confidence"]
            if own_score is None
            else pc.coalesce(own_score, columns["confidence"])
        ),
        pa.float64(),
    )
    columns["confidence"] = pc.cast(columns["confidence"], pa.float64())
    columns["rule_name"] = pa.repeat(pa.scalar(rule.name), count)
    columns["rule_priority"] = pa.repeat(pa.scalar(rule.priority, pa.int64()), count)
    for field in dataset.schema:
        if field.name not in columns and field.name not in _COMPUTED and field.name in names:
            columns[field.name] = output.column(field.name)
    edges = pa.table(columns)
    keep = pc.and_(
        pc.is_valid(edges.column("src_node_id")), pc.is_valid(edges.column("dst_node_id"))
    )
    edges, output = edges.filter(keep), output.filter(keep)
    edges = edges.append_column("edge_id", _edge_ids(edges))
    props = _props(edges, output, contract)
    if ambiguity is None:
        return Emitted(edges, props, LOSERS_SCHEMA.empty_table())
    return _select_winners(edges, props, output, ambiguity, dataset)


def resolve(parts: Sequence[Emitted], dataset: DatasetContract) -> Emitted:
    """All rules' edges with duplicates (equal dedupe keys) resolved: the first by the dataset's
    tie-breakers, then rule name, wins; the others join the losers."""
    edges = pa.concat_tables([part.edges for part in parts], promote_options="permissive")
    props = pa.concat_tables([part.props for part in parts], promote_options="permissive")
    losers = pa.concat_tables([part.losers for part in parts])
    keys = list(dataset.dedupe_keys)
    order: list[str | tuple[str, str]] = [*keys, *_spec(dataset), ("rule_name", "ascending")]
    ranked = edges.take(sort_order(edges, order))
    first = _group_starts(ranked, keys, nulls_equal=True)
    winners = ranked.filter(first)
    beaten = ranked.filter(pc.invert(first))
    if beaten.num_rows:
        winner_of = _winner_rows(first)
        won = ranked.take(winner_of.filter(pc.invert(first)))
        losers = pa.concat_tables([losers, _losers(beaten, won, DUPLICATE_LOSS)])
    props = _props_of(props, winners)
    return Emitted(winners, props, losers)


def _spec(dataset: DatasetContract) -> list[tuple[str, str]]:
    return [(key.column, key.order.value) for key in dataset.tie_breakers]


def _first_valid(
    table: pa.Table, names: Sequence[str], arrow_type: pa.DataType
) -> pa.ChunkedArray | pa.Array:
    """Per row, the first non-null of the named columns (all null without any)."""
    if not names:
        return pa.nulls(table.num_rows, arrow_type)
    values = [pc.cast(table.column(name), arrow_type) for name in names]
    return values[0] if len(values) == 1 else pc.coalesce(*values)


def _groups(
    rule: str, output: pa.Table, ambiguity: AmbiguityPolicy | None
) -> tuple[pa.Array | pa.ChunkedArray, pa.Array]:
    """Per row, its ambiguity group id and how many rivals share the group."""
    count = output.num_rows
    own = (
        output.column("ambiguity_group_id") if "ambiguity_group_id" in output.column_names else None
    )
    if ambiguity is None or not count:
        ids = own if own is not None else pa.nulls(count, pa.string())
        return ids, pa.repeat(pa.scalar(0, pa.int64()), count)
    keys = list(ambiguity.group_keys)
    numbered = output.select(keys).append_column("__row", pa.array(range(count), pa.int64()))
    sizes = numbered.group_by(keys, use_threads=False).aggregate([("__row", "count")])
    joined = numbered.join(sizes, keys=keys, join_type="left outer", use_threads=False)
    joined = joined.sort_by("__row")
    rivals = pc.subtract(pc.fill_null(joined.column("__row_count"), 1), 1).combine_chunks()
    key_values = zip(*(output.column(key).to_pylist() for key in keys), strict=True)
    computed = pa.array([stable_id("ambiguity", rule, *values) for values in key_values])
    ids = computed if own is None else pc.coalesce(own, computed)
    return ids, rivals


def _confidence(policy: ConfidencePolicy, rivals: pa.Array, count: int) -> pa.Array:
    """``base - penalty * rivals``, clamped to 0..1."""
    if not count:
        return pa.array([], pa.float64())
    value = pc.subtract(policy.base, pc.multiply(policy.penalty, pc.cast(rivals, pa.float64())))
    clamped: pa.Array = pc.max_element_wise(pc.min_element_wise(value, 1.0), 0.0)
    return clamped


def _edge_ids(edges: pa.Table) -> pa.Array:
    parts = [
        edges.column(name).to_pylist()
        for name in ("edge_kind", "src_node_id", "dst_node_id", "path", "bstart", "bend")
    ]
    return pa.array([edge_id(*row) for row in zip(*parts, strict=True)], pa.string())


def _props(edges: pa.Table, output: pa.Table, contract: EdgeContract) -> pa.Table:
    """One row per declared prop an edge has a non-null value for: ``rule_name``, ``entity_id``,
    ``prop_key`` and the value in its lane (edge columns first, then the rule's columns)."""
    batches = []
    for prop in (*contract.required_props, *contract.optional_props):
        lane = _LANES.get(prop.type)
        if lane is None:
            continue  # json props: no rule yields one
        source = edges if prop.name in edges.column_names else output
        if prop.name not in source.column_names:
            continue
        values = source.column(prop.name)
        keep = pc.is_valid(values)
        column, arrow_type = lane
        batches.append(
            pa.table(
                {
                    "rule_name": edges.column("rule_name").filter(keep),
                    "entity_id": edges.column("edge_id").filter(keep),
                    "prop_key": pa.repeat(pa.scalar(prop.name), pc.sum(keep).as_py() or 0),
                    column: pc.cast(values.filter(keep), arrow_type),
                }
            )
        )
    if not batches:
        return _EMPTY_PROPS
    return pa.concat_tables(batches, promote_options="permissive")


_EMPTY_PROPS = pa.table(
    {
        "rule_name": pa.array([], pa.string()),
        "entity_id": pa.array([], pa.string()),
        "prop_key": pa.array([], pa.string()),
    }
)


def prop_rows(props: pa.Table, schema: pa.Schema) -> pa.Table:
    """Emitted props as plain ``cpg_props_v1`` rows (entity kind ``edge``)."""
    count = props.num_rows
    arrays = []
    for field in schema:
        if field.name == "entity_kind":
            arrays.append(pa.repeat(pa.scalar(EDGE, field.type), count))
        elif field.name in props.column_names:
            arrays.append(pc.cast(props.column(field.name), field.type))
        else:
            arrays.append(pa.nulls(count, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _select_winners(
    edges: pa.Table,
    props: pa.Table,
    output: pa.Table,
    ambiguity: AmbiguityPolicy,
    dataset: DatasetContract,
) -> Emitted:
    keys = [f"__key{i}" for i in range(len(ambiguity.group_keys))]
    keyed = edges
    for name, key in zip(keys, ambiguity.group_keys, strict=True):
        keyed = keyed.append_column(name, output.column(key))
    score = ambiguity.score_column
    if score not in keyed.column_names:
        keyed = keyed.append_column(score, output.column(score))
    order: list[str | tuple[str, str]] = [
        *keys,
        (score, ambiguity.score_order.value),
        *_spec(dataset),
        ("dst_node_id", "ascending"),
        ("src_node_id", "ascending"),
    ]
    ranked = keyed.take(sort_order(keyed, order))
    first = _group_starts(ranked, keys, nulls_equal=False)
    winners = ranked.filter(first)
    beaten = ranked.filter(pc.invert(first))
    won = ranked.take(_winner_rows(first).filter(pc.invert(first)))
    losers = _losers(beaten, won, AMBIGUITY_LOSS)
    winners = winners.select(edges.column_names)
    return Emitted(winners, _props_of(props, winners), losers)


def _group_starts(table: pa.Table, keys: Sequence[str], *, nulls_equal: bool) -> pa.Array:
    """Mask of the rows of a table sorted by ``keys`` that start a new group (differ from the
    row before on some key). Null keys equal each other with ``nulls_equal``, else nothing."""
    count = table.num_rows
    if not count:
        return pa.array([], pa.bool_())
    new: pa.Array | None = None
    for key in keys:
        values = table.column(key).combine_chunks()
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        after, before = values.slice(1), values.slice(0, count - 1)
        differs = pc.not_equal(after, before)
        if nulls_equal:
            both_null = pc.and_(pc.is_null(after), pc.is_null(before))
            differs = pc.if_else(both_null, False, pc.fill_null(differs, True))
        else:
            differs = pc.fill_null(differs, True)
        new = differs if new is None else pc.or_(new, differs)
    tail = new if new is not None else pa.repeat(pa.scalar(False), count - 1)
    return pa.concat_arrays([pa.array([True]), tail])


def _winner_rows(first: pa.Array) -> pa.Array:
    """Per row of a grouped table, the index of its group's first row."""
    starts = pc.indices_nonzero(first).cast(pa.int64())
    group = pc.subtract(pc.cumulative_sum(pc.cast(first, pa.int64())), 1)
    taken: pa.Array = starts.take(group)
    return taken


def _losers(beaten: pa.Table, won: pa.Table, reason: str) -> pa.Table:
    count = beaten.num_rows
    columns = {
        "reason": pa.repeat(pa.scalar(reason), count),
        **{
            name: beaten.column(name) for name in LOSERS_SCHEMA.names if name in beaten.column_names
        },
        "winner_edge_id": won.column("edge_id"),
        "winner_rule_name": won.column("rule_name"),
    }
    arrays = [pc.cast(columns[field.name], field.type) for field in LOSERS_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=LOSERS_SCHEMA)


def _props_of(props: pa.Table, winners: pa.Table) -> pa.Table:
    """The props of the winning edges (matched by edge id and rule)."""
    if not props.num_rows:
        return props
    won = pa.table(
        {"entity_id": winners.column("edge_id"), "rule_name": winners.column("rule_name")}
    )
    return props.join(
        won, keys=["entity_id", "rule_name"], join_type="left semi", use_threads=False
    )
