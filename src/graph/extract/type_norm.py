"""Normalized types (TYPE nodes) from the text of annotations and signatures.

``normalize(text)`` parses an annotation with ``ast`` and writes it back canonically, so
spellings of one type meet in one ``type_repr``:

- layout and quotes go (``Dict[str,int]`` and ``Dict[str, int]`` are one); a string annotation
  (a forward reference) is parsed and normalized like the expression it holds;
- ``Optional[X]``, ``Union[X, Y]`` and ``X | Y`` are one union, its members flattened,
  de-duplicated and sorted, ``None`` last (``Optional[int]`` == ``int | None`` ==
  ``Union[None, int]``); ``Optional`` and ``Union`` are recognized by name, bare or behind any
  module (``typing.Optional``, ``t.Optional``);
- names stay as written: imports are not followed (``t.Sequence`` is not ``typing.Sequence``).

``type_form`` says what the type is at the top: ``none``, ``name``, ``generic``, ``union``,
``optional`` (a union with ``None``), ``callable``, ``literal``, ``string`` (a string that does
not parse as an expression) or ``other``.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

_UNION_NAMES = frozenset({"Union", "Optional"})


class NormalType(NamedTuple):
    type_repr: str
    type_form: str


def normalize(text: str) -> NormalType | None:
    """The normalized type of annotation ``text``; None when it is no expression."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    try:
        return _normal(tree)
    except RecursionError:
        return None


def _normal(node: ast.expr) -> NormalType:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        inner = normalize(node.value)
        return inner if inner is not None else NormalType(repr(node.value), "string")
    members = _union_members(node)
    if members is not None:
        return _union(members)
    text = _text(node)
    if isinstance(node, ast.Constant) and node.value is None:
        return NormalType("None", "none")
    if isinstance(node, ast.Name | ast.Attribute):
        return NormalType(text, "name")
    if isinstance(node, ast.Subscript):
        base = _dotted(node.value) or ""
        last = base.rpartition(".")[2]
        form = {"Callable": "callable", "Literal": "literal"}.get(last, "generic")
        return NormalType(text, form)
    return NormalType(text, "other")


def _union(members: list[ast.expr]) -> NormalType:
    reprs = {_normal(member).type_repr for member in _flat(members)}
    has_none = "None" in reprs
    ordered = sorted(reprs - {"None"}) + (["None"] if has_none else [])
    if len(ordered) == 1:
        return _normal(ast.parse(ordered[0], mode="eval").body)
    return NormalType(" | ".join(ordered), "optional" if has_none else "union")


def _flat(members: list[ast.expr]) -> list[ast.expr]:
    """The members of nested unions, strings holding unions included, as one list."""
    flat: list[ast.expr] = []
    for member in members:
        if isinstance(member, ast.Constant) and isinstance(member.value, str):
            try:
                member = ast.parse(member.value.strip(), mode="eval").body
            except (SyntaxError, ValueError):
                flat.append(member)
                continue
        inner = _union_members(member)
        flat.extend(member for member in ([member] if inner is None else _flat(inner)))
    return flat


def _union_members(node: ast.expr) -> list[ast.expr] | None:
    """The members of a union spelled ``X | Y``, ``Union[...]`` or ``Optional[X]``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [node.left, node.right]
    if not isinstance(node, ast.Subscript):
        return None
    name = (_dotted(node.value) or "").rpartition(".")[2]
    if name not in _UNION_NAMES:
        return None
    args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if name == "Optional":
        return [*args, ast.Constant(None)]
    return list(args)


def _text(node: ast.expr) -> str:
    """Canonical text, with every nested annotation normalized (strings parsed, unions sorted)."""
    return ast.unparse(_Canonical().visit(node))


class _Canonical(ast.NodeTransformer):
    """Rewrites nested string annotations and unions into their normal form."""

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str):
            inner = normalize(node.value)
            if inner is not None:
                return ast.parse(inner.type_repr, mode="eval").body
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        last = (_dotted(node.value) or "").rpartition(".")[2]
        if last == "Literal":  # its strings are values, not annotations
            return node
        if last == "Annotated" and isinstance(node.slice, ast.Tuple) and node.slice.elts:
            first, *metadata = node.slice.elts
            node.slice.elts = [self.visit(first), *metadata]
            return node
        return self._union(node) or self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        return self._union(node) or self.generic_visit(node)

    def _union(self, node: ast.expr) -> ast.expr | None:
        members = _union_members(node)
        if members is None:
            return None
        return ast.parse(_union(members).type_repr, mode="eval").body


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None
