"""Props pivoted into typed columns, once per chunk of rows, in Arrow.

The props datasets hold one row per (entity, key) with the value in the lane of its type. A
kind's contract says which props its entities carry, with type, required-ness and enum; the
pivot turns the prop rows of a chunk of entities into one column per prop, aligned with the
entities by id (``index_in`` + ``take``): required props non-null, enum props as dictionary
columns whose dictionary is the enum's values in order, optional props nullable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class PropColumn:
    """One prop of a kind as a column: key, type, where it is stored, contract constraints."""

    name: str
    type: str
    table: str
    """The props dataset that stores it (the lane of its type)."""
    lane: str
    """The ``value_*`` column of that dataset."""
    lane_type: pa.DataType
    required: bool
    enum: str | None = None
    enum_values: tuple[str, ...] | None = None

    @property
    def field(self) -> pa.Field:
        """The column's Arrow field: the lane's type, or a dictionary of the enum's values."""
        metadata = {"cpg_prop_type": self.type}
        arrow_type = self.lane_type
        if self.enum_values is not None:
            arrow_type = pa.dictionary(pa.int32(), pa.string())
            metadata["cpg_enum"] = self.enum or ""
        return pa.field(self.name, arrow_type, nullable=not self.required, metadata=metadata)


class ContractViolationError(ValueError):
    """Rows of a build break their kind's contract (the build wrote them and recorded each in
    ``cpg_build_violations``); a typed view cannot hold them."""


@dataclass(frozen=True)
class Violations:
    """Rows of a chunk that break the contract, and the first reason found."""

    rows: pa.Array
    """A boolean mask over the chunk."""
    reason: str


def _aligned(ids: pa.Array, props: pa.Table, column: PropColumn) -> pa.Array:
    """The values of prop ``column`` for each id, in the order of ``ids`` (null where none)."""
    if not props.num_rows:
        return pa.nulls(len(ids), column.lane_type)
    rows = props.filter(pc.equal(props.column("prop_key"), column.name))
    if not rows.num_rows:
        return pa.nulls(len(ids), column.lane_type)
    positions = pc.index_in(ids, value_set=rows.column("entity_id").combine_chunks())
    values = rows.column(column.lane).combine_chunks().take(positions)
    return values.cast(column.lane_type)


def _encoded(values: pa.Array, column: PropColumn) -> tuple[pa.Array, pa.Array | None]:
    """``values`` as a dictionary array over the enum's values, and the mask of values outside
    the enum (None when there are none)."""
    assert column.enum_values is not None
    dictionary = pa.array(column.enum_values, pa.string())
    codes = pc.index_in(values, value_set=dictionary)
    outside = pc.and_(pc.is_valid(values), pc.is_null(codes))
    encoded = pa.DictionaryArray.from_arrays(codes.cast(pa.int32()), dictionary)
    return encoded, outside if pc.any(outside).as_py() else None


def pivot(
    ids: pa.Array,
    props: Mapping[str, pa.Table],
    columns: Sequence[PropColumn],
    kind: str,
) -> tuple[list[pa.Array], Violations | None]:
    """One array per prop column for the entities ``ids``, from ``props`` (the prop rows of those
    entities by props dataset: ``entity_id``, ``prop_key`` and the lanes), plus the rows that
    break the contract (a required prop missing, an enum value outside its enum)."""
    arrays = []
    bad: pa.Array | None = None
    reason = ""
    for column in columns:
        values = _aligned(ids, props.get(column.table, _EMPTY), column)
        broken = None
        if column.required and values.null_count:
            broken = pc.is_null(values)
            what = f"required prop {column.name!r} is missing"
        if column.enum_values is not None:
            values, outside = _encoded(values, column)
            if outside is not None:
                broken = outside if broken is None else pc.or_(broken, outside)
                what = f"prop {column.name!r} has a value outside enum {column.enum!r}"
        if broken is not None:
            if bad is None:
                first = ids[pc.index(broken, True).as_py()]
                reason = f"{kind} {first}: {what}"
            bad = broken if bad is None else pc.or_(bad, broken)
        arrays.append(values)
    return arrays, None if bad is None else Violations(bad, reason)


_EMPTY = pa.table({"entity_id": pa.array([], pa.string()), "prop_key": pa.array([], pa.string())})
