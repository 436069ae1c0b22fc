"""Rule template expansion: each template names a factory that turns it into rule definitions.

A factory owns what differs between the rules of one family (edge kind, predicate, columns);
the template owns what they share (inputs, confidence policy, option flag).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from cpg.kinds import EdgeKind, SourceKind
from relspec.rules.model import (
    ColumnExpr,
    ColumnLiteral,
    EdgeEmitPayload,
    ExecutionMode,
    PolicyOverrides,
    RuleDefinition,
    RuleDomain,
    RuleKind,
    RulePayload,
    RuleTemplateSpec,
)

EDGE_EMIT_PRIORITY = 100
RELATION_OUTPUT_CONTRACT = "relation_output_v1"
_NULL_SPAN = (
    ColumnLiteral("path", "null"),
    ColumnLiteral("bstart", "null"),
    ColumnLiteral("bend", "null"),
)
_FULL_CONFIDENCE = (ColumnLiteral("confidence", "1.0"), ColumnLiteral("score", "1.0"))


class TemplateExpansionError(ValueError):
    """A template names an unknown factory or lacks a parameter its factory needs."""


@dataclass(frozen=True)
class _Variant:
    """What one rule of a family sets on top of the template."""

    name: str
    edge_kind: str
    src_cols: tuple[str, ...]
    dst_cols: tuple[str, ...]
    resolution_method: str
    project_select: tuple[str, ...]
    predicate: str | None = None
    path_cols: tuple[str, ...] = ("path",)
    bstart_cols: tuple[str, ...] = ("bstart",)
    bend_cols: tuple[str, ...] = ("bend",)
    project_exprs: tuple[ColumnExpr, ...] = ()
    added_literals: tuple[ColumnLiteral, ...] = ()
    inputs: tuple[str, ...] | None = None
    """One of the template's inputs when the family reads one input per rule."""


def _required_param(template: RuleTemplateSpec, key: str) -> str:
    value = template.param(key)
    if value is None:
        msg = f"rule template {template.name!r}: missing parameter {key!r}"
        raise TemplateExpansionError(msg)
    return value


def _edge_rules(
    template: RuleTemplateSpec, origin: str, variants: Iterable[_Variant]
) -> tuple[RuleDefinition, ...]:
    """Edge-emitting filter/project rules, one per variant, sharing the template's settings."""
    option_flag = _required_param(template, "option_flag")
    policies = PolicyOverrides(confidence_policy=template.param("confidence_policy"))
    return tuple(
        RuleDefinition(
            name=variant.name,
            domain=RuleDomain.CPG,
            kind=RuleKind.FILTER_PROJECT,
            inputs=variant.inputs or template.inputs,
            output=variant.name,
            contract_name=RELATION_OUTPUT_CONTRACT,
            priority=EDGE_EMIT_PRIORITY,
            execution_mode=ExecutionMode.AUTO,
            template=template.name,
            evidence=None,
            policy_overrides=policies,
            payload=RulePayload(
                predicate=variant.predicate,
                project_select=variant.project_select,
                project_exprs=variant.project_exprs,
                added_literals=variant.added_literals,
                edge_emit=EdgeEmitPayload(
                    edge_kind=variant.edge_kind,
                    src_cols=variant.src_cols,
                    dst_cols=variant.dst_cols,
                    path_cols=variant.path_cols,
                    bstart_cols=variant.bstart_cols,
                    bend_cols=variant.bend_cols,
                    origin=origin,
                    resolution_method=variant.resolution_method,
                    option_flag=option_flag,
                ),
            ),
        )
        for variant in variants
    )


def _role_predicate(bit: int, *, negate: bool = False) -> str:
    test = f"fill_null(not_equal(bit_wise_and(symbol_roles, {bit}), 0), False)"
    return f"invert({test})" if negate else test


def _written() -> str:
    """WriteAccess, or (scip-python 0.6.6 sets no WriteAccess bit) a Definition occurrence at a
    name LibCST stores to: an assignment, a def, a parameter binds the symbol."""
    stored = "fill_null(equal(expr_ctx, 'STORE'), False)"
    return f"or_kleene({_role_predicate(4)}, and_kleene({_role_predicate(1)}, {stored}))"


