"""The checked-in generated/ modules: typed, lint-clean, and equal to what the registry says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from cpg import registry_specs
from cpg.contract_registry import contracts_from_tables
from cpg.edge_specs import edge_plan_specs
from generated import cpg_contracts, cpg_readers, cpg_schemas, relspec_rules
from storage.deltalake.delta import write_table_delta
from tests.generator_support import PROJECT_ROOT


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_mypy_strict_is_clean_for_src_generator_and_generated() -> None:
    result = _run("mypy", "--strict", "src", "generator", "generated")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean_for_src_generator_and_generated() -> None:
    result = _run("ruff", "check", "src", "generator", "generated")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", registry_specs.dataset_names())
def test_generated_schema_equals_the_registry_schema(name: str) -> None:
    expected = registry_specs.dataset_schema(name)
    assert cpg_schemas.DATASET_SCHEMAS[name].equals(expected, check_metadata=True)


def test_generated_contracts_equal_the_registry_contracts() -> None:
    registry = contracts_from_tables()
    assert [k.value for k in cpg_contracts.NodeKind] == list(registry.node_kinds)
    assert [k.value for k in cpg_contracts.EdgeKind] == list(registry.edge_kinds)
    for kind, contract in cpg_contracts.EDGE_CONTRACTS.items():
        source = registry.edge_contract(kind)
        assert contract.src_kinds == source.src_kinds
        assert contract.dst_kinds == source.dst_kinds
        assert [p.name for p in contract.required_props] == [p.name for p in source.required_props]
    for kind, node in cpg_contracts.NODE_CONTRACTS.items():
        source_node = registry.node_contract(kind)
        assert node.allowed_sources == source_node.allowed_sources
        for prop in node.required_props + node.optional_props:
            if prop.enum is not None:
                assert prop.enum_values == registry.prop_enum(prop.enum).values
    assert len(cpg_contracts.DERIVATIONS) == len(registry.derivations)


def test_generated_edge_plans_equal_the_registry_plans() -> None:
    plans = edge_plan_specs()
    assert len(relspec_rules.EDGE_PLAN_SPECS) == len(plans) == 18
    for generated, plan in zip(relspec_rules.EDGE_PLAN_SPECS, plans, strict=True):
        assert generated.rule_name == plan.rule_name
        assert generated.edge_kind == plan.edge_kind
        assert generated.origin == plan.origin
        assert generated.src_cols == plan.src_cols
        assert generated.bstart_cols == plan.bstart_cols


def _nodes_table() -> pa.Table:
    rows = [
        {"file_id": "f1", "path": "b.py", "bstart": 5, "bend": 9, "node_id": "n2", "node_kind": "PY_FILE"},
        {"file_id": None, "path": None, "bstart": None, "bend": None, "node_id": "n1", "node_kind": "PY_REPO"},
        {"file_id": "f1", "path": "a.py", "bstart": 0, "bend": 3, "node_id": "n3", "node_kind": "PY_FILE"},
    ]
    return pa.Table.from_pylist(rows, schema=cpg_schemas.CPG_NODES_V1_SCHEMA)


def test_typed_reader_restores_schema_and_canonical_order(tmp_path: Path) -> None:
    path = tmp_path / "cpg_nodes_v1"
    write_table_delta(path, _nodes_table())
    table = cpg_readers.read_cpg_nodes_v1_table(path)
    assert table.schema.equals(cpg_schemas.CPG_NODES_V1_SCHEMA, check_metadata=True)
    rows = list(cpg_readers.read_cpg_nodes_v1(path))
    assert [row.node_id for row in rows] == ["n3", "n2", "n1"]
    assert rows[0] == cpg_readers.CpgNodesV1Row(
        file_id="f1", path="a.py", bstart=0, bend=3, node_id="n3", node_kind="PY_FILE"
    )


def test_typed_reader_names_the_mismatched_column(tmp_path: Path) -> None:
    path = tmp_path / "cpg_nodes_v1"
    write_table_delta(path, _nodes_table().drop_columns(["bend"]))
    with pytest.raises(ValueError, match="column 'bend': column is missing"):
        cpg_readers.read_cpg_nodes_v1_table(path)
    write_table_delta(
        path,
        _nodes_table().set_column(2, "bstart", pa.array(["x", "y", "z"])),
    )
    with pytest.raises(ValueError, match="column 'bstart'"):
        list(cpg_readers.read_cpg_nodes_v1(path))
