"""The README's query "which definitions reach this use", run as written on a built repository."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from graph.product_build import build_graph_product
from tests.integration.readme_queries import readme_query

SOURCE = b"""\
def pick(flag, items):
    total = 0
    for item in items:
        if flag:
            total = total + item
        else:
            del total
            total = item
    return total, [item * 2 for item in items]
"""

Query = Callable[[Path, str, int], pl.DataFrame]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("reaching")
    repo = base / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_bytes(b"")
    (repo / "pkg" / "flow.py").write_bytes(SOURCE)
    build_graph_product(repo, base / "out", workers=0)
    return base / "out"


def _query() -> Query:
    found = readme_query("which definitions reach this use")["reaching_definitions"]
    assert callable(found)
    return found  # type: ignore[return-value]


def _at(text: bytes, nth: int = 0) -> int:
    """Byte offset of the ``nth`` occurrence of ``text`` in SOURCE."""
    offset = -1
    for _ in range(nth + 1):
        offset = SOURCE.index(text, offset + 1)
    return offset


def _lines(found: pl.DataFrame) -> list[tuple[str, str, int | None]]:
    return [
        (name, kind, None if start is None else SOURCE[:start].count(b"\n") + 1)
        for name, kind, start in found.select("name", "def_kind", "bstart").iter_rows()
    ]


def test_a_use_reached_by_several_definitions(built: Path) -> None:
    found = _query()(built, "pkg/flow.py", _at(b"total, [") + 2)  # inside `total`
    # total = 0, total = total + item and total = item; the del is killed by line 8
    assert _lines(found) == [("total", "store", 2), ("total", "store", 5), ("total", "store", 8)]
    assert found["confidence"].to_list() == pytest.approx([0.95] * 3)


def test_a_parameter_has_no_span(built: Path) -> None:
    found = _query()(built, "pkg/flow.py", _at(b"if flag") + 3)
    assert _lines(found) == [("flag", "param", None)]


def test_the_innermost_use_wins_inside_a_comprehension(built: Path) -> None:
    # the comprehension's own `item` (its loop variable), not the iterator .0 around it
    found = _query()(built, "pkg/flow.py", _at(b"item * 2"))
    assert _lines(found) == [("item", "store", 9)]


def test_no_use_at_the_offset_gives_no_rows(built: Path) -> None:
    assert _query()(built, "pkg/flow.py", _at(b"def pick")).height == 0
