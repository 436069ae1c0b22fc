"""Parity: in-memory registry tables, their Delta copies and the decoded specs all agree.

Every registry table is compared with the one read back from a real export (schema with
metadata, rows in order); every collection of the canonical spec set survives encode/decode; and
the edge plan specs derived from in-memory rule definitions equal those decoded from Delta.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cpg import registry_readers as readers
from cpg.contract_registry import load_contracts_from_registry
from cpg.edge_specs import edge_plan_specs_from_definitions, edge_plan_specs_from_registry
from cpg.registry_readers import diagnostics_from_table, spec_set_from_tables
from cpg.registry_tables import diagnostics_table
from cpg.spec_set import SORT_KEYS, canonical_spec_set
from cpg.validation import registry_diagnostics
from relspec.rules.model import RuleDomain
from relspec.rules.spec_tables import (
    ambiguity_policies_from_table,
    confidence_policies_from_table,
    relation_contracts_from_table,
    rule_definitions_from_table,
    rule_templates_from_table,
)
from storage.deltalake.delta import open_table, read_raw_delta, read_table_delta, stored_identity
from storage.deltalake.registry_layout import all_tables, registry_root, table_path, table_spec
from storage.deltalake.registry_models import RegistryTableSpec
from storage.deltalake.registry_runner import build_registry_tables

TABLES = all_tables()
IN_MEMORY = {
    name: table
    for tables in build_registry_tables(canonical_spec_set()).values()
    for name, table in tables.items()
}

Decoder = Callable[[pa.Table], tuple[Any, ...]]
CODECS: dict[str, tuple[str, Decoder]] = {
    "source_kinds": ("cpg_source_kinds", readers.source_kinds_from_table),
    "prop_enums": ("cpg_prop_enums", readers.prop_enums_from_table),
    "prop_catalog": ("cpg_prop_catalog", readers.prop_catalog_from_table),
    "node_contracts": ("cpg_node_contracts", readers.node_contracts_from_table),
    "edge_contracts": ("cpg_edge_contracts", readers.edge_contracts_from_table),
    "derivations": ("cpg_kind_derivations", readers.derivations_from_table),
    "fields": ("cpg_field_catalog", readers.field_catalog_from_table),
    "bundles": ("cpg_bundle_catalog", readers.bundle_catalog_from_table),
    "dataset_rows": ("cpg_dataset_rows", readers.dataset_rows_from_table),
    "templates": ("cpg_registry_templates", readers.registry_templates_from_table),
    "rule_templates": ("relspec_rule_templates", rule_templates_from_table),
    "rules": ("relspec_rule_definitions", rule_definitions_from_table),
    "relation_contracts": ("relspec_relation_contracts", relation_contracts_from_table),
    "confidence_policies": ("relspec_confidence_policies", confidence_policies_from_table),
    "ambiguity_policies": ("relspec_ambiguity_policies", ambiguity_policies_from_table),
}
"""Spec set collection -> (registry table, decoder)."""


def assert_table_equal(left: pa.Table, right: pa.Table) -> None:
    """Same schema (metadata included) and the same rows in the same order."""
    assert left.schema.equals(
        right.schema, check_metadata=True
    ), f"schema mismatch:\n{left.schema}\n---\n{right.schema}"
    assert left.to_pylist() == right.to_pylist()


def _delta(output_dir: Path, target: str, name: str) -> pa.Table:
    return read_table_delta(table_path(registry_root(output_dir), target, name))


@pytest.mark.parametrize(("target", "spec"), TABLES, ids=[spec.name for _, spec in TABLES])
def test_delta_table_equals_in_memory_table(
    exported_registry: Path, target: str, spec: RegistryTableSpec
) -> None:
    from_delta = _delta(exported_registry, target, spec.name)
    assert_table_equal(from_delta, IN_MEMORY[spec.name])
    assert from_delta.schema.equals(spec.schema, check_metadata=True)
    assert from_delta.schema.metadata[b"spec_kind"] == spec.name.encode()


@pytest.mark.parametrize(("target", "spec"), TABLES, ids=[spec.name for _, spec in TABLES])
def test_what_delta_stored_is_the_table_and_its_identity(
    exported_registry: Path, target: str, spec: RegistryTableSpec
) -> None:
    """No restoration: the table name Delta keeps in its metaData is the spec_kind, the stored
    columns are the canonical ones (dictionaries stored as their values), and so are the rows."""
    path = table_path(registry_root(exported_registry), target, spec.name)
    identity = stored_identity(open_table(path), path)
    assert identity is not None and identity.name == spec.name
    assert identity.description == spec.description
    raw = read_raw_delta(path)
    assert raw.schema.names == spec.schema.names
    for stored, canonical in zip(raw.schema, spec.schema, strict=True):
        value_type = canonical.type
        if pa.types.is_dictionary(value_type):
            value_type = value_type.value_type
        assert stored.nullable == canonical.nullable, stored.name
        assert _plain(stored.type).equals(_plain(value_type)), (stored.name, stored.type)
    in_memory = IN_MEMORY[spec.name]
    key = [(column, "ascending") for column in spec.sort_key]
    assert raw.sort_by(key).to_pylist() == in_memory.to_pylist()


def _plain(data_type: pa.DataType) -> pa.DataType:
    """``data_type`` with dictionaries, large and view variants and list item names undone."""
    if pa.types.is_dictionary(data_type):
        return _plain(data_type.value_type)
    if (
        pa.types.is_list(data_type)
        or pa.types.is_large_list(data_type)
        or pa.types.is_list_view(data_type)
    ):
        return pa.list_(_plain(data_type.value_type))
    if pa.types.is_struct(data_type):
        return pa.struct([pa.field(f.name, _plain(f.type), f.nullable) for f in data_type])
    return {pa.large_string(): pa.string(), pa.string_view(): pa.string()}.get(data_type, data_type)


def test_every_registry_table_is_compared() -> None:
    assert set(IN_MEMORY) == {spec.name for _, spec in TABLES}
    assert len(TABLES) == len(IN_MEMORY)


def test_every_spec_collection_has_a_codec() -> None:
    """Each sorted collection of a spec set is stored in exactly one registry table."""
    assert set(CODECS) == set(SORT_KEYS)
    assert all(table_spec(table) is not None for table, _ in CODECS.values())


@pytest.mark.parametrize("collection", sorted(CODECS))
def test_decode_encode_is_identity(collection: str) -> None:
    specs = canonical_spec_set()
    table_name, decode = CODECS[collection]
    spec = table_spec(table_name)
    assert spec is not None
    original = getattr(specs, collection)
    assert original, f"canonical {collection} is empty: the round trip would prove nothing"
    decoded = decode(spec.builder(specs))
    assert decoded == original
    assert [type(item) for item in decoded] == [type(item) for item in original]


def test_diagnostics_decode_encode_is_identity() -> None:
    specs = canonical_spec_set()
    assert diagnostics_from_table(diagnostics_table(specs)) == registry_diagnostics(specs)


def test_spec_set_from_in_memory_tables_is_canonical() -> None:
    assert spec_set_from_tables(IN_MEMORY) == canonical_spec_set()


def test_spec_set_from_delta_tables_is_canonical(exported_registry: Path) -> None:
    tables = {spec.name: _delta(exported_registry, target, spec.name) for target, spec in TABLES}
    assert spec_set_from_tables(tables) == canonical_spec_set()


def test_edge_plan_specs_from_definitions_equal_those_from_delta(exported_registry: Path) -> None:
    from_memory = edge_plan_specs_from_definitions(canonical_spec_set().rules)
    from_delta = edge_plan_specs_from_registry(exported_registry)
    assert from_memory
    assert from_delta == from_memory


def test_edge_plan_specs_hold_only_cpg_edge_kinds(exported_registry: Path) -> None:
    plans = edge_plan_specs_from_registry(exported_registry)
    contracts = load_contracts_from_registry(exported_registry)
    assert {plan.edge_kind for plan in plans} <= set(contracts.edge_kinds)
    rules = {rule.name: rule for rule in canonical_spec_set().rules}
    emitting = [
        name
        for name, rule in rules.items()
        if rule.domain == RuleDomain.CPG and rule.payload.edge_emit is not None
    ]
    assert [plan.rule_name for plan in plans] == sorted(emitting)
    for plan in plans:
        emit = rules[plan.rule_name].payload.edge_emit
        assert emit is not None
        assert (plan.edge_kind, plan.src_cols, plan.origin) == (
            emit.edge_kind,
            emit.src_cols,
            emit.origin,
        )
        assert plan.priority == rules[plan.rule_name].priority
