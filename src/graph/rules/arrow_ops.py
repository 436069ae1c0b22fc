"""The relational operations of the rule engine, on Arrow tables with pyarrow alone.

Chosen over DuckDB and DataFusion by ``bench/bench_rules.py`` (see the README): same answers,
less time per million input rows on these shapes, and no second engine to ship.

- ``filter_project``: Acero filter + project of translated expressions (``to_arrow``);
- ``hash_join``: ``Table.join`` (null keys never match);
- ``interval_align``: a range join without a nested loop. Paths and byte offsets are packed
  into one int64 key (``path code << 32 | offset``), so "same path, start within the left span"
  becomes one key range per left row; a merged sort of right starts and left bounds counts the
  right rows below each bound (a searchsorted), the ranges are expanded into candidate pairs,
  filtered by the end bound, and the best pair per left row is kept.

Every "best" or "first" pick sorts fully by declared keys, so results never depend on input
row order or thread scheduling.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import acero

from relspec.rules.expressions import Call, Column, Expr, Literal
from relspec.rules.model import HashJoinPayload, IntervalAlignPayload
from relspec.rules.plan import MATCH_KIND, MATCH_SCORE, PlannedRule
from storage.table_order import sort_order

_OFFSET_BITS = 32
_MAX_OFFSET = 1 << _OFFSET_BITS

_FUNCTIONS: Mapping[str, Callable[..., pc.Expression]] = {
    "equal": pc.equal,
    "not_equal": pc.not_equal,
    "less": pc.less,
    "less_equal": pc.less_equal,
    "greater": pc.greater,
    "greater_equal": pc.greater_equal,
    "and_kleene": pc.and_kleene,
    "or_kleene": pc.or_kleene,
    "invert": pc.invert,
    "is_null": pc.is_null,
    "is_valid": pc.is_valid,
    "fill_null": pc.coalesce,
    "coalesce": pc.coalesce,
    "if_else": pc.if_else,
    "bit_wise_and": pc.bit_wise_and,
    "add": pc.add_checked,
    "subtract": pc.subtract_checked,
}
"""Each function of ``relspec.rules.expressions.FUNCTIONS`` as an Arrow compute function."""


class _Spans(NamedTuple):
    """The rows of one side that have a path and a span, with their packed keys."""

    rows: pa.Array
    start: pa.Array
    end: pa.Array
    key_start: pa.Array
    key_end: pa.Array


class RuleExecutionError(ValueError):
    """Data a rule cannot run on (e.g. a byte offset beyond 4 GiB); names the rule."""


def to_arrow(expr: Expr) -> pc.Expression:
    """The Arrow compute expression of a checked expression tree."""
    if isinstance(expr, Column):
        return pc.field(expr.name)
    if isinstance(expr, Literal):
        return pc.scalar(expr.value)
    assert isinstance(expr, Call)
    return _FUNCTIONS[expr.function](*(to_arrow(arg) for arg in expr.args))


def filter_project(source: pa.Table, planned: PlannedRule) -> pa.Table:
    """The rule's filter and projection over its source step's rows."""
    expressions = [pc.field(name) for name in planned.select]
    expressions += [to_arrow(expr) for _, expr in planned.exprs]
    expressions += [pc.scalar(value) for _, value in planned.literals]
    names = [column.name for column in planned.columns]
    nodes = [acero.Declaration("table_source", acero.TableSourceNodeOptions(source))]
    if planned.predicate is not None:
        predicate = pc.coalesce(to_arrow(planned.predicate), pc.scalar(False))
        nodes.append(acero.Declaration("filter", acero.FilterNodeOptions(predicate)))
    nodes.append(acero.Declaration("project", acero.ProjectNodeOptions(expressions, names)))
    result: pa.Table = acero.Declaration.from_sequence(nodes).to_table(use_threads=False)
    return result


def hash_join(left: pa.Table, right: pa.Table, join: HashJoinPayload) -> pa.Table:
    """``left`` joined with ``right`` on the key pairs; the output columns, in payload order."""
    left_part = left.select(list(dict.fromkeys([*join.left_keys, *join.left_output])))
    right_names = list(dict.fromkeys([*join.right_keys, *join.right_output]))
    renamed = {name: f"__right_{index}" for index, name in enumerate(right_names)}
    right_part = right.select(right_names).rename_columns([renamed[n] for n in right_names])
    joined = left_part.join(
        right_part,
        keys=list(join.left_keys),
        right_keys=[renamed[key] for key in join.right_keys],
        join_type=join.join_type,
        coalesce_keys=False,
        use_threads=False,
    )
    columns = [joined.column(name) for name in join.left_output]
    columns += [joined.column(renamed[name]) for name in join.right_output]
    return pa.Table.from_arrays(columns, names=[*join.left_output, *join.right_output])


def interval_align(
    left: pa.Table, right: pa.Table, align: IntervalAlignPayload, rule: str = "?"
) -> pa.Table:
    """Each left row with the best right row on the same path whose span matches its own."""
    paths = pc.unique(
        pa.chunked_array(
            [*left.column(align.left_path_col).chunks, *right.column(align.right_path_col).chunks],
            left.column(align.left_path_col).type,
        )
    )
    lspans = _spans(
        left, align.left_path_col, align.left_start_col, align.left_end_col, paths, rule
    )
    rspans = _spans(
        right, align.right_path_col, align.right_start_col, align.right_end_col, paths, rule
    )
    if align.mode == "EXACT":
        pair_left, pair_right = _exact_pairs(lspans, rspans)
    else:
        pair_left, pair_right = _contained_pairs(lspans, rspans)
    right_start = rspans.start.take(pair_right)
    ranking = {
        "left": pair_left,
        "length": pc.subtract(rspans.end.take(pair_right), right_start),
        "start": right_start,
        **{
            f"r{i}": right.column(name).take(rspans.rows.take(pair_right))
            for i, name in enumerate(align.select_right)
        },
    }
    order = sort_order(pa.table(ranking), list(ranking))
    best_left, best_right = pair_left.take(order), pair_right.take(order)
    first = _group_starts(best_left)
    best_left, best_right = best_left.filter(first), best_right.filter(first)
    lefts = lspans.rows.take(best_left)
    rights = rspans.rows.take(best_right)
    out = {name: left.column(name).take(lefts) for name in align.select_left}
    out |= {name: right.column(name).take(rights) for name in align.select_right}
    if align.emit_match_meta:
        out[MATCH_KIND] = pa.repeat(pa.scalar(align.mode), len(lefts))
        left_len = pc.subtract(lspans.end.take(best_left), lspans.start.take(best_left))
        right_len = pc.subtract(rspans.end.take(best_right), rspans.start.take(best_right))
        out[MATCH_SCORE] = pc.if_else(
            pc.greater(left_len, 0), pc.divide(pc.cast(right_len, pa.float64()), left_len), 1.0
        )
    matched = pa.table(out)
    if align.how == "left":
        matched = _with_unmatched(left, matched, lefts, align)
    return matched


def _spans(table: pa.Table, path: str, start: str, end: str, paths: pa.Array, rule: str) -> _Spans:
    """The rows with a path and a span, and their keys ``path code << 32 | offset``.

    A path's code is its position in ``paths``, the same for both sides.
    """
    valid = pc.and_(
        pc.and_(pc.is_valid(table.column(path)), pc.is_valid(table.column(start))),
        pc.is_valid(table.column(end)),
    )
    rows = pc.indices_nonzero(valid).cast(pa.int64())
    starts = table.column(start).take(rows).cast(pa.int64()).combine_chunks()
    ends = table.column(end).take(rows).cast(pa.int64()).combine_chunks()
    for values in (starts, ends):
        bounds = pc.min_max(values).as_py()
        if bounds["min"] is not None and (bounds["min"] < 0 or bounds["max"] >= _MAX_OFFSET):
            message = f"rule {rule!r}: byte offsets must lie in 0..2**32, found {bounds}"
            raise RuleExecutionError(message)
    codes = pc.index_in(table.column(path).take(rows), value_set=paths)
    shifted = pc.shift_left(pc.cast(codes, pa.int64()), pa.scalar(_OFFSET_BITS, pa.int64()))
    shifted = shifted.combine_chunks() if isinstance(shifted, pa.ChunkedArray) else shifted
    return _Spans(rows, starts, ends, pc.add(shifted, starts), pc.add(shifted, ends))


def _exact_pairs(left: _Spans, right: _Spans) -> tuple[pa.Array, pa.Array]:
    """Pairs (left index, right index) with the same path and span: a hash join."""
    lefts = pa.table(
        {
            "ks": left.key_start,
            "ke": left.key_end,
            "li": pa.array(range(len(left.rows)), pa.int64()),
        }
    )
    rights = pa.table(
        {
            "ks": right.key_start,
            "ke": right.key_end,
            "ri": pa.array(range(len(right.rows)), pa.int64()),
        }
    )
    pairs = lefts.join(rights, keys=["ks", "ke"], join_type="inner", use_threads=False)
    return pairs.column("li").combine_chunks(), pairs.column("ri").combine_chunks()


def _contained_pairs(left: _Spans, right: _Spans) -> tuple[pa.Array, pa.Array]:
    """Pairs (left index, right index) with the right span inside the left one, same path."""
    right_order = pc.sort_indices(right.key_start).cast(pa.int64())
    sorted_starts = right.key_start.take(right_order)
    low = _count_below(sorted_starts, left.key_start, inclusive=False)
    high = _count_below(sorted_starts, left.key_end, inclusive=True)
    counts = pc.max_element_wise(pc.subtract(high, low), 0)
    total = pc.sum(counts).as_py() or 0
    if not total:
        empty = pa.array([], pa.int64())
        return empty, empty
    offsets = pa.concat_arrays([pa.array([0], pa.int64()), pc.cumulative_sum(counts)])
    parents = pc.list_parent_indices(
        pa.LargeListArray.from_arrays(offsets, pa.nulls(total, pa.int8()))
    ).cast(pa.int64())
    ordinal = pc.subtract(pc.cumulative_sum(pa.repeat(pa.scalar(1, pa.int64()), total)), 1)
    within = pc.subtract(ordinal, offsets.take(parents))
    pair_right = right_order.take(pc.add(low.take(parents), within))
    inside = pc.less_equal(right.key_end.take(pair_right), left.key_end.take(parents))
    return parents.filter(inside), pair_right.filter(inside)


def _count_below(sorted_keys: pa.Array, bounds: pa.Array, *, inclusive: bool) -> pa.Array:
    """Per bound, how many sorted keys are below it (``<=`` with ``inclusive``): a searchsorted
    by one merged sort in which a bound sorts before (or, inclusive, after) equal keys."""
    keys, count = len(sorted_keys), len(bounds)
    merged = pa.table(
        {
            "key": pa.concat_arrays([sorted_keys, bounds]),
            "tag": pa.concat_arrays(
                [
                    pa.repeat(pa.scalar(1, pa.int8()), keys),
                    pa.repeat(pa.scalar(2 if inclusive else 0, pa.int8()), count),
                ]
            ),
        }
    )
    order = pc.sort_indices(merged, [("key", "ascending"), ("tag", "ascending")])
    is_key = pc.cast(pc.less(order, keys), pa.int64())
    seen = pc.cumulative_sum(is_key)
    position = pc.inverse_permutation(order.cast(pa.int64()))
    counted: pa.Array = seen.take(position.slice(keys))
    return counted


def _group_starts(values: pa.Array) -> pa.Array:
    """Mask of the rows of sorted ``values`` that differ from the row before (the first row too)."""
    if not len(values):
        return pa.array([], pa.bool_())
    after, before = values.slice(1), values.slice(0, len(values) - 1)
    return pa.concat_arrays([pa.array([True]), pc.not_equal(after, before)])


def _with_unmatched(
    left: pa.Table, matched: pa.Table, matched_rows: pa.Array, align: IntervalAlignPayload
) -> pa.Table:
    """``matched`` plus every left row without a match, its right columns null."""
    mask = pa.repeat(pa.scalar(True), left.num_rows)
    if len(matched_rows):
        mask = pc.invert(
            pc.is_in(pa.array(range(left.num_rows), pa.int64()), value_set=matched_rows)
        )
    rows = pc.indices_nonzero(mask)
    out = {name: left.column(name).take(rows) for name in align.select_left}
    for name in align.select_right:
        out[name] = pa.nulls(len(rows), matched.schema.field(name).type)
    if align.emit_match_meta:
        out[MATCH_KIND] = pa.repeat(pa.scalar("NO_MATCH"), len(rows))
        out[MATCH_SCORE] = pa.nulls(len(rows), pa.float64())
    return pa.concat_tables([matched, pa.table(out, schema=matched.schema)])
