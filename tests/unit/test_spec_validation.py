"""validate_specs: the canonical specs are clean, and every kind of violation is reported.

Each test breaks the canonical spec set on purpose (``dataclasses.replace``) and asserts the exact
violations that come back: which spec, which reference, and the gist of the message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from cpg.contracts import EdgeContract, NodeContract, PropSpec, PropType
from cpg.datasets import DatasetRow, SortKey
from cpg.derivation import Derivation, DerivationStatus
from cpg.kinds import EntityKind
from cpg.spec_set import SpecSet, canonical_spec_set
from cpg.validation import (
    SpecValidationError,
    Violation,
    require_valid_specs,
    validate_derivation_extractors,
    validate_specs,
)
from relspec.rules.cpg_rules import RULE_TEMPLATES
from relspec.rules.model import RuleDefinition, RuleParam, RuleTemplateSpec
from relspec.rules.templates import TemplateExpansionError, expand_rule_templates

BASE = canonical_spec_set()
GHOST = "GHOST_SPEC_NAME"
"""A name no canonical collection uses."""

Expected = tuple[str, str, str]
"""(spec, reference, a fragment of the message) of one expected violation."""


# --- helpers ---------------------------------------------------------------------------------


def _swap(items: tuple[Any, ...], old: Any, new: Any) -> tuple[Any, ...]:
    """``items`` with ``old`` (compared by identity) replaced by ``new``."""
    assert any(item is old for item in items)
    return tuple(new if item is old else item for item in items)


def _assert_violations(specs: SpecSet, *expected: Expected) -> tuple[Violation, ...]:
    """The violations of ``specs`` are exactly ``expected`` (as a multiset, any order)."""
    violations = validate_specs(specs)
    found = sorted((v.spec, v.reference) for v in violations)
    assert found == sorted((spec, ref) for spec, ref, _ in expected), violations
    messages = {(v.spec, v.reference): v.message for v in violations}
    for spec, ref, fragment in expected:
        assert fragment in messages[(spec, ref)], (spec, ref, messages[(spec, ref)])
    return violations


ALL_CONTRACTS: tuple[NodeContract | EdgeContract, ...] = (
    *BASE.node_contracts,
    *BASE.edge_contracts,
)


def _contract_spec(contract: NodeContract | EdgeContract) -> str:
    """How violations name a contract: ``node_contracts[KIND]`` or ``edge_contracts[KIND]``."""
    entity = "node" if isinstance(contract, NodeContract) else "edge"
    return f"{entity}_contracts[{contract.kind}]"


def _node_contract() -> NodeContract:
    return BASE.node_contracts[0]


def _rule_edge_kinds() -> set[str]:
    return {r.payload.edge_emit.edge_kind for r in BASE.rules if r.payload.edge_emit is not None}


def _quiet_edge_contract() -> EdgeContract:
    """An edge contract no rule emits, so editing it cannot break a rule."""
    used = _rule_edge_kinds()
    return next(c for c in BASE.edge_contracts if c.kind not in used)


def _single_derivation(entity: str = EntityKind.NODE) -> Derivation:
    """A derivation that is the only one of its kind."""
    counts: dict[str, int] = {}
    for d in BASE.derivations:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    return next(
        d
        for d in BASE.derivations
        if counts[d.kind] == 1 and d.entity == entity and d.status == DerivationStatus.PLANNED
    )


def _edge_rule() -> RuleDefinition:
    return next(r for r in BASE.rules if r.payload.edge_emit is not None)


def _dataset(name: str = "cpg_nodes_v1") -> DatasetRow:
    return next(r for r in BASE.dataset_rows if r.name == name)


def _with_derivation(derivation: Derivation, **changes: Any) -> SpecSet:
    new = replace(derivation, **changes)
    return replace(BASE, derivations=_swap(BASE.derivations, derivation, new))


def _with_node_contract(contract: NodeContract, **changes: Any) -> SpecSet:
    new = replace(contract, **changes)
    return replace(BASE, node_contracts=_swap(BASE.node_contracts, contract, new))


def _with_edge_contract(contract: EdgeContract, **changes: Any) -> SpecSet:
    new = replace(contract, **changes)
    return replace(BASE, edge_contracts=_swap(BASE.edge_contracts, contract, new))


def _with_dataset(row: DatasetRow, **changes: Any) -> SpecSet:
    new = replace(row, **changes)
    return replace(BASE, dataset_rows=_swap(BASE.dataset_rows, row, new))


def _with_rule(rule: RuleDefinition, **changes: Any) -> SpecSet:
    new = replace(rule, **changes)
    return replace(BASE, rules=_swap(BASE.rules, rule, new))


def _with_edge_emit(rule: RuleDefinition, **changes: Any) -> SpecSet:
    emit = rule.payload.edge_emit
    assert emit is not None
    payload = replace(rule.payload, edge_emit=replace(emit, **changes))
    return _with_rule(rule, payload=payload)


# --- the canonical spec set ------------------------------------------------------------------


def test_canonical_spec_set_has_no_violations() -> None:
    assert validate_specs(BASE) == ()
    require_valid_specs(BASE)


def test_canonical_spec_set_sizes() -> None:
    assert len(BASE.node_kinds) == 58
    assert len(BASE.edge_kinds) == 43
    assert len(BASE.node_contracts) == 58
    assert len(BASE.edge_contracts) == 43
    assert len(BASE.derivations) == 105
    assert len(BASE.fields) == 28
    assert len(BASE.dataset_rows) == 6
    assert len(BASE.rule_templates) == 7
    assert len(BASE.rules) == 23
    assert sum(r.payload.edge_emit is not None for r in BASE.rules) == 18


def test_implemented_derivations_name_extractors_of_this_project() -> None:
    """Which kinds are implemented is held to the build itself: ``test_implemented_kinds`` builds
    a corpus and compares the kinds it emits with the registry's implemented derivations."""
    implemented = [d for d in BASE.derivations if d.status == DerivationStatus.IMPLEMENTED]
    assert implemented
    assert all(d.extractor.startswith(("graph.extract.", "graph.rules.")) for d in implemented)
    assert validate_derivation_extractors(BASE) == ()


