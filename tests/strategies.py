"""Hypothesis strategies for random *valid* spec sets.

``spec_sets()`` draws a ``SpecSet`` that ``validate_specs`` accepts with zero violations:
unique names per collection, node and edge kinds disjoint, exactly one contract and at least one
(planned) derivation per kind, every reference (source kind, prop, enum, field, bundle, template,
edge kind, rule template) resolving, and dataset keys among the dataset's resolved columns.
Collections hold at most a few elements so that examples stay fast.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar

from hypothesis import strategies as st

from cpg.arrow_types import ARROW_TYPES
from cpg.contracts import (
    EdgeContract,
    NodeContract,
    PropDecl,
    PropEnum,
    PropSpec,
    PropType,
    SourceKindSpec,
)
from cpg.datasets import (
    BundleSpec,
    DatasetRole,
    DatasetRow,
    DedupeStrategy,
    DeterminismTier,
    FieldSpec,
    RegistryTemplate,
    SortKey,
    SortOrder,
)
from cpg.derivation import Derivation, DerivationStatus
from cpg.kinds import EntityKind
from cpg.spec_set import SpecSet
from relspec.rules.model import (
    ColumnExpr,
    ColumnLiteral,
    EdgeEmitPayload,
    EvidenceSpec,
    ExecutionMode,
    HashJoinPayload,
    IntervalAlignPayload,
    PolicyOverrides,
    RuleDefinition,
    RuleDomain,
    RuleKind,
    RuleParam,
    RulePayload,
    RuleTemplateSpec,
)

T = TypeVar("T")

IDENTIFIERS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
"""Python identifiers, for the module and function parts of extractor references."""

MAX_ITEMS = 4
"""Upper bound on the size of every generated collection."""

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)

NAME_ALPHABET = st.characters(
    categories=("L", "Nd"),
    include_characters="_-. ",
    exclude_characters=":",
)
"""Letters (any script) and digits, plus a few separators; never surrogates."""

TEXT_ALPHABET = st.characters(
    categories=("L", "M", "N", "P", "S", "Zs"),
    exclude_characters=":/",
)
"""Free text (descriptions, expressions, ...): printable characters of any script."""

names = st.text(alphabet=NAME_ALPHABET, min_size=1, max_size=12).filter(str.strip)
"""A non-empty name (not only spaces: that is a spec violation), possibly non-ASCII."""

texts = st.text(alphabet=TEXT_ALPHABET, max_size=20)
"""Free text, possibly empty."""


def _name_tuples(*, min_size: int = 0) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(names, min_size=min_size, max_size=MAX_ITEMS).map(tuple)


def _unique_names(*, min_size: int = 0, max_size: int = MAX_ITEMS) -> st.SearchStrategy[list[str]]:
    return st.lists(names, min_size=min_size, max_size=max_size, unique=True)


def _subset(draw: st.DrawFn, pool: Sequence[T], *, min_size: int = 0) -> tuple[T, ...]:
    """Distinct elements of ``pool`` (in a random order); empty when the pool is."""
    if not pool:
        return ()
    size = min(MAX_ITEMS, len(pool))
    return tuple(
        draw(
            st.lists(
                st.sampled_from(pool),
                min_size=min(min_size, size),
                max_size=size,
                unique=True,
            )
        )
    )


def _optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


def _optional_from(pool: Sequence[str]) -> st.SearchStrategy[str | None]:
    return _optional(st.sampled_from(pool)) if pool else st.none()


# --- props ----------------------------------------------------------------------------------


def _prop_enums(draw: st.DrawFn) -> tuple[PropEnum, ...]:
    enum_names = draw(_unique_names())
    return tuple(PropEnum(name, tuple(draw(_unique_names()))) for name in enum_names)


def _prop_catalog(draw: st.DrawFn) -> tuple[PropDecl, ...]:
    prop_names = draw(_unique_names())
    return tuple(PropDecl(name, draw(st.sampled_from(PropType))) for name in prop_names)


def _contract_props(
    draw: st.DrawFn, catalog: tuple[PropDecl, ...], enums: Sequence[str]
) -> tuple[tuple[PropSpec, ...], tuple[PropSpec, ...]]:
    """Required and optional props: distinct catalog props, each with the catalog's type."""
    chosen = _subset(draw, catalog)
    props = tuple(PropSpec(p.name, p.type, draw(_optional_from(enums))) for p in chosen)
    split = draw(st.integers(min_value=0, max_value=len(props)))
    return props[:split], props[split:]


# --- kinds, contracts, derivations -----------------------------------------------------------


def _node_contract(
    draw: st.DrawFn,
    kind: str,
    sources: Sequence[str],
    catalog: tuple[PropDecl, ...],
    enums: Sequence[str],
) -> NodeContract:
    required, optional = _contract_props(draw, catalog, enums)
    return NodeContract(
        kind=kind,
        group=draw(names),
        description=draw(texts),
        requires_anchor=draw(st.booleans()),
        allowed_sources=_subset(draw, sources),
        required_props=required,
        optional_props=optional,
    )


