"""Synthetic registries: the registry tables' rows copied ``factor - 1`` times with renamed keys.

Unlike ``bench/scale_specs.py`` this knows nothing of the spec classes: it works on the registry
tables. The keys are the values of each copied table's first key column (kind, name); copy ``i``
renames every string equal to a key, wherever it occurs (references in lists and structs
included), with a ``_R{i}`` suffix, so each copy refers to its own kinds, props, enums, fields,
bundles, datasets and policies. One column is unique without being a key: a dataset's ``role``
(one dataset per role), which copies leave empty. Not copied: the diagnostics (the export
computes them again) and the rule tables, whose rows embed names in expressions and versioned
contract names that renaming whole values cannot follow (``scale_specs`` copies rules). The
scaled tables are decoded into specs (the round trip is exact) so they can be validated and
exported like any other registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from cpg.registry_readers import spec_set_from_tables
from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import require_valid_specs
from storage.deltalake.registry_layout import table_spec
from storage.deltalake.registry_runner import build_registry_tables

_EMPTIED_IN_COPIES = {"cpg_dataset_rows": ("role",)}
_NOT_COPIED = (
    "registry_diagnostics",
    "relspec_rule_definitions",
    "relspec_rule_templates",
    "relspec_relation_contracts",
)


def scale_registry_tables(tables: Mapping[str, pa.Table], factor: int) -> dict[str, pa.Table]:
    """``tables`` with the rows of every copied table repeated ``factor - 1`` times under renamed
    keys."""
    keys: set[str] = set()
    for name, table in tables.items():
        spec = table_spec(name)
        if spec is not None and name not in _NOT_COPIED:
            keys.update(str(value) for value in table.column(spec.sort_key[0]).to_pylist())
    scaled: dict[str, pa.Table] = {}
    for name, table in tables.items():
        if name in _NOT_COPIED:
            scaled[name] = table
            continue
        rows = table.to_pylist()
        emptied = _EMPTIED_IN_COPIES.get(name, ())
        copies = [
            _copy(row, f"_R{index}", keys, emptied) for index in range(1, factor) for row in rows
        ]
        scaled[name] = pa.Table.from_pylist(rows + copies, schema=table.schema)
    return scaled


def _copy(
    row: dict[str, Any], suffix: str, keys: set[str], emptied: tuple[str, ...]
) -> dict[str, Any]:
    copied = {column: _renamed(value, suffix, keys) for column, value in row.items()}
    for column in emptied:
        copied[column] = None
    return copied


def _renamed(value: Any, suffix: str, keys: set[str]) -> Any:
    if isinstance(value, str):
        return value + suffix if value in keys else value
    if isinstance(value, list):
        return [_renamed(item, suffix, keys) for item in value]
    if isinstance(value, dict):
        return {field: _renamed(item, suffix, keys) for field, item in value.items()}
    return value


def scale_registry(factor: int, base: SpecSet | None = None) -> SpecSet:
    """The spec set of ``base``'s registry tables (the canonical specs) scaled ``factor`` times,
    validated."""
    built = build_registry_tables(canonical_spec_set() if base is None else base)
    tables = {name: table for by_name in built.values() for name, table in by_name.items()}
    specs = spec_set_from_tables(scale_registry_tables(tables, factor))
    require_valid_specs(specs)
    return specs