def test_implemented_derivation_with_a_broken_reference_is_caught() -> None:
    broken = tuple(
        (
            replace(d, extractor="graph.extract.ast_extract:no_such_function")
            if d.kind == "AST_CALL"
            else d
        )
        for d in BASE.derivations
    )
    violations = validate_derivation_extractors(replace(BASE, derivations=broken))
    assert [(v.spec, v.reference) for v in violations] == [
        ("derivations[AST_CALL]", "graph.extract.ast_extract:no_such_function")
    ]


def test_canonical_templated_rules_are_the_template_expansion() -> None:
    templated = {r.name: r for r in BASE.rules if r.template is not None}
    expanded = {r.name: r for r in expand_rule_templates(BASE.rule_templates)}
    assert templated == expanded


# --- duplicate names -------------------------------------------------------------------------


def _duplicate_first(collection: str, key: Callable[[Any], str]) -> tuple[SpecSet, str]:
    items: tuple[Any, ...] = getattr(BASE, collection)
    return replace(BASE, **{collection: (*items, items[0])}), key(items[0])


def _name(item: Any) -> str:
    return str(item.name)


def _derivation_key(d: Derivation) -> str:
    return repr((d.kind, d.source, d.extractor, d.provider_or_field))


@pytest.mark.parametrize(
    ("collection", "key"),
    [
        ("source_kinds", _name),
        ("node_kinds", str),
        ("edge_kinds", str),
        ("prop_enums", _name),
        ("prop_catalog", _name),
        ("derivations", _derivation_key),
        ("fields", _name),
        ("bundles", _name),
        ("dataset_rows", _name),
        ("templates", _name),
        ("rule_templates", _name),
        ("rules", _name),
    ],
)
def test_duplicate_name_in_collection(collection: str, key: Callable[[Any], str]) -> None:
    specs, name = _duplicate_first(collection, key)
    _assert_violations(specs, (collection, name, "declared 2 times"))


def test_duplicate_prop_enum_value() -> None:
    prop_enum = BASE.prop_enums[0]
    broken = replace(prop_enum, values=(*prop_enum.values, prop_enum.values[0]))
    specs = replace(BASE, prop_enums=_swap(BASE.prop_enums, prop_enum, broken))
    _assert_violations(
        specs, (f"prop_enums[{prop_enum.name}]", prop_enum.values[0], "declared 2 times")
    )


