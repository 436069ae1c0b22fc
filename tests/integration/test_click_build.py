"""The issue's target repository: click 8.1.7 (pinned in the ``test`` extra), built from its
``site-packages`` folder with ``python -m graph build`` in a subprocess, as a user would, with
every static layer (SCIP included). Built once for the module's tests."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import subprocess
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable, QueryBuilder

from cpg.datasets import DatasetRole
from cpg.registry_specs import dataset_for_role
from tests.integration.readme_queries import readme_query
from tests.integration.test_graph_build import ROOT, run_cli
from tests.integration.test_source_roots_build import modules, packages

CLICK_VERSION = "8.1.7"


def click_folder() -> Path:
    version = importlib.metadata.version("click")
    assert version == CLICK_VERSION, f"click {version} installed; the test extra pins 8.1.7"
    spec = importlib.util.find_spec("click")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.fixture(scope="module")
def click_build(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("click") / "out"
    result = run_cli("build", click_folder(), "--out", out, "--strict", "--workers", "2")
    assert result.returncode == 0, result.stderr
    return out, result


def test_click_builds_clean_with_click_module_names(
    click_build: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, result = click_build
    folder = click_folder()
    assert "0 contract violations" in result.stdout
    assert re.search(r"^scip: scip-python 0\.6\.6 indexed 16 files in ", result.stdout, re.M)
    assert pl.read_delta(str(out / "cpg_build_violations")).height == 0
    names = modules(out)
    assert len(names) == len(list(folder.glob("*.py"))) == 16
    assert names["__init__.py"] == "click"
    assert all(fqn == "click" or fqn.startswith("click.") for fqn in names.values())
    assert names["core.py"] == "click.core"
    assert packages(out) == {"": "click"}
    nodes = pl.read_delta(str(out / "cpg_nodes_v1"))
    kinds = set(nodes["node_kind"])
    assert {"TS_NODE", "AST_CALL", "BC_INSTR", "SCIP_OCCURRENCE", "TYPE"} <= kinds
    assert "DIAG" not in kinds and "TS_ERROR" not in kinds  # click parses cleanly


def _frames(out: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    nodes = pl.read_delta(str(out / "cpg_nodes_v1")).with_columns(pl.col("node_kind").cast(pl.Utf8))
    edges = pl.read_delta(str(out / "cpg_edges_v1")).with_columns(pl.col("edge_kind").cast(pl.Utf8))
    props = pl.read_delta(str(out / "cpg_props_v1")).with_columns(pl.col("prop_key").cast(pl.Utf8))
    return nodes, edges, props


def test_scip_occurrences_at_cst_names_give_exactly_one_edge(
    click_build: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The oracle is scip-python's own occurrences: each one whose span is a CST name's gives
    exactly one PY_DEFINES_SYMBOL (Definition bit) or PY_REFERENCES_SYMBOL edge from that name
    to its symbol, but for unresolved names (``local N`` its document never defines: none);
    each one that overlaps names inside an import alias gives the alias's PY_IMPORTS_SYMBOL;
    the others overlapping names are the module paths of ``from M import`` statements."""
    nodes, edges, props = _frames(click_build[0])
    symbol = props.filter(pl.col("prop_key") == "symbol").select(
        pl.col("entity_id").alias("node_id"), pl.col("value_str").alias("symbol")
    )
    roles = props.filter(pl.col("prop_key") == "symbol_roles").select(
        pl.col("entity_id").alias("node_id"), pl.col("value_int").alias("roles")
    )
    occurrences = (
        nodes.filter(pl.col("node_kind") == "SCIP_OCCURRENCE")
        .select("node_id", "path", "bstart", "bend")
        .join(symbol, on="node_id")
        .join(roles, on="node_id")
        .rename({"node_id": "occ_id"})
    )
    names = nodes.filter(pl.col("node_kind") == "CST_NAME_REF").select(
        pl.col("node_id").alias("name_id"),
        "path",
        pl.col("bstart").alias("nb"),
        pl.col("bend").alias("ne"),
    )
    pairs = occurrences.join(names, on="path").filter(
        (pl.col("bstart") < pl.col("ne")) & (pl.col("nb") < pl.col("bend"))
    )
    exact = pairs.filter((pl.col("bstart") == pl.col("nb")) & (pl.col("bend") == pl.col("ne")))
    symbol_edges = edges.filter(
        pl.col("edge_kind").is_in(["PY_DEFINES_SYMBOL", "PY_REFERENCES_SYMBOL"])
    ).select(
        pl.col("src_node_id").alias("name_id"), pl.col("dst_node_id").alias("node_id"), "edge_kind"
    )
    per_occurrence = (
        exact.join(
            symbol_edges.join(symbol.rename({"symbol": "target"}), on="node_id"),
            on="name_id",
            how="left",
        )
        .group_by("occ_id", "symbol", "roles")
        .agg(
            (pl.col("target") == pl.col("symbol")).sum().alias("edges"),
            pl.col("edge_kind").filter(pl.col("target") == pl.col("symbol")).first().alias("kind"),
        )
    )
    unresolved = pl.col("symbol").str.starts_with("local ")
    assert exact.select("occ_id").n_unique() == per_occurrence.height == 14_758
    resolved = per_occurrence.filter(~unresolved | (pl.col("edges") > 0))
    assert resolved["edges"].to_list() == [1] * resolved.height == [1] * 13_177
    wrong = resolved.filter(
        pl.when(pl.col("roles") % 2 == 1)
        .then(pl.col("kind") != "PY_DEFINES_SYMBOL")
        .otherwise(pl.col("kind") != "PY_REFERENCES_SYMBOL")
    )
    assert wrong.height == 0
    assert per_occurrence.filter(unresolved & (pl.col("edges") == 0)).height == 1_581
    rest = (
        pairs.join(exact.select("occ_id").unique(), on="occ_id", how="anti")
        .select("occ_id", "path", "bstart", "bend", "symbol")
        .unique()
    )
    aliases = nodes.filter(pl.col("node_kind") == "CST_IMPORT_ALIAS").select(
        pl.col("node_id").alias("alias_id"),
        "path",
        pl.col("bstart").alias("ab"),
        pl.col("bend").alias("ae"),
    )
    in_alias = rest.join(aliases, on="path").filter(
        (pl.col("bstart") >= pl.col("ab")) & (pl.col("bend") <= pl.col("ae"))
    )
    imports = (
        edges.filter(pl.col("edge_kind") == "PY_IMPORTS_SYMBOL")
        .select(pl.col("src_node_id").alias("alias_id"), pl.col("dst_node_id").alias("node_id"))
        .join(symbol.rename({"symbol": "target"}), on="node_id")
    )
    imported = in_alias.join(imports, on="alias_id").filter(pl.col("target") == pl.col("symbol"))
    assert in_alias["occ_id"].n_unique() == imported["occ_id"].n_unique() == 79
    froms = nodes.filter(pl.col("node_kind") == "CST_IMPORT_FROM").select(
        "path", pl.col("bstart").alias("fb"), pl.col("bend").alias("fe")
    )
    others = rest.join(in_alias.select("occ_id"), on="occ_id", how="anti")
    in_from = others.join(froms, on="path").filter(
        (pl.col("bstart") >= pl.col("fb")) & (pl.col("bend") <= pl.col("fe"))
    )
    assert others.height == in_from["occ_id"].n_unique() == 190


