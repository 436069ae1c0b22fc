"""What a rule does, worked out from its payload and its inputs' relation contracts.

``plan_rule`` checks a rule against the columns of its inputs and returns the parsed operation:
the source step of its kind (the one input of ``filter_project``; the join of ``hash_join``; the
alignment of ``interval_align``), then the optional filter and projection every kind shares
(predicate over the source step's columns; ``project_select`` columns, ``project_exprs`` and
``added_literals`` make the output, all computed from the source step's rows). Its output columns
carry Arrow type names, nullability and the node kind of id columns, so spec validation can
compare them with the output's relation contract and with the edge contract of an emitting rule,
and the engine can execute the very same plan. Any problem is a ``RulePlanError`` naming the
rule and the payload field at fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from relspec.rules.expressions import (
    ARROW_VALUE_TYPES,
    Call,
    Column,
    Expr,
    ExpressionError,
    Literal,
    ValueType,
    expression_type,
    literal_type,
    parse_expression,
)
from relspec.rules.model import RuleDefinition, RuleKind

JOIN_TYPES = ("inner", "left outer", "left semi", "left anti")
"""Hash join types the engine runs; semi and anti joins output left columns only."""
ALIGN_MODES = ("EXACT", "CONTAINED_BEST")
"""``EXACT``: same path and span. ``CONTAINED_BEST``: the right span lies within the left one;
the smallest such right span wins (then the earliest start, then the right columns' values)."""
ALIGN_HOWS = ("inner", "left")
EDGE_VALUE_COLUMNS = ("origin", "resolution_method", "confidence", "score", "ambiguity_group_id")
"""Edge columns the engine fills from the rule (emit payload, policies) unless the rule's output
has a column of that name, whose non-null values win."""
ALWAYS_FILLED_EDGE_PROPS = frozenset(
    {
        "edge_kind",
        "origin",
        "resolution_method",
        "confidence",
        "score",
        "rule_name",
        "rule_priority",
    }
)
"""Edge columns every rule edge has, so a contract may require them as props."""
MATCH_KIND = "match_kind"
MATCH_SCORE = "match_score"

_ARROW_NAME: Mapping[ValueType, str] = {
    ValueType.BOOL: "bool",
    ValueType.INT: "int64",
    ValueType.FLOAT: "float64",
    ValueType.STR: "string",
}


class RulePlanError(ValueError):
    """A rule that cannot run: names the rule and the payload field at fault."""

    def __init__(self, rule: str, field: str, message: str) -> None:
        self.rule = rule
        self.field = field
        self.message = message
        super().__init__(f"rule {rule!r}: {field}: {message}")


@dataclass(frozen=True)
class PlannedColumn:
    """A column in a rule's plan; ``arrow_type`` None is a column of nulls only."""

    name: str
    arrow_type: str | None
    nullable: bool
    node_kind: str | None = None

    @property
    def value_type(self) -> ValueType:
        if self.arrow_type is None:
            return ValueType.NULL
        return ARROW_VALUE_TYPES.get(self.arrow_type, ValueType.OTHER)


@dataclass(frozen=True)
class PlannedRule:
    """A checked rule: parsed expressions, literal values, and its output columns in order."""

    rule: RuleDefinition
    source_columns: tuple[PlannedColumn, ...]
    predicate: Expr | None
    select: tuple[str, ...]
    exprs: tuple[tuple[str, Expr], ...]
    literals: tuple[tuple[str, object], ...]
    columns: tuple[PlannedColumn, ...]

    def column(self, name: str) -> PlannedColumn | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None


def plan_rule(rule: RuleDefinition, inputs: Sequence[Sequence[PlannedColumn]]) -> PlannedRule:
    """The plan of ``rule`` over inputs with these columns (one sequence per ``rule.inputs``)."""
    source = _source_columns(rule, inputs)
    payload = rule.payload
    fail = _failer(rule)
    types = {c.name: c.value_type for c in source}
    predicate = None
    if payload.predicate is not None:
        predicate = _parse(rule, "payload.predicate", payload.predicate, types)
        kind = expression_type(predicate, types)
        if kind not in (ValueType.BOOL, ValueType.NULL):
            raise fail("payload.predicate", f"must be a boolean expression, not {kind}")
    by_name = {c.name: c for c in source}
    for name in payload.project_select:
        if name not in by_name:
            raise fail("payload.project_select", f"unknown column {name!r}{_among(by_name)}")
    select = payload.project_select or (
        () if payload.project_exprs or payload.added_literals else tuple(by_name)
    )
    outputs = [by_name[name] for name in select]
    exprs = []
    for item in payload.project_exprs:
        field = f"payload.project_exprs[{item.column}]"
        expr = _parse(rule, field, item.expr, types)
        exprs.append((item.column, expr))
        outputs.append(_expr_column(item.column, expr, by_name, types))
    literals = []
    for literal in payload.added_literals:
        field = f"payload.added_literals[{literal.column}]"
        try:
            value = json.loads(literal.value_json)
        except ValueError:
            raise fail(field, f"not JSON: {literal.value_json[:40]!r}") from None
        kind = literal_type(value)
        if kind is ValueType.OTHER:
            raise fail(field, "must be a JSON string, number, boolean or null")
        literals.append((literal.column, value))
        outputs.append(PlannedColumn(literal.column, _ARROW_NAME.get(kind), value is None))
    _unique(rule, "payload (output columns)", [c.name for c in outputs])
    return PlannedRule(
        rule, tuple(source), predicate, select, tuple(exprs), tuple(literals), tuple(outputs)
    )


def _failer(rule: RuleDefinition) -> Callable[[str, str], RulePlanError]:
    def fail(field: str, message: str) -> RulePlanError:
        return RulePlanError(rule.name, field, message)

    return fail


def _parse(rule: RuleDefinition, field: str, text: str, types: Mapping[str, ValueType]) -> Expr:
    try:
        return parse_expression(text, types)
    except ExpressionError as exc:
        raise RulePlanError(rule.name, field, str(exc)) from None


def _among(columns: Iterable[str]) -> str:
    names = sorted(columns)
    return f" (columns: {', '.join(names)})" if names else " (the input has no columns)"


def _unique(rule: RuleDefinition, field: str, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise RulePlanError(rule.name, field, f"column {name!r} appears twice")
        seen.add(name)


def _expr_column(
    name: str,
    expr: Expr,
    columns: Mapping[str, PlannedColumn],
    types: Mapping[str, ValueType],
) -> PlannedColumn:
    if isinstance(expr, Column):  # a renamed column keeps its exact type and node kind
        source = columns[expr.name]
        return PlannedColumn(name, source.arrow_type, source.nullable, source.node_kind)
    kind = expression_type(expr, types)
    nullable = _nullable(expr, {c.name: c.nullable for c in columns.values()})
    return PlannedColumn(name, _ARROW_NAME.get(kind), nullable)


def _nullable(expr: Expr, nullable: Mapping[str, bool]) -> bool:
    if isinstance(expr, Column):
        return nullable[expr.name]
    if isinstance(expr, Literal):
        return expr.value is None
    assert isinstance(expr, Call)
    if expr.function in ("is_null", "is_valid"):
        return False
    flags = [_nullable(arg, nullable) for arg in expr.args]
    if expr.function in ("fill_null", "coalesce"):
        return all(flags)
    if expr.function == "if_else":
        return any(flags[1:])
    return any(flags)


def _source_columns(
    rule: RuleDefinition, inputs: Sequence[Sequence[PlannedColumn]]
) -> list[PlannedColumn]:
    payload = rule.payload
    fail = _failer(rule)
    arity = {RuleKind.FILTER_PROJECT: 1, RuleKind.HASH_JOIN: 2, RuleKind.INTERVAL_ALIGN: 2}
    if len(rule.inputs) != arity[rule.kind]:
        raise fail("inputs", f"a {rule.kind} rule reads {arity[rule.kind]} input(s)")
    wrong = {
        RuleKind.FILTER_PROJECT: ("hash_join", "interval_align"),
        RuleKind.HASH_JOIN: ("interval_align",),
        RuleKind.INTERVAL_ALIGN: ("hash_join",),
    }[rule.kind]
    for name in wrong:
        if getattr(payload, name) is not None:
            raise fail(f"payload.{name}", f"a {rule.kind} rule has no {name} payload")
    if rule.kind == RuleKind.FILTER_PROJECT:
        return list(inputs[0])
    if rule.kind == RuleKind.HASH_JOIN:
        return _join_columns(rule, inputs[0], inputs[1])
    return _align_columns(rule, inputs[0], inputs[1])


def _pick(
    rule: RuleDefinition, field: str, columns: Sequence[PlannedColumn], names: Sequence[str]
) -> list[PlannedColumn]:
    by_name = {c.name: c for c in columns}
    picked = []
    for name in names:
        if name not in by_name:
            raise RulePlanError(rule.name, field, f"unknown column {name!r}{_among(by_name)}")
        picked.append(by_name[name])
    return picked


def _join_columns(
    rule: RuleDefinition, left: Sequence[PlannedColumn], right: Sequence[PlannedColumn]
) -> list[PlannedColumn]:
    join = rule.payload.hash_join
    fail = _failer(rule)
    if join is None:
        raise fail("payload.hash_join", "a hash_join rule needs a hash_join payload")
    if join.join_type not in JOIN_TYPES:
        raise fail("payload.hash_join.join_type", f"{join.join_type!r} is not one of {JOIN_TYPES}")
    if not join.left_keys or len(join.left_keys) != len(join.right_keys):
        raise fail("payload.hash_join", "left_keys and right_keys must pair up, at least one")
    left_keys = _pick(rule, "payload.hash_join.left_keys", left, join.left_keys)
    right_keys = _pick(rule, "payload.hash_join.right_keys", right, join.right_keys)
    for lkey, rkey in zip(left_keys, right_keys, strict=True):
        if lkey.value_type != rkey.value_type:
            message = (
                f"{lkey.name} ({lkey.value_type}) cannot equal {rkey.name} ({rkey.value_type})"
            )
            raise fail("payload.hash_join.right_keys", message)
    out_left = _pick(rule, "payload.hash_join.left_output", left, join.left_output)
    out_right = _pick(rule, "payload.hash_join.right_output", right, join.right_output)
    if join.join_type in ("left semi", "left anti") and out_right:
        raise fail(
            "payload.hash_join.right_output", f"a {join.join_type} join outputs no right columns"
        )
    if join.join_type == "left outer":
        out_right = [PlannedColumn(c.name, c.arrow_type, True, c.node_kind) for c in out_right]
    columns = [*out_left, *out_right]
    _unique(rule, "payload.hash_join (output columns)", [c.name for c in columns])
    return columns


def _align_columns(
    rule: RuleDefinition, left: Sequence[PlannedColumn], right: Sequence[PlannedColumn]
) -> list[PlannedColumn]:
    align = rule.payload.interval_align
    fail = _failer(rule)
    if align is None:
        raise fail("payload.interval_align", "an interval_align rule needs its payload")
    if align.mode not in ALIGN_MODES:
        raise fail("payload.interval_align.mode", f"{align.mode!r} is not one of {ALIGN_MODES}")
    if align.how not in ALIGN_HOWS:
        raise fail("payload.interval_align.how", f"{align.how!r} is not one of {ALIGN_HOWS}")
    for side, columns, names in (
        ("left", left, (align.left_path_col, align.left_start_col, align.left_end_col)),
        ("right", right, (align.right_path_col, align.right_start_col, align.right_end_col)),
    ):
        path, start, end = _pick(rule, f"payload.interval_align.{side}_*_col", columns, names)
        if path.value_type != ValueType.STR or {start.value_type, end.value_type} != {
            ValueType.INT
        }:
            message = f"{side} path must be a string column and start/end integer columns"
            raise fail("payload.interval_align", message)
    out_left = _pick(rule, "payload.interval_align.select_left", left, align.select_left)
    out_right = _pick(rule, "payload.interval_align.select_right", right, align.select_right)
    if align.how == "left":
        out_right = [PlannedColumn(c.name, c.arrow_type, True, c.node_kind) for c in out_right]
    columns = [*out_left, *out_right]
    if align.emit_match_meta:
        nullable = align.how == "left"
        columns += [
            PlannedColumn(MATCH_KIND, "string", nullable),
            PlannedColumn(MATCH_SCORE, "float64", nullable),
        ]
    _unique(rule, "payload.interval_align (output columns)", [c.name for c in columns])
    return columns
