"""``table_order``: the rank-based sort agrees with Arrow's own multi-key sort, and
``rows_are_distinct`` never claims distinct rows where there are duplicates."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.table_order import keep_first, rows_are_distinct, sort_table

COLUMNS = {
    "s": (pa.string(), st.sampled_from(["", "a", "ab", "b", "é", "\x00", "zz"])),
    "i": (pa.int64(), st.integers(-(2**63), 2**63 - 1)),
    "f": (
        pa.float64(),
        st.sampled_from([0.0, -0.0, 1.5, -2.0, math.inf, -math.inf, math.nan]),
    ),
    "b": (pa.bool_(), st.booleans()),
    "d": (pa.dictionary(pa.int32(), pa.string()), st.sampled_from(["x", "y", "w"])),
}


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(0, 40))
    arrays = {}
    for name, (kind, values) in COLUMNS.items():
        data = draw(st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows))
        if pa.types.is_dictionary(kind):
            arrays[name] = pa.array(data, pa.string()).dictionary_encode()
        else:
            arrays[name] = pa.array(data, kind)
    arrays["row"] = pa.array(range(rows), pa.int64())
    return pa.table(arrays)


sort_keys = st.lists(
    st.tuples(st.sampled_from(sorted(COLUMNS)), st.sampled_from(["ascending", "descending"])),
    min_size=1,
    max_size=5,
    unique_by=lambda key: key[0],
)


def reference_order(table: pa.Table, keys: list[tuple[str, str]]) -> list[int]:
    plain = {
        name: table.column(name).cast(pa.string()) if name == "d" else table.column(name)
        for name, _ in keys
    }
    order = pc.sort_indices(pa.table(plain), sort_keys=keys)
    return table.column("row").take(order).to_pylist()


@settings(max_examples=300, deadline=None)
@given(tables(), sort_keys)
def test_sort_table_matches_arrows_stable_sort(
    table: pa.Table, keys: list[tuple[str, str]]
) -> None:
    assert sort_table(table, keys).column("row").to_pylist() == reference_order(table, keys)


@settings(max_examples=300, deadline=None)
@given(tables(), sort_keys, st.lists(st.sampled_from(sorted(COLUMNS)), min_size=1, unique=True))
def test_rows_are_distinct_is_never_wrong(
    table: pa.Table, keys: list[tuple[str, str]], dedupe: list[str]
) -> None:
    ordered = sort_table(table, keys)
    if rows_are_distinct(ordered, dedupe, keys):
        deduped = keep_first(ordered, dedupe, [("row", "ascending")])
        assert deduped.num_rows == table.num_rows


def test_distinct_rows_are_recognized_without_a_group_by() -> None:
    table = pa.table({"k": ["a", "b", "c"], "v": [1, 1, 1]})
    assert rows_are_distinct(table, ["k", "v"], ["k"])  # the adjacent check
    assert rows_are_distinct(table, ["v", "k"], ["v"])  # a key column without repeats
    assert not rows_are_distinct(pa.table({"k": ["a", "a"]}), ["k"], ["k"])