def readme_sql(title: str) -> str:
    """The SQL block that follows ``title`` in the README (the query shown is the query run)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(re.escape(title) + r".*?```sql\n(.*?)```", text, re.S)
    assert found is not None, f"README: no sql block after {title!r}"
    return found.group(1)


def run_query(out: Path, sql: str) -> pa.Table:
    """``sql`` over a build's datasets, registered under their role names (nodes, edges,
    props), with the query engine deltalake ships (DataFusion)."""
    builder = QueryBuilder()
    for role in (DatasetRole.NODES, DatasetRole.EDGES, DatasetRole.PROPS):
        builder.register(role.value, DeltaTable(str(out / dataset_for_role(role).name)))
    return pa.table(builder.execute(sql))


def test_what_command_main_calls_is_one_query(
    click_build: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    rows = run_query(
        click_build[0], readme_sql("Which functions does `click.core.Command.main` call")
    )
    # a symbol is "scheme manager package version descriptors": keep the descriptors (a
    # qualified name, from the fallback, has no spaces)
    callees = [symbol.split(" ", 4)[-1] for symbol in rows.column("callee").to_pylist()]
    # read off BaseCommand.main in click/core.py (Command inherits it): every call; sys.exit
    # and _(...) (gettext's alias), which scip-python 0.6.6 leaves unresolved, by qualified name
    assert callees == [
        "gettext.gettext",
        "`click.core`/BaseCommand#_main_shell_completion().",
        "`click.core`/BaseCommand#invoke().",
        "`click.core`/BaseCommand#make_context().",
        "`click.core`/Context#exit().",
        "`click.exceptions`/Abort#",
        "`click.exceptions`/ClickException#show().",
        "`click.utils`/PacifyFlushWrapper#",
        "`click.utils`/_detect_program_name().",
        "`click.utils`/_expand_args().",
        "`click.utils`/echo().",
        "builtins/list#",
        "typing/cast().",
        "sys.exit",
    ]


def test_which_definitions_reach_a_use_is_one_query(
    click_build: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The README's data-flow query: the rv of `return rv` in Command.main is the one stored
    just before it."""
    reaching = readme_query("which definitions reach this use")["reaching_definitions"]
    assert callable(reaching)
    source = (click_folder() / "core.py").read_bytes()
    main = source.index(b"    def main(")
    use = source.index(b"return rv", main) + len(b"return ")
    store = source.index(b"rv = self.invoke(ctx)", main)
    found = reaching(click_build[0], "core.py", use)
    assert found.select("name", "def_kind", "bstart", "bend").rows() == [
        ("rv", "store", store, store + 2)
    ]


def test_every_call_scip_leaves_unresolved_has_one_qname_edge(
    click_build: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    """The fallback's contract: a call site with a qualified-name candidate and no
    PY_CALLS_SYMBOL edge has exactly one PY_CALLS_QNAME edge; one with a symbol edge has none."""
    nodes, edges, _ = _frames(click_build[0])
    calls = nodes.filter(pl.col("node_kind") == "CST_CALLSITE").select("node_id")

    def sources(kind: str) -> pl.DataFrame:
        return (
            edges.filter(pl.col("edge_kind") == kind)
            .group_by(pl.col("src_node_id").alias("node_id"))
            .agg(pl.len().alias(kind))
        )

    counts = calls
    for kind in ("CALLSITE_CANDIDATE_QNAME", "PY_CALLS_SYMBOL", "PY_CALLS_QNAME"):
        counts = counts.join(sources(kind), on="node_id", how="left")
    counts = counts.fill_null(0)
    unresolved = counts.filter(
        (pl.col("CALLSITE_CANDIDATE_QNAME") > 0) & (pl.col("PY_CALLS_SYMBOL") == 0)
    )
    assert (calls.height, unresolved.height) == (1757, 242)
    assert unresolved["PY_CALLS_QNAME"].to_list() == [1] * 242
    assert counts.filter(pl.col("PY_CALLS_SYMBOL") > 0)["PY_CALLS_QNAME"].sum() == 0
    assert counts["PY_CALLS_QNAME"].sum() == 242
