"""Spec dataclasses for the dataset side: field catalog, bundles, dataset rows and templates."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SortOrder(StrEnum):
    """Direction of one sort key."""

    ASCENDING = "ascending"
    DESCENDING = "descending"


class DedupeStrategy(StrEnum):
    """How duplicate rows (same dedupe keys) are resolved."""

    KEEP_FIRST_AFTER_SORT = "KEEP_FIRST_AFTER_SORT"


class DatasetRole(StrEnum):
    """What a dataset holds for its consumers, whatever its name and version.

    Consumers (the graph pipeline, ``cpg.schemas``, the generated readers) find a dataset by its
    role, so a new version under a new name (``cpg_nodes_v2``) changes no consumer code.
    """

    NODES = "nodes"
    EDGES = "edges"
    PROPS = "props"
    PROPS_JSON = "props_json"
    PROPS_BY_FILE_ID = "props_by_file_id"
    PROPS_GLOBAL = "props_global"


class DeterminismTier(StrEnum):
    """How reproducible the rows of a dataset built from a template are."""

    CANONICAL = "canonical"
    STABLE_SET = "stable_set"
    BEST_EFFORT = "best_effort"


@dataclass(frozen=True)
class FieldSpec:
    """One column of the field catalog.

    ``arrow_type`` is a value-type name (see ``cpg.arrow_types``); ``dictionary_encoded`` wraps it
    in ``dictionary<int32, value>``.
    """

    name: str
    arrow_type: str
    nullable: bool
    dictionary_encoded: bool = False


@dataclass(frozen=True)
class BundleSpec:
    """A named group of catalog fields that datasets include together."""

    name: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class SortKey:
    """A column and its sort direction."""

    column: str
    order: SortOrder = SortOrder.ASCENDING


@dataclass(frozen=True)
class DatasetRow:
    """A dataset declaration: its columns come from its bundles, then its own fields."""

    name: str
    version: int
    bundles: tuple[str, ...]
    fields: tuple[str, ...]
    required_non_null: tuple[str, ...]
    key_fields: tuple[str, ...]
    dedupe_keys: tuple[str, ...]
    tie_breakers: tuple[SortKey, ...]
    dedupe_strategy: DedupeStrategy
    canonical_sort: tuple[SortKey, ...]
    template: str | None
    contract_name: str | None
    description: str = ""
    role: DatasetRole | None = None
    """Set on the datasets consumers look up by role; at most one dataset per role."""


@dataclass(frozen=True)
class RegistryTemplate:
    """Defaults shared by the datasets built from one template."""

    name: str
    stage: str
    determinism_tier: DeterminismTier