def test_name_both_node_and_edge_kind() -> None:
    edge_kind = BASE.edge_kinds[0]
    specs = replace(BASE, node_kinds=(*BASE.node_kinds, edge_kind))
    _assert_violations(
        specs,
        ("node_kinds/edge_kinds", edge_kind, "declared 2 times"),
        # the overlapping name is now also a node kind without a node contract
        ("node_contracts", edge_kind, "has 0 contracts"),
    )


# --- contracts per kind ----------------------------------------------------------------------


def test_node_kind_without_contract() -> None:
    contract = _node_contract()
    specs = replace(BASE, node_contracts=tuple(c for c in BASE.node_contracts if c is not contract))
    _assert_violations(specs, ("node_contracts", contract.kind, "has 0 contracts"))


def test_edge_kind_without_contract() -> None:
    contract = _quiet_edge_contract()
    specs = replace(BASE, edge_contracts=tuple(c for c in BASE.edge_contracts if c is not contract))
    _assert_violations(specs, ("edge_contracts", contract.kind, "has 0 contracts"))


@pytest.mark.parametrize("collection", ["node_contracts", "edge_contracts"])
def test_kind_with_two_contracts(collection: str) -> None:
    contracts: tuple[Any, ...] = getattr(BASE, collection)
    twin = replace(contracts[0], description="a second contract")
    specs = replace(BASE, **{collection: (*contracts, twin)})
    _assert_violations(specs, (collection, contracts[0].kind, "has 2 contracts"))


@pytest.mark.parametrize("collection", ["node_contracts", "edge_contracts"])
def test_contract_for_undeclared_kind(collection: str) -> None:
    contracts: tuple[Any, ...] = getattr(BASE, collection)
    stray = replace(contracts[0], kind=GHOST)
    specs = replace(BASE, **{collection: (*contracts, stray)})
    _assert_violations(specs, (collection, GHOST, "contract for an undeclared kind"))


@pytest.mark.parametrize("entity", ["node", "edge"])
def test_contract_allowed_source_unknown(entity: str) -> None:
    if entity == "node":
        node = _node_contract()
        specs = _with_node_contract(node, allowed_sources=(*node.allowed_sources, "nowhere"))
        kind = node.kind
    else:
        edge = _quiet_edge_contract()
        specs = _with_edge_contract(edge, allowed_sources=(*edge.allowed_sources, "nowhere"))
        kind = edge.kind
    _assert_violations(
        specs, (f"{entity}_contracts[{kind}]", "nowhere", "allowed source is not a source kind")
    )


def test_removed_source_kind_reported_for_every_user() -> None:
    """Dropping a source kind reports each contract and derivation that still names it."""
    source = "dis"
    specs = replace(BASE, source_kinds=tuple(s for s in BASE.source_kinds if s.name != source))
    violations = validate_specs(specs)
    users = [c for c in ALL_CONTRACTS if source in c.allowed_sources]
    derived = [d for d in BASE.derivations if d.source == source]
    assert users
    assert derived
    expected = {(_contract_spec(c), source) for c in users} | {
        (f"derivations[{d.kind}]", source) for d in derived
    }
    assert {(v.spec, v.reference) for v in violations} == expected
    assert len(violations) == len(users) + len(derived)


# --- derivations -----------------------------------------------------------------------------


@pytest.mark.parametrize("entity", [EntityKind.NODE, EntityKind.EDGE])
def test_kind_without_derivation(entity: EntityKind) -> None:
    victim = _single_derivation(entity)
    specs = replace(BASE, derivations=tuple(d for d in BASE.derivations if d is not victim))
    _assert_violations(specs, ("derivations", victim.kind, "kind has no derivation"))


def test_derivation_of_undeclared_kind() -> None:
    stray = replace(BASE.derivations[0], kind=GHOST)
    specs = replace(BASE, derivations=(*BASE.derivations, stray))
    _assert_violations(specs, (f"derivations[{GHOST}]", GHOST, "derivation of an undeclared kind"))


@pytest.mark.parametrize(
    ("entity", "wrong", "right"),
    [(EntityKind.NODE, "edge", "'node'"), (EntityKind.EDGE, "node", "'edge'")],
)
def test_derivation_with_wrong_entity(entity: EntityKind, wrong: str, right: str) -> None:
    derivation = _single_derivation(entity)
    specs = _with_derivation(derivation, entity=wrong)
    _assert_violations(specs, (f"derivations[{derivation.kind}]", wrong, f"entity must be {right}"))


