"""Hypothesis strategies for random *valid* spec sets.

``spec_sets()`` draws a ``SpecSet`` that ``validate_specs`` accepts with zero violations:
unique names per collection, node and edge kinds disjoint, exactly one contract and at least one
(planned) derivation per kind, every reference (source kind, prop, enum, field, bundle, template,
edge kind, rule template) resolving, and dataset keys among the dataset's resolved columns.
Collections hold at most a few elements so that examples stay fast.
"""

from __future__ import annotations

import json
import keyword
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
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
    AmbiguityPolicy,
    ColumnExpr,
    ColumnLiteral,
    ConfidencePolicy,
    EdgeEmitPayload,
    EvidenceSpec,
    ExecutionMode,
    HashJoinPayload,
    IntervalAlignPayload,
    PolicyOverrides,
    RelationColumn,
    RelationContract,
    RuleDefinition,
    RuleDomain,
    RuleKind,
    RuleParam,
    RulePayload,
    RuleTemplateSpec,
)
from relspec.rules.plan import (
    ALIGN_HOWS,
    ALIGN_MODES,
    JOIN_TYPES,
    MATCH_KIND,
    MATCH_SCORE,
    PlannedColumn,
    plan_rule,
)
from relspec.rules.policies import DEFAULT_CONFIDENCE_POLICY

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


_EVIDENCE = st.builds(EvidenceSpec, sources=_name_tuples(), required_columns=_name_tuples())
_RELATION_TYPES = ("string", "int64", "int32", "float64", "bool")
_SPAN_COLUMNS = (
    RelationColumn("path", "string", False),
    RelationColumn("bstart", "int64", False),
    RelationColumn("bend", "int64", True),
)


def _relation_column(draw: st.DrawFn, name: str, node_kinds: Sequence[str]) -> RelationColumn:
    arrow_type = draw(st.sampled_from(_RELATION_TYPES))
    node_kind = draw(_optional_from(node_kinds)) if arrow_type == "string" else None
    return RelationColumn(name, arrow_type, draw(st.booleans()), node_kind, draw(texts))


def _extracted_relations(
    draw: st.DrawFn, source_names: Sequence[str], node_kinds: Sequence[str]
) -> tuple[RelationContract, ...]:
    """Relations layers would extract (planned: no extractor of this project exists for them).

    Each has a path and a span, so rules can align them, plus columns with identifier names
    (expressions name them) and columns with any name (payloads list them)."""
    relations = []
    for name in draw(_unique_names(min_size=1, max_size=3)):
        own = draw(
            st.lists(IDENTIFIERS | names, max_size=3, unique=True).filter(
                lambda found: not {"path", "bstart", "bend"} & set(found)
            )
        )
        module = ".".join(draw(st.lists(IDENTIFIERS, min_size=1, max_size=2)))
        relations.append(
            RelationContract(
                name=name,
                version=draw(st.integers(min_value=1, max_value=2**31)),
                layer=draw(st.sampled_from(source_names)),
                extractor=f"{module}:{draw(IDENTIFIERS)}",
                status=DerivationStatus.PLANNED,
                columns=(*_SPAN_COLUMNS, *(_relation_column(draw, c, node_kinds) for c in own)),
                description=draw(texts),
            )
        )
    return tuple(relations)


def _policies(
    draw: st.DrawFn,
) -> tuple[tuple[ConfidencePolicy, ...], tuple[AmbiguityPolicy, ...]]:
    unit = st.floats(min_value=0.0, max_value=1.0)
    confidence = [ConfidencePolicy(DEFAULT_CONFIDENCE_POLICY, draw(unit), draw(unit), draw(texts))]
    confidence += [
        ConfidencePolicy(name, draw(unit), draw(unit), draw(texts))
        for name in draw(_unique_names())
        if name != DEFAULT_CONFIDENCE_POLICY
    ]
    ambiguity = tuple(
        AmbiguityPolicy(
            name,
            draw(
                st.sampled_from(
                    [("path",), ("path", "bstart"), *[(k,) for k in draw(_name_tuples())]]
                )
            ),
            draw(st.sampled_from(["score", "confidence"])),
            draw(st.sampled_from(SortOrder)),
            draw(texts),
        )
        for name in draw(_unique_names())
    )
    return tuple(confidence), ambiguity


def _referable(name: str) -> bool:
    """Whether an expression can name this column: an identifier, no keyword, and unchanged by
    the NFKC normalization Python's parser applies to identifiers."""
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and unicodedata.normalize("NFKC", name) == name
    )