def _symbol_role(template: RuleTemplateSpec) -> tuple[RuleDefinition, ...]:
    select = ("name_ref_id", "symbol", "path", "bstart", "bend", "symbol_roles")
    roles = (
        ("symbol_role_defines", EdgeKind.PY_DEFINES_SYMBOL, _role_predicate(1)),
        (
            "symbol_role_references",
            EdgeKind.PY_REFERENCES_SYMBOL,
            _role_predicate(1, negate=True),
        ),
        ("symbol_role_reads", EdgeKind.PY_READS_SYMBOL, _role_predicate(8)),
        ("symbol_role_writes", EdgeKind.PY_WRITES_SYMBOL, _written()),
    )
    return _edge_rules(
        template,
        SourceKind.SCIP,
        (
            _Variant(
                name,
                kind,
                ("name_ref_id",),
                ("symbol",),
                "SPAN_EXACT",
                select,
                predicate,
            )
            for name, kind, predicate in roles
        ),
    )


def _scip_symbol(template: RuleTemplateSpec) -> tuple[RuleDefinition, ...]:
    relations = (
        ("reference", EdgeKind.SCIP_SYMBOL_REFERENCE),
        ("implementation", EdgeKind.SCIP_SYMBOL_IMPLEMENTATION),
        ("type_definition", EdgeKind.SCIP_SYMBOL_TYPE_DEFINITION),
        ("definition", EdgeKind.SCIP_SYMBOL_DEFINITION),
    )
    exprs = (ColumnExpr("src", "symbol"), ColumnExpr("dst", "related_symbol"))
    return _edge_rules(
        template,
        SourceKind.SCIP,
        (
            _Variant(
                name=f"scip_symbol_{relation}",
                edge_kind=kind,
                src_cols=("src", "symbol"),
                dst_cols=("dst", "related_symbol"),
                resolution_method=kind.value,
                project_select=(f"is_{relation}", "symbol", "related_symbol"),
                predicate=f"fill_null(is_{relation}, False)",
                path_cols=(),
                bstart_cols=(),
                bend_cols=(),
                project_exprs=exprs,
            )
            for relation, kind in relations
        ),
    )


def _import(template: RuleTemplateSpec) -> tuple[RuleDefinition, ...]:
    select = (
        "import_alias_id",
        "import_id",
        "symbol",
        "path",
        "bstart",
        "bend",
        "alias_bstart",
        "alias_bend",
        "symbol_roles",
    )
    variant = _Variant(
        name="import_edges",
        edge_kind=EdgeKind.PY_IMPORTS_SYMBOL,
        src_cols=("import_alias_id",),
        dst_cols=("symbol",),
        resolution_method="SPAN_EXACT",
        project_select=select,
        bstart_cols=("bstart", "alias_bstart"),
        bend_cols=("bend", "alias_bend"),
    )
    return _edge_rules(template, SourceKind.SCIP, (variant,))


def _call(template: RuleTemplateSpec) -> tuple[RuleDefinition, ...]:
    variant = _Variant(
        name="call_edges",
        edge_kind=EdgeKind.PY_CALLS_SYMBOL,
        src_cols=("call_id",),
        dst_cols=("symbol",),
        resolution_method="CALLEE_SPAN_EXACT",
        project_select=("call_id", "symbol", "path", "call_bstart", "call_bend", "symbol_roles"),
        bstart_cols=("call_bstart",),
        bend_cols=("call_bend",),
    )
    return _edge_rules(template, SourceKind.SCIP, (variant,))


def _severity_weight() -> str:
    severity = "fill_null(severity, 'ERROR')"
    return (
        f"if_else(equal({severity}, 'ERROR'), 1.0, if_else(equal({severity}, 'WARNING'), 0.7, 0.5))"
    )