def test_derivation_with_unknown_entity() -> None:
    derivation = _single_derivation()
    specs = _with_derivation(derivation, entity="vertex")
    _assert_violations(
        specs, (f"derivations[{derivation.kind}]", "vertex", "entity must be 'node'")
    )


def test_derivation_source_unknown() -> None:
    derivation = _single_derivation()
    specs = _with_derivation(derivation, source="nowhere")
    _assert_violations(
        specs, (f"derivations[{derivation.kind}]", "nowhere", "source is not a source kind")
    )


@pytest.mark.parametrize("status", [DerivationStatus.PLANNED, DerivationStatus.IMPLEMENTED])
@pytest.mark.parametrize(
    "extractor", ["no_colon_here", ":extract", "graph.extract:", ":", "", "a:b:c", ".x:f", "a b:f"]
)
def test_malformed_extractor_reference(extractor: str, status: DerivationStatus) -> None:
    derivation = _single_derivation()
    specs = _with_derivation(derivation, extractor=extractor, status=status)
    _assert_violations(
        specs,
        (f"derivations[{derivation.kind}]", extractor, "extractor must be 'module:function'"),
    )


@pytest.mark.parametrize(
    ("extractor", "problem"),
    [
        (
            "cpg_no_such_module_xyz:extract",
            "module 'cpg_no_such_module_xyz' is not part of this project",
        ),
        ("os:getcwd", "module 'os' is not part of this project"),
        ("cpg.no_such_submodule:extract", "module 'cpg.no_such_submodule' cannot be found"),
        (
            "cpg.validation:no_such_function",
            "cpg.validation.no_such_function is not a function defined at the top of that module",
        ),
        # exists, but is a mapping rather than a function
        (
            "cpg.arrow_types:ARROW_TYPES",
            "cpg.arrow_types.ARROW_TYPES is not a function defined at the top of that module",
        ),
    ],
)
def test_implemented_derivation_with_unusable_extractor(extractor: str, problem: str) -> None:
    derivation = _single_derivation()
    specs = _with_derivation(derivation, extractor=extractor, status=DerivationStatus.IMPLEMENTED)
    _assert_violations(
        specs, (f"derivations[{derivation.kind}]", extractor, f"implemented, but {problem}")
    )


def test_implemented_derivation_with_callable_extractor_is_valid() -> None:
    derivation = _single_derivation()
    specs = _with_derivation(
        derivation,
        extractor="cpg.validation:validate_specs",
        status=DerivationStatus.IMPLEMENTED,
    )
    assert validate_specs(specs) == ()


def test_planned_derivation_extractor_is_not_imported() -> None:
    derivation = _single_derivation()
    specs = _with_derivation(derivation, extractor="cpg_no_such_module_xyz:extract")
    assert derivation.status == DerivationStatus.PLANNED
    assert validate_specs(specs) == ()


# --- contract props --------------------------------------------------------------------------


def _contract_with_props(entity: str) -> NodeContract | EdgeContract:
    contracts: tuple[NodeContract | EdgeContract, ...] = (
        BASE.node_contracts if entity == "node" else BASE.edge_contracts
    )
    return next(c for c in contracts if c.required_props or c.optional_props)


def _with_props(entity: str, extra: PropSpec) -> tuple[SpecSet, str]:
    contract = _contract_with_props(entity)
    optional = (*contract.optional_props, extra)
    if isinstance(contract, NodeContract):
        specs = _with_node_contract(contract, optional_props=optional)
    else:
        specs = _with_edge_contract(contract, optional_props=optional)
    return specs, f"{entity}_contracts[{contract.kind}]"


def _first_prop(entity: str) -> PropSpec:
    contract = _contract_with_props(entity)
    return (*contract.required_props, *contract.optional_props)[0]


ENTITIES = pytest.mark.parametrize("entity", ["node", "edge"])


@ENTITIES
def test_contract_declares_prop_twice(entity: str) -> None:
    prop = _first_prop(entity)
    specs, spec = _with_props(entity, prop)
    _assert_violations(specs, (f"{spec}.props", prop.name, "declared 2 times"))


