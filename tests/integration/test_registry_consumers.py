"""Consumers load the same values from a Delta registry as from the in-memory tables.

Also covers the cache (a re-exported or re-created registry is not served stale), the module
default registry, and the named problems of ``validate_registry_completeness``.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

import cpg.schemas
from cpg.contract_registry import (
    ContractRegistry,
    RegistryIntegrityError,
    contracts,
    contracts_from_tables,
    load_contracts_from_registry,
    validate_registry_completeness,
)
from cpg.contracts import PropSpec, PropType
from cpg.derivation import Derivation
from cpg.edge_specs import edge_plan_specs, edge_plan_specs_from_registry
from cpg.kinds import EdgeKind, NodeKind
from cpg.registry_specs import (
    UnknownDatasetError,
    dataset_contract,
    dataset_names,
    dataset_rows,
    dataset_schema,
    default_registry,
    set_default_registry,
    use_registry,
)
from cpg.spec_set import canonical_spec_set
from storage.deltalake.registry_io import RegistryTableMissingError
from storage.deltalake.registry_layout import (
    RegistryNotFoundError,
    registry_root,
    resolve_registry_root,
)
from storage.deltalake.registry_runner import run_registry_exports

SRC = Path(__file__).resolve().parents[2] / "src"
SCHEMA_CONSTANTS = {
    "CPG_NODES_SCHEMA": "cpg_nodes_v1",
    "CPG_EDGES_SCHEMA": "cpg_edges_v1",
    "CPG_PROPS_SCHEMA": "cpg_props_v1",
    "CPG_PROPS_JSON_SCHEMA": "cpg_props_json_v1",
    "CPG_PROPS_BY_FILE_ID_SCHEMA": "cpg_props_by_file_id_v1",
    "CPG_PROPS_GLOBAL_SCHEMA": "cpg_props_global_v1",
}


# --- contract registry -----------------------------------------------------------------------


def test_contracts_from_delta_equal_the_local_fallback(exported_registry: Path) -> None:
    local = contracts_from_tables()
    from_output_dir = load_contracts_from_registry(exported_registry)
    from_root = load_contracts_from_registry(registry_root(exported_registry))
    assert from_output_dir == local
    assert from_root is from_output_dir  # one cache entry, whichever path names the registry
    specs = canonical_spec_set()
    assert local.node_contracts == specs.node_contracts
    assert local.edge_contracts == specs.edge_contracts
    assert local.derivations == specs.derivations
    assert local.prop_enums == specs.prop_enums
    assert validate_registry_completeness(from_output_dir) == ()
    assert validate_registry_completeness(local) == ()


def test_contract_lookups(exported_registry: Path) -> None:
    registry = load_contracts_from_registry(exported_registry)
    assert set(registry.node_kinds) == set(NodeKind)
    assert set(registry.edge_kinds) == set(EdgeKind)
    for kind in EdgeKind:
        contract = registry.edge_contract(kind)
        assert contract.kind == kind
        assert set(contract.src_kinds) | set(contract.dst_kinds) <= set(registry.node_kinds)
        assert registry.derivations_of(kind)
    assert registry.node_contract(NodeKind.PY_FILE).kind == NodeKind.PY_FILE
    enum = canonical_spec_set().prop_enums[0]
    assert registry.prop_enum(enum.name) == enum
    with pytest.raises(KeyError, match="unknown node kind 'NOPE'"):
        registry.node_contract("NOPE")
    assert registry.derivations_of("NOPE") == ()


def _broken_contracts() -> ContractRegistry:
    """One problem of each kind: rows 0 and 1 of the node contracts are the first two kinds."""
    specs = canonical_spec_set()
    node, *nodes = specs.node_contracts
    edges = list(specs.edge_contracts)
    edges[0] = dataclasses.replace(edges[0], dst_kinds=("GHOST_NODE",))
    nodes[0] = dataclasses.replace(
        nodes[0], optional_props=(PropSpec("color", PropType.STR, enum="no_such_enum"),)
    )
    derivations = [d for d in specs.derivations if d.kind != node.kind]
    derivations.append(
        dataclasses.replace(specs.derivations[0], kind="GHOST_KIND", provider_or_field="x")
    )
    return ContractRegistry(
        node_contracts=(node, *nodes),
        edge_contracts=tuple(edges),
        derivations=tuple(derivations),
        prop_enums=specs.prop_enums,
    )


def test_completeness_names_each_problem() -> None:
    registry = _broken_contracts()
    problems = validate_registry_completeness(registry, raise_on_problem=False)
    ghost_row = next(i for i, d in enumerate(registry.derivations) if d.kind == "GHOST_KIND")
    located = {(p.table, p.row, p.column, p.dangling) for p in problems}
    assert located == {
        ("cpg_edge_contracts", 0, "dst_kinds", True),
        ("cpg_kind_derivations", ghost_row, "kind", True),
        ("cpg_node_contracts", 1, "optional_props.[0].enum", True),
        ("cpg_node_contracts", 0, "kind", False),
    }
    messages = " | ".join(str(p) for p in problems)
    for expected in ("GHOST_NODE", "GHOST_KIND", "no_such_enum", "has no derivation"):
        assert expected in messages
    with pytest.raises(RegistryIntegrityError, match=r"and 3 more") as caught:
        validate_registry_completeness(registry)
    assert caught.value.problems == problems


def test_contract_cache_is_not_stale_after_a_re_export(fresh_registry: Path) -> None:
    first = load_contracts_from_registry(fresh_registry)
    assert load_contracts_from_registry(fresh_registry) is first

    specs = canonical_spec_set()
    changed = dataclasses.replace(specs.edge_contracts[0], description="re-exported")
    specs = dataclasses.replace(specs, edge_contracts=(changed, *specs.edge_contracts[1:]))
    run_registry_exports(fresh_registry, specs=specs)
    assert load_contracts_from_registry(fresh_registry).edge_contracts[0] == changed


def test_contract_cache_is_not_stale_after_a_re_creation(fresh_registry: Path) -> None:
    """Delete and export again: versions start at 0 again, but the table ids differ."""
    load_contracts_from_registry(fresh_registry)
    shutil.rmtree(registry_root(fresh_registry))
    specs = canonical_spec_set()
    derivation: Derivation = dataclasses.replace(specs.derivations[0], id_recipe="recreated")
    specs = dataclasses.replace(specs, derivations=(derivation, *specs.derivations[1:]))
    export = run_registry_exports(fresh_registry, specs=specs)
    assert {table.version for table in export.tables} == {0}
    assert derivation in load_contracts_from_registry(fresh_registry).derivations


# --- dataset specs and schemas ---------------------------------------------------------------


def test_dataset_contracts_from_delta_equal_the_local_ones(exported_registry: Path) -> None:
    names = dataset_names()
    assert names == tuple(sorted(row.name for row in canonical_spec_set().dataset_rows))
    assert dataset_rows(exported_registry) == dataset_rows() == canonical_spec_set().dataset_rows
    for name in names:
        local, delta = dataset_contract(name), dataset_contract(name, exported_registry)
        assert delta == local
        assert delta.schema.equals(local.schema, check_metadata=True)
        assert dataset_schema(name, exported_registry).equals(delta.schema, check_metadata=True)


def test_dataset_contract_carries_the_row_facts() -> None:
    contract = dataset_contract("cpg_edges_v1")
    row = contract.row
    assert (contract.name, contract.version) == (row.name, row.version)
    assert contract.key_fields == row.key_fields
    assert contract.dedupe_keys == row.dedupe_keys
    assert contract.tie_breakers == row.tie_breakers
    assert contract.dedupe_strategy == row.dedupe_strategy
    assert contract.canonical_sort == row.canonical_sort
    assert set(contract.dedupe_keys) <= set(contract.schema.names)
    assert contract.schema.field("edge_id").nullable is False
    assert contract.schema.metadata[b"dataset_name"] == b"cpg_edges_v1"


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'cpg_nope'") as caught:
        dataset_schema("cpg_nope")
    for name in dataset_names():
        assert name in str(caught.value)


def test_default_registry_can_point_at_a_path(exported_registry: Path) -> None:
    assert default_registry() is None
    with use_registry(exported_registry):
        assert default_registry() == exported_registry
        assert dataset_contract("cpg_nodes_v1") == dataset_contract("cpg_nodes_v1", None)
        assert contracts() == load_contracts_from_registry(exported_registry)
    assert default_registry() is None
    set_default_registry(registry_root(exported_registry))
    try:
        assert edge_plan_specs() == edge_plan_specs_from_registry(exported_registry)
    finally:
        set_default_registry(None)
    assert default_registry() is None


def test_default_registry_is_really_read(tmp_path: Path) -> None:
    """Pointing the default at a registry without ``cpg/`` tables fails: the path is used."""
    run_registry_exports(tmp_path, targets=("relspec",))
    with use_registry(tmp_path), pytest.raises(RegistryTableMissingError) as caught:
        dataset_rows()
    assert caught.value.table == "cpg_dataset_rows"
    assert dataset_rows()  # the in-memory default again


@pytest.mark.parametrize("constant", sorted(SCHEMA_CONSTANTS))
def test_schema_constants_come_from_the_registry(exported_registry: Path, constant: str) -> None:
    schema = getattr(cpg.schemas, constant)
    from_delta = dataset_schema(SCHEMA_CONSTANTS[constant], exported_registry)
    assert schema.equals(from_delta, check_metadata=True)


def test_no_hand_written_dataset_schema_in_src() -> None:
    """``pa.schema(`` appears only where schemas are derived."""
    derived = {
        SRC / "cpg" / "dataset_schemas.py",
        SRC / "relspec" / "rules" / "relation_schemas.py",
        SRC / "storage" / "spec_codec.py",
        # projections of registry schemas, and a kind's view: its dataset's fields and its props'
        SRC / "graph" / "access" / "datasets.py",
        SRC / "graph" / "access" / "kinds.py",
        # not a dataset: the file state an incremental build keeps (path, key, segment per file)
        SRC / "graph" / "incremental.py",
    }
    writers = {path for path in SRC.rglob("*.py") if re.search(r"\bpa\.schema\(", path.read_text())}
    assert writers <= derived, sorted(str(path) for path in writers - derived)


# --- edge plans and registry paths ------------------------------------------------------------


def test_edge_plan_specs_from_delta_equal_the_local_ones(exported_registry: Path) -> None:
    plans = edge_plan_specs_from_registry(exported_registry)
    assert plans == edge_plan_specs()
    assert len({plan.rule_name for plan in plans}) == len(plans)


def test_registry_root_is_resolved_from_either_folder(
    exported_registry: Path, tmp_path: Path
) -> None:
    root = registry_root(exported_registry)
    assert resolve_registry_root(exported_registry) == root
    assert resolve_registry_root(root) == root
    with pytest.raises(RegistryNotFoundError, match="no registry at"):
        resolve_registry_root(tmp_path)
    with pytest.raises(RegistryNotFoundError):
        load_contracts_from_registry(tmp_path / "missing")
