"""The qualified-name fallback in real builds: a call SCIP resolves nothing for gets one
PY_CALLS_QNAME edge, whether or not the repository defines the name it calls; a build without
SCIP gives one to every call site with a qualified name."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from graph.product_build import build_graph_product
from graph.repo_layers import RepoLayerOptions

FIXTURE = Path(__file__).parent.parent / "fixtures" / "fallback_pkg"
M, H = "fallback_pkg/main.py", "fallback_pkg/helpers.py"

Call = tuple[str, int, str]
"""``(path, line, callee text)`` of a call."""
Edge = tuple[str, str, str | None]
"""``(edge kind, qualified name, path of the name's node)``; a symbol edge names no qname."""

# Written down by hand from the fixture. scip-python 0.6.6 resolves nothing in the branch pyright
# finds unreachable (``sys.version_info < (3,)``); the fallback reaches the node of the file that
# defines the name (helpers.py), or the call's own file's for a name the repository does not
# define (``sys.exit``).
WITH_SCIP: dict[Call, list[Edge]] = {
    (M, 8, "helper"): [("PY_CALLS_QNAME", "fallback_pkg.helpers.helper", H)],
    (M, 9, "sys.exit"): [("PY_CALLS_QNAME", "sys.exit", M)],
    (M, 10, "newline"): [("PY_CALLS_SYMBOL", "", None)],
    (M, 10, "helper"): [("PY_CALLS_SYMBOL", "", None)],
}
WITHOUT_SCIP: dict[Call, list[Edge]] = {
    (M, 8, "helper"): [("PY_CALLS_QNAME", "fallback_pkg.helpers.helper", H)],
    (M, 9, "sys.exit"): [("PY_CALLS_QNAME", "sys.exit", M)],
    # newline is defined in both branches of an if: one name, not two rivals
    (M, 10, "newline"): [("PY_CALLS_QNAME", "fallback_pkg.helpers.newline", H)],
    (M, 10, "helper"): [("PY_CALLS_QNAME", "fallback_pkg.helpers.helper", H)],
}


def _read(out: Path, name: str, cast: str) -> pl.DataFrame:
    return pl.read_delta(str(out / name)).with_columns(pl.col(cast).cast(pl.Utf8))


def _call_edges(out: Path) -> tuple[dict[Call, list[Edge]], pl.DataFrame]:
    """Each call site -> its PY_CALLS_SYMBOL/PY_CALLS_QNAME edges; and the PY_CALLS_QNAME rows."""
    nodes = _read(out, "cpg_nodes_v1", "node_kind")
    edges = _read(out, "cpg_edges_v1", "edge_kind")
    props = _read(out, "cpg_props_v1", "prop_key")

    def prop(key: str) -> pl.DataFrame:
        return props.filter(pl.col("prop_key") == key).select(
            pl.col("entity_id").alias("node_id"), pl.col("value_str").alias(key)
        )

    calls = nodes.filter(pl.col("node_kind") == "CST_CALLSITE").join(
        prop("callee_text"), on="node_id"
    )
    targets = nodes.select(pl.col("node_id").alias("dst_node_id"), pl.col("path").alias("dst_path"))
    qnames = prop("qname").rename({"node_id": "dst_node_id"})
    found = (
        edges.filter(pl.col("edge_kind").is_in(["PY_CALLS_SYMBOL", "PY_CALLS_QNAME"]))
        .join(targets, on="dst_node_id", how="left")
        .join(qnames, on="dst_node_id", how="left")
    )
    by_call: dict[Call, list[Edge]] = {}
    rows = calls.join(found.rename({"src_node_id": "node_id"}), on="node_id", how="left")
    for row in rows.sort("edge_kind", nulls_last=True).iter_rows(named=True):
        data = (FIXTURE / row["path"]).read_bytes()
        call = (row["path"], data.count(b"\n", 0, row["bstart"]) + 1, row["callee_text"])
        listed = by_call.setdefault(call, [])
        if row["edge_kind"] == "PY_CALLS_QNAME":
            listed.append((row["edge_kind"], row["qname"], row["dst_path"]))
        elif row["edge_kind"] is not None:
            listed.append((row["edge_kind"], "", None))
    return by_call, found.filter(pl.col("edge_kind") == "PY_CALLS_QNAME")


@pytest.mark.parametrize(("scip", "expected"), [(True, WITH_SCIP), (False, WITHOUT_SCIP)])
def test_each_call_scip_leaves_unresolved_gets_one_qname_edge(
    tmp_path: Path, scip: bool, expected: dict[Call, list[Edge]]
) -> None:
    out = tmp_path / "out"
    result = build_graph_product(FIXTURE, out, workers=1, layers=RepoLayerOptions(scip=scip))
    assert result.violations == 0
    by_call, fallback = _call_edges(out)
    assert by_call == expected
    # one candidate each, so no rival: the policy's base confidence, and nothing lost
    assert fallback["confidence"].to_list() == pytest.approx([0.4] * fallback.height)
    assert set(fallback["rule_name"]) == {"qname_fallback_calls"}
    assert pl.read_delta(str(out / "cpg_rule_losers")).height == 0
