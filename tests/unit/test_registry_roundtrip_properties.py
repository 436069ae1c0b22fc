"""Property tests: for any valid spec set, encode -> (Delta ->) decode is the identity.

Drawing a spec set costs about 0.1 s (``tests.strategies.spec_sets``), a Delta export and read
back about 0.2 s more; the example counts below keep this module near 15 s on two cores.
The Delta test writes to a fresh ``TemporaryDirectory`` per example: hypothesis runs every
example inside one call of the test function, so ``tmp_path`` would be shared.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings

from cpg.contract_registry import contracts_from_tables, validate_registry_completeness
from cpg.dataset_schemas import resolved_columns
from cpg.edge_specs import edge_plan_specs_from_definitions, edge_plan_specs_from_tables
from cpg.registry_readers import spec_set_from_tables
from cpg.registry_specs import dataset_catalog_from_tables
from cpg.spec_set import SpecSet
from relspec.rules.model import RuleDomain
from storage.deltalake.delta import read_table_delta
from storage.deltalake.registry_layout import all_tables, table_path, table_spec
from storage.deltalake.registry_runner import build_registry_tables, run_registry_exports
from tests.strategies import spec_sets

DELTA_EXAMPLES = 25
IN_MEMORY_EXAMPLES = 100
CONSUMER_EXAMPLES = 50
_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large]


def _in_memory(specs: SpecSet) -> dict[str, pa.Table]:
    return {
        name: table
        for tables in build_registry_tables(specs).values()
        for name, table in tables.items()
    }


@settings(max_examples=IN_MEMORY_EXAMPLES, deadline=None, suppress_health_check=_SLOW_DATA)
@given(spec_sets())
def test_in_memory_encode_decode_is_identity(specs: SpecSet) -> None:
    tables = _in_memory(specs)
    for name, table in tables.items():
        spec = table_spec(name)
        assert spec is not None
        assert table.schema.equals(spec.schema, check_metadata=True), name
    assert spec_set_from_tables(tables) == specs


@settings(max_examples=DELTA_EXAMPLES, deadline=None, suppress_health_check=_SLOW_DATA)
@given(spec_sets())
def test_delta_round_trip_is_identity(specs: SpecSet) -> None:
    in_memory = _in_memory(specs)
    with tempfile.TemporaryDirectory() as output_dir:
        export = run_registry_exports(output_dir, specs=specs)
        tables = {
            spec.name: read_table_delta(table_path(Path(export.root), target, spec.name))
            for target, spec in all_tables()
        }
    for name, table in tables.items():
        assert table.schema.equals(in_memory[name].schema, check_metadata=True), name
        assert table.to_pylist() == in_memory[name].to_pylist(), name
    assert spec_set_from_tables(tables) == specs


@settings(max_examples=CONSUMER_EXAMPLES, deadline=None, suppress_health_check=_SLOW_DATA)
@given(spec_sets())
def test_consumers_decode_any_valid_spec_set(specs: SpecSet) -> None:
    """Contracts, dataset contracts and edge plans of a valid spec set load and are complete."""
    tables = _in_memory(specs)

    contracts = contracts_from_tables(tables)
    assert validate_registry_completeness(contracts) == ()
    assert contracts.node_kinds == specs.node_kinds
    assert contracts.edge_kinds == specs.edge_kinds
    for edge in specs.edge_contracts:
        assert contracts.edge_contract(edge.kind) == edge
    for kind in (*specs.node_kinds, *specs.edge_kinds):
        assert contracts.derivations_of(kind) == tuple(
            d for d in specs.derivations if d.kind == kind
        )

    catalog = dataset_catalog_from_tables(tables)
    bundles = {bundle.name: bundle for bundle in specs.bundles}
    assert catalog.rows == specs.dataset_rows
    for row in specs.dataset_rows:
        dataset = catalog.contract(row.name)
        assert dataset.row == row
        assert tuple(dataset.schema.names) == resolved_columns(row, bundles)
        assert dataset.schema.metadata[b"dataset_name"] == row.name.encode()

    plans = edge_plan_specs_from_tables(tables)
    emitting = [
        rule
        for rule in specs.rules
        if rule.domain == RuleDomain.CPG and rule.payload.edge_emit is not None
    ]
    assert plans == edge_plan_specs_from_definitions(specs.rules)
    assert [plan.rule_name for plan in plans] == [rule.name for rule in emitting]
    assert {plan.edge_kind for plan in plans} <= set(specs.edge_kinds)
