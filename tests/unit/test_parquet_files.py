"""Data files written with pyarrow and committed with deltalake's transaction API: Delta reads
them back, skips them by their statistics, and a commit that removes files replaces rows in one
version."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from storage.deltalake.delta import (
    commit_data_files,
    data_files,
    open_table,
    read_raw_delta,
    vacuum_table,
)
from storage.parquet_files import STATS_PREFIX, write_data_file

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("n", pa.int64()),
        pa.field("score", pa.float32()),
        pa.field("flag", pa.bool_()),
    ]
)


def _table(ids: list[str], numbers: list[int | None], scores: list[float]) -> pa.Table:
    flags = [n is not None for n in numbers]
    return pa.table([ids, numbers, scores, flags], schema=SCHEMA)


def test_statistics_are_bounds_delta_uses_to_skip_files(tmp_path: Path) -> None:
    low = write_data_file(tmp_path, "low.parquet", SCHEMA, [_table(["a", "b"], [1, None], [0.5, 1])])
    long_id = "z" * (STATS_PREFIX + 10)
    high = write_data_file(
        tmp_path, "high.parquet", SCHEMA, [_table(["m", long_id], [10, 20], [math.nan, 2.0])]
    )
    assert low is not None and high is not None
    stats = json.loads(high.stats)
    assert stats["numRecords"] == 2
    assert stats["minValues"]["id"] == "m" and "id" not in stats["maxValues"]  # cut: no bound
    assert (stats["minValues"]["n"], stats["maxValues"]["n"]) == (10, 20)
    assert "score" not in stats["minValues"]  # a NaN orders nowhere
    assert json.loads(low.stats)["nullCount"]["n"] == 1
    commit_data_files(tmp_path, SCHEMA, [low, high])
    dataset = open_table(tmp_path).to_pyarrow_dataset()
    picked = [Path(f.path).name for f in dataset.get_fragments(filter=pc.field("n") > 5)]
    assert picked == ["high.parquet"]
    assert read_raw_delta(tmp_path).num_rows == 4


def test_one_commit_removes_and_adds_files_and_vacuum_deletes_the_rest(tmp_path: Path) -> None:
    first = write_data_file(tmp_path, "one.parquet", SCHEMA, [_table(["a"], [1], [1.0])])
    second = write_data_file(tmp_path, "two.parquet", SCHEMA, [_table(["b"], [2], [2.0])])
    assert first is not None and second is not None
    assert commit_data_files(tmp_path, SCHEMA, [first, second]) == 0
    third = write_data_file(tmp_path, "three.parquet", SCHEMA, [_table(["c"], [3], [3.0])])
    assert third is not None
    (tmp_path / "orphan.parquet").write_bytes(b"never committed")
    version = commit_data_files(tmp_path, SCHEMA, [third], {"one.parquet": first.size})
    assert version == 1
    assert sorted(read_raw_delta(tmp_path).column("id").to_pylist()) == ["b", "c"]
    assert set(data_files(tmp_path)) == {"two.parquet", "three.parquet"}
    assert vacuum_table(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.glob("*.parquet")) == ["three.parquet", "two.parquet"]


def test_an_empty_stream_writes_no_file_and_a_write_error_names_its_file(tmp_path: Path) -> None:
    assert write_data_file(tmp_path, "none.parquet", SCHEMA, [SCHEMA.empty_table()]) is None
    assert not (tmp_path / "none.parquet").exists()
    wrong = pa.table({"id": ["a"]})
    with pytest.raises((ValueError, pa.ArrowInvalid)):
        write_data_file(tmp_path, "bad.parquet", SCHEMA, [wrong])
    assert not (tmp_path / "bad.parquet").exists()
