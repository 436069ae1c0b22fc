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
