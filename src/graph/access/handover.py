"""Hand a scan over to polars or DuckDB (optional imports: install them to use these).

Both take the scan's Arrow batches through the Arrow C stream interface: no Python objects per
row and no serialisation. polars keeps numeric buffers as they are and converts strings to its
own string layout; DuckDB scans the batches in place.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import duckdb
    import polars as pl

    from graph.access.scan import Scan


def _missing(package: str, error: ImportError) -> ImportError:
    return ImportError(f"{package} is not installed: pip install {package} ({error})")


def polars_frame(scan: Scan[Any]) -> pl.LazyFrame:
    """A ``LazyFrame`` whose source is ``scan``: polars' projection is pushed into the scan
    (``Scan.select``) and its predicate applied to each batch as it arrives."""
    try:
        import polars as pl
        from polars.io.plugins import register_io_source
    except ImportError as exc:
        raise _missing("polars", exc) from None

    schema = pl.from_arrow(scan.schema.empty_table()).schema  # type: ignore[union-attr]

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        chosen = scan if with_columns is None else scan.select(with_columns)
        left = n_rows
        for batch in chosen.to_batches():
            frame = pl.from_arrow(pa.Table.from_batches([batch]))
            assert isinstance(frame, pl.DataFrame)
            if predicate is not None:
                frame = frame.filter(predicate)
            if left is not None:
                frame = frame.head(left)
                left -= frame.height
            yield frame
            if left is not None and left <= 0:
                return

    return register_io_source(source, schema=schema, explain_name="cpg scan")


def duckdb_relation(
    scan: Scan[Any], connection: duckdb.DuckDBPyConnection | None
) -> duckdb.DuckDBPyRelation:
    """A relation over ``scan``; DuckDB asks the scan for a fresh stream each time it runs."""
    try:
        import duckdb
    except ImportError as exc:
        raise _missing("duckdb", exc) from None
    return (connection or duckdb.default_connection()).from_arrow(scan)