@ENTITIES
def test_contract_prop_not_in_catalog(entity: str) -> None:
    specs, spec = _with_props(entity, PropSpec("ghost_prop", PropType.STR))
    _assert_violations(specs, (spec, "ghost_prop", "property is not in the prop catalog"))


@ENTITIES
def test_contract_prop_type_differs_from_catalog(entity: str) -> None:
    catalog = {p.name: p.type for p in BASE.prop_catalog}
    contract = _contract_with_props(entity)
    taken = {p.name for p in (*contract.required_props, *contract.optional_props)}
    name = next(n for n, t in catalog.items() if t == PropType.STR and n not in taken)
    specs, spec = _with_props(entity, PropSpec(name, PropType.JSON))
    _assert_violations(specs, (spec, name, "type json differs from catalog str"))


@ENTITIES
def test_contract_prop_unknown_enum(entity: str) -> None:
    contract = _contract_with_props(entity)
    prop = _first_prop(entity)
    props = tuple(
        replace(p, enum=GHOST) if p is prop else p
        for p in (*contract.required_props, *contract.optional_props)
    )
    changes = {"required_props": props, "optional_props": ()}
    if isinstance(contract, NodeContract):
        specs = _with_node_contract(contract, **changes)
    else:
        specs = _with_edge_contract(contract, **changes)
    _assert_violations(
        specs, (f"{entity}_contracts[{contract.kind}]", f"{prop.name}.enum={GHOST}", "unknown")
    )


def test_removed_prop_enum_reported_for_every_user() -> None:
    used = [
        (contract, prop)
        for contract in ALL_CONTRACTS
        for prop in (*contract.required_props, *contract.optional_props)
        if prop.enum is not None
    ]
    enum_name = used[0][1].enum
    specs = replace(BASE, prop_enums=tuple(e for e in BASE.prop_enums if e.name != enum_name))
    expected = {
        (_contract_spec(c), f"{p.name}.enum={enum_name}") for c, p in used if p.enum == enum_name
    }
    violations = validate_specs(specs)
    assert {(v.spec, v.reference) for v in violations} == expected
    assert all(v.message.startswith("unknown prop enum") for v in violations)


# --- edge endpoints --------------------------------------------------------------------------


@pytest.mark.parametrize("side", ["src_kinds", "dst_kinds"])
def test_edge_endpoint_unknown_node_kind(side: str) -> None:
    contract = BASE.edge_contracts[0]
    specs = _with_edge_contract(contract, **{side: (*getattr(contract, side), GHOST)})
    _assert_violations(
        specs, (f"edge_contracts[{contract.kind}]", f"{side}={GHOST}", "unknown node kind")
    )


def test_edge_endpoint_must_be_node_kind_not_edge_kind() -> None:
    contract = BASE.edge_contracts[0]
    specs = _with_edge_contract(contract, dst_kinds=(contract.kind,))
    _assert_violations(
        specs,
        (f"edge_contracts[{contract.kind}]", f"dst_kinds={contract.kind}", "unknown node kind"),
    )


@pytest.mark.parametrize("side", ["src_kinds", "dst_kinds"])
def test_edge_endpoint_empty(side: str) -> None:
    contract = BASE.edge_contracts[0]
    specs = _with_edge_contract(contract, **{side: ()})
    _assert_violations(
        specs, (f"edge_contracts[{contract.kind}]", side, "no endpoint node kind declared")
    )


# --- fields and bundles ----------------------------------------------------------------------


@pytest.mark.parametrize("arrow_type", ["decimal128", "String", "", "dictionary<int32, string>"])
def test_field_unknown_arrow_type(arrow_type: str) -> None:
    field = BASE.fields[0]
    broken = replace(field, arrow_type=arrow_type)
    specs = replace(BASE, fields=_swap(BASE.fields, field, broken))
    _assert_violations(specs, (f"fields[{field.name}]", arrow_type, "unknown Arrow type name"))


def test_bundle_names_unknown_field() -> None:
    bundle = BASE.bundles[0]
    broken = replace(bundle, fields=(*bundle.fields, "ghost_field"))
    specs = replace(BASE, bundles=_swap(BASE.bundles, bundle, broken))
    _assert_violations(
        specs, (f"bundles[{bundle.name}]", "ghost_field", "field is not in the catalog")
    )


