"""Span containment: which node encloses which, by file path and byte offsets.

Nodes of different layers carry no edge to the definition around them, but every anchored
node has ``path``, ``bstart`` and ``bend`` (byte offsets into the file): the function a call
site is in is the innermost definition whose span holds the call's span.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_SPAN = ("path", "bstart", "bend")


def _span_table(table: pa.Table, id_column: str, prefix: str) -> pa.Table:
    arrays = [table.column(id_column)]
    for name in _SPAN:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        arrays.append(column)
    names = [f"{prefix}id", "path", f"{prefix}bstart", f"{prefix}bend"]
    return pa.Table.from_arrays(arrays, names=names)


def innermost_enclosing(
    inner: pa.Table,
    outer: pa.Table,
    *,
    name: str = "enclosing_id",
    inner_id: str = "node_id",
    outer_id: str = "node_id",
) -> pa.Table:
    """``inner`` (in its row order) with a column ``name``: the id of the ``outer`` row on the
    same path whose span holds the inner row's span and is the narrowest such (ties: the
    smallest id; a row never encloses itself), null where none does. Both tables need
    ``path``, ``bstart`` and ``bend``."""
    left = _span_table(inner, inner_id, "inner_").append_column(
        "row", pa.array(range(inner.num_rows), pa.int64())
    )
    right = _span_table(outer, outer_id, "outer_")
    pairs = left.join(right, keys="path", join_type="inner")
    holds = pc.and_(
        pc.and_(
            pc.less_equal(pairs["outer_bstart"], pairs["inner_bstart"]),
            pc.less_equal(pairs["inner_bend"], pairs["outer_bend"]),
        ),
        pc.not_equal(pairs["inner_id"], pairs["outer_id"]),
    )
    pairs = pairs.filter(holds)
    pairs = pairs.append_column("width", pc.subtract(pairs["outer_bend"], pairs["outer_bstart"]))
    pairs = pairs.join(pairs.group_by("row").aggregate([("width", "min")]), "row")
    best = pairs.filter(pc.equal(pairs["width"], pairs["width_min"]))
    best = best.group_by("row").aggregate([("outer_id", "min")])
    found = pa.nulls(inner.num_rows, inner.column(inner_id).type)
    if best.num_rows:
        positions = pc.index_in(pa.array(range(inner.num_rows), pa.int64()), best["row"])
        found = best["outer_id_min"].combine_chunks().take(positions)
    return inner.append_column(name, found)