def _diagnostic(template: RuleTemplateSpec) -> tuple[RuleDefinition, ...]:
    weight = _severity_weight()
    variant = _Variant(
        name="diagnostic_edges",
        edge_kind=EdgeKind.HAS_DIAGNOSTIC,
        src_cols=("file_id", "repo_id"),
        dst_cols=("diag_id",),
        resolution_method="DIAGNOSTIC",
        project_select=(
            "diag_id",
            "file_id",
            "repo_id",
            "path",
            "bstart",
            "bend",
            "severity",
            "diag_source",
        ),
        project_exprs=(
            ColumnExpr("edge_owner_file_id", "file_id"),
            ColumnExpr("confidence", weight),
            ColumnExpr("score", weight),
        ),
    )
    return _edge_rules(template, SourceKind.DERIVED, (variant,))


def _type(template: RuleTemplateSpec) -> tuple[RuleDefinition, ...]:
    annotation = _Variant(
        name="type_annotation_edges",
        edge_kind=EdgeKind.HAS_ANNOTATION,
        src_cols=("owner_def_id",),
        dst_cols=("type_expr_id",),
        resolution_method="TYPE_ANNOTATION",
        project_select=("owner_def_id", "type_expr_id", "path", "bstart", "bend"),
        added_literals=(*_FULL_CONFIDENCE, ColumnLiteral("annotation_origin", '"annotation"')),
    )
    declared = _Variant(
        name="inferred_type_edges",
        edge_kind=EdgeKind.INFERRED_TYPE,
        src_cols=("owner_def_id",),
        dst_cols=("type_id",),
        resolution_method="ANNOTATION",
        project_select=("owner_def_id", "type_id"),
        predicate="is_valid(type_id)",
        added_literals=(
            *_NULL_SPAN,
            *_FULL_CONFIDENCE,
            ColumnLiteral("inference_origin", '"annotation"'),
        ),
    )
    return _edge_rules(template, SourceKind.LIBCST, (annotation,)) + _edge_rules(
        template, SourceKind.DERIVED, (declared,)
    )


def _runtime(template: RuleTemplateSpec) -> tuple[RuleDefinition, ...]:
    links = (
        (
            "runtime_signatures",
            "rt_signatures",
            EdgeKind.RT_HAS_SIGNATURE,
            "rt_id",
            "sig_id",
        ),
        (
            "runtime_params",
            "rt_signature_params",
            EdgeKind.RT_HAS_PARAM,
            "sig_id",
            "param_id",
        ),
        ("runtime_members", "rt_members", EdgeKind.RT_HAS_MEMBER, "rt_id", "member_id"),
    )
    return _edge_rules(
        template,
        SourceKind.INSPECT,
        (
            _Variant(
                name=name,
                edge_kind=kind,
                src_cols=(src,),
                dst_cols=(dst,),
                resolution_method="RUNTIME_INSPECT",
                project_select=(src, dst),
                added_literals=_NULL_SPAN + _FULL_CONFIDENCE,
                inputs=(source,),
            )
            for name, source, kind, src, dst in links
        ),
    )


RULE_FACTORIES: Mapping[str, Callable[[RuleTemplateSpec], tuple[RuleDefinition, ...]]] = {
    "symbol_role": _symbol_role,
    "scip_symbol": _scip_symbol,
    "import": _import,
    "call": _call,
    "diagnostic": _diagnostic,
    "type": _type,
    "runtime": _runtime,
}


def expand_rule_templates(
    templates: Iterable[RuleTemplateSpec],
) -> tuple[RuleDefinition, ...]:
    """All rule definitions the templates expand to, in template order."""
    rules: list[RuleDefinition] = []
    for template in templates:
        factory = RULE_FACTORIES.get(template.factory)
        if factory is None:
            known = ", ".join(sorted(RULE_FACTORIES))
            msg = (
                f"rule template {template.name!r}: unknown factory {template.factory!r} "
                f"(known: {known})"
            )
            raise TemplateExpansionError(msg)
        rules.extend(factory(template))
    return tuple(rules)