# --- datasets --------------------------------------------------------------------------------


def test_dataset_unknown_bundle() -> None:
    row = _dataset()
    specs = _with_dataset(row, bundles=(*row.bundles, "ghost_bundle"))
    _assert_violations(
        specs, (f"dataset_rows[{row.name}]", "bundles=ghost_bundle", "unknown bundle")
    )


def test_dataset_unknown_field() -> None:
    row = _dataset()
    specs = _with_dataset(row, fields=(*row.fields, "ghost_field"))
    _assert_violations(
        specs, (f"dataset_rows[{row.name}]", "fields=ghost_field", "field is not in the catalog")
    )


def test_dataset_unknown_template() -> None:
    row = _dataset()
    specs = _with_dataset(row, template="ghost_template")
    _assert_violations(
        specs,
        (f"dataset_rows[{row.name}]", "template=ghost_template", "unknown registry template"),
    )


def test_dataset_without_template_is_valid() -> None:
    specs = _with_dataset(_dataset(), template=None)
    assert validate_specs(specs) == ()


@pytest.mark.parametrize(
    ("attr", "value"),
    [
        ("required_non_null", ("node_id", "edge_id")),
        ("key_fields", ("node_id", "edge_id")),
        ("dedupe_keys", ("edge_id",)),
        ("tie_breakers", (SortKey("edge_id"),)),
        ("canonical_sort", (SortKey("node_id"), SortKey("edge_id"))),
    ],
)
def test_dataset_key_column_not_a_column(attr: str, value: tuple[Any, ...]) -> None:
    # edge_id is a catalog field, but not a column of the nodes dataset
    row = _dataset("cpg_nodes_v1")
    specs = _with_dataset(row, **{attr: value})
    _assert_violations(
        specs, (f"dataset_rows[{row.name}]", f"{attr}=edge_id", "not a column of the dataset")
    )


def test_dataset_key_column_may_come_from_a_bundle() -> None:
    row = _dataset("cpg_nodes_v1")
    assert "path" not in row.fields
    specs = _with_dataset(row, key_fields=("path",), canonical_sort=(SortKey("bstart"),))
    assert validate_specs(specs) == ()


def test_dataset_key_column_lost_with_its_bundle() -> None:
    row = _dataset("cpg_nodes_v1")
    specs = _with_dataset(row, bundles=("file_identity",))
    reported = {
        f"{attr}={column}"
        for attr, columns in (
            ("required_non_null", row.required_non_null),
            ("key_fields", row.key_fields),
            ("dedupe_keys", row.dedupe_keys),
            ("tie_breakers", tuple(k.column for k in row.tie_breakers)),
            ("canonical_sort", tuple(k.column for k in row.canonical_sort)),
        )
        for column in columns
        if column in ("bstart", "bend")
    }
    assert reported
    _assert_violations(
        specs, *((f"dataset_rows[{row.name}]", ref, "not a column") for ref in reported)
    )


@pytest.mark.parametrize(
    ("bundles", "fields", "duplicate"),
    [
        # a field that one of its bundles already brings
        (("file_identity", "span"), ("node_id", "node_kind", "path"), "path"),
        # the same field listed twice
        (("file_identity", "span"), ("node_id", "node_kind", "node_id"), "node_id"),
        # the same bundle included twice
        (("file_identity", "span", "span"), ("node_id", "node_kind"), "bstart"),
    ],
)
def test_dataset_duplicate_columns(
    bundles: tuple[str, ...], fields: tuple[str, ...], duplicate: str
) -> None:
    row = _dataset("cpg_nodes_v1")
    specs = _with_dataset(row, bundles=bundles, fields=fields)
    expected = [(f"dataset_rows[{row.name}].columns", duplicate, "declared 2 times")]
    if bundles.count("span") == 2:
        expected.append((f"dataset_rows[{row.name}].columns", "bend", "declared 2 times"))
    _assert_violations(specs, *expected)


# --- rules -----------------------------------------------------------------------------------


def test_rule_unknown_template() -> None:
    rule = BASE.rules[0]
    specs = _with_rule(rule, template="ghost_template")
    _assert_violations(
        specs, (f"rules[{rule.name}]", "template=ghost_template", "unknown rule template")
    )