def _edge_contract(
    draw: st.DrawFn,
    kind: str,
    node_kinds: Sequence[str],
    sources: Sequence[str],
    catalog: tuple[PropDecl, ...],
    enums: Sequence[str],
) -> EdgeContract:
    required, optional = _contract_props(draw, catalog, enums)
    return EdgeContract(
        kind=kind,
        group=draw(names),
        description=draw(texts),
        src_kinds=_subset(draw, node_kinds, min_size=1),
        dst_kinds=_subset(draw, node_kinds, min_size=1),
        requires_evidence_anchor=draw(st.booleans()),
        allowed_sources=_subset(draw, sources),
        required_props=required,
        optional_props=optional,
    )


def _derivations(
    draw: st.DrawFn, kind: str, entity: EntityKind, sources: Sequence[str]
) -> list[Derivation]:
    """One or two planned derivations of ``kind`` with distinct keys."""
    derivation = st.builds(
        Derivation,
        kind=st.just(kind),
        entity=st.just(entity),
        source=st.sampled_from(sources),
        extractor=st.builds("{}:{}".format, IDENTIFIERS, IDENTIFIERS),
        provider_or_field=texts,
        join_keys=_name_tuples(),
        id_column=names,
        id_recipe=texts,
        confidence_policy=texts,
        ambiguity_policy=texts,
        status=st.just(DerivationStatus.PLANNED),
    )
    return draw(
        st.lists(
            derivation,
            min_size=1,
            max_size=2,
            unique_by=lambda d: (d.source, d.extractor, d.provider_or_field),
        )
    )


# --- fields, bundles, datasets ---------------------------------------------------------------


def _fields(draw: st.DrawFn) -> tuple[FieldSpec, ...]:
    return tuple(
        FieldSpec(
            name=name,
            arrow_type=draw(st.sampled_from(sorted(ARROW_TYPES))),
            nullable=draw(st.booleans()),
            dictionary_encoded=draw(st.booleans()),
        )
        for name in draw(_unique_names())
    )


def _sort_keys(draw: st.DrawFn, columns: Sequence[str]) -> tuple[SortKey, ...]:
    return tuple(
        SortKey(column, draw(st.sampled_from(SortOrder))) for column in _subset(draw, columns)
    )


def _dataset_row(
    draw: st.DrawFn,
    name: str,
    field_names: Sequence[str],
    bundles: tuple[BundleSpec, ...],
    template_names: Sequence[str],
    role: DatasetRole | None = None,
) -> DatasetRow:
    """A dataset whose resolved columns are distinct and hold all its key and sort columns."""
    columns: list[str] = []
    chosen_bundles: list[str] = []
    for bundle in _subset(draw, bundles):
        if not set(bundle.fields) & set(columns):
            chosen_bundles.append(bundle.name)
            columns.extend(bundle.fields)
    own_fields = _subset(draw, [f for f in field_names if f not in columns])
    columns.extend(own_fields)
    return DatasetRow(
        name=name,
        version=draw(INT64),
        bundles=tuple(chosen_bundles),
        fields=own_fields,
        required_non_null=_subset(draw, columns),
        key_fields=_subset(draw, columns),
        dedupe_keys=_subset(draw, columns),
        tie_breakers=_sort_keys(draw, columns),
        dedupe_strategy=draw(st.sampled_from(DedupeStrategy)),
        canonical_sort=_sort_keys(draw, columns),
        template=draw(_optional_from(template_names)),
        contract_name=draw(_optional(names)),
        description=draw(texts),
        role=role,
    )


# --- rules -----------------------------------------------------------------------------------

_json_values = st.one_of(
    st.none(), st.booleans(), INT64, st.floats(allow_nan=False, allow_infinity=False), texts
)
"""Values a column literal may hold; rules store them as JSON text."""

_interval_align = st.builds(
    IntervalAlignPayload,
    mode=names,
    how=names,
    left_path_col=names,
    left_start_col=names,
    left_end_col=names,
    right_path_col=names,
    right_start_col=names,
    right_end_col=names,
    select_left=_name_tuples(),
    select_right=_name_tuples(),
    emit_match_meta=st.booleans(),
)

_hash_join = st.builds(
    HashJoinPayload,
    join_type=names,
    left_keys=_name_tuples(),
    right_keys=_name_tuples(),
    left_output=_name_tuples(),
    right_output=_name_tuples(),
)

_rule_templates = st.lists(
    st.builds(
        RuleTemplateSpec,
        name=names,
        factory=names,
        inputs=_name_tuples(),
        params=st.lists(st.builds(RuleParam, key=names, value=texts), max_size=3).map(tuple),
    ),
    max_size=MAX_ITEMS,
    unique_by=lambda t: t.name,
).map(tuple)


