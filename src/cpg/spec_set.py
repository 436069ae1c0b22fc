"""A complete set of specs in one value, so validation, encoding and tests work on any spec set.

``canonical_spec_set()`` gathers the hand-written specs of this project; tests, the golden run
and the benchmark scaler build other spec sets with ``dataclasses.replace``.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from operator import attrgetter
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cpg.contracts import EdgeContract, NodeContract, PropDecl, PropEnum, SourceKindSpec
from cpg.datasets import BundleSpec, DatasetRow, FieldSpec, RegistryTemplate
from cpg.derivation import Derivation
from relspec.rules.model import (
    AmbiguityPolicy,
    ConfidencePolicy,
    RelationContract,
    RuleDefinition,
    RuleTemplateSpec,
)

SORT_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "source_kinds": ("name",),
        "prop_enums": ("name",),
        "prop_catalog": ("name",),
        "node_contracts": ("kind",),
        "edge_contracts": ("kind",),
        "derivations": ("kind", "source", "extractor", "provider_or_field"),
        "fields": ("name",),
        "bundles": ("name",),
        "dataset_rows": ("name",),
        "templates": ("name",),
        "rule_templates": ("name",),
        "rules": ("name",),
        "relation_contracts": ("name",),
        "confidence_policies": ("name",),
        "ambiguity_policies": ("name",),
    }
)
"""Per collection, the attributes that identify an element; collections are kept in this order."""


@dataclass(frozen=True)
class SpecSet:
    """Every spec the registry is built from.

    Each collection is sorted by its key (``SORT_KEYS``; kind names by value) on construction,
    so a spec set has one canonical form: the order in which the registry tables store it and
    the decoders return it.
    """

    source_kinds: tuple[SourceKindSpec, ...]
    node_kinds: tuple[str, ...]
    edge_kinds: tuple[str, ...]
    prop_enums: tuple[PropEnum, ...]
    prop_catalog: tuple[PropDecl, ...]
    node_contracts: tuple[NodeContract, ...]
    edge_contracts: tuple[EdgeContract, ...]
    derivations: tuple[Derivation, ...]
    fields: tuple[FieldSpec, ...]
    bundles: tuple[BundleSpec, ...]
    dataset_rows: tuple[DatasetRow, ...]
    templates: tuple[RegistryTemplate, ...]
    rule_templates: tuple[RuleTemplateSpec, ...]
    rules: tuple[RuleDefinition, ...]
    relation_contracts: tuple[RelationContract, ...]
    confidence_policies: tuple[ConfidencePolicy, ...]
    ambiguity_policies: tuple[AmbiguityPolicy, ...]

    def __post_init__(self) -> None:
        for field in fields(self):
            items: tuple[Any, ...] = getattr(self, field.name)
            keys = SORT_KEYS.get(field.name)
            ordered = sorted(items, key=attrgetter(*keys)) if keys else sorted(items)
            object.__setattr__(self, field.name, tuple(ordered))


class SpecLoadError(ValueError):
    """A spec module cannot be imported or evaluated; names the spec file and line at fault."""

    def __init__(self, location: str, error: BaseException) -> None:
        detail = error.msg if isinstance(error, SyntaxError) else str(error)
        super().__init__(f"{location}: cannot load the specs: {type(error).__name__}: {detail}")
        self.location = location


def _spec_location(error: BaseException) -> str:
    """``file:line`` of the innermost spec-module frame of ``error`` (cwd-relative if possible)."""
    roots = tuple(Path(__file__).resolve().parent.parent / name for name in ("cpg", "relspec"))
    candidates: list[tuple[str, int | None]] = []
    if isinstance(error, SyntaxError) and error.filename:
        candidates.append((error.filename, error.lineno))
    candidates.extend(
        (frame.filename, frame.lineno)
        for frame in reversed(traceback.extract_tb(error.__traceback__))
    )
    for filename, line in candidates:
        path = Path(filename).resolve()
        if any(path.is_relative_to(root) for root in roots):
            shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
            return f"{shown}:{line}"
    return "specs"


@cache
def canonical_spec_set() -> SpecSet:
    """The project's own specs (imported lazily: only spec-side code needs them).

    Raises ``SpecLoadError`` naming the spec file and line when a spec module fails to import
    or evaluate (an unknown prop name, a removed enum member, a syntax error).
    """
    try:
        return _gather_specs()
    except Exception as exc:
        raise SpecLoadError(_spec_location(exc), exc) from exc


def _gather_specs() -> SpecSet:
    from cpg.derivations import DERIVATIONS
    from cpg.edge_contracts import EDGE_CONTRACTS
    from cpg.kinds import EdgeKind, NodeKind
    from cpg.node_contracts import NODE_CONTRACTS
    from cpg.props import PROP_CATALOG, PROP_ENUMS, SOURCE_KINDS
    from cpg.registry_bundles import BUNDLES
    from cpg.registry_fields import FIELD_CATALOG
    from cpg.registry_rows import DATASET_ROWS
    from cpg.registry_templates import REGISTRY_TEMPLATES
    from relspec.rules.cpg_rules import CPG_RULES, RULE_TEMPLATES
    from relspec.rules.policies import AMBIGUITY_POLICIES, CONFIDENCE_POLICIES
    from relspec.rules.relation_contracts import RELATION_CONTRACTS

    return SpecSet(
        source_kinds=SOURCE_KINDS,
        node_kinds=tuple(NodeKind),
        edge_kinds=tuple(EdgeKind),
        prop_enums=PROP_ENUMS,
        prop_catalog=PROP_CATALOG,
        node_contracts=NODE_CONTRACTS,
        edge_contracts=EDGE_CONTRACTS,
        derivations=DERIVATIONS,
        fields=FIELD_CATALOG,
        bundles=BUNDLES,
        dataset_rows=DATASET_ROWS,
        templates=REGISTRY_TEMPLATES,
        rule_templates=RULE_TEMPLATES,
        rules=CPG_RULES,
        relation_contracts=RELATION_CONTRACTS,
        confidence_policies=CONFIDENCE_POLICIES,
        ambiguity_policies=AMBIGUITY_POLICIES,
    )
