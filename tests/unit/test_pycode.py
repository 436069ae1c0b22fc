"""Properties of the generator's literal and identifier rules: registry text can never become code."""

from __future__ import annotations

import ast
import keyword

import black
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.pycode import Call, Dict, Ref, call_lines, identifier, literal, render
from storage.spec_codec import RegistryDecodeError

TEXT = st.text(st.characters(exclude_categories=("Cs",)))


@settings(max_examples=500, deadline=None)
@given(TEXT)
def test_literal_round_trips_every_string(value: str) -> None:
    text = literal(value)
    assert ast.literal_eval(text) == value
    tree = ast.parse(f"x = {text}")
    assert isinstance(tree.body[0], ast.Assign)
    assert isinstance(tree.body[0].value, ast.Constant)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_literal_is_quoted_like_black(value: str) -> None:
    statement = f"x = {literal(value)}\n"
    assert black.format_str(statement, mode=black.Mode(line_length=10_000)) == statement


# Layout is an optimisation (a render that black would change is simply formatted by black),
# so this property uses printable Latin text, whose width black and render count alike.
LATIN = st.text(st.characters(min_codepoint=32, max_codepoint=0x24F, exclude_categories=("Cs",)))


@settings(max_examples=200, deadline=None)
@given(st.lists(LATIN, max_size=6), LATIN.filter(bool))
def test_rendered_calls_are_black_stable(values: list[str], key: str) -> None:
    expr = Call(
        "Thing",
        (tuple(values),),
        (("mapping", Dict(((key, tuple(values)),))), ("ref", Ref("Kind.A"))),
    )
    module = render(expr, head="X = ") + "\n"
    assert black.format_str(module, mode=black.Mode(line_length=100)) == module
    assert ast.literal_eval(ast.unparse(ast.parse(module).body[0].value.args[0])) == tuple(values)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "value", ["a b", "1x", "class", "match", "_x", "__init__", "ü", "x\ny", "a-b", "x'); import os"]
)
def test_unusable_identifiers_name_the_cell(value: str) -> None:
    with pytest.raises(RegistryDecodeError) as caught:
        identifier(value, table="cpg_node_contracts", row=3, column="kind")
    assert "table 'cpg_node_contracts', row 3, column 'kind'" in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_accepted_identifiers_are_plain_names(value: str) -> None:
    try:
        name = identifier(value, table="t", row=0, column="c", enum_member=True)
    except RegistryDecodeError:
        return
    assert name.isidentifier() and name.isascii() and not keyword.iskeyword(name)
    assert not name.startswith("_")
    assert isinstance(ast.parse(name, mode="eval").body, ast.Name)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=2),
    st.text(alphabet="abc_", min_size=1, max_size=70),
    st.lists(st.text(alphabet="xyz_", min_size=1, max_size=60), min_size=1, max_size=4),
)
def test_call_lines_lays_out_a_call_as_black_does(level: int, head: str, args: list[str]) -> None:
    names = [f"a{arg}" for arg in args]
    code = call_lines(level, f"v{head} = f", names)
    body = "\n".join(f"{'    ' * depth}if x:" for depth in range(level))
    module = f"{body}\n{code}\n" if level else f"{code}\n"
    assert black.format_str(module, mode=black.Mode(line_length=100)) == module
