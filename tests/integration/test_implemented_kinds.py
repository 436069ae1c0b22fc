"""Honest statuses: a derivation is ``implemented`` exactly when the build emits its kind.

The corpus (``kind_corpus.CORPUS``) is built once, with every layer (SCIP, and ``--runtime``:
the corpus is ours, so importing it is safe); the implemented kinds are read with polars from
the ``cpg_kind_derivations`` table the build exported (not from the spec constants), and the kinds
emitted from the built node and edge tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from graph.product_build import build_graph_product
from graph.repo_layers import RepoLayerOptions
from tests.integration.kind_corpus import CORPUS


@dataclass(frozen=True)
class Built:
    out: Path
    implemented: dict[str, set[str]]
    """entity (``node``/``edge``) -> kinds with an implemented derivation."""
    emitted: dict[str, set[str]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("corpus")
    repo = base / "corpus"
    for relpath, content in CORPUS.items():
        target = repo / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    out = base / "out"
    build_graph_product(repo, out, workers=1, layers=RepoLayerOptions(runtime=True))
    derivations = pl.read_delta(str(out / "registry" / "cpg" / "cpg_kind_derivations"))
    implemented = derivations.filter(pl.col("status") == "implemented")
    emitted = {
        "node": set(pl.read_delta(str(out / "cpg_nodes_v1"))["node_kind"]),
        "edge": set(pl.read_delta(str(out / "cpg_edges_v1"))["edge_kind"]),
    }
    return Built(
        out,
        {
            entity: set(implemented.filter(pl.col("entity") == entity)["kind"])
            for entity in ("node", "edge")
        },
        emitted,
    )


@pytest.mark.parametrize("entity", ["node", "edge"])
def test_every_implemented_kind_has_rows(built: Built, entity: str) -> None:
    assert built.implemented[entity], "the registry declares no implemented kind"
    missing = sorted(built.implemented[entity] - built.emitted[entity])
    assert missing == [], f"implemented {entity} kinds without rows; extend kind_corpus: {missing}"


@pytest.mark.parametrize("entity", ["node", "edge"])
def test_every_emitted_kind_is_implemented(built: Built, entity: str) -> None:
    unmarked = sorted(built.emitted[entity] - built.implemented[entity])
    assert unmarked == [], f"{entity} kinds emitted but not implemented in the specs: {unmarked}"


def test_the_corpus_builds_without_contract_violations(built: Built) -> None:
    assert pl.read_delta(str(built.out / "cpg_build_violations")).height == 0
