"""The canonical CPG relationship rules: seven templates plus the explicitly written rules.

Origin decision: an edge-emitting rule's ``origin`` must be a source kind allowed by its edge
contract. The reference catalog used free labels for four rules (``diagnostic``, ``annotation``,
``inferred``, ``qnp``), none of them a source kind; here they are the source kinds that produce
the evidence (``derived``, ``libcst``, ``derived``, ``libcst``). ``resolution_method`` keeps
saying how the edge was resolved, so no information is lost.
"""

from __future__ import annotations

from cpg.kinds import EdgeKind, SourceKind
from relspec.rules.model import (
    ColumnExpr,
    ColumnLiteral,
    EdgeEmitPayload,
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
from relspec.rules.templates import (
    EDGE_EMIT_PRIORITY,
    RELATION_OUTPUT_CONTRACT,
    expand_rule_templates,
)


def _template(
    name: str, inputs: tuple[str, ...], option_flag: str, confidence_policy: str | None
) -> RuleTemplateSpec:
    params = [RuleParam("option_flag", option_flag)]
    if confidence_policy is not None:
        params.insert(0, RuleParam("confidence_policy", confidence_policy))
    return RuleTemplateSpec(name=name, factory=name, inputs=inputs, params=tuple(params))


RULE_TEMPLATES: tuple[RuleTemplateSpec, ...] = (
    _template("symbol_role", ("rel_name_symbol",), "emit_symbol_role_edges", "scip"),
    _template(
        "scip_symbol",
        ("scip_symbol_relationships",),
        "emit_scip_symbol_relationship_edges",
        "scip",
    ),
    _template("import", ("rel_import_symbol",), "emit_import_edges", "scip"),
    _template("call", ("rel_callsite_symbol",), "emit_call_edges", "scip"),
    _template("diagnostic", ("diagnostics_norm",), "emit_diagnostic_edges", None),
    _template("type", ("type_exprs_norm",), "emit_type_edges", "type"),
    _template(
        "runtime",
        ("rt_signatures", "rt_signature_params", "rt_members"),
        "emit_runtime_edges",
        "runtime",
    ),
)

_QNAME_FALLBACK_SELECT = (
    "call_id",
    "qname_id",
    "path",
    "call_bstart",
    "call_bend",
    "qname_source",
)

QNAME_FALLBACK_RULE = RuleDefinition(
    name="qname_fallback_calls",
    domain=RuleDomain.CPG,
    kind=RuleKind.HASH_JOIN,
    inputs=("rel_callsite_qname", "rel_callsite_symbol"),
    output="qname_fallback_calls",
    contract_name=RELATION_OUTPUT_CONTRACT,
    priority=EDGE_EMIT_PRIORITY,
    execution_mode=ExecutionMode.AUTO,
    template=None,
    evidence=None,
    policy_overrides=PolicyOverrides(
        confidence_policy="qname_fallback", ambiguity_policy="qname_fallback"
    ),
    payload=RulePayload(
        project_select=_QNAME_FALLBACK_SELECT,
        project_exprs=(ColumnExpr("ambiguity_group_id", "call_id"),),
        edge_emit=EdgeEmitPayload(
            edge_kind=EdgeKind.PY_CALLS_QNAME,
            src_cols=("call_id",),
            dst_cols=("qname_id",),
            path_cols=("path",),
            bstart_cols=("call_bstart",),
            bend_cols=("call_bend",),
            origin=SourceKind.LIBCST,
            resolution_method="QNP_CALLEE_FALLBACK",
            option_flag="emit_qname_fallback_call_edges",
        ),
        hash_join=HashJoinPayload(
            join_type="left anti",
            left_keys=("call_id",),
            right_keys=("call_id",),
            left_output=_QNAME_FALLBACK_SELECT,
            right_output=(),
        ),
    ),
)


SCIP_INFERRED_TYPE_RULE = RuleDefinition(
    name="scip_inferred_type_edges",
    domain=RuleDomain.CPG,
    kind=RuleKind.HASH_JOIN,
    inputs=("rel_def_symbol", "scip_inferred_types"),
    output="scip_inferred_type_edges",
    contract_name=RELATION_OUTPUT_CONTRACT,
    priority=EDGE_EMIT_PRIORITY,
    execution_mode=ExecutionMode.AUTO,
    template=None,
    evidence=None,
    policy_overrides=PolicyOverrides(confidence_policy="inferred_type"),
    payload=RulePayload(
        project_select=("def_id", "type_id"),
        added_literals=(
            ColumnLiteral("path", "null"),
            ColumnLiteral("bstart", "null"),
            ColumnLiteral("bend", "null"),
            ColumnLiteral("inference_origin", '"inferred"'),
            ColumnLiteral("engine", '"scip-python"'),
        ),
        edge_emit=EdgeEmitPayload(
            edge_kind=EdgeKind.INFERRED_TYPE,
            src_cols=("def_id",),
            dst_cols=("type_id",),
            path_cols=(),
            bstart_cols=(),
            bend_cols=(),
            origin=SourceKind.DERIVED,
            resolution_method="SCIP_INFERRED_RETURN",
            option_flag="emit_scip_inferred_type_edges",
        ),
        hash_join=HashJoinPayload(
            join_type="inner",
            left_keys=("symbol",),
            right_keys=("symbol",),
            left_output=("def_id",),
            right_output=("type_id",),
        ),
    ),
)
"""A function's return type as scip-python (pyright) infers it where no annotation declares it,
to the function's CST_DEF: its definition aligned with the SCIP symbol that carries the type."""


def _scip_alignment(
    name: str,
    left: str,
    output: str,
    select_left: tuple[str, ...],
    span: tuple[str, str],
) -> RuleDefinition:
    """A relation rule aligning a CST table's spans with SCIP occurrences."""
    return RuleDefinition(
        name=name,
        domain=RuleDomain.CPG,
        kind=RuleKind.INTERVAL_ALIGN,
        inputs=(left, "scip_occurrences"),
        output=output,
        contract_name=f"{output}_v1",
        priority=0,
        execution_mode=None,
        template=None,
        evidence=None,
        policy_overrides=PolicyOverrides(),
        payload=RulePayload(
            interval_align=IntervalAlignPayload(
                mode="CONTAINED_BEST",
                how="inner",
                left_path_col="path",
                left_start_col=span[0],
                left_end_col=span[1],
                right_path_col="path",
                right_start_col="bstart",
                right_end_col="bend",
                select_left=select_left,
                select_right=("symbol", "symbol_roles"),
                emit_match_meta=False,
            )
        ),
    )


_SPAN = ("bstart", "bend")

RELATION_RULES: tuple[RuleDefinition, ...] = (
    _scip_alignment(
        "cst_name_refs__to__scip_occurrences",
        "cst_name_refs",
        "rel_name_symbol",
        ("name_ref_id", "path", "bstart", "bend", "expr_ctx"),
        _SPAN,
    ),
    _scip_alignment(
        "cst_imports__to__scip_occurrences",
        "cst_imports",
        "rel_import_symbol",
        ("import_alias_id", "import_id", "path", "bstart", "bend", "alias_bstart", "alias_bend"),
        _SPAN,
    ),
    _scip_alignment(
        "cst_defs__name_to__scip_occurrences",
        "cst_defs",
        "rel_def_symbol",
        ("def_id", "path", "bstart", "bend"),
        ("name_bstart", "name_bend"),
    ),
    _scip_alignment(
        "cst_callsites__callee_to__scip_occurrences",
        "cst_callsites",
        "rel_callsite_symbol",
        ("call_id", "path", "call_bstart", "call_bend"),
        ("callee_name_bstart", "callee_name_bend"),
    ),
    RuleDefinition(
        name="callsite_qname_candidates__join__dim_qualified_names",
        domain=RuleDomain.CPG,
        kind=RuleKind.HASH_JOIN,
        inputs=("callsite_qname_candidates", "dim_qualified_names"),
        output="rel_callsite_qname",
        contract_name="rel_callsite_qname_v1",
        priority=10,
        execution_mode=None,
        template=None,
        evidence=None,
        policy_overrides=PolicyOverrides(),
        payload=RulePayload(
            hash_join=HashJoinPayload(
                join_type="inner",
                left_keys=("qname",),
                right_keys=("qname",),
                left_output=(
                    "call_id",
                    "path",
                    "call_bstart",
                    "call_bend",
                    "qname_source",
                ),
                right_output=("qname_id",),
            )
        ),
    ),
)

CPG_RULES: tuple[RuleDefinition, ...] = (
    *expand_rule_templates(RULE_TEMPLATES),
    QNAME_FALLBACK_RULE,
    SCIP_INFERRED_TYPE_RULE,
    *RELATION_RULES,
)
