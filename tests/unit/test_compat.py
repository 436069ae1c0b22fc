"""The compatibility checker on spec sets built with ``dataclasses.replace``: one case per rule,
the version policy, and the report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, cast

import pytest

from cpg.contracts import EdgeContract, NodeContract, PropDecl, PropEnum, PropSpec, PropType
from cpg.datasets import DedupeStrategy, FieldSpec, SortKey, SortOrder
from cpg.spec_set import SORT_KEYS, SpecSet, canonical_spec_set
from generator.compat import CompatFinding, CompatReport, compare_registries, format_report
from generator.compat_rules import RULES, ContractGuards

BASE = canonical_spec_set()
Edit = Callable[[SpecSet], SpecSet]


def edit(collection: str, key: str, **changes: Any) -> Edit:
    """Replace attributes of the item of ``collection`` whose key is ``key``."""

    def apply(specs: SpecSet) -> SpecSet:
        attribute = SORT_KEYS[collection][0]
        items = getattr(specs, collection)
        assert any(getattr(item, attribute) == key for item in items), (collection, key)
        edited = tuple(
            replace(item, **changes) if getattr(item, attribute) == key else item for item in items
        )
        return replace(specs, **{collection: edited})

    return apply


def edit_with(collection: str, key: str, change: Callable[[Any], dict[str, Any]]) -> Edit:
    """Like ``edit``, with the changes computed from the item itself."""

    def apply(specs: SpecSet) -> SpecSet:
        item = next(
            i for i in getattr(specs, collection) if getattr(i, SORT_KEYS[collection][0]) == key
        )
        return edit(collection, key, **change(item))(specs)

    return apply


def drop(collection: str, key: str) -> Edit:
    def apply(specs: SpecSet) -> SpecSet:
        attribute = SORT_KEYS[collection][0]
        items = getattr(specs, collection)
        kept = tuple(item for item in items if getattr(item, attribute) != key)
        assert len(kept) == len(items) - 1, (collection, key)
        return replace(specs, **{collection: kept})

    return apply


def add(collection: str, item: object) -> Edit:
    return lambda specs: replace(specs, **{collection: (*getattr(specs, collection), item)})


def chain(*edits: Edit) -> Edit:
    def apply(specs: SpecSet) -> SpecSet:
        for step in edits:
            specs = step(specs)
        return specs

    return apply


def unchanged(specs: SpecSet) -> SpecSet:
    return specs


def dataset(name: str) -> Any:
    return next(row for row in BASE.dataset_rows if row.name == name)


def node(kind: str) -> NodeContract:
    return next(c for c in BASE.node_contracts if c.kind == kind)


def edge(kind: str) -> EdgeContract:
    return next(c for c in BASE.edge_contracts if c.kind == kind)


EXTRA_FIELD = FieldSpec("extra", "string", nullable=True)
NODES = "cpg_nodes_v1"
EDGES = "cpg_edges_v1"
PROPS = "cpg_props_v1"


@dataclass(frozen=True)
class Case:
    rule: str
    element: str
    severity: str
    change: Edit
    before: Edit = unchanged


CASES: tuple[Case, ...] = (
    Case(
        "DATASET_ADDED",
        "dataset cpg_extra_v1",
        "compatible",
        add("dataset_rows", replace(dataset(PROPS), name="cpg_extra_v1", contract_name=None)),
    ),
    Case(
        "DATASET_REMOVED",
        "dataset cpg_props_global_v1",
        "breaking",
        drop("dataset_rows", "cpg_props_global_v1"),
    ),
    Case(
        "DATASET_VERSION_BUMPED",
        f"dataset {PROPS}",
        "compatible",
        edit("dataset_rows", PROPS, version=2),
    ),
    Case(
        "DATASET_VERSION_DECREASED",
        f"dataset {PROPS}",
        "breaking",
        edit("dataset_rows", PROPS, version=1),
        before=edit("dataset_rows", PROPS, version=2),
    ),
    Case(
        "DATASET_DESCRIPTION_CHANGED",
        f"dataset {NODES}",
        "compatible",
        edit("dataset_rows", NODES, description="Nodes."),
    ),
    Case(
        "DATASET_TEMPLATE_CHANGED",
        f"dataset {NODES}",
        "breaking",
        edit("dataset_rows", NODES, template=None),
    ),
    Case(
        "DATASET_CONTRACT_CHANGED",
        f"dataset {NODES}",
        "breaking",
        edit("dataset_rows", NODES, contract_name="cpg_other"),
    ),
    Case(
        "DATASET_ROLE_CHANGED",
        f"dataset {NODES}",
        "breaking",
        edit("dataset_rows", NODES, role=None),
    ),
    Case(
        "KEY_FIELDS_CHANGED",
        f"dataset {NODES}",
        "breaking",
        edit("dataset_rows", NODES, key_fields=("node_id",)),
    ),
    Case(
        "DEDUPE_KEYS_CHANGED",
        f"dataset {NODES}",
        "breaking",
        edit("dataset_rows", NODES, dedupe_keys=("node_id",)),
    ),
    Case(
        "TIE_BREAKERS_CHANGED",
        f"dataset {EDGES}",
        "breaking",
        edit("dataset_rows", EDGES, tie_breakers=(SortKey("score", SortOrder.ASCENDING),)),
    ),
    Case(
        "DEDUPE_STRATEGY_CHANGED",
        f"dataset {NODES}",
        "breaking",
        # DedupeStrategy has one member so far; a future one is simulated by its value.
        edit("dataset_rows", NODES, dedupe_strategy=cast(DedupeStrategy, "KEEP_LAST")),
    ),
    Case(
        "CANONICAL_SORT_CHANGED",
        f"dataset {NODES}",
        "breaking",
        edit("dataset_rows", NODES, canonical_sort=(SortKey("node_id"),)),
    ),
    Case(
        "COLUMN_ADDED",
        f"dataset {NODES} column extra",
        "compatible",
        chain(
            add("fields", EXTRA_FIELD),
            edit("dataset_rows", NODES, fields=("node_id", "node_kind", "extra")),
        ),
    ),
    Case(
        "COLUMN_ADDED_NON_NULL",
        f"dataset {NODES} column extra",
        "breaking",
        chain(
            add("fields", EXTRA_FIELD),
            edit(
                "dataset_rows",
                NODES,
                fields=("node_id", "node_kind", "extra"),
                required_non_null=("node_id", "node_kind", "extra"),
            ),
        ),
    ),
    Case(
        "COLUMN_INSERTED",
        f"dataset {NODES} column extra",
        "breaking",
        chain(
            add("fields", EXTRA_FIELD),
            edit("dataset_rows", NODES, fields=("extra", "node_id", "node_kind")),
        ),
    ),
    Case(
        "COLUMN_REMOVED",
        f"dataset {EDGES} column symbol_roles",
        "breaking",
        edit_with(
            "dataset_rows",
            EDGES,
            lambda row: {"fields": tuple(f for f in row.fields if f != "symbol_roles")},
        ),
    ),
    Case(
        "COLUMN_MOVED",
        f"dataset {NODES} column node_id",
        "breaking",
        edit("dataset_rows", NODES, fields=("node_kind", "node_id")),
    ),
    Case(
        "COLUMN_TYPE_CHANGED",
        f"dataset {NODES} column bstart",
        "breaking",
        edit("fields", "bstart", arrow_type="int32"),
    ),
    Case(
        "COLUMN_NOW_NON_NULL",
        f"dataset {NODES} column path",
        "breaking",
        edit("dataset_rows", NODES, required_non_null=("node_id", "node_kind", "path")),
    ),
    Case(
        "COLUMN_NOW_NULLABLE",
        "dataset cpg_props_by_file_id_v1 column file_id",
        "compatible",
        edit(
            "dataset_rows",
            "cpg_props_by_file_id_v1",
            required_non_null=("entity_kind", "entity_id", "prop_key"),
        ),
    ),
    Case("FIELD_ADDED", "field extra", "compatible", add("fields", EXTRA_FIELD)),
    Case(
        "FIELD_REMOVED",
        "field symbol_roles",
        "breaking",
        chain(
            drop("fields", "symbol_roles"),
            edit_with(
                "dataset_rows",
                EDGES,
                lambda row: {"fields": tuple(f for f in row.fields if f != "symbol_roles")},
            ),
        ),
    ),
    Case(
        "FIELD_TYPE_CHANGED",
        "field origin",
        "breaking",
        edit("fields", "origin", dictionary_encoded=False),
    ),
    Case("FIELD_NOW_NON_NULL", "field path", "breaking", edit("fields", "path", nullable=False)),
    Case(
        "FIELD_NOW_NULLABLE",
        "field node_id",
        "compatible",
        edit("fields", "node_id", nullable=True),
    ),
    Case(
        "NODE_KIND_ADDED",
        "node kind NEW_KIND",
        "compatible",
        add("node_contracts", replace(node("PY_FILE"), kind="NEW_KIND")),
    ),
    Case("NODE_KIND_REMOVED", "node kind PY_REPO", "breaking", drop("node_contracts", "PY_REPO")),
    Case(
        "EDGE_KIND_ADDED",
        "edge kind NEW_EDGE",
        "compatible",
        add("edge_contracts", replace(edge("AST_PARENT_OF"), kind="NEW_EDGE")),
    ),
    Case(
        "EDGE_KIND_REMOVED",
        "edge kind AST_PARENT_OF",
        "breaking",
        drop("edge_contracts", "AST_PARENT_OF"),
    ),
    Case(
        "KIND_DESCRIPTION_CHANGED",
        "node kind PY_FILE",
        "compatible",
        edit("node_contracts", "PY_FILE", description="A file."),
    ),
    Case(
        "KIND_GROUP_CHANGED",
        "node kind PY_FILE",
        "compatible",
        edit("node_contracts", "PY_FILE", group="files"),
    ),
    Case(
        "KIND_SOURCES_WIDENED",
        "node kind PY_FILE allowed_sources",
        "compatible",
        edit("node_contracts", "PY_FILE", allowed_sources=("pipeline", "libcst")),
    ),
    Case(
        "KIND_SOURCES_NARROWED",
        "node kind PY_MODULE allowed_sources",
        "breaking",
        edit("node_contracts", "PY_MODULE", allowed_sources=("libcst",)),
    ),
    Case(
        "KIND_ANCHOR_REQUIRED",
        "node kind PY_FILE requires_anchor",
        "breaking",
        edit("node_contracts", "PY_FILE", requires_anchor=True),
    ),
    Case(
        "KIND_ANCHOR_RELAXED",
        "edge kind AST_PARENT_OF requires_evidence_anchor",
        "compatible",
        edit("edge_contracts", "AST_PARENT_OF", requires_evidence_anchor=False),
        before=edit("edge_contracts", "AST_PARENT_OF", requires_evidence_anchor=True),
    ),
    Case(
        "KIND_PROP_ADDED",
        "node kind PY_FILE prop extra",
        "compatible",
        edit_with(
            "node_contracts",
            "PY_FILE",
            lambda c: {"optional_props": (*c.optional_props, PropSpec("extra", PropType.STR))},
        ),
    ),
    Case(
        "KIND_PROP_ADDED_REQUIRED",
        "node kind PY_FILE prop extra",
        "breaking",
        edit_with(
            "node_contracts",
            "PY_FILE",
            lambda c: {"required_props": (*c.required_props, PropSpec("extra", PropType.STR))},
        ),
    ),
    Case(
        "KIND_PROP_REMOVED",
        "node kind PY_FILE prop encoding",
        "breaking",
        edit_with(
            "node_contracts",
            "PY_FILE",
            lambda c: {
                "optional_props": tuple(p for p in c.optional_props if p.name != "encoding")
            },
        ),
    ),
    Case(
        "KIND_PROP_NOW_REQUIRED",
        "node kind PY_FILE prop encoding",
        "breaking",
        edit_with(
            "node_contracts",
            "PY_FILE",
            lambda c: {
                "optional_props": tuple(p for p in c.optional_props if p.name != "encoding"),
                "required_props": (
                    *c.required_props,
                    *(p for p in c.optional_props if p.name == "encoding"),
                ),
            },
        ),
    ),
    Case(
        "KIND_PROP_NOW_OPTIONAL",
        "node kind PY_FILE prop path",
        "compatible",
        edit_with(
            "node_contracts",
            "PY_FILE",
            lambda c: {
                "required_props": (),
                "optional_props": (*c.optional_props, *c.required_props),
            },
        ),
    ),
    Case(
        "KIND_PROP_TYPE_CHANGED",
        "edge kind AST_PARENT_OF prop index",
        "breaking",
        edit_with(
            "edge_contracts",
            "AST_PARENT_OF",
            lambda c: {
                "optional_props": tuple(
                    replace(p, type=PropType.STR) if p.name == "index" else p
                    for p in c.optional_props
                )
            },
        ),
    ),
    Case(
        "KIND_PROP_ENUM_CHANGED",
        "node kind AST_ATTRIBUTE prop ctx",
        "breaking",
        edit(
            "node_contracts",
            "AST_ATTRIBUTE",
            optional_props=(PropSpec("ctx", PropType.STR, "ctx_full"),),
        ),
    ),
    Case(
        "KIND_PROP_ENUM_RELAXED",
        "node kind AST_ATTRIBUTE prop ctx",
        "compatible",
        edit("node_contracts", "AST_ATTRIBUTE", optional_props=(PropSpec("ctx", PropType.STR),)),
    ),
    Case(
        "EDGE_ENDPOINTS_WIDENED",
        "edge kind AST_PARENT_OF src_kinds",
        "compatible",
        edit_with(
            "edge_contracts", "AST_PARENT_OF", lambda c: {"src_kinds": (*c.src_kinds, "PY_FILE")}
        ),
    ),
    Case(
        "EDGE_ENDPOINTS_NARROWED",
        "edge kind AST_PARENT_OF dst_kinds",
        "breaking",
        edit_with("edge_contracts", "AST_PARENT_OF", lambda c: {"dst_kinds": c.dst_kinds[1:]}),
    ),
    Case(
        "PROP_ADDED",
        "prop extra",
        "compatible",
        add("prop_catalog", PropDecl("extra", PropType.STR)),
    ),
    Case("PROP_REMOVED", "prop git_commit", "breaking", drop("prop_catalog", "git_commit")),
    Case(
        "PROP_TYPE_CHANGED",
        "prop git_commit",
        "breaking",
        edit("prop_catalog", "git_commit", type=PropType.JSON),
    ),
    Case(
        "PROP_ENUM_ADDED",
        "prop enum extra",
        "compatible",
        add("prop_enums", PropEnum("extra", ("a", "b"))),
    ),
    Case(
        "PROP_ENUM_REMOVED",
        "prop enum index_format",
        "breaking",
        drop("prop_enums", "index_format"),
    ),
    Case(
        "PROP_ENUM_VALUE_ADDED",
        "prop enum ctx_basic values",
        "compatible",
        edit("prop_enums", "ctx_basic", values=("Load", "Store", "Del", "Param")),
    ),
    Case(
        "PROP_ENUM_VALUE_REMOVED",
        "prop enum ctx_basic values",
        "breaking",
        edit("prop_enums", "ctx_basic", values=("Load", "Store")),
    ),
    Case(
        "RULE_ADDED",
        "rule call_edges_again",
        "compatible",
        add(
            "rules",
            replace(next(r for r in BASE.rules if r.name == "call_edges"), name="call_edges_again"),
        ),
    ),
    Case("RULE_REMOVED", "rule call_edges", "breaking", drop("rules", "call_edges")),
    Case(
        "RULE_CHANGED",
        "rule call_edges",
        "compatible",
        edit_with("rules", "call_edges", lambda r: {"priority": r.priority + 1}),
    ),
)


def _specs(case: Case) -> tuple[SpecSet, SpecSet]:
    previous = case.before(BASE)
    return previous, case.change(previous)


def _only(report: CompatReport, rule: str) -> CompatFinding:
    found = [finding for finding in report.findings if finding.rule == rule]
    assert found, format_report(report)
    return found[0]


def test_every_rule_has_a_case() -> None:
    assert sorted(case.rule for case in CASES) == sorted(RULES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.rule)
def test_rule(case: Case) -> None:
    previous, current = _specs(case)
    report = compare_registries(previous, current)
    elements = [f.element for f in report.findings if f.rule == case.rule]
    assert case.element in elements, format_report(report)
    finding = next(f for f in report.findings if f.rule == case.rule and f.element == case.element)
    assert finding.severity == case.severity
    assert RULES[case.rule].breaking == (case.severity == "breaking")
    assert report.exit_code == (1 if case.severity == "breaking" else 0)


def test_identical_spec_sets_have_no_findings() -> None:
    report = compare_registries(BASE, BASE)
    assert report.findings == ()
    assert report.exit_code == 0
    assert format_report(report) == "compat: no changes\n"


def test_messages_say_what_changed_and_how_to_proceed() -> None:
    report = compare_registries(BASE, edit("fields", "bstart", arrow_type="int32")(BASE))
    finding = next(f for f in report.findings if f.element == f"dataset {NODES} column bstart")
    assert finding.message == (
        f"type changed from int64 to int32; bump {NODES} version (and name) or revert"
    )
    assert finding.bump == (NODES,)
    field = _only(report, "FIELD_TYPE_CHANGED")
    assert field.element == "field bstart"
    assert field.bump == (EDGES, NODES)


def test_version_bump_allows_a_breaking_dataset_change() -> None:
    current = edit("dataset_rows", NODES, key_fields=("node_id",), version=2)(BASE)
    report = compare_registries(BASE, current)
    finding = _only(report, "KEY_FIELDS_CHANGED")
    assert finding.severity == "allowed"
    assert finding.message.endswith(f"; allowed: new version 2 of {NODES}")
    assert _only(report, "DATASET_VERSION_BUMPED").severity == "compatible"
    assert report.breaking == ()
    assert report.exit_code == 0


def test_bump_of_another_dataset_does_not_allow_the_change() -> None:
    change = chain(
        edit("dataset_rows", NODES, key_fields=("node_id",)),
        edit("dataset_rows", EDGES, version=2),
    )
    report = compare_registries(BASE, change(BASE))
    assert _only(report, "KEY_FIELDS_CHANGED").severity == "breaking"
    assert report.exit_code == 1


def test_new_version_under_a_new_name_is_the_same_dataset() -> None:
    renamed = edit(
        "dataset_rows", NODES, name="cpg_nodes_v2", contract_name="cpg_nodes_v2", version=2
    )
    report = compare_registries(
        BASE, chain(renamed, edit("fields", "bstart", arrow_type="int32"))(BASE)
    )
    removed = _only(report, "DATASET_REMOVED")
    assert (removed.element, removed.severity) == (f"dataset {NODES}", "allowed")
    assert (
        removed.message
        == f"replaced by cpg_nodes_v2; allowed: new version 2 of {NODES} (cpg_nodes_v2)"
    )
    column = next(f for f in report.findings if f.element == "dataset cpg_nodes_v2 column bstart")
    assert column.severity == "allowed"
    assert "DATASET_ADDED" not in {f.rule for f in report.findings}


def test_rename_without_a_version_bump_is_a_removal() -> None:
    report = compare_registries(BASE, edit("dataset_rows", NODES, name="cpg_nodes_v2")(BASE))
    removed = _only(report, "DATASET_REMOVED")
    assert (removed.element, removed.severity) == (f"dataset {NODES}", "breaking")
    assert "publish a successor (e.g. cpg_nodes_v2) with a higher version" in removed.message
    assert _only(report, "DATASET_ADDED").element == "dataset cpg_nodes_v2"


@pytest.mark.parametrize(
    ("change", "guard"),
    [
        (drop("node_contracts", "PY_REPO"), NODES),
        (edit("node_contracts", "PY_FILE", requires_anchor=True), NODES),
        (drop("edge_contracts", "AST_PARENT_OF"), EDGES),
        (
            edit_with("edge_contracts", "AST_PARENT_OF", lambda c: {"dst_kinds": c.dst_kinds[1:]}),
            EDGES,
        ),
        (drop("rules", "call_edges"), EDGES),
        (edit("prop_enums", "ctx_basic", values=("Load",)), PROPS),
        (edit("prop_catalog", "git_commit", type=PropType.JSON), PROPS),
    ],
    ids=[
        "node-kind-removed",
        "node-anchor-required",
        "edge-kind-removed",
        "endpoints-narrowed",
        "rule-removed",
        "enum-value-removed",
        "prop-type-changed",
    ],
)
def test_contract_breaks_are_guarded_by_one_dataset(change: Edit, guard: str) -> None:
    blocked = compare_registries(BASE, change(BASE))
    assert [f.bump for f in blocked.breaking] == [(guard,)]
    assert f"bump {guard} version (and name) or revert" in blocked.breaking[0].message
    others = [name for name in (NODES, EDGES, PROPS) if name != guard]
    still_blocked = compare_registries(
        BASE, chain(change, *(edit("dataset_rows", n, version=2) for n in others))(BASE)
    )
    assert still_blocked.exit_code == 1
    allowed = compare_registries(BASE, chain(change, edit("dataset_rows", guard, version=2))(BASE))
    assert allowed.exit_code == 0
    assert [f.rule for f in allowed.allowed] == [f.rule for f in blocked.breaking]
    assert allowed.allowed[0].message.endswith(f"allowed: new version 2 of {guard}")


def test_custom_contract_guards() -> None:
    guards = ContractGuards(nodes=PROPS)
    change = chain(drop("node_contracts", "PY_REPO"), edit("dataset_rows", PROPS, version=2))
    assert compare_registries(BASE, change(BASE), guards).exit_code == 0
    assert compare_registries(BASE, change(BASE)).exit_code == 1


def test_a_catalog_field_is_guarded_by_every_dataset_using_it() -> None:
    change = chain(
        edit("fields", "bstart", arrow_type="int32"), edit("dataset_rows", NODES, version=2)
    )
    report = compare_registries(BASE, change(BASE))
    severities = {f.element: f.severity for f in report.findings if "bstart" in f.element}
    assert severities == {
        "field bstart": "breaking",
        f"dataset {NODES} column bstart": "allowed",
        f"dataset {EDGES} column bstart": "breaking",
    }
    assert _only(report, "FIELD_TYPE_CHANGED").bump == (EDGES,)


def test_changing_an_unused_catalog_field_breaks_nothing_published() -> None:
    previous = add("fields", EXTRA_FIELD)(BASE)
    report = compare_registries(previous, BASE)
    finding = _only(report, "FIELD_REMOVED")
    assert (finding.element, finding.severity) == ("field extra", "allowed")
    assert finding.message == "removed; allowed: no dataset uses it"


def test_report_lists_every_finding_sorted_with_summary_and_how_to_proceed() -> None:
    change = chain(
        drop("node_contracts", "PY_REPO"),
        edit("dataset_rows", EDGES, key_fields=("edge_id",)),
        edit("prop_enums", "ctx_basic", values=("Load", "Store", "Del", "Param")),
        edit("dataset_rows", PROPS, version=2),
        drop("prop_enums", "index_format"),
    )
    report = compare_registries(BASE, change(BASE))
    assert format_report(report) == (
        "breaking: dataset cpg_edges_v1: key_fields changed from ('edge_kind', 'src_node_id', "
        "'dst_node_id', 'path', 'bstart', 'bend') to ('edge_id'); bump cpg_edges_v1 version "
        "(and name) or revert [KEY_FIELDS_CHANGED]\n"
        "breaking: node kind PY_REPO: removed; bump cpg_nodes_v1 version (and name) or revert "
        "[NODE_KIND_REMOVED]\n"
        "allowed: prop enum index_format: removed; allowed: new version 2 of cpg_props_v1 "
        "[PROP_ENUM_REMOVED]\n"
        "compatible: dataset cpg_props_v1: version changed from 1 to 2 [DATASET_VERSION_BUMPED]\n"
        "compatible: prop enum ctx_basic values: added Param [PROP_ENUM_VALUE_ADDED]\n"
        "compat: 2 breaking, 1 allowed, 2 compatible\n"
        "to proceed: bump the version (and name) of cpg_edges_v1, cpg_nodes_v1, or revert the "
        "breaking change(s) (see each line)\n"
    )
    assert report.exit_code == 1
    assert [f.rule for f in report.breaking] == ["KEY_FIELDS_CHANGED", "NODE_KIND_REMOVED"]
