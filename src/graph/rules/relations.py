"""Relation rows an extractor appended (``FileFacts.relations``) -> Arrow tables in the schemas
the relation contracts declare, checked: a build shapes them per batch in the workers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pyarrow as pa


class RelationRowsError(ValueError):
    """Rows that break their relation's contract (an extractor bug): names relation and column."""


def relation_tables(
    rows: Mapping[str, Sequence[Mapping[str, object]]], schemas: Mapping[str, pa.Schema]
) -> dict[str, pa.Table]:
    """One table per relation with rows; every relation of ``rows`` must be one of ``schemas``
    (the relations this build has), every column declared, every non-null column filled."""
    tables = {}
    for name, batch in rows.items():
        schema = schemas.get(name)
        if schema is None:
            known = ", ".join(sorted(schemas)) or "none"
            msg = (
                f"relation {name!r} has rows but is no implemented relation of the registry "
                f"(implemented: {known})"
            )
            raise RelationRowsError(msg)
        unknown = set().union(*(row.keys() for row in batch)) - set(schema.names)
        if unknown:
            msg = f"relation {name!r}: undeclared column(s) {', '.join(sorted(unknown))}"
            raise RelationRowsError(msg)
        try:
            table = pa.Table.from_pylist(list(batch), schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError) as exc:
            msg = f"relation {name!r}: a value does not fit its column: {exc}"
            raise RelationRowsError(msg) from None
        for field in schema:
            if not field.nullable and table.column(field.name).null_count:
                msg = f"relation {name!r}: column {field.name!r} is declared not null, has nulls"
                raise RelationRowsError(msg)
        tables[name] = table
    return tables
