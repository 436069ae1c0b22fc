"""End-to-end tests of ``run_registry_exports``: real Delta tables under ``tmp_path``, no mocks."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from deltalake import DeltaTable

from cpg.datasets import FieldSpec
from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import SpecValidationError
from storage.deltalake.registry_layout import TARGETS, UnknownTargetError
from storage.deltalake.registry_models import (
    FINGERPRINT_KEY,
    SPEC_FINGERPRINT_KEY,
    RegistryExport,
    table_fingerprint,
)
from storage.deltalake.registry_runner import build_registry_tables, run_registry_exports

ALL_TABLES: tuple[tuple[str, str], ...] = tuple(
    (target, spec.name) for target, specs in TARGETS.items() for spec in specs
)
SORT_KEY: dict[str, tuple[str, ...]] = {
    spec.name: spec.sort_key for specs in TARGETS.values() for spec in specs
}


def _path(output_dir: Path, target: str, name: str) -> Path:
    return output_dir / "registry" / target / name


def _versions(output_dir: Path) -> dict[tuple[str, str], int]:
    """The Delta version of every registry table, read with ``deltalake`` directly."""
    return {
        (target, name): DeltaTable(str(_path(output_dir, target, name))).version()
        for target, name in ALL_TABLES
    }


def _changed(result: RegistryExport) -> set[str]:
    return {table.table for table in result.changed}


def _replace_at(items: tuple[Any, ...], index: int, **changes: Any) -> tuple[Any, ...]:
    return (*items[:index], dataclasses.replace(items[index], **changes), *items[index + 1 :])


def _is_empty(directory: Path) -> bool:
    return not directory.exists() or not any(directory.iterdir())


def _sorted_rows(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: tuple(row[column] for column in key))


@pytest.fixture(scope="module")
def specs() -> SpecSet:
    return canonical_spec_set()


def test_export_writes_every_table_of_every_target(tmp_path: Path, specs: SpecSet) -> None:
    result = run_registry_exports(tmp_path)

    built = build_registry_tables(specs)
    assert result.root == str(tmp_path / "registry")
    assert sorted(p.name for p in (tmp_path / "registry").iterdir()) == sorted(TARGETS)
    assert [(t.target, t.table) for t in result.tables] == list(ALL_TABLES)
    for export in result.tables:
        path = _path(tmp_path, export.target, export.table)
        assert (path / "_delta_log").is_dir(), path
        assert export.path == str(path)
        assert export.version == 0
        assert DeltaTable(str(path)).version() == 0
        assert export.rows == built[export.target][export.table].num_rows
        assert export.changed is True
        assert export.fingerprint == table_fingerprint(built[export.target][export.table])
    for target, tables in TARGETS.items():
        on_disk = sorted(p.name for p in (tmp_path / "registry" / target).iterdir())
        assert on_disk == sorted(spec.name for spec in tables)
    assert result.changed == result.tables


def test_second_export_with_unchanged_specs_adds_no_version(tmp_path: Path) -> None:
    first = run_registry_exports(tmp_path)
    second = run_registry_exports(tmp_path)

    assert second.changed == ()
    assert set(_versions(tmp_path).values()) == {0}
    assert [t.version for t in second.tables] == [0] * len(ALL_TABLES)
    assert second.spec_fingerprint == first.spec_fingerprint
    assert [t.fingerprint for t in second.tables] == [t.fingerprint for t in first.tables]
    for target, name in ALL_TABLES:
        assert len(DeltaTable(str(_path(tmp_path, target, name))).history()) == 1


@pytest.mark.parametrize(
    ("collection", "attribute", "expected"),
    [
        ("node_contracts", "description", "cpg_node_contracts"),
        ("dataset_rows", "description", "cpg_dataset_rows"),
        ("rules", "output", "relspec_rule_definitions"),
    ],
)
def test_changing_one_spec_versions_only_its_table(
    tmp_path: Path, specs: SpecSet, collection: str, attribute: str, expected: str
) -> None:
    first = run_registry_exports(tmp_path, specs=specs)
    items = getattr(specs, collection)
    edited = getattr(items[0], attribute) + "_edited"
    changed_specs = dataclasses.replace(
        specs, **{collection: _replace_at(items, 0, **{attribute: edited})}
    )

    result = run_registry_exports(tmp_path, specs=changed_specs)

    assert _changed(result) == {expected}
    versions = _versions(tmp_path)
    (target,) = {t for t, n in ALL_TABLES if n == expected}
    assert {key: v for key, v in versions.items() if v != 0} == {(target, expected): 1}
    assert {t.table: t.version for t in result.tables if t.changed} == {expected: 1}
    assert result.spec_fingerprint != first.spec_fingerprint
    # the change is really on disk: the edited value is read back
    rows = DeltaTable(str(_path(tmp_path, target, expected))).to_pyarrow_table()
    assert edited in rows.column(attribute).to_pylist()


def test_adding_a_field_used_by_a_dataset_versions_exactly_two_tables(
    tmp_path: Path, specs: SpecSet
) -> None:
    run_registry_exports(tmp_path, specs=specs)
    new_field = FieldSpec(name="zz_test_note", arrow_type="string", nullable=True)
    row = specs.dataset_rows[0]
    changed_specs = dataclasses.replace(
        specs,
        fields=(*specs.fields, new_field),
        dataset_rows=_replace_at(specs.dataset_rows, 0, fields=(*row.fields, new_field.name)),
    )

    result = run_registry_exports(tmp_path, specs=changed_specs)

    assert _changed(result) == {"cpg_field_catalog", "cpg_dataset_rows"}
    versions = _versions(tmp_path)
    assert {name: v for (_, name), v in versions.items() if v != 0} == {
        "cpg_field_catalog": 1,
        "cpg_dataset_rows": 1,
    }


def test_changes_in_both_targets_version_one_table_in_each(tmp_path: Path, specs: SpecSet) -> None:
    run_registry_exports(tmp_path, specs=specs)
    changed_specs = dataclasses.replace(
        specs,
        node_contracts=_replace_at(specs.node_contracts, 0, description="edited node"),
        rule_templates=_replace_at(specs.rule_templates, 0, factory="edited_factory"),
    )

    result = run_registry_exports(tmp_path, specs=changed_specs)

    assert _changed(result) == {"cpg_node_contracts", "relspec_rule_templates"}
    versions = _versions(tmp_path)
    assert {key: v for key, v in versions.items() if v != 0} == {
        ("cpg", "cpg_node_contracts"): 1,
        ("relspec", "relspec_rule_templates"): 1,
    }
    # exporting the edited specs again is a no-op; going back to the original specs is one more
    # version of the same two tables only
    assert run_registry_exports(tmp_path, specs=changed_specs).changed == ()
    back = run_registry_exports(tmp_path, specs=specs)
    assert _changed(back) == {"cpg_node_contracts", "relspec_rule_templates"}
    assert {key: v for key, v in _versions(tmp_path).items() if v != 0} == {
        ("cpg", "cpg_node_contracts"): 2,
        ("relspec", "relspec_rule_templates"): 2,
    }


def test_relspec_target_alone_writes_only_relspec(tmp_path: Path) -> None:
    result = run_registry_exports(tmp_path, targets=("relspec",))

    assert {t.target for t in result.tables} == {"relspec"}
    assert [t.table for t in result.tables] == [spec.name for spec in TARGETS["relspec"]]
    assert [p.name for p in (tmp_path / "registry").iterdir()] == ["relspec"]
    for export in result.tables:
        assert (Path(export.path) / "_delta_log").is_dir()
        assert export.version == 0
        assert export.changed is True


def test_unknown_target_raises_listing_valid_targets_and_writes_nothing(tmp_path: Path) -> None:
    output_dir = tmp_path / "out"

    with pytest.raises(UnknownTargetError) as info:
        run_registry_exports(output_dir, targets=("cpg", "nope"))

    message = str(info.value)
    assert "nope" in message
    for target in TARGETS:
        assert target in message
    assert _is_empty(output_dir)


def _invalid_specs(specs: SpecSet) -> SpecSet:
    edge = specs.edge_contracts[0]
    row = specs.dataset_rows[0]
    return dataclasses.replace(
        specs,
        edge_contracts=_replace_at(
            specs.edge_contracts, 0, src_kinds=(*edge.src_kinds, "NO_SUCH_NODE_KIND")
        ),
        dataset_rows=_replace_at(specs.dataset_rows, 0, bundles=(*row.bundles, "no_such_bundle")),
    )


def test_invalid_specs_raise_with_every_violation_and_write_nothing(
    tmp_path: Path, specs: SpecSet
) -> None:
    output_dir = tmp_path / "out"

    with pytest.raises(SpecValidationError) as info:
        run_registry_exports(output_dir, specs=_invalid_specs(specs))

    violations = info.value.violations
    edge, row = specs.edge_contracts[0], specs.dataset_rows[0]
    assert len(violations) == 2, violations
    rendered = [str(v) for v in violations]
    assert any(
        f"edge_contracts[{edge.kind}]" in v and "NO_SUCH_NODE_KIND" in v for v in rendered
    ), rendered
    assert any(
        f"dataset_rows[{row.name}]" in v and "no_such_bundle" in v for v in rendered
    ), rendered
    message = str(info.value)
    assert "NO_SUCH_NODE_KIND" in message
    assert "no_such_bundle" in message
    assert _is_empty(output_dir)


def test_invalid_specs_leave_an_existing_registry_untouched(tmp_path: Path, specs: SpecSet) -> None:
    run_registry_exports(tmp_path, specs=specs)
    before = _versions(tmp_path)

    with pytest.raises(SpecValidationError):
        run_registry_exports(tmp_path, specs=_invalid_specs(specs))
    with pytest.raises(UnknownTargetError):
        run_registry_exports(tmp_path, targets=("nope",))

    assert _versions(tmp_path) == before
    assert set(before.values()) == {0}
    assert run_registry_exports(tmp_path, specs=specs).changed == ()


def test_polars_reads_every_table_with_the_builders_rows(tmp_path: Path, specs: SpecSet) -> None:
    result = run_registry_exports(tmp_path, specs=specs)
    built = build_registry_tables(specs)

    for export in result.tables:
        expected_table = built[export.target][export.table]
        frame = pl.read_delta(export.path)
        assert frame.columns == expected_table.schema.names, export.table
        assert frame.height == export.rows
        key = SORT_KEY[export.table]
        actual = _sorted_rows(frame.to_dicts(), key)
        expected = _sorted_rows(expected_table.to_pylist(), key)
        assert actual == expected, export.table


def test_commit_metadata_holds_table_and_spec_fingerprints(tmp_path: Path, specs: SpecSet) -> None:
    first = run_registry_exports(tmp_path, specs=specs)
    built = build_registry_tables(specs)

    for export in first.tables:
        (commit,) = DeltaTable(export.path).history(1)
        assert commit[FINGERPRINT_KEY] == export.fingerprint
        assert commit[FINGERPRINT_KEY] == table_fingerprint(built[export.target][export.table])
        assert commit[SPEC_FINGERPRINT_KEY] == first.spec_fingerprint

    changed_specs = dataclasses.replace(
        specs, node_contracts=_replace_at(specs.node_contracts, 0, description="edited")
    )
    second = run_registry_exports(tmp_path, specs=changed_specs)
    (changed,) = second.changed
    (commit,) = DeltaTable(changed.path).history(1)
    assert commit["version"] == 1
    assert commit[FINGERPRINT_KEY] == changed.fingerprint
    before = {t.table: t.fingerprint for t in first.tables}
    assert commit[FINGERPRINT_KEY] != before[changed.table]
    assert commit[SPEC_FINGERPRINT_KEY] == second.spec_fingerprint != first.spec_fingerprint
    for export in second.tables:
        (latest,) = DeltaTable(export.path).history(1)
        assert latest[FINGERPRINT_KEY] == export.fingerprint