def _expression(draw: st.DrawFn, columns: Sequence[PlannedColumn]) -> str:
    """A valid expression over ``columns``: a literal of any text, a column, or a call."""
    named = [c for c in columns if _referable(c.name)]
    choices = ["literal"] + (["column", "null_test", "coalesce"] if named else [])
    choice = draw(st.sampled_from(choices))
    if choice == "literal":
        return repr(draw(st.one_of(texts, INT64, st.booleans())))
    column = draw(st.sampled_from(named)).name
    if choice == "column":
        return column
    if choice == "null_test":
        return f"{draw(st.sampled_from(['is_null', 'is_valid']))}({column})"
    return f"coalesce({column}, {column})"


def _project(
    draw: st.DrawFn, source: Sequence[PlannedColumn], *, allow_null: bool
) -> dict[str, object]:
    """A filter and projection over ``source``: predicate, select, exprs and literals."""
    named = [c for c in source if _referable(c.name)]
    predicate = None
    if named and draw(st.booleans()):
        column = draw(st.sampled_from(named)).name
        predicate = f"{draw(st.sampled_from(['is_null', 'is_valid']))}({column})"
    select = _subset(draw, [c.name for c in source])
    taken = set(select)
    exprs = []
    for column in draw(_unique_names(max_size=2)):
        if column not in taken:
            taken.add(column)
            exprs.append(ColumnExpr(column, _expression(draw, source)))
    values = _json_values if allow_null else _json_values.filter(lambda v: v is not None)
    literals = []
    for column in draw(_unique_names(max_size=2)):
        if column not in taken:
            taken.add(column)
            literals.append(ColumnLiteral(column, json.dumps(draw(values))))
    if not (select or exprs or literals):
        select = tuple(c.name for c in source)
    return {
        "predicate": predicate,
        "project_select": select,
        "project_exprs": tuple(exprs),
        "added_literals": tuple(literals),
    }


def _columns(relation: RelationContract) -> tuple[PlannedColumn, ...]:
    return tuple(
        PlannedColumn(c.name, c.arrow_type, c.nullable, c.node_kind) for c in relation.columns
    )


def _source_payload(
    draw: st.DrawFn, kind: RuleKind, inputs: Sequence[RelationContract]
) -> dict[str, object]:
    """The kind's own payload: none, a join on the path, or an alignment of the spans."""
    if kind == RuleKind.FILTER_PROJECT:
        return {}
    left, right = (_columns(r) for r in inputs)
    left_out = _subset(draw, [c.name for c in left], min_size=1)
    right_out = _subset(draw, [c.name for c in right if c.name not in left_out])
    if kind == RuleKind.HASH_JOIN:
        join_type = draw(st.sampled_from(JOIN_TYPES))
        if join_type in ("left semi", "left anti"):
            right_out = ()
        return {"hash_join": HashJoinPayload(join_type, ("path",), ("path",), left_out, right_out)}
    meta = draw(st.booleans())
    if meta:
        right_out = tuple(n for n in right_out if n not in (MATCH_KIND, MATCH_SCORE))
        left_out = tuple(n for n in left_out if n not in (MATCH_KIND, MATCH_SCORE))
    return {
        "interval_align": IntervalAlignPayload(
            mode=draw(st.sampled_from(ALIGN_MODES)),
            how=draw(st.sampled_from(ALIGN_HOWS)),
            left_path_col="path",
            left_start_col="bstart",
            left_end_col="bend",
            right_path_col="path",
            right_start_col="bstart",
            right_end_col="bend",
            select_left=left_out,
            select_right=right_out,
            emit_match_meta=meta,
        )
    }


def _edge_emit(
    draw: st.DrawFn, contract: EdgeContract, output: Sequence[PlannedColumn]
) -> EdgeEmitPayload:
    """An edge-emit payload over ``output`` (which holds a string column named ``src``)."""

    def typed(*value_types: str) -> tuple[str, ...]:
        return _subset(draw, [c.name for c in output if c.value_type in value_types])

    def ends(kinds: Sequence[str]) -> tuple[str, ...]:
        """String columns that may hold endpoints: ids of no declared kind or of ``kinds``."""
        fits = [
            c.name
            for c in output
            if c.value_type in ("str", "null") and (not c.node_kind or c.node_kind in kinds)
        ]
        return _subset(draw, fits)

    return EdgeEmitPayload(
        edge_kind=contract.kind,
        src_cols=("src", *(n for n in ends(contract.src_kinds) if n != "src")),
        dst_cols=("src",),
        path_cols=typed("str", "null"),
        bstart_cols=typed("int", "null"),
        bend_cols=typed("int", "null"),
        origin=draw(st.sampled_from(contract.allowed_sources)),
        resolution_method=draw(names),
        option_flag=draw(names),
    )


