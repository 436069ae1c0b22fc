"""The issue's target repository: click 8.1.7 (pinned in the ``test`` extra), built from its
``site-packages`` folder with ``python -m graph build`` in a subprocess, as a user would."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

import polars as pl

from tests.integration.readme_queries import readme_query
from tests.integration.test_graph_build import run_cli
from tests.integration.test_source_roots_build import modules, packages

CLICK_VERSION = "8.1.7"


def click_folder() -> Path:
    version = importlib.metadata.version("click")
    assert version == CLICK_VERSION, f"click {version} installed; the test extra pins 8.1.7"
    spec = importlib.util.find_spec("click")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def test_click_builds_clean_with_click_module_names(tmp_path: Path) -> None:
    folder = click_folder()
    out = tmp_path / "out"
    result = run_cli("build", folder, "--out", out, "--strict", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "0 contract violations" in result.stdout
    assert pl.read_delta(str(out / "cpg_build_violations")).height == 0
    names = modules(out)
    assert len(names) == len(list(folder.glob("*.py"))) == 16
    assert names["__init__.py"] == "click"
    assert all(fqn == "click" or fqn.startswith("click.") for fqn in names.values())
    assert names["core.py"] == "click.core"
    assert packages(out) == {"": "click"}
    nodes = pl.read_delta(str(out / "cpg_nodes_v1"))
    kinds = set(nodes["node_kind"])
    assert {"TS_NODE", "AST_CALL", "BC_INSTR"} <= kinds
    assert "DIAG" not in kinds and "TS_ERROR" not in kinds  # click parses cleanly
    # the README's data-flow query: the rv of `return rv` in Command.main is the one stored
    # just before it
    reaching = readme_query("which definitions reach this use")["reaching_definitions"]
    assert callable(reaching)
    source = (folder / "core.py").read_bytes()
    main = source.index(b"    def main(")
    use = source.index(b"return rv", main) + len(b"return ")
    store = source.index(b"rv = self.invoke(ctx)", main)
    found = reaching(out, "core.py", use)
    assert found.select("name", "def_kind", "bstart", "bend").rows() == [
        ("rv", "store", store, store + 2)
    ]