def test_rule_without_template_is_valid() -> None:
    rule = next(r for r in BASE.rules if r.template is not None)
    assert validate_specs(_with_rule(rule, template=None)) == ()


def test_rule_template_removed_reported_for_every_rule() -> None:
    template = BASE.rule_templates[0]
    specs = replace(BASE, rule_templates=BASE.rule_templates[1:])
    users = [r for r in BASE.rules if r.template == template.name]
    assert users
    _assert_violations(
        specs,
        *(
            (f"rules[{r.name}]", f"template={template.name}", "unknown rule template")
            for r in users
        ),
    )


def test_rule_unknown_edge_kind() -> None:
    rule = _edge_rule()
    specs = _with_edge_emit(rule, edge_kind=GHOST)
    _assert_violations(specs, (f"rules[{rule.name}]", f"edge_kind={GHOST}", "unknown edge kind"))


def test_rule_edge_kind_naming_a_node_kind_is_unknown() -> None:
    rule = _edge_rule()
    node_kind = BASE.node_kinds[0]
    specs = _with_edge_emit(rule, edge_kind=node_kind)
    _assert_violations(
        specs, (f"rules[{rule.name}]", f"edge_kind={node_kind}", "unknown edge kind")
    )


def test_rule_edge_kind_without_contract_is_unknown() -> None:
    rule = _edge_rule()
    emit = rule.payload.edge_emit
    assert emit is not None
    specs = replace(
        BASE, edge_contracts=tuple(c for c in BASE.edge_contracts if c.kind != emit.edge_kind)
    )
    _assert_violations(
        specs,
        ("edge_contracts", emit.edge_kind, "has 0 contracts"),
        (f"rules[{rule.name}]", f"edge_kind={emit.edge_kind}", "unknown edge kind"),
    )


def test_rule_origin_not_allowed_by_edge_contract() -> None:
    rule = _edge_rule()
    emit = rule.payload.edge_emit
    assert emit is not None
    contract = next(c for c in BASE.edge_contracts if c.kind == emit.edge_kind)
    # a real source kind, just not one this edge kind may come from
    origin = next(s.name for s in BASE.source_kinds if s.name not in contract.allowed_sources)
    specs = _with_edge_emit(rule, origin=origin)
    allowed = ", ".join(contract.allowed_sources)
    violations = _assert_violations(
        specs,
        (
            f"rules[{rule.name}]",
            f"origin={origin}",
            f"not an allowed source of edge kind {emit.edge_kind}",
        ),
    )
    assert violations[0].message.endswith(f"({allowed})")


def test_edge_contract_narrowed_under_its_rules() -> None:
    rule = _edge_rule()
    emit = rule.payload.edge_emit
    assert emit is not None
    contract = next(c for c in BASE.edge_contracts if c.kind == emit.edge_kind)
    narrowed = tuple(s for s in contract.allowed_sources if s != emit.origin)
    specs = _with_edge_contract(contract, allowed_sources=narrowed)
    users = [
        r
        for r in BASE.rules
        if r.payload.edge_emit is not None
        and r.payload.edge_emit.edge_kind == emit.edge_kind
        and r.payload.edge_emit.origin == emit.origin
    ]
    _assert_violations(
        specs,
        *((f"rules[{r.name}]", f"origin={emit.origin}", "not an allowed source") for r in users),
    )


# --- several violations at once --------------------------------------------------------------


