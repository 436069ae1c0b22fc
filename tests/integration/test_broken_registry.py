"""Broken registries give errors that name the table, the row and the column at fault.

The decoder tests break in-memory tables; the registry tests overwrite one table of a real
export with ``write_table_delta`` (or delete it) and load it through the consumers.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cpg import registry_readers as readers
from cpg.contract_registry import RegistryIntegrityError, load_contracts_from_registry
from cpg.edge_specs import edge_plan_specs_from_registry
from cpg.registry_specs import dataset_schema
from cpg.registry_tables import dataset_rows_table, edge_contracts_table
from cpg.spec_set import canonical_spec_set
from relspec.rules.spec_tables import (
    ambiguity_policies_from_table,
    confidence_policies_from_table,
    relation_contracts_from_table,
    rule_definitions_from_table,
    rule_definitions_table,
    rule_templates_from_table,
)
from storage.deltalake.delta import (
    read_table_delta,
    table_version,
    write_table_delta,
)
from storage.deltalake.registry_io import RegistryIntegrityError as StoredRegistryIntegrityError
from storage.deltalake.registry_io import RegistryTableMissingError
from storage.deltalake.registry_layout import all_tables, registry_root, registry_table_path
from storage.deltalake.registry_models import FINGERPRINT_KEY, table_fingerprint
from storage.spec_codec import RegistryDecodeError

DECODERS: dict[str, Callable[[pa.Table], tuple[Any, ...]]] = {
    "cpg_source_kinds": readers.source_kinds_from_table,
    "cpg_prop_enums": readers.prop_enums_from_table,
    "cpg_prop_catalog": readers.prop_catalog_from_table,
    "cpg_node_contracts": readers.node_contracts_from_table,
    "cpg_edge_contracts": readers.edge_contracts_from_table,
    "cpg_kind_derivations": readers.derivations_from_table,
    "cpg_field_catalog": readers.field_catalog_from_table,
    "cpg_bundle_catalog": readers.bundle_catalog_from_table,
    "cpg_dataset_rows": readers.dataset_rows_from_table,
    "cpg_registry_templates": readers.registry_templates_from_table,
    "registry_diagnostics": readers.diagnostics_from_table,
    "relspec_rule_definitions": rule_definitions_from_table,
    "relspec_rule_templates": rule_templates_from_table,
    "relspec_relation_contracts": relation_contracts_from_table,
    "relspec_confidence_policies": confidence_policies_from_table,
    "relspec_ambiguity_policies": ambiguity_policies_from_table,
}
SPECS = {spec.name: spec for _, spec in all_tables()}


def _table(name: str) -> pa.Table:
    return SPECS[name].builder(canonical_spec_set())


def _non_null_column(name: str) -> str:
    """The last non-null column of a table (so the tests do not all hit the first column)."""
    names: list[str] = [field.name for field in SPECS[name].schema if not field.nullable]
    return names[-1]


def _replace_column(table: pa.Table, column: str, array: pa.Array) -> pa.Table:
    index = table.schema.get_field_index(column)
    return table.set_column(index, pa.field(column, array.type, nullable=True), array)


def _with_null(table: pa.Table, column: str, row: int) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = None
    return _replace_column(table, column, pa.array(values, type=table.schema.field(column).type))


def _other_type(table: pa.Table, column: str) -> pa.Array:
    """The column's values in a type it does not have: strings become ints, the rest strings."""
    if pa.types.is_string(table.schema.field(column).type):
        return pa.array(range(table.num_rows), type=pa.int64())
    return pa.array([str(value) for value in table.column(column).to_pylist()])


def _assert_names(
    error: RegistryDecodeError, table: str, column: str, row: int | None = None
) -> None:
    assert (error.table, error.column, error.row) == (table, column, row)
    assert repr(table) in str(error)
    assert repr(column) in str(error)
    if row is not None:
        assert f"row {row}" in str(error)


# --- decoders, on in-memory tables -----------------------------------------------------------


def test_every_registry_table_has_a_decoder() -> None:
    assert set(DECODERS) == set(SPECS)


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_decoder_names_a_missing_column(name: str) -> None:
    column = _non_null_column(name)
    with pytest.raises(RegistryDecodeError, match="column is missing") as caught:
        DECODERS[name](_table(name).drop_columns([column]))
    _assert_names(caught.value, name, column)


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_decoder_names_a_column_of_the_wrong_type(name: str) -> None:
    table = _table(name)
    column = _non_null_column(name)
    with pytest.raises(RegistryDecodeError, match="has type") as caught:
        DECODERS[name](_replace_column(table, column, _other_type(table, column)))
    _assert_names(caught.value, name, column)


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_decoder_names_the_row_of_a_null_in_a_non_null_column(name: str) -> None:
    table = _table(name)
    assert table.num_rows, f"canonical {name} is empty"
    column, row = _non_null_column(name), table.num_rows - 1
    with pytest.raises(RegistryDecodeError, match="got null") as caught:
        DECODERS[name](_with_null(table, column, row))
    _assert_names(caught.value, name, column, row)


def test_decoder_names_the_nested_column_of_a_bad_enum_value() -> None:
    table = _table("cpg_node_contracts")
    props = table.column("required_props").to_pylist()
    row = next(index for index, value in enumerate(props) if value)
    props[row][0]["type"] = "decimal"
    broken = _replace_column(
        table, "required_props", pa.array(props, type=table.schema.field("required_props").type)
    )
    with pytest.raises(RegistryDecodeError, match="'decimal' is not one of") as caught:
        readers.node_contracts_from_table(broken)
    _assert_names(caught.value, "cpg_node_contracts", "required_props.[0].type", row)


