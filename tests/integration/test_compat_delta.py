"""The compatibility check against real Delta registries: registry versions (exports) by number,
another registry by path, and clear errors for versions that do not exist (any more)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from deltalake import DeltaTable

from cpg.datasets import FieldSpec
from cpg.spec_set import SpecSet, canonical_spec_set
from generator.compat import compare_registries, load_previous
from storage.deltalake.registry_history import RegistryVersionError, registry_exports
from storage.deltalake.registry_layout import RegistryNotFoundError
from storage.deltalake.registry_runner import export_registry, run_registry_exports

V1 = canonical_spec_set()


def _v2() -> SpecSet:
    """V1 with one breaking change (cpg_nodes_v1 keys) and one compatible one (a new field)."""
    rows = tuple(
        replace(row, key_fields=("node_id",)) if row.name == "cpg_nodes_v1" else row
        for row in V1.dataset_rows
    )
    extra = FieldSpec("extra", "string", nullable=True)
    return replace(V1, dataset_rows=rows, fields=(*V1.fields, extra))


V2 = _v2()


@pytest.fixture(scope="module")
def two_exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry root exported from V1, then from V2 (only the changed tables get versions)."""
    root = tmp_path_factory.mktemp("two_exports") / "registry"
    export_registry(root, specs=V1)
    second = export_registry(root, specs=V2)
    assert {table.table for table in second.changed} == {"cpg_dataset_rows", "cpg_field_catalog"}
    return root


def test_registry_version_0_is_the_first_export(two_exports: Path) -> None:
    assert load_previous("0", two_exports) == V1
    assert load_previous("1", two_exports) == V2
    assert load_previous(None, two_exports) == V2


def test_compare_registry_version_0_with_the_latest(two_exports: Path) -> None:
    report = compare_registries(load_previous("0", two_exports), load_previous(None, two_exports))
    assert [(f.rule, f.element) for f in report.breaking] == [
        ("KEY_FIELDS_CHANGED", "dataset cpg_nodes_v1")
    ]
    assert [(f.rule, f.element) for f in report.compatible] == [("FIELD_ADDED", "field extra")]
    assert report.exit_code == 1


def test_exports_are_counted_across_tables(two_exports: Path) -> None:
    exports = registry_exports(two_exports)
    assert [state.number for state in exports] == [0, 1]
    first, second = exports
    assert set(first.versions.values()) == {0}
    changed = {name for name, version in second.versions.items() if version == 1}
    assert changed == {"cpg_dataset_rows", "cpg_field_catalog"}


def test_a_return_to_earlier_specs_is_a_new_export(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    for specs in (V1, V2, V1):
        export_registry(root, specs=specs)
    assert len(registry_exports(root)) == 3
    assert load_previous("1", root) == V2
    assert load_previous("2", root) == V1


def test_against_another_registry_path(tmp_path: Path) -> None:
    run_registry_exports(tmp_path / "published", specs=V1)
    run_registry_exports(tmp_path / "candidate", specs=V2)
    previous = load_previous(str(tmp_path / "published"), tmp_path / "candidate")
    assert previous == V1
    assert load_previous(str(tmp_path / "published" / "registry"), tmp_path / "x") == V1
    report = compare_registries(previous, load_previous(None, tmp_path / "candidate"))
    assert report.exit_code == 1


def test_against_a_path_without_a_registry(tmp_path: Path) -> None:
    with pytest.raises(RegistryNotFoundError, match="no registry at"):
        load_previous(str(tmp_path / "nowhere"), tmp_path)


def test_a_missing_registry_version_is_a_clear_error(two_exports: Path) -> None:
    with pytest.raises(RegistryVersionError) as error:
        load_previous("7", two_exports)
    assert str(error.value) == (
        f"no registry version 7 at {two_exports}: it has 2 export(s) (versions 0..1)"
    )
    with pytest.raises(RegistryVersionError, match="count from 0"):
        load_previous("-1", two_exports)


def test_a_table_created_by_a_later_export_is_named(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    export_registry(root, ("relspec",), specs=V1)
    export_registry(root, specs=V2)
    with pytest.raises(RegistryVersionError) as error:
        load_previous("0", root)
    assert str(error.value) == (
        f"registry version 0 at {root}: table cpg_source_kinds did not exist yet "
        "(a later export created it)"
    )
    assert load_previous("1", root) == V2


def test_a_vacuumed_table_version_is_named(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    export_registry(root, specs=V1)
    export_registry(root, specs=V2)
    table = DeltaTable(str(root / "cpg" / "cpg_dataset_rows"))
    table.vacuum(retention_hours=0, dry_run=False, enforce_retention_duration=False)
    assert load_previous("1", root) == V2
    with pytest.raises(RegistryVersionError) as error:
        load_previous("0", root)
    message = str(error.value)
    assert message.startswith(
        f"registry version 0 at {root}: table cpg_dataset_rows version 0 can no longer be read "
        "(vacuumed?)"
    )


def test_a_partial_export_is_not_a_registry_version(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    export_registry(root, specs=V1)
    rules = tuple(replace(rule, priority=rule.priority + 1) for rule in V1.rules)
    export_registry(root, ("relspec",), specs=replace(V2, rules=rules))
    with pytest.raises(RegistryVersionError) as error:
        load_previous("1", root)
    assert str(error.value).startswith(
        f"registry version 1 at {root}: the tables' versions do not add up to the export's spec "
        "fingerprint"
    )
    assert load_previous("0", root) == V1
