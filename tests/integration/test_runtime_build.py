"""The runtime layer (``--runtime``) in real builds: it imports the repository's modules in a
separate process, in a scratch directory, without network where ``unshare`` allows it; a module
that raises, hangs or kills its process costs only itself; without the flag nothing is imported."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from graph.extract.runtime_inspect import RuntimeLimits, network_isolation
from graph.product_build import build_graph_product
from graph.repo_layers import RepoLayerOptions

_PKG = {
    "pkg/__init__.py": "",
    "pkg/shapes.py": """\
import functools
from pathlib import Path

Path(__file__).with_name("imported.flag").write_text("the module ran")
open("written-by-import.txt", "w").close()  # lands in the probe's working directory


def traced(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    return wrapper


class Square:
    sides = 4

    def __init__(self, side: float = 1.0) -> None:
        self.side = side

    @traced
    def area(self) -> float:
        return self.side**2

    @staticmethod
    def unit() -> "Square":
        return Square()
""",
    "pkg/raises.py": "raise RuntimeError('no import for you')\n",
    "pkg/hangs.py": "while True:\n    pass\n",
    "pkg/exits.py": "import os\nos._exit(3)\n",
    "pkg/zlast.py": "def after_the_crash(x, *rest, key=None):\n    return x\n",
    "pkg/__main__.py": "raise SystemExit('a program, never imported')\n",
}


def _repo(tmp_path: Path, extra: dict[str, str] | None = None) -> Path:
    repo = tmp_path / "repo"
    for relpath, text in {**_PKG, **(extra or {})}.items():
        (repo / relpath).parent.mkdir(parents=True, exist_ok=True)
        (repo / relpath).write_text(text, encoding="utf-8")
    return repo


def _tables(out: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    nodes = pl.read_delta(str(out / "cpg_nodes_v1")).with_columns(pl.col("node_kind").cast(pl.Utf8))
    edges = pl.read_delta(str(out / "cpg_edges_v1")).with_columns(pl.col("edge_kind").cast(pl.Utf8))
    props = pl.read_delta(str(out / "cpg_props_v1")).with_columns(pl.col("prop_key").cast(pl.Utf8))
    return nodes, edges, props


def _by_id(props: pl.DataFrame, node_ids: pl.Series, *keys: str) -> dict[str, dict[str, object]]:
    """Node id -> the values of ``keys`` it has."""
    wide: dict[str, dict[str, object]] = {node_id: {} for node_id in node_ids}
    for row in props.filter(pl.col("entity_id").is_in(node_ids.to_list())).iter_rows(named=True):
        if row["prop_key"] in keys:
            value = next(row[c] for c in ("value_str", "value_int") if row[c] is not None)
            wide[row["entity_id"]][row["prop_key"]] = value
    return wide


def _props(props: pl.DataFrame, node_ids: pl.Series, *keys: str) -> list[dict[str, object]]:
    return list(_by_id(props, node_ids, *keys).values())


@pytest.fixture(scope="module")
def loopback_port() -> Iterator[int]:
    """A TCP server on this machine's loopback, reachable from any process sharing its network."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def _runtime(module_timeout: float = 3.0) -> RepoLayerOptions:
    return RepoLayerOptions(
        scip=False, runtime=True, runtime_limits=RuntimeLimits(120, module_timeout)
    )


def test_runtime_objects_signatures_members_and_wrappers(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    out = tmp_path / "out"
    result = build_graph_product(repo, out, workers=1, layers=_runtime())
    assert result.violations == 0
    (line,) = result.layers
    assert line.startswith("runtime: imported 3 of 6 modules in ")  # pkg, shapes, zlast
    nodes, edges, props = _tables(out)
    objects = nodes.filter(pl.col("node_kind") == "RT_OBJECT")["node_id"]
    described = _props(props, objects, "qualname", "object_type", "source_path")
    assert {(o["qualname"], o["object_type"]) for o in described} >= {
        ("pkg.shapes", "module"),
        ("Square", "class"),
        ("Square.__init__", "function"),
        ("Square.area", "function"),
        ("Square.unit", "function"),
        ("traced", "function"),
        ("after_the_crash", "function"),
    }
    sources = {o.get("source_path") for o in described}
    assert sources == {"pkg/__init__.py", "pkg/shapes.py", "pkg/zlast.py"}
    wraps = edges.filter(pl.col("edge_kind") == "RT_WRAPS")
    assert wraps.height == 1  # Square.area -> the function functools.wraps wrapped
    signatures = nodes.filter(pl.col("node_kind") == "RT_SIGNATURE")["node_id"]
    texts = {str(s["signature"]) for s in _props(props, signatures, "signature")}
    assert {"(self, side: float = 1.0) -> None", "(x, *rest, key=None)"} <= texts
    params = nodes.filter(pl.col("node_kind") == "RT_SIGNATURE_PARAM")["node_id"]
    kinds = {(p["name"], p["kind"]) for p in _props(props, params, "name", "kind")}
    assert {("rest", "VAR_POSITIONAL"), ("key", "KEYWORD_ONLY")} <= kinds
    members = nodes.filter(pl.col("node_kind") == "RT_MEMBER")["node_id"]
    named = {(m["name"], m["member_kind"]) for m in _props(props, members, "name", "member_kind")}
    assert {("sides", "data"), ("unit", "staticmethod"), ("Square", "class")} <= named
    have = set(edges["edge_kind"])
    assert {"RT_HAS_MEMBER", "RT_HAS_SIGNATURE", "RT_HAS_PARAM"} <= have


def test_a_module_that_raises_hangs_or_dies_costs_only_itself(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    out = tmp_path / "out"
    build_graph_product(repo, out, workers=1, layers=_runtime(module_timeout=2.0))
    nodes, _, props = _tables(out)
    diags = nodes.filter(pl.col("node_kind") == "DIAG")
    codes = _by_id(props, diags["node_id"], "code", "diag_source")
    by_path = {
        path: (codes[node_id]["code"], codes[node_id]["diag_source"])
        for path, node_id in zip(diags["path"], diags["node_id"], strict=True)
    }
    assert by_path == {
        "pkg/raises.py": ("runtime-import-error", "inspect"),
        "pkg/hangs.py": ("runtime-timeout", "inspect"),
        "pkg/exits.py": ("runtime-died", "inspect"),
    }
    # the probe that died in exits.py was followed by one that imported zlast.py
    zlast = nodes.filter((pl.col("node_kind") == "RT_OBJECT") & (pl.col("path") == "pkg/zlast.py"))
    assert zlast.height == 2  # the module and its function


def test_imports_run_in_a_scratch_directory_and_write_no_bytecode(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    build_graph_product(repo, tmp_path / "out", workers=1, layers=_runtime())
    assert (repo / "pkg" / "imported.flag").is_file()  # the module's code ran...
    assert not (repo / "written-by-import.txt").exists()  # ...elsewhere than the repository
    assert not list(repo.rglob("__pycache__"))


def test_without_the_flag_nothing_is_imported(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    result = build_graph_product(
        repo, tmp_path / "out", workers=1, layers=RepoLayerOptions(scip=False)
    )
    assert not (repo / "pkg" / "imported.flag").exists()
    assert result.layers == ()
    nodes, _, _ = _tables(tmp_path / "out")
    assert not nodes.filter(pl.col("node_kind").str.starts_with("RT_")).height


@pytest.mark.skipif(not network_isolation(), reason="no unshare on this machine")
def test_imported_code_has_no_network(tmp_path: Path, loopback_port: int) -> None:
    probe = f"""\
import socket
try:
    socket.create_connection(("127.0.0.1", {loopback_port}), timeout=2).close()
    REACHED = True
except OSError:
    REACHED = False
"""
    with socket.create_connection(("127.0.0.1", loopback_port), timeout=2):
        pass  # the server answers this process
    repo = _repo(tmp_path, {"pkg/net.py": probe})
    out = tmp_path / "out"
    result = build_graph_product(repo, out, workers=1, layers=_runtime())
    assert "(no network)" in result.layers[0]
    nodes, _, props = _tables(out)
    members = nodes.filter(pl.col("node_kind") == "RT_MEMBER")["node_id"]
    values = {
        str(m["name"]): m.get("value_repr") for m in _props(props, members, "name", "value_repr")
    }
    assert values["REACHED"] == "False"
