"""Type normalization against ``typing``'s own equality: two annotations normalize to one
``type_repr`` exactly when ``typing`` evaluates them to equal types (for the names here, which
need no import resolution), and normalizing is idempotent."""

from __future__ import annotations

import types
import typing

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from graph.extract.type_norm import NormalType, normalize

_NAMESPACE: dict[str, object] = {
    "Optional": typing.Optional,
    "Union": typing.Union,
    "List": typing.List,  # noqa: UP006 (the old spelling is what is tested)
    "Callable": typing.Callable,
    "Literal": typing.Literal,
}

_annotations = st.recursive(
    st.sampled_from(["int", "str", "bytes", "None", "float"]),
    lambda inner: st.one_of(
        inner.map(lambda a: f"Optional[{a}]"),
        st.tuples(inner, inner).map(lambda ab: f"Union[{ab[0]}, {ab[1]}]"),
        st.tuples(inner, inner).map(lambda ab: f"{ab[0]} | {ab[1]}"),
        inner.map(lambda a: f"list[{a}]"),
        inner.map(lambda a: f"List[{a}]"),
        st.tuples(inner, inner).map(lambda ab: f"dict[{ab[0]},{ab[1]}]"),
    ),
    max_leaves=6,
)


def _evaluated(text: str) -> object:
    """The type ``typing`` makes of ``text``, with ``None`` as ``NoneType`` everywhere (PEP 484:
    in an annotation they are one; at run time ``list[None]`` keeps the ``None``)."""
    try:
        value = eval(text, dict(_NAMESPACE))  # noqa: S307 (generated from the names above)
    except TypeError:  # e.g. None | None: no type at all
        assume(False)
    return _none_as_type(value)


def _none_as_type(value: object) -> object:
    if value is None:
        return type(None)
    args = typing.get_args(value)
    if not args:
        return value
    canon = tuple(_none_as_type(arg) for arg in args)
    if isinstance(value, types.GenericAlias):
        return types.GenericAlias(typing.get_origin(value), canon)
    if isinstance(value, types.UnionType):
        return typing.Union[canon]  # noqa: UP007 (rebuilt from its arguments)
    return value.copy_with(canon)  # type: ignore[attr-defined]


@given(_annotations, _annotations)
def test_equal_types_normalize_alike_and_unequal_ones_apart(a: str, b: str) -> None:
    same = _evaluated(a) == _evaluated(b)
    normal_a, normal_b = normalize(a), normalize(b)
    assert normal_a is not None and normal_b is not None
    assert (normal_a.type_repr == normal_b.type_repr) == same, (normal_a, normal_b)


@given(_annotations)
def test_normalizing_is_idempotent_and_keeps_the_type(text: str) -> None:
    normal = normalize(text)
    assert normal is not None
    assert normalize(normal.type_repr) == normal
    assert _evaluated(normal.type_repr) == _evaluated(text)


@given(_annotations)
def test_a_string_annotation_is_the_annotation_it_holds(text: str) -> None:
    assert normalize(repr(text)) == normalize(text)
    assert normalize(f"list[{text!r}]") == normalize(f"list[{text}]")


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("None", "none"),
        ("int", "name"),
        ("t.Sequence[str]", "generic"),
        ("Union[int, str]", "union"),
        ("t.Optional[int]", "optional"),
        ("Callable[[int], str]", "callable"),
        ("Literal['a', 'b']", "literal"),
        ("'not a type'", "string"),
        ("1 + 2", "other"),
    ],
)
def test_type_forms(text: str, form: str) -> None:
    normal = normalize(text)
    assert normal is not None and normal.type_form == form


def test_literal_strings_are_values_not_forward_references() -> None:
    assert normalize("Literal['int']") == NormalType("Literal['int']", "literal")
    assert normalize("Annotated['X', 'meta']") == NormalType("Annotated[X, 'meta']", "generic")


def test_text_that_is_no_expression_has_no_type() -> None:
    assert normalize("def") is None
    assert normalize("") is None
