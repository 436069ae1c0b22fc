"""The compatibility rules: every difference between two spec sets, as a ``Change``.

The rules only *find* differences. Each change names its rule (``RULES``: id, whether it is
breaking, what it means), the element it is about and its guards: the datasets (by their previous
names) whose version bump allows it when it is breaking. ``generator.compat`` applies that policy
and reports.

Elements are named like ``dataset cpg_nodes_v1 column bstart``, ``field bstart``,
``node kind PY_FILE prop path``, ``edge kind CALLS src_kinds``, ``prop enum ctx_basic values``,
``rule call_edges``. Kinds are declared by their contracts, so they are compared through
``node_contracts`` / ``edge_contracts`` (as the registry decoders do).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from enum import Enum
from types import MappingProxyType
from typing import TypeVar

import pyarrow as pa

from cpg.contracts import EdgeContract, NodeContract, PropDecl, PropEnum, PropSpec
from cpg.dataset_schemas import dataset_schema, resolved_columns
from cpg.datasets import DatasetRole, DatasetRow, FieldSpec, SortKey, SortOrder
from cpg.spec_set import SpecSet
from relspec.rules.model import RuleDefinition

T = TypeVar("T")
Contract = NodeContract | EdgeContract


@dataclass(frozen=True)
class Rule:
    """A compatibility rule: its id, whether a change it finds is breaking, what it checks."""

    id: str
    breaking: bool
    summary: str


_RULES: tuple[Rule, ...] = (
    Rule("DATASET_ADDED", False, "a new dataset"),
    Rule("DATASET_REMOVED", True, "a dataset was removed or renamed"),
    Rule("DATASET_VERSION_BUMPED", False, "a dataset's version went up"),
    Rule("DATASET_VERSION_DECREASED", True, "a dataset's version went down"),
    Rule("DATASET_DESCRIPTION_CHANGED", False, "a dataset's description changed"),
    Rule("DATASET_TEMPLATE_CHANGED", True, "a dataset's template (stage, determinism) changed"),
    Rule("DATASET_CONTRACT_CHANGED", True, "a dataset's contract name changed"),
    Rule("DATASET_ROLE_CHANGED", True, "a dataset's role (what consumers find it by) changed"),
    Rule("KEY_FIELDS_CHANGED", True, "a dataset's key fields changed"),
    Rule("DEDUPE_KEYS_CHANGED", True, "a dataset's dedupe keys changed"),
    Rule("TIE_BREAKERS_CHANGED", True, "a dataset's dedupe tie-breakers changed"),
    Rule("DEDUPE_STRATEGY_CHANGED", True, "a dataset's dedupe strategy changed"),
    Rule("CANONICAL_SORT_CHANGED", True, "a dataset's canonical sort changed"),
    Rule("COLUMN_ADDED", False, "a nullable column appended at the end of a dataset"),
    Rule("COLUMN_ADDED_NON_NULL", True, "a new non-null column in a dataset"),
    Rule("COLUMN_INSERTED", True, "a new column placed before existing columns"),
    Rule("COLUMN_REMOVED", True, "a column removed from a dataset"),
    Rule("COLUMN_MOVED", True, "existing columns of a dataset changed order"),
    Rule("COLUMN_TYPE_CHANGED", True, "a dataset column's Arrow type changed"),
    Rule("COLUMN_NOW_NON_NULL", True, "a nullable dataset column became non-null"),
    Rule("COLUMN_NOW_NULLABLE", False, "a non-null dataset column became nullable"),
    Rule("FIELD_ADDED", False, "a new field in the field catalog"),
    Rule("FIELD_REMOVED", True, "a field removed from the field catalog"),
    Rule("FIELD_TYPE_CHANGED", True, "a catalog field's type or dictionary encoding changed"),
    Rule("FIELD_NOW_NON_NULL", True, "a nullable catalog field became non-null"),
    Rule("FIELD_NOW_NULLABLE", False, "a non-null catalog field became nullable"),
    Rule("NODE_KIND_ADDED", False, "a new node kind"),
    Rule("NODE_KIND_REMOVED", True, "a node kind removed or renamed"),
    Rule("EDGE_KIND_ADDED", False, "a new edge kind"),
    Rule("EDGE_KIND_REMOVED", True, "an edge kind removed or renamed"),
    Rule("KIND_DESCRIPTION_CHANGED", False, "a kind's description changed"),
    Rule("KIND_GROUP_CHANGED", False, "a kind's group changed"),
    Rule("KIND_SOURCES_WIDENED", False, "a kind allows more source kinds"),
    Rule("KIND_SOURCES_NARROWED", True, "a kind allows fewer source kinds"),
    Rule("KIND_ANCHOR_REQUIRED", True, "a kind now requires an (evidence) anchor"),
    Rule("KIND_ANCHOR_RELAXED", False, "a kind no longer requires an (evidence) anchor"),
    Rule("KIND_PROP_ADDED", False, "a new optional prop on a kind"),
    Rule("KIND_PROP_ADDED_REQUIRED", True, "a new required prop on an existing kind"),
    Rule("KIND_PROP_REMOVED", True, "a prop removed from a kind"),
    Rule("KIND_PROP_NOW_REQUIRED", True, "an optional prop of a kind became required"),
    Rule("KIND_PROP_NOW_OPTIONAL", False, "a required prop of a kind became optional"),
    Rule("KIND_PROP_TYPE_CHANGED", True, "a kind's prop changed type"),
    Rule("KIND_PROP_ENUM_CHANGED", True, "a kind's prop got a new or different enum"),
    Rule("KIND_PROP_ENUM_RELAXED", False, "a kind's prop is no longer restricted to an enum"),
    Rule("EDGE_ENDPOINTS_WIDENED", False, "an edge kind accepts more src/dst node kinds"),
    Rule("EDGE_ENDPOINTS_NARROWED", True, "an edge kind accepts fewer src/dst node kinds"),
    Rule("PROP_ADDED", False, "a new prop in the prop catalog"),
    Rule("PROP_REMOVED", True, "a prop removed from the prop catalog"),
    Rule("PROP_TYPE_CHANGED", True, "a catalog prop changed type"),
    Rule("PROP_ENUM_ADDED", False, "a new prop enum"),
    Rule("PROP_ENUM_REMOVED", True, "a prop enum removed"),
    Rule("PROP_ENUM_VALUE_ADDED", False, "a prop enum gained values"),
    Rule("PROP_ENUM_VALUE_REMOVED", True, "a prop enum lost values"),
    Rule("RULE_ADDED", False, "a new rule"),
    Rule("RULE_REMOVED", True, "a rule removed or renamed"),
    Rule("RULE_CHANGED", False, "a rule's definition changed (reported for information)"),
)
RULES: Mapping[str, Rule] = MappingProxyType({rule.id: rule for rule in _RULES})
"""Every rule by id."""


@dataclass(frozen=True)
class ContractGuards:
    """The datasets whose version guards contract-level breaks (names as in the previous set)."""

    nodes: str = "cpg_nodes_v1"
    """Node kinds and their contracts (props, sources, anchor)."""
    edges: str = "cpg_edges_v1"
    """Edge kinds and their contracts (endpoints, props, sources, anchor), and rules."""
    props: str = "cpg_props_v1"
    """The prop catalog (prop types) and prop enums."""


DEFAULT_GUARDS = ContractGuards()


def guards_of(previous: SpecSet) -> ContractGuards:
    """The guards of a published spec set: its datasets with the nodes, edges and props roles
    (the defaults where no dataset has the role)."""
    by_role = {row.role: row.name for row in previous.dataset_rows if row.role is not None}
    return ContractGuards(
        nodes=by_role.get(DatasetRole.NODES, DEFAULT_GUARDS.nodes),
        edges=by_role.get(DatasetRole.EDGES, DEFAULT_GUARDS.edges),
        props=by_role.get(DatasetRole.PROPS, DEFAULT_GUARDS.props),
    )


@dataclass(frozen=True)
class Change:
    """One difference found by a rule, before the version policy decides its severity.

    ``guards``: the previous datasets whose version bump allows the change when it is breaking
    (every one must be bumped; none at all means no published data is affected). ``remedy``
    replaces the default advice ("bump ... version (and name) or revert").
    """

    rule: str
    element: str
    message: str
    guards: tuple[str, ...]
    remedy: str | None = None

    @property
    def breaking(self) -> bool:
        """Whether the rule that found the change is a breaking one."""
        return RULES[self.rule].breaking


@dataclass(frozen=True)
class DatasetPair:
    """A dataset as previously published and as it is now (possibly under a successor name)."""

    previous: DatasetRow
    current: DatasetRow

    @property
    def bumped(self) -> bool:
        """Whether the version went up."""
        return self.current.version > self.previous.version


@dataclass(frozen=True)
class DatasetMatch:
    """How the datasets of two spec sets correspond."""

    pairs: tuple[DatasetPair, ...]
    removed: tuple[DatasetRow, ...]
    added: tuple[DatasetRow, ...]


_VERSIONED_NAME = re.compile(r"(?P<stem>.+)_v(?P<number>\d+)")


def _versioned(name: str) -> tuple[str, int] | None:
    match = _VERSIONED_NAME.fullmatch(name)
    return None if match is None else (match["stem"], int(match["number"]))


def successor_name(name: str) -> str:
    """The name a new version of dataset ``name`` would take (``x_v1`` -> ``x_v2``)."""
    versioned = _versioned(name)
    return f"{name}_v2" if versioned is None else f"{versioned[0]}_v{versioned[1] + 1}"


def match_datasets(previous: SpecSet, current: SpecSet) -> DatasetMatch:
    """Pair datasets by name; a removed ``x_vN`` pairs with an added ``x_vM`` (M > N) whose
    ``version`` is higher: that is a new version under a new name, not a removal."""
    before = {row.name: row for row in previous.dataset_rows}
    after = {row.name: row for row in current.dataset_rows}
    pairs = [DatasetPair(before[name], after[name]) for name in sorted(before.keys() & after)]
    added = {name: after[name] for name in sorted(after.keys() - before.keys())}
    removed = []
    for name in sorted(before.keys() - after.keys()):
        successor = _successor(before[name], added.values())
        if successor is None:
            removed.append(before[name])
        else:
            pairs.append(DatasetPair(before[name], added.pop(successor.name)))
    return DatasetMatch(tuple(pairs), tuple(removed), tuple(added.values()))


def _successor(row: DatasetRow, candidates: Iterable[DatasetRow]) -> DatasetRow | None:
    versioned = _versioned(row.name)
    if versioned is None:
        return None
    stem, number = versioned
    found = []
    for candidate in candidates:
        other = _versioned(candidate.name)
        if other and other[0] == stem and other[1] > number and candidate.version > row.version:
            found.append((other[1], candidate))
    return min(found, key=lambda item: item[0])[1] if found else None


def show(value: object) -> str:
    """A short, stable rendering of a spec value for messages."""
    if isinstance(value, SortKey):
        return f"{value.column} {'desc' if value.order == SortOrder.DESCENDING else 'asc'}"
    if isinstance(value, tuple):
        return "(" + ", ".join(show(item) for item in value) + ")"
    if isinstance(value, Enum):
        return str(value.value)
    if value is None:
        return "none"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _diff(
    before: Iterable[T],
    after: Iterable[T],
    key: Callable[[T], str],
    *,
    removed: Callable[[T], Iterable[Change]],
    added: Callable[[T], Iterable[Change]],
    changed: Callable[[T, T], Iterable[Change]],
) -> Iterator[Change]:
    """The changes of two keyed collections: removed, added, and changed items."""
    old = {str(key(item)): item for item in before}
    new = {str(key(item)): item for item in after}
    for name in sorted(old.keys() - new.keys()):
        yield from removed(old[name])
    for name in sorted(new.keys() - old.keys()):
        yield from added(new[name])
    for name in sorted(old.keys() & new.keys()):
        yield from changed(old[name], new[name])


def _attr_changes(
    before: object,
    after: object,
    element: str,
    rules: Iterable[tuple[str, str]],
    guards: tuple[str, ...],
) -> Iterator[Change]:
    """One change per ``(attribute, rule id)`` whose value differs between the two specs."""
    for attribute, rule in rules:
        old, new = getattr(before, attribute), getattr(after, attribute)
        if old != new:
            message = f"{attribute} changed from {show(old)} to {show(new)}"
            yield Change(rule, element, message, guards)


def _member_changes(
    element: str,
    before: Iterable[object],
    after: Iterable[object],
    rules: tuple[str, str],
    guards: tuple[str, ...],
) -> Iterator[Change]:
    """Members added to (``rules[0]``) and removed from (``rules[1]``) a set-valued attribute."""
    old, new = {str(item) for item in before}, {str(item) for item in after}
    if new - old:
        yield Change(rules[0], element, f"added {', '.join(sorted(new - old))}", guards)
    if old - new:
        yield Change(rules[1], element, f"removed {', '.join(sorted(old - new))}", guards)


def _flag_changes(
    element: str, before: bool, after: bool, rules: tuple[str, str], guards: tuple[str, ...]
) -> Iterator[Change]:
    """A boolean requirement switched on (``rules[0]``) or off (``rules[1]``)."""
    if before != after:
        rule = rules[0] if after else rules[1]
        yield Change(rule, element, f"changed from {before} to {after}", guards)


# --- datasets and their columns -------------------------------------------------------------

_DATASET_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("description", "DATASET_DESCRIPTION_CHANGED"),
    ("template", "DATASET_TEMPLATE_CHANGED"),
    ("contract_name", "DATASET_CONTRACT_CHANGED"),
    ("role", "DATASET_ROLE_CHANGED"),
    ("key_fields", "KEY_FIELDS_CHANGED"),
    ("dedupe_keys", "DEDUPE_KEYS_CHANGED"),
    ("tie_breakers", "TIE_BREAKERS_CHANGED"),
    ("dedupe_strategy", "DEDUPE_STRATEGY_CHANGED"),
    ("canonical_sort", "CANONICAL_SORT_CHANGED"),
)


def _schema(row: DatasetRow, specs: SpecSet) -> pa.Schema:
    return dataset_schema(row, specs.fields, specs.bundles, specs.templates)


def type_name(arrow_type: pa.DataType) -> str:
    """``int64``, or ``dictionary<string>`` for a dictionary-encoded column."""
    if pa.types.is_dictionary(arrow_type):
        return f"dictionary<{arrow_type.value_type}>"
    return str(arrow_type)


def dataset_changes(previous: SpecSet, current: SpecSet) -> Iterator[Change]:
    """Datasets added, removed, re-versioned, re-keyed, and their columns."""
    match = match_datasets(previous, current)
    for row in match.added:
        yield Change("DATASET_ADDED", f"dataset {row.name}", f"added (version {row.version})", ())
    for row in match.removed:
        remedy = f"restore it, or publish a successor (e.g. {successor_name(row.name)}) with a "
        remedy += "higher version"
        message = "removed (a rename is a removal plus an addition)"
        yield Change("DATASET_REMOVED", f"dataset {row.name}", message, (row.name,), remedy)
    for pair in match.pairs:
        yield from _pair_changes(pair, previous, current)


def _pair_changes(pair: DatasetPair, previous: SpecSet, current: SpecSet) -> Iterator[Change]:
    old, new = pair.previous, pair.current
    guards = (old.name,)
    element = f"dataset {new.name}"
    if old.name != new.name:
        message = f"replaced by {new.name}"
        yield Change("DATASET_REMOVED", f"dataset {old.name}", message, guards)
    versions = f"version changed from {old.version} to {new.version}"
    if new.version > old.version:
        yield Change("DATASET_VERSION_BUMPED", element, versions, ())
    elif new.version < old.version:
        remedy = f"restore version {old.version} or higher"
        yield Change("DATASET_VERSION_DECREASED", element, versions, guards, remedy)
    yield from _attr_changes(old, new, element, _DATASET_ATTRIBUTES, guards)
    yield from column_changes(element, _schema(old, previous), _schema(new, current), guards)


def column_changes(
    element: str, before: pa.Schema, after: pa.Schema, guards: tuple[str, ...]
) -> Iterator[Change]:
    """Columns removed, added (where, how nullable), moved, retyped or re-nulled."""
    old = {field.name: field for field in before}
    new = {field.name: field for field in after}
    kept_before = [name for name in before.names if name in new]
    kept_after = [name for name in after.names if name in old]
    last_kept = max((after.names.index(name) for name in kept_after), default=-1)
    for name in before.names:
        if name not in new:
            yield Change("COLUMN_REMOVED", f"{element} column {name}", "removed", guards)
    for index, field in enumerate(after):
        if field.name in old:
            continue
        where = f"{element} column {field.name}"
        if index < last_kept:
            following = next(name for name in after.names[index:] if name in old)
            message = f"inserted at index {index}, before existing column {following}"
            yield Change("COLUMN_INSERTED", where, message, guards)
        if not field.nullable:
            yield Change("COLUMN_ADDED_NON_NULL", where, "added as non-null", guards)
        elif index > last_kept:
            message = f"added at index {index} ({type_name(field.type)}, nullable)"
            yield Change("COLUMN_ADDED", where, message, guards)
    for name in kept_before:
        if kept_before.index(name) != kept_after.index(name):
            message = f"moved from index {before.names.index(name)} to {after.names.index(name)}"
            yield Change("COLUMN_MOVED", f"{element} column {name}", message, guards)
    for name in kept_after:
        yield from _field_changes(f"{element} column {name}", old[name], new[name], guards)


def _field_changes(
    element: str, before: pa.Field, after: pa.Field, guards: tuple[str, ...]
) -> Iterator[Change]:
    if not before.type.equals(after.type):
        message = f"type changed from {type_name(before.type)} to {type_name(after.type)}"
        yield Change("COLUMN_TYPE_CHANGED", element, message, guards)
    yield from _nullability("COLUMN", element, before.nullable, after.nullable, guards)


def _nullability(
    prefix: str, element: str, before: bool, after: bool, guards: tuple[str, ...]
) -> Iterator[Change]:
    if before and not after:
        yield Change(f"{prefix}_NOW_NON_NULL", element, "changed from nullable to non-null", guards)
    elif after and not before:
        yield Change(f"{prefix}_NOW_NULLABLE", element, "changed from non-null to nullable", guards)


# --- the field catalog -----------------------------------------------------------------------


def _catalog_type(field: FieldSpec) -> str:
    return f"dictionary<{field.arrow_type}>" if field.dictionary_encoded else field.arrow_type


def field_changes(previous: SpecSet, current: SpecSet) -> Iterator[Change]:
    """Catalog fields added, removed, retyped or re-nulled; each guarded by the previous
    datasets that have the field as a column."""
    bundles = {bundle.name: bundle for bundle in previous.bundles}
    users: dict[str, list[str]] = {}
    for row in previous.dataset_rows:
        for column in resolved_columns(row, bundles):
            users.setdefault(column, []).append(row.name)

    def guards(field: FieldSpec) -> tuple[str, ...]:
        return tuple(sorted(users.get(field.name, ())))

    def removed(field: FieldSpec) -> Iterator[Change]:
        yield Change("FIELD_REMOVED", f"field {field.name}", "removed", guards(field))

    def added(field: FieldSpec) -> Iterator[Change]:
        message = f"added ({_catalog_type(field)}, {'nullable' if field.nullable else 'non-null'})"
        yield Change("FIELD_ADDED", f"field {field.name}", message, ())

    def changed(old: FieldSpec, new: FieldSpec) -> Iterator[Change]:
        element = f"field {new.name}"
        if _catalog_type(old) != _catalog_type(new):
            message = f"type changed from {_catalog_type(old)} to {_catalog_type(new)}"
            yield Change("FIELD_TYPE_CHANGED", element, message, guards(old))
        yield from _nullability("FIELD", element, old.nullable, new.nullable, guards(old))

    return _diff(
        previous.fields,
        current.fields,
        lambda f: f.name,
        removed=removed,
        added=added,
        changed=changed,
    )


# --- node and edge contracts ------------------------------------------------------------------


def contract_changes(
    previous: SpecSet, current: SpecSet, guards: ContractGuards
) -> Iterator[Change]:
    """Node and edge kinds added or removed, and what changed in the contracts of the others."""
    yield from _kind_changes("node", previous.node_contracts, current.node_contracts, guards.nodes)
    yield from _kind_changes("edge", previous.edge_contracts, current.edge_contracts, guards.edges)


def _kind_changes(
    label: str, before: Iterable[Contract], after: Iterable[Contract], guard: str
) -> Iterator[Change]:
    prefix = f"{label.upper()}_KIND"

    def removed(contract: Contract) -> Iterator[Change]:
        yield Change(f"{prefix}_REMOVED", f"{label} kind {contract.kind}", "removed", (guard,))

    def added(contract: Contract) -> Iterator[Change]:
        yield Change(f"{prefix}_ADDED", f"{label} kind {contract.kind}", "added", ())

    def changed(old: Contract, new: Contract) -> Iterator[Change]:
        yield from _contract_changes(f"{label} kind {new.kind}", old, new, (guard,))

    return _diff(before, after, lambda c: c.kind, removed=removed, added=added, changed=changed)


_CONTRACT_ATTRIBUTES = (
    ("description", "KIND_DESCRIPTION_CHANGED"),
    ("group", "KIND_GROUP_CHANGED"),
)


def _contract_changes(
    element: str, old: Contract, new: Contract, guards: tuple[str, ...]
) -> Iterator[Change]:
    yield from _attr_changes(old, new, element, _CONTRACT_ATTRIBUTES, guards)
    sources = ("KIND_SOURCES_WIDENED", "KIND_SOURCES_NARROWED")
    yield from _member_changes(
        f"{element} allowed_sources", old.allowed_sources, new.allowed_sources, sources, guards
    )
    anchor = ("KIND_ANCHOR_REQUIRED", "KIND_ANCHOR_RELAXED")
    if isinstance(old, EdgeContract) and isinstance(new, EdgeContract):
        before, after = old.requires_evidence_anchor, new.requires_evidence_anchor
        yield from _flag_changes(
            f"{element} requires_evidence_anchor", before, after, anchor, guards
        )
        endpoints = ("EDGE_ENDPOINTS_WIDENED", "EDGE_ENDPOINTS_NARROWED")
        for side in ("src_kinds", "dst_kinds"):
            before_kinds, after_kinds = getattr(old, side), getattr(new, side)
            yield from _member_changes(
                f"{element} {side}", before_kinds, after_kinds, endpoints, guards
            )
    elif isinstance(old, NodeContract) and isinstance(new, NodeContract):
        before, after = old.requires_anchor, new.requires_anchor
        yield from _flag_changes(f"{element} requires_anchor", before, after, anchor, guards)
    yield from _kind_prop_changes(element, old, new, guards)


def _props(contract: Contract) -> dict[str, tuple[PropSpec, bool]]:
    """Each prop of a contract by name, with whether it is required."""
    optional = {prop.name: (prop, False) for prop in contract.optional_props}
    return optional | {prop.name: (prop, True) for prop in contract.required_props}


def _requirement(required: bool) -> str:
    return "required" if required else "optional"


def _kind_prop_changes(
    element: str, old: Contract, new: Contract, guards: tuple[str, ...]
) -> Iterator[Change]:
    before, after = _props(old), _props(new)
    for name in sorted(before.keys() - after.keys()):
        yield Change("KIND_PROP_REMOVED", f"{element} prop {name}", "removed", guards)
    for name in sorted(after.keys() - before.keys()):
        prop, required = after[name]
        rule = "KIND_PROP_ADDED_REQUIRED" if required else "KIND_PROP_ADDED"
        message = f"added as {_requirement(required)} ({prop.type.value})"
        yield Change(rule, f"{element} prop {name}", message, guards)
    for name in sorted(before.keys() & after.keys()):
        yield from _prop_spec_changes(f"{element} prop {name}", before[name], after[name], guards)


def _prop_spec_changes(
    element: str,
    before: tuple[PropSpec, bool],
    after: tuple[PropSpec, bool],
    guards: tuple[str, ...],
) -> Iterator[Change]:
    (old, was_required), (new, required) = before, after
    if was_required != required:
        rule = "KIND_PROP_NOW_REQUIRED" if required else "KIND_PROP_NOW_OPTIONAL"
        message = f"changed from {_requirement(was_required)} to {_requirement(required)}"
        yield Change(rule, element, message, guards)
    if old.type != new.type:
        message = f"type changed from {old.type.value} to {new.type.value}"
        yield Change("KIND_PROP_TYPE_CHANGED", element, message, guards)
    if old.enum != new.enum:
        rule = "KIND_PROP_ENUM_RELAXED" if new.enum is None else "KIND_PROP_ENUM_CHANGED"
        message = f"enum changed from {show(old.enum)} to {show(new.enum)}"
        yield Change(rule, element, message, guards)


# --- props, enums and rules -------------------------------------------------------------------


def prop_changes(previous: SpecSet, current: SpecSet, guards: ContractGuards) -> Iterator[Change]:
    """The prop catalog (key and type) and the prop enums (their values)."""
    guard = (guards.props,)

    def prop_removed(prop: PropDecl) -> Iterator[Change]:
        yield Change("PROP_REMOVED", f"prop {prop.name}", "removed", guard)

    def prop_added(prop: PropDecl) -> Iterator[Change]:
        yield Change("PROP_ADDED", f"prop {prop.name}", f"added ({prop.type.value})", ())

    def prop_changed(old: PropDecl, new: PropDecl) -> Iterator[Change]:
        if old.type != new.type:
            message = f"type changed from {old.type.value} to {new.type.value}"
            yield Change("PROP_TYPE_CHANGED", f"prop {new.name}", message, guard)

    def enum_removed(enum: PropEnum) -> Iterator[Change]:
        yield Change("PROP_ENUM_REMOVED", f"prop enum {enum.name}", "removed", guard)

    def enum_added(enum: PropEnum) -> Iterator[Change]:
        message = f"added with values {show(enum.values)}"
        yield Change("PROP_ENUM_ADDED", f"prop enum {enum.name}", message, ())

    def enum_changed(old: PropEnum, new: PropEnum) -> Iterator[Change]:
        rules = ("PROP_ENUM_VALUE_ADDED", "PROP_ENUM_VALUE_REMOVED")
        element = f"prop enum {new.name} values"
        yield from _member_changes(element, old.values, new.values, rules, guard)

    yield from _diff(
        previous.prop_catalog,
        current.prop_catalog,
        lambda p: p.name,
        removed=prop_removed,
        added=prop_added,
        changed=prop_changed,
    )
    yield from _diff(
        previous.prop_enums,
        current.prop_enums,
        lambda e: e.name,
        removed=enum_removed,
        added=enum_added,
        changed=enum_changed,
    )


def rule_changes(previous: SpecSet, current: SpecSet, guards: ContractGuards) -> Iterator[Change]:
    """Rules added, removed (guarded by the edges dataset) or changed (reported, compatible)."""
    guard = (guards.edges,)

    def removed(rule: RuleDefinition) -> Iterator[Change]:
        yield Change("RULE_REMOVED", f"rule {rule.name}", "removed", guard)

    def added(rule: RuleDefinition) -> Iterator[Change]:
        yield Change("RULE_ADDED", f"rule {rule.name}", f"added (output {rule.output})", ())

    def changed(old: RuleDefinition, new: RuleDefinition) -> Iterator[Change]:
        names = [
            f.name for f in fields(RuleDefinition) if getattr(old, f.name) != getattr(new, f.name)
        ]
        if names:
            yield Change("RULE_CHANGED", f"rule {new.name}", f"changed: {', '.join(names)}", ())

    return _diff(
        previous.rules,
        current.rules,
        lambda r: r.name,
        removed=removed,
        added=added,
        changed=changed,
    )


def spec_changes(
    previous: SpecSet, current: SpecSet, guards: ContractGuards = DEFAULT_GUARDS
) -> tuple[Change, ...]:
    """Every change from ``previous`` to ``current``, as the rules above find them."""
    return (
        *dataset_changes(previous, current),
        *field_changes(previous, current),
        *contract_changes(previous, current, guards),
        *prop_changes(previous, current, guards),
        *rule_changes(previous, current, guards),
    )