def _edge_emit(draw: st.DrawFn, contracts: Sequence[EdgeContract]) -> EdgeEmitPayload | None:
    """An edge-emit payload for an edge kind whose contract allows at least one source."""
    emitting = [c for c in contracts if c.allowed_sources]
    if not emitting or draw(st.booleans()):
        return None
    contract = draw(st.sampled_from(emitting))
    return EdgeEmitPayload(
        edge_kind=contract.kind,
        src_cols=draw(_name_tuples()),
        dst_cols=draw(_name_tuples()),
        path_cols=draw(_name_tuples()),
        bstart_cols=draw(_name_tuples()),
        bend_cols=draw(_name_tuples()),
        origin=draw(st.sampled_from(contract.allowed_sources)),
        resolution_method=draw(names),
        option_flag=draw(names),
    )


def _rule(
    draw: st.DrawFn,
    name: str,
    contracts: Sequence[EdgeContract],
    rule_template_names: Sequence[str],
) -> RuleDefinition:
    payload = RulePayload(
        predicate=draw(_optional(texts)),
        project_select=draw(_name_tuples()),
        project_exprs=tuple(
            draw(st.lists(st.builds(ColumnExpr, column=names, expr=texts), max_size=3))
        ),
        added_literals=tuple(
            draw(
                st.lists(
                    st.builds(ColumnLiteral, column=names, value_json=_json_values.map(json.dumps)),
                    max_size=3,
                )
            )
        ),
        edge_emit=_edge_emit(draw, contracts),
        interval_align=draw(_optional(_interval_align)),
        hash_join=draw(_optional(_hash_join)),
    )
    evidence = st.builds(EvidenceSpec, sources=_name_tuples(), required_columns=_name_tuples())
    policies = st.builds(
        PolicyOverrides, confidence_policy=_optional(names), ambiguity_policy=_optional(names)
    )
    return RuleDefinition(
        name=name,
        domain=draw(st.sampled_from(RuleDomain)),
        kind=draw(st.sampled_from(RuleKind)),
        inputs=draw(_name_tuples()),
        output=draw(names),
        contract_name=draw(_optional(names)),
        priority=draw(INT64),
        execution_mode=draw(_optional(st.sampled_from(ExecutionMode))),
        template=draw(_optional_from(rule_template_names)),
        evidence=draw(_optional(evidence)),
        policy_overrides=draw(policies),
        payload=payload,
    )


# --- the spec set ----------------------------------------------------------------------------


@st.composite
def spec_sets(draw: st.DrawFn) -> SpecSet:
    """A random spec set that ``validate_specs`` accepts with zero violations."""
    source_names = draw(_unique_names(min_size=1))
    source_kinds = tuple(SourceKindSpec(name, draw(texts)) for name in source_names)

    kind_names = draw(_unique_names(max_size=2 * MAX_ITEMS))
    split = draw(st.integers(min_value=0, max_value=min(MAX_ITEMS, len(kind_names))))
    node_kinds = kind_names[:split]
    edge_kinds = kind_names[split:] if node_kinds else []
    edge_kinds = edge_kinds[:MAX_ITEMS]

    prop_enums = _prop_enums(draw)
    enum_names = [e.name for e in prop_enums]
    prop_catalog = _prop_catalog(draw)

    node_contracts = tuple(
        _node_contract(draw, kind, source_names, prop_catalog, enum_names) for kind in node_kinds
    )
    edge_contracts = tuple(
        _edge_contract(draw, kind, node_kinds, source_names, prop_catalog, enum_names)
        for kind in edge_kinds
    )
    derivations = [
        *(d for k in node_kinds for d in _derivations(draw, k, EntityKind.NODE, source_names)),
        *(d for k in edge_kinds for d in _derivations(draw, k, EntityKind.EDGE, source_names)),
    ]

    fields = _fields(draw)
    field_names = [f.name for f in fields]
    bundles = tuple(BundleSpec(name, _subset(draw, field_names)) for name in draw(_unique_names()))
    templates = tuple(
        RegistryTemplate(name, draw(names), draw(st.sampled_from(DeterminismTier)))
        for name in draw(_unique_names())
    )
    template_names = [t.name for t in templates]
    dataset_names = draw(_unique_names())
    roles = [role if draw(st.booleans()) else None for role in draw(st.permutations(DatasetRole))]
    dataset_rows = tuple(
        _dataset_row(draw, name, field_names, bundles, template_names, role)
        for name, role in zip(dataset_names, [*roles, *[None] * len(dataset_names)], strict=False)
    )

    rule_templates = draw(_rule_templates)
    rule_template_names = [t.name for t in rule_templates]
    rules = tuple(
        _rule(draw, name, edge_contracts, rule_template_names) for name in draw(_unique_names())
    )

    return SpecSet(
        source_kinds=source_kinds,
        node_kinds=tuple(node_kinds),
        edge_kinds=tuple(edge_kinds),
        prop_enums=prop_enums,
        prop_catalog=prop_catalog,
        node_contracts=node_contracts,
        edge_contracts=edge_contracts,
        derivations=tuple(derivations),
        fields=fields,
        bundles=bundles,
        dataset_rows=dataset_rows,
        templates=templates,
        rule_templates=rule_templates,
        rules=rules,
    )