def _rules(
    draw: st.DrawFn,
    extracted: Sequence[RelationContract],
    contracts: Sequence[EdgeContract],
    rule_template_names: Sequence[str],
    policies: tuple[tuple[ConfidencePolicy, ...], tuple[AmbiguityPolicy, ...]],
) -> tuple[tuple[RuleDefinition, ...], tuple[RelationContract, ...]]:
    """Valid rules over the extracted relations, and the relations the non-emitting ones make.

    A relation rule's output contract is what the rule yields; an edge rule yields a ``src``
    string column (its endpoints) and every prop its edge contract requires."""
    emitting = [c for c in contracts if c.allowed_sources]
    taken = {r.name for r in extracted}
    rules: list[RuleDefinition] = []
    derived: list[RelationContract] = []
    confidence, ambiguity = policies
    for name in draw(_unique_names()):
        kind = draw(st.sampled_from(RuleKind))
        arity = 1 if kind == RuleKind.FILTER_PROJECT else 2
        inputs = [draw(st.sampled_from(extracted)) for _ in range(arity)]
        emits = bool(emitting) and draw(st.booleans())
        payload = _source_payload(draw, kind, inputs)
        probe = RuleDefinition(
            name,
            RuleDomain.CPG,
            kind,
            tuple(r.name for r in inputs),
            name,
            None,
            0,
            None,
            None,
            None,
            PolicyOverrides(),
            RulePayload(**payload),  # type: ignore[arg-type]
        )
        source = plan_rule(probe, [_columns(r) for r in inputs]).source_columns
        payload |= _project(draw, source, allow_null=emits)
        overrides = PolicyOverrides(
            confidence_policy=draw(_optional_from([p.name for p in confidence])),
        )
        if emits:
            contract = draw(st.sampled_from(emitting))
            names_so_far = {
                *payload["project_select"],
                *(e.column for e in payload["project_exprs"]),
                *(lit.column for lit in payload["added_literals"]),
            }  # type: ignore[attr-defined]
            extra = [
                ColumnLiteral(column, json.dumps(draw(texts)))
                for column in dict.fromkeys(("src", *(p.name for p in contract.required_props)))
                if column not in names_so_far  # a required prop may be named src
            ]
            payload["added_literals"] = (*payload["added_literals"], *extra)  # type: ignore[misc]
            planned = plan_rule(
                replace(probe, payload=RulePayload(**payload)),  # type: ignore[arg-type]
                [_columns(r) for r in inputs],
            )
            if planned.column("src") is None or planned.column("src").value_type != "str":  # type: ignore[union-attr]
                continue
            usable = [p.name for p in ambiguity if all(planned.column(k) for k in p.group_keys)]
            overrides = replace(overrides, ambiguity_policy=draw(_optional_from(usable)))
            payload["edge_emit"] = _edge_emit(draw, contract, planned.columns)
            output = name if name not in taken else draw(names.filter(lambda n: n not in taken))
            contract_name = draw(_optional(names))
        else:
            output = draw(names.filter(lambda n: n not in taken))
            planned = plan_rule(
                replace(probe, payload=RulePayload(**payload)),  # type: ignore[arg-type]
                [_columns(r) for r in inputs],
            )
            derived.append(
                RelationContract(
                    output,
                    1,
                    draw(st.sampled_from(sorted({r.layer for r in extracted}))),
                    None,
                    DerivationStatus.IMPLEMENTED,
                    tuple(
                        RelationColumn(c.name, c.arrow_type or "string", c.nullable, c.node_kind)
                        for c in planned.columns
                    ),
                    draw(texts),
                )
            )
            contract_name = f"{output}_v1"
        taken.add(output)
        rules.append(
            RuleDefinition(
                name=name,
                domain=draw(st.sampled_from(RuleDomain)),
                kind=kind,
                inputs=tuple(r.name for r in inputs),
                output=output,
                contract_name=contract_name,
                priority=draw(INT64),
                execution_mode=draw(_optional(st.sampled_from(ExecutionMode))),
                template=draw(_optional_from(rule_template_names)),
                evidence=draw(_optional(_EVIDENCE)),
                policy_overrides=overrides,
                payload=RulePayload(**payload),  # type: ignore[arg-type]
            )
        )
    return tuple(rules), tuple(derived)


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
    extracted = _extracted_relations(draw, source_names, node_kinds)
    policies = _policies(draw)
    rules, derived = _rules(draw, extracted, edge_contracts, rule_template_names, policies)

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
        relation_contracts=(*extracted, *derived),
        confidence_policies=policies[0],
        ambiguity_policies=policies[1],
    )