# --- real Delta registries -------------------------------------------------------------------


def _overwrite(output_dir: Path, name: str, table: pa.Table) -> None:
    """A new version written the way an exporter writes (its fingerprint recorded), so the
    decoders, not the integrity check, meet the broken rows."""
    path = registry_table_path(registry_root(output_dir), name)
    before = table_version(path)
    write_table_delta(path, table, commit_metadata={FINGERPRINT_KEY: table_fingerprint(table)})
    assert table_version(path) == (before or 0) + 1


def test_version_written_by_another_tool_does_not_verify(fresh_registry: Path) -> None:
    path = registry_table_path(registry_root(fresh_registry), "cpg_node_contracts")
    write_table_delta(path, _table("cpg_node_contracts"))  # same rows, no cpg-registry commit info
    with pytest.raises(StoredRegistryIntegrityError, match="version 1 has no cpg-registry commit"):
        load_contracts_from_registry(fresh_registry)


def test_dropped_column(fresh_registry: Path) -> None:
    _overwrite(
        fresh_registry,
        "cpg_edge_contracts",
        _table("cpg_edge_contracts").drop_columns(["src_kinds"]),
    )
    with pytest.raises(RegistryDecodeError, match="column is missing") as caught:
        load_contracts_from_registry(fresh_registry)
    _assert_names(caught.value, "cpg_edge_contracts", "src_kinds")


def test_changed_column_type(fresh_registry: Path) -> None:
    """int64 -> string would cast back silently ("1" -> 1); a drifted type must not."""
    table = _table("cpg_dataset_rows")
    as_text = pa.array([str(version) for version in table.column("version").to_pylist()])
    _overwrite(fresh_registry, "cpg_dataset_rows", _replace_column(table, "version", as_text))
    with pytest.raises(RegistryDecodeError, match="has type string, expected int64") as caught:
        dataset_schema("cpg_nodes_v1", registry=fresh_registry)
    _assert_names(caught.value, "cpg_dataset_rows", "version")


def test_missing_table(fresh_registry: Path) -> None:
    shutil.rmtree(registry_table_path(registry_root(fresh_registry), "cpg_kind_derivations"))
    with pytest.raises(RegistryTableMissingError, match="table is missing") as caught:
        load_contracts_from_registry(fresh_registry)
    _assert_names(caught.value, "cpg_kind_derivations", "*")


def test_row_referencing_an_unknown_node_kind(fresh_registry: Path) -> None:
    """Also shows the cache is not stale: the same path loaded fine before the overwrite."""
    assert load_contracts_from_registry(fresh_registry).edge_kinds
    specs = canonical_spec_set()
    row = len(specs.edge_contracts) // 2
    contracts = list(specs.edge_contracts)
    broken = dataclasses.replace(
        contracts[row], src_kinds=(*contracts[row].src_kinds, "NO_SUCH_KIND")
    )
    contracts[row] = broken
    specs = dataclasses.replace(specs, edge_contracts=tuple(contracts))
    _overwrite(fresh_registry, "cpg_edge_contracts", edge_contracts_table(specs))
    with pytest.raises(RegistryIntegrityError, match="unknown node kind 'NO_SUCH_KIND'") as caught:
        load_contracts_from_registry(fresh_registry)
    _assert_names(caught.value, "cpg_edge_contracts", "src_kinds", row)
    assert len(caught.value.problems) == 1


def test_null_in_a_non_null_column(fresh_registry: Path) -> None:
    table = _table("cpg_node_contracts")
    _overwrite(fresh_registry, "cpg_node_contracts", _with_null(table, "group", 3))
    path = registry_table_path(registry_root(fresh_registry), "cpg_node_contracts")
    with pytest.raises(RegistryDecodeError, match="null in a non-null column") as caught:
        read_table_delta(path)
    _assert_names(caught.value, "cpg_node_contracts", "group", 3)


def test_dataset_row_naming_an_unknown_bundle(fresh_registry: Path) -> None:
    specs = canonical_spec_set()
    rows = list(specs.dataset_rows)
    row = next(index for index, dataset in enumerate(rows) if dataset.bundles)
    rows[row] = dataclasses.replace(rows[row], bundles=("no_such_bundle",))
    specs = dataclasses.replace(specs, dataset_rows=tuple(rows))
    _overwrite(fresh_registry, "cpg_dataset_rows", dataset_rows_table(specs))
    with pytest.raises(RegistryDecodeError, match="unknown bundle 'no_such_bundle'") as caught:
        dataset_schema(rows[row].name, registry=fresh_registry)
    _assert_names(caught.value, "cpg_dataset_rows", "bundles", row)


def test_rule_emitting_an_unknown_edge_kind(fresh_registry: Path) -> None:
    specs = canonical_spec_set()
    rules = list(specs.rules)
    row = next(index for index, rule in enumerate(rules) if rule.payload.edge_emit is not None)
    emit = rules[row].payload.edge_emit
    assert emit is not None
    payload = dataclasses.replace(
        rules[row].payload, edge_emit=dataclasses.replace(emit, edge_kind="NO_SUCH_EDGE")
    )
    rules[row] = dataclasses.replace(rules[row], payload=payload)
    specs = dataclasses.replace(specs, rules=tuple(rules))
    _overwrite(fresh_registry, "relspec_rule_definitions", rule_definitions_table(specs))
    with pytest.raises(RegistryDecodeError, match="unknown edge kind 'NO_SUCH_EDGE'") as caught:
        edge_plan_specs_from_registry(fresh_registry)
    _assert_names(caught.value, "relspec_rule_definitions", "payload.edge_emit.edge_kind", row)
