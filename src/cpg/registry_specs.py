"""Dataset rows, schemas and contracts, built from registry tables.

Every accessor takes ``registry``: a path reads the Delta registry there (a registry root or an
output dir holding ``registry/``); None means the module default, which is the in-memory tables
(decoded like any other) until pointed elsewhere::

    from cpg.registry_specs import dataset_schema, use_registry

    dataset_schema("cpg_nodes_v1")                      # in-memory tables
    dataset_schema("cpg_nodes_v1", registry="build")    # build/registry/cpg/...
    with use_registry("build"):                         # default for the block
        dataset_schema("cpg_nodes_v1")
    set_default_registry("build")                       # default from now on

Schemas are derived by ``cpg.dataset_schemas.dataset_schema`` from the decoded row, field catalog,
bundles and templates; nothing here declares a schema. A dataset row that references something
the registry does not declare is rejected at load time with its table, row and column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pyarrow as pa

from cpg.dataset_schemas import dataset_schema as derive_dataset_schema
from cpg.datasets import (
    BundleSpec,
    DatasetRole,
    DatasetRow,
    DedupeStrategy,
    FieldSpec,
    RegistryTemplate,
    SortKey,
)
from cpg.registry_readers import (
    bundle_catalog_from_table,
    dataset_rows_from_table,
    field_catalog_from_table,
    registry_templates_from_table,
    required_table,
)
from cpg.registry_source import (
    RegistryPath,
    default_registry,
    load,
    set_default_registry,
    use_registry,
)
from cpg.validation import catalog_violations, dataset_violations

__all__ = [
    "DATASET_TABLES",
    "DatasetCatalog",
    "DatasetContract",
    "UnknownDatasetError",
    "dataset_catalog",
    "dataset_catalog_from_tables",
    "dataset_contract",
    "dataset_for_role",
    "dataset_names",
    "dataset_row",
    "dataset_rows",
    "dataset_schema",
    "default_registry",
    "set_default_registry",
    "use_registry",
]

ROWS_TABLE = "cpg_dataset_rows"
FIELDS_TABLE = "cpg_field_catalog"
BUNDLES_TABLE = "cpg_bundle_catalog"
TEMPLATES_TABLE = "cpg_registry_templates"
DATASET_TABLES: tuple[str, ...] = (ROWS_TABLE, FIELDS_TABLE, BUNDLES_TABLE, TEMPLATES_TABLE)


class UnknownDatasetError(LookupError):
    """A dataset name the registry does not declare; the message lists the known ones."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown dataset {name!r}; known datasets: {', '.join(known)}")


@dataclass(frozen=True)
class DatasetContract:
    """What a dataset promises: its columns (schema), identity, dedupe contract and sort order."""

    name: str
    version: int
    row: DatasetRow
    schema: pa.Schema
    key_fields: tuple[str, ...]
    dedupe_keys: tuple[str, ...]
    tie_breakers: tuple[SortKey, ...]
    dedupe_strategy: DedupeStrategy
    canonical_sort: tuple[SortKey, ...]


@dataclass(frozen=True)
class DatasetCatalog:
    """The decoded dataset tables of one registry, with every dataset's contract derived."""

    rows: tuple[DatasetRow, ...]
    fields: tuple[FieldSpec, ...]
    bundles: tuple[BundleSpec, ...]
    templates: tuple[RegistryTemplate, ...]
    contracts: Mapping[str, DatasetContract] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        contracts = {row.name: self._contract(row) for row in self.rows}
        object.__setattr__(self, "contracts", MappingProxyType(contracts))

    def _contract(self, row: DatasetRow) -> DatasetContract:
        return DatasetContract(
            name=row.name,
            version=row.version,
            row=row,
            schema=derive_dataset_schema(row, self.fields, self.bundles, self.templates),
            key_fields=row.key_fields,
            dedupe_keys=row.dedupe_keys,
            tie_breakers=row.tie_breakers,
            dedupe_strategy=row.dedupe_strategy,
            canonical_sort=row.canonical_sort,
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Every dataset name, in table order."""
        return tuple(row.name for row in self.rows)

    def by_role(self, role: DatasetRole) -> DatasetContract:
        """The contract of the dataset with ``role`` (``UnknownDatasetError`` when none has it)."""
        for row in self.rows:
            if row.role == role:
                return self.contracts[row.name]
        raise UnknownDatasetError(f"<role {role.value}>", self.names)

    def contract(self, name: str) -> DatasetContract:
        """The contract of dataset ``name`` (``UnknownDatasetError`` listing the known ones)."""
        contract = self.contracts.get(name)
        if contract is None:
            raise UnknownDatasetError(name, self.names)
        return contract


def dataset_catalog_from_tables(tables: Mapping[str, pa.Table]) -> DatasetCatalog:
    """Decode the dataset tables (by name) and check that their references resolve."""

    rows = dataset_rows_from_table(required_table(tables, ROWS_TABLE))
    fields = field_catalog_from_table(required_table(tables, FIELDS_TABLE))
    bundles = bundle_catalog_from_table(required_table(tables, BUNDLES_TABLE))
    templates = registry_templates_from_table(required_table(tables, TEMPLATES_TABLE))
    problems = (
        *catalog_violations(fields, bundles),
        *dataset_violations(rows, fields, bundles, templates),
    )
    if problems:
        raise problems[0].decode_error()
    return DatasetCatalog(rows=rows, fields=fields, bundles=bundles, templates=templates)


def dataset_catalog(registry: RegistryPath | None = None) -> DatasetCatalog:
    """The decoded dataset tables of ``registry`` (None: the default), cached."""
    return load(registry, DATASET_TABLES, dataset_catalog_from_tables)


def dataset_rows(registry: RegistryPath | None = None) -> tuple[DatasetRow, ...]:
    """Every dataset row of ``registry``, sorted by name."""
    return dataset_catalog(registry).rows


def dataset_names(registry: RegistryPath | None = None) -> tuple[str, ...]:
    """Every dataset name of ``registry``, sorted."""
    return dataset_catalog(registry).names


def dataset_row(name: str, registry: RegistryPath | None = None) -> DatasetRow:
    """The row of dataset ``name`` (``UnknownDatasetError`` listing the known ones)."""
    return dataset_catalog(registry).contract(name).row


def dataset_schema(name: str, registry: RegistryPath | None = None) -> pa.Schema:
    """The Arrow schema of dataset ``name``, derived from the registry's tables."""
    return dataset_catalog(registry).contract(name).schema


def dataset_contract(name: str, registry: RegistryPath | None = None) -> DatasetContract:
    """The contract of dataset ``name``: row, schema, keys, dedupe and canonical sort."""
    return dataset_catalog(registry).contract(name)


def dataset_for_role(role: DatasetRole, registry: RegistryPath | None = None) -> DatasetContract:
    """The contract of the dataset that plays ``role`` in ``registry`` (whatever its name)."""
    return dataset_catalog(registry).by_role(role)
