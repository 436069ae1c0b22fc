"""Module names in a real build: ``python -m graph build`` (subprocess) on a package folder, a
``pyproject.toml`` layout and ``--source-root``; an unusable root is exit 2 with one line."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from tests.integration.test_graph_build import make_repo, run_cli, tree_snapshot


def modules(out: Path) -> dict[str, str]:
    """path -> module_fqn of every PY_MODULE of a build."""
    nodes = pl.read_delta(str(out / "cpg_nodes_v1")).filter(pl.col("node_kind") == "PY_MODULE")
    props = pl.read_delta(str(out / "cpg_props_v1")).filter(pl.col("prop_key") == "module_fqn")
    joined = nodes.join(props, left_on="node_id", right_on="entity_id")
    return dict(zip(joined["path"], joined["value_str"], strict=True))


def packages(out: Path) -> dict[str, str]:
    """package directory (the ``path`` prop) -> package_fqn of every PY_PACKAGE of a build."""
    props = pl.read_delta(str(out / "cpg_props_v1"))
    nodes = pl.read_delta(str(out / "cpg_nodes_v1")).filter(pl.col("node_kind") == "PY_PACKAGE")

    def prop(key: str) -> pl.DataFrame:
        rows = props.filter(pl.col("prop_key") == key)
        return rows.select(pl.col("entity_id").alias("node_id"), pl.col("value_str").alias(key))

    joined = nodes.join(prop("path"), on="node_id", suffix="_prop").join(
        prop("package_fqn"), on="node_id"
    )
    return dict(zip(joined["path_prop"], joined["package_fqn"], strict=True))


PACKAGE_FOLDER = {
    "__init__.py": "from .utils import f\n",
    "utils.py": "def f():\n    return 1\n",
    "ext/__init__.py": "",
    "ext/i18n.py": "from ..utils import f\n",
}


def test_a_package_folder_builds_with_its_package_name(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "site-packages", PACKAGE_FOLDER, name="jinja2")
    result = run_cli("build", repo, "--out", tmp_path / "out", "--strict")
    assert result.returncode == 0, result.stderr
    assert "modules named from . (as jinja2)" in result.stdout
    assert modules(tmp_path / "out") == {
        "__init__.py": "jinja2",
        "utils.py": "jinja2.utils",
        "ext/__init__.py": "jinja2.ext",
        "ext/i18n.py": "jinja2.ext.i18n",
    }
    assert packages(tmp_path / "out") == {"": "jinja2", "ext": "jinja2.ext"}


def test_pyproject_layout_and_source_root_option(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[tool.setuptools]\npackage-dir = {"" = "lib"}\n',
        "lib/app/__init__.py": "",
        "lib/app/core.py": "",
        "tools/run.py": "",
    }
    repo = make_repo(tmp_path, files)
    detected = run_cli("build", repo, "--out", tmp_path / "detected", "-q")
    assert detected.returncode == 0, detected.stderr
    assert modules(tmp_path / "detected") == {
        "lib/app/__init__.py": "app",
        "lib/app/core.py": "app.core",
        "tools/run.py": "tools.run",  # outside every root: named from the repository
    }
    given = run_cli("build", repo, "--out", tmp_path / "given", "--source-root", "tools")
    assert given.returncode == 0, given.stderr
    assert "modules named from tools" in given.stdout
    assert modules(tmp_path / "given") == {
        "lib/app/__init__.py": "lib.app",
        "lib/app/core.py": "lib.app.core",
        "tools/run.py": "run",
    }


def test_an_unusable_source_root_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"m.py": ""})
    out = tmp_path / "out"
    result = run_cli("build", repo, "--out", out, "--source-root", "nowhere")
    assert result.returncode == 2
    assert result.stderr.startswith("error: source root nowhere")
    assert len(result.stderr.strip().splitlines()) == 1
    assert tree_snapshot(out) == set()
