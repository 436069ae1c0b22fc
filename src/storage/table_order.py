"""Canonical row order of Arrow tables, including dictionary-encoded key columns.

Arrow cannot sort by a dictionary column directly, so such keys are sorted by their values.
Nulls sort last, as in ``pa.Table.sort_by``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

SortSpec = Sequence[str | tuple[str, str]]
"""Sort keys: a column name (ascending) or ``(column, "ascending" | "descending")``."""


def _pairs(keys: SortSpec) -> list[tuple[str, str]]:
    return [(key, "ascending") if isinstance(key, str) else key for key in keys]


def sort_table(table: pa.Table, keys: SortSpec) -> pa.Table:
    """``table`` stably sorted by ``keys``."""
    pairs = _pairs(keys)
    if not pairs or table.num_rows < 2:
        return table
    columns = {}
    for column, _ in pairs:
        values = table.column(column)
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        columns[column] = values
    import pyarrow.compute as pc  # only needed when there is something to sort

    order = pc.sort_indices(pa.table(columns), sort_keys=pairs)
    return table.take(order)


def keep_first(table: pa.Table, keys: Sequence[str], order: SortSpec) -> pa.Table:
    """One row per distinct ``keys`` (nulls equal): the first after sorting by ``order``.

    This is the ``KEEP_FIRST_AFTER_SORT`` dedupe strategy; the result keeps the sorted order.
    """
    ordered = sort_table(table, [*keys, *_pairs(order)])
    if not keys or ordered.num_rows < 2:
        return ordered
    import pyarrow.compute as pc  # only needed when there is something to dedupe

    key_columns = {}
    for key in keys:
        values = ordered.column(key)
        if pa.types.is_dictionary(values.type):
            values = values.cast(values.type.value_type)
        key_columns[key] = values
    index = pa.array(range(ordered.num_rows), pa.int64())
    grouped = pa.table({**key_columns, "__row": index}).group_by(list(keys), use_threads=False)
    first = grouped.aggregate([("__row", "min")]).column("__row_min")
    return ordered.take(first.take(pc.sort_indices(first)))