def test_every_violation_is_reported_at_once() -> None:
    node = _node_contract()
    edge = _quiet_edge_contract()
    derivation = next(d for d in BASE.derivations if d.kind not in (node.kind, edge.kind))
    field = BASE.fields[0]
    row = _dataset("cpg_nodes_v1")
    rule = _edge_rule()
    emit = rule.payload.edge_emit
    assert emit is not None
    specs = replace(
        BASE,
        source_kinds=(*BASE.source_kinds, BASE.source_kinds[0]),
        node_contracts=_swap(
            BASE.node_contracts, node, replace(node, allowed_sources=("nowhere",))
        ),
        edge_contracts=_swap(BASE.edge_contracts, edge, replace(edge, src_kinds=())),
        derivations=_swap(
            BASE.derivations, derivation, replace(derivation, extractor="not-a-reference")
        ),
        fields=_swap(BASE.fields, field, replace(field, arrow_type="decimal")),
        dataset_rows=_swap(
            BASE.dataset_rows, row, replace(row, key_fields=("ghost_key",), template="ghost")
        ),
        rules=_swap(
            BASE.rules,
            rule,
            replace(
                rule,
                template="ghost",
                payload=replace(rule.payload, edge_emit=replace(emit, edge_kind=GHOST)),
            ),
        ),
    )
    expected: list[Expected] = [
        ("source_kinds", BASE.source_kinds[0].name, "declared 2 times"),
        (f"node_contracts[{node.kind}]", "nowhere", "allowed source is not a source kind"),
        (f"edge_contracts[{edge.kind}]", "src_kinds", "no endpoint node kind declared"),
        (f"derivations[{derivation.kind}]", "not-a-reference", "extractor must be"),
        (f"fields[{field.name}]", "decimal", "unknown Arrow type name"),
        (f"dataset_rows[{row.name}]", "template=ghost", "unknown registry template"),
        (f"dataset_rows[{row.name}]", "key_fields=ghost_key", "not a column of the dataset"),
        (f"rules[{rule.name}]", "template=ghost", "unknown rule template"),
        (f"rules[{rule.name}]", f"edge_kind={GHOST}", "unknown edge kind"),
    ]
    violations = _assert_violations(specs, *expected)
    assert len(violations) == len(expected)

    with pytest.raises(SpecValidationError) as raised:
        require_valid_specs(specs)
    assert raised.value.violations == violations
    assert str(raised.value).startswith(f"{len(expected)} spec violation(s):")
    for violation in violations:
        assert f"  - {violation}" in str(raised.value)


def test_violation_order_is_stable() -> None:
    node = _node_contract()
    derivation = _single_derivation(EntityKind.EDGE)
    broken_contracts = _swap(BASE.node_contracts, node, replace(node, allowed_sources=("x",)))
    broken_derivations = _swap(BASE.derivations, derivation, replace(derivation, source="y"))
    forward = replace(BASE, node_contracts=broken_contracts, derivations=broken_derivations)
    # the same content, given in reverse order
    backward = replace(
        BASE,
        node_contracts=tuple(reversed(broken_contracts)),
        derivations=tuple(reversed(broken_derivations)),
    )
    assert validate_specs(forward) == validate_specs(backward)
    assert [v.spec for v in validate_specs(forward)] == [
        f"node_contracts[{node.kind}]",
        f"derivations[{derivation.kind}]",
    ]


def test_violation_str() -> None:
    assert str(Violation("fields[x]", "decimal", "unknown")) == "fields[x]: decimal: unknown"


# --- rule template expansion -----------------------------------------------------------------


def test_expand_unknown_factory_names_the_template() -> None:
    template = RuleTemplateSpec(
        name="my_template",
        factory="no_such_factory",
        inputs=("some_input",),
        params=(RuleParam("option_flag", "emit_things"),),
    )
    with pytest.raises(TemplateExpansionError, match="'my_template'") as raised:
        expand_rule_templates((*RULE_TEMPLATES, template))
    assert "unknown factory 'no_such_factory'" in str(raised.value)
    assert "symbol_role" in str(raised.value)  # the known factories are listed


@pytest.mark.parametrize("template", RULE_TEMPLATES, ids=lambda t: t.name)
def test_expand_missing_option_flag_names_the_template(template: RuleTemplateSpec) -> None:
    stripped = replace(
        template,
        name=f"{template.name}_without_flag",
        params=tuple(p for p in template.params if p.key != "option_flag"),
    )
    with pytest.raises(
        TemplateExpansionError,
        match=f"rule template '{stripped.name}': missing parameter 'option_flag'",
    ):
        expand_rule_templates((stripped,))


def test_expand_uses_template_params() -> None:
    template = next(t for t in RULE_TEMPLATES if t.factory == "call")
    custom = replace(
        template,
        name="call_custom",
        params=(RuleParam("option_flag", "flag_x"), RuleParam("confidence_policy", "pol_y")),
    )
    (rule,) = expand_rule_templates((custom,))
    assert rule.template == "call_custom"
    assert rule.inputs == template.inputs
    assert rule.payload.edge_emit is not None
    assert rule.payload.edge_emit.option_flag == "flag_x"
    assert rule.policy_overrides.confidence_policy == "pol_y"
