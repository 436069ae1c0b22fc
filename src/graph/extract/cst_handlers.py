"""What each LibCST node type adds beyond its node: props, extra nodes, qualified names, name sites
for the binding layer, and the relation rows the relspec rules read.

Kinds: one node per LibCST node, of its most specific kind (``Call`` -> CST_CALLSITE, ``Name`` ->
CST_NAME_REF, literals -> CST_LITERAL, a suite's leading string -> CST_DOCSTRING, else CST_NODE).
``True``/``False``/``None`` are literals, not names; dotted names in imports are CST_NODEs, not
attribute accesses. A def is also a CST_DEF with the same span: the syntax node (CST_FUNCTION_DEF,
CST_CLASS_DEF, CST_LAMBDA) sits in the CST_PARENT_OF tree, the CST_DEF is the definition entity the
relations and rules point at. Extra nodes outside the tree: TYPE_EXPR over each annotation's
expression, TYPE_ALIAS and TYPE_PARAM (PEP 695; LibCST parses that syntax on every interpreter).

Qualified-name candidates (``cst_qnames``): NAME_REF_ and ATTR_CANDIDATE_QNAME for module-level,
class-level, imported and builtin names (names local to a function are the binding layer's);
CALLSITE_CANDIDATE_QNAME for every callee LibCST resolves, plus ``self.m()``/``cls.m()`` in a
method resolved to the enclosing class's ``m`` (``qname_source`` ``syntactic``: LibCST gives such
a callee a ``C.f.<locals>.self.m`` name no definition has).

Relation columns (``facts.relations``), beyond the obvious:

- ``cst_imports``: ``bstart``/``bend`` span the alias, ``alias_bstart``/``alias_bend`` the name it
  binds (``c`` in ``import a.b as c``, ``a`` in ``import a.b``); ``name`` is the imported dotted
  name, ``kind`` ``import`` or ``from``.
- ``cst_callsites``: ``callee_name_bstart``/``callee_name_bend`` span the name the callee ends
  in (``m`` of ``a.b.m``; null for ``f()()`` or ``x[0]()``): the call's target is that name's.
- ``cst_defs``: ``name_bstart``/``name_bend`` span the def's name (the ``lambda`` keyword of a
  lambda), ``qname`` its fully qualified name.
- ``type_exprs_norm``: parameter and return annotations; ``owner_def_id`` is the CST_PARAM or the
  function's CST_DEF; ``type_id`` the TYPE its text normalizes to (``type_norm``; one TYPE node
  per file and type, ``origin`` ``annotation``), null when it does not parse. A variable
  annotation is a TYPE_EXPR without a row: HAS_ANNOTATION allows no owner for it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import ClassScope, GlobalScope

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.cst_qnames import FULLY_QUALIFIED, SYNTACTIC, is_local
from graph.extract.cst_walk import Ctx, Emitted, Handler, Span, Walk
from graph.extract.ids import edge_id, stable_id
from graph.extract.rows import NODE, NodeRow, PropValue
from graph.extract.type_norm import normalize

CST_NODE = NodeKind.CST_NODE.value
CST_DEF = NodeKind.CST_DEF.value
CST_NAME_REF = NodeKind.CST_NAME_REF.value
CST_ATTRIBUTE_ACCESS = NodeKind.CST_ATTRIBUTE_ACCESS.value
CST_LITERAL = NodeKind.CST_LITERAL.value
CST_DOCSTRING = NodeKind.CST_DOCSTRING.value
TYPE_EXPR = NodeKind.TYPE_EXPR.value
TYPE = NodeKind.TYPE.value
ANNOTATION = "annotation"
TYPE_ALIAS = NodeKind.TYPE_ALIAS.value
TYPE_PARAM = NodeKind.TYPE_PARAM.value
TYPE_PARAM_OF = EdgeKind.TYPE_PARAM_OF.value
NAME_REF_CANDIDATE_QNAME = EdgeKind.NAME_REF_CANDIDATE_QNAME.value
ATTR_CANDIDATE_QNAME = EdgeKind.ATTR_CANDIDATE_QNAME.value
CALLSITE_CANDIDATE_QNAME = EdgeKind.CALLSITE_CANDIDATE_QNAME.value

_KIND_OF_TYPE: dict[type[cst.CSTNode], str] = {
    cst.FunctionDef: NodeKind.CST_FUNCTION_DEF.value,
    cst.ClassDef: NodeKind.CST_CLASS_DEF.value,
    cst.Lambda: NodeKind.CST_LAMBDA.value,
    cst.Param: NodeKind.CST_PARAM.value,
    cst.Decorator: NodeKind.CST_DECORATOR.value,
    cst.Import: NodeKind.CST_IMPORT.value,
    cst.ImportFrom: NodeKind.CST_IMPORT_FROM.value,
    cst.ImportAlias: NodeKind.CST_IMPORT_ALIAS.value,
    cst.ImportStar: NodeKind.CST_IMPORT_ALIAS.value,
    cst.Name: CST_NAME_REF,
    cst.Attribute: CST_ATTRIBUTE_ACCESS,
    cst.Subscript: NodeKind.CST_SUBSCRIPT.value,
    cst.Call: NodeKind.CST_CALLSITE.value,
    cst.Arg: NodeKind.CST_ARG.value,
    cst.SimpleString: CST_LITERAL,
    cst.ConcatenatedString: CST_LITERAL,
    cst.FormattedString: CST_LITERAL,
    cst.TemplatedString: CST_LITERAL,
    cst.Integer: CST_LITERAL,
    cst.Float: CST_LITERAL,
    cst.Imaginary: CST_LITERAL,
    cst.Ellipsis: CST_LITERAL,
    cst.Comment: NodeKind.CST_COMMENT.value,
}
_NAME_LITERALS = {"True": "bool", "False": "bool", "None": "none"}
_LITERAL_KIND: dict[type[cst.CSTNode], str] = {
    cst.FormattedString: "fstring",
    cst.TemplatedString: "other",
    cst.Integer: "int",
    cst.Float: "float",
    cst.Imaginary: "complex",
    cst.Ellipsis: "ellipsis",
}

# Roles a parent's field gives a child: the name site it makes, or how it is used.
SKIP = "skip"
CALLEE = "callee"
ROLES: dict[tuple[type[cst.CSTNode], str], str] = {
    (cst.FunctionDef, "name"): "function",
    (cst.ClassDef, "name"): "class",
    (cst.Param, "name"): "param",
    (cst.MatchAs, "name"): "assign",
    (cst.MatchStar, "name"): "assign",
    (cst.MatchMapping, "rest"): "assign",
    (cst.TypeAlias, "name"): "assign",
    (cst.TypeVar, "name"): "other",
    (cst.TypeVarTuple, "name"): "other",
    (cst.ParamSpec, "name"): "other",
    (cst.Attribute, "attr"): SKIP,
    (cst.Arg, "keyword"): SKIP,
    (cst.NameItem, "name"): SKIP,
    (cst.MatchKeywordElement, "key"): SKIP,
    (cst.Call, "func"): CALLEE,
    (cst.Parameters, "params"): "positional",
    (cst.Parameters, "posonly_params"): "positional",
    (cst.Parameters, "kwonly_params"): "kwonly",
    (cst.Parameters, "star_arg"): "vararg",
    (cst.Parameters, "star_kwarg"): "varkw",
}
_DEF_ROLES = frozenset({"function", "class", "param", "assign", "other"})


def node_kind(walk: Walk, node: cst.CSTNode, ctx: Ctx) -> str:
    """The CPG kind of ``node``."""
    kind = _KIND_OF_TYPE.get(type(node), CST_NODE)
    if kind == CST_NAME_REF:
        assert isinstance(node, cst.Name)
        return CST_LITERAL if node.value in _NAME_LITERALS else kind
    if kind == CST_ATTRIBUTE_ACCESS and ctx.in_import:
        return CST_NODE
    if kind == CST_LITERAL and id(node) in walk.docstrings:
        return CST_DOCSTRING
    return kind


def _props(walk: Walk, node_id: str, props: Mapping[str, PropValue]) -> None:
    walk.facts.add_props(NODE, node_id, props)


def _row(walk: Walk, relation: str, **columns: object) -> None:
    walk.facts.add_relation_row(relation, {"file_id": walk.file_id, "path": walk.path, **columns})


def _non_local(names: list[str]) -> list[tuple[str, str]]:
    return [(q, FULLY_QUALIFIED) for q in names if not is_local(q)]


# ---------------------------------------------------------------------- names and attributes


def _name(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.Name)
    value = node.value
    if e.kind == CST_LITERAL:
        _props(walk, e.node_id, {"literal_kind": _NAME_LITERALS[value], "literal_text": value})
        return
    expr_ctx = walk.context(node)
    _props(walk, e.node_id, {"name": value, "expr_context": expr_ctx})
    _row(
        walk,
        "cst_name_refs",
        name_ref_id=e.node_id,
        bstart=e.span[0],
        bend=e.span[1],
        name=value,
        expr_ctx=expr_ctx,
    )
    if ctx.in_import or e.role == SKIP:
        return
    scope = walk.scope(node)
    if scope is None:
        return
    qnames = _non_local(walk.qnames.of(scope, node))
    if qnames:
        walk.qnames.candidates(walk.facts, NAME_REF_CANDIDATE_QNAME, e.node_id, e.span, qnames)
    role = e.role
    if role in _DEF_ROLES or expr_ctx == "STORE":
        kind = role if role in _DEF_ROLES else "assign"
        annotation_only = id(node) in walk.annotation_only
        if annotation_only:
            kind = "other"
        walk.add_site(value, e.span, "def", kind, scope, annotation_only=annotation_only)
        if kind not in ("function", "class", "param"):
            _define_binding(walk, ctx, scope, value, e.span)
    elif expr_ctx == "DEL":
        walk.add_site(value, e.span, "use", "del", scope)
    elif expr_ctx == "LOAD":
        walk.add_site(value, e.span, "use", "call" if role == CALLEE else "read", scope)


def _define_binding(walk: Walk, ctx: Ctx, scope: object, name: str, span: Span) -> None:
    """A ``dim_qualified_names`` row for a module- or class-level binding."""
    if isinstance(scope, GlobalScope):
        walk.qnames.define(walk.facts, walk.qnames.defined_name(None, name), span)
    elif isinstance(scope, ClassScope) and ctx.in_class_body and ctx.class_qname:
        walk.qnames.define(walk.facts, walk.qnames.defined_name(ctx.class_qname, name), span)


def _attribute(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.Attribute)
    if e.kind != CST_ATTRIBUTE_ACCESS:
        return
    _props(walk, e.node_id, {"attr": node.attr.value, "base_shape": _shape(node.value, True)})
    scope = walk.scope(node)
    if scope is not None:
        qnames = _non_local(walk.qnames.of(scope, node))
        if qnames:
            walk.qnames.candidates(walk.facts, ATTR_CANDIDATE_QNAME, e.node_id, e.span, qnames)


def _shape(node: cst.CSTNode, with_call: bool = False) -> str:
    if isinstance(node, cst.Name):
        return "NAME"
    if isinstance(node, cst.Attribute):
        return "ATTRIBUTE"
    if isinstance(node, cst.Subscript):
        return "SUBSCRIPT"
    if with_call and isinstance(node, cst.Call):
        return "CALL"
    return "OTHER"


def _dotted(node: cst.CSTNode) -> str | None:
    """``a.b.c`` for a chain of attributes over a name, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


# ---------------------------------------------------------------------- calls


def _call(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.Call)
    func = node.func
    shape = _shape(func)
    callee_span = walk.file_span(func)
    callee_name = _callee_name(func)
    name_span = None if callee_name is None else walk.file_span(callee_name)
    callee_text = walk.text(func)
    dotted = _dotted(func)
    candidates: list[tuple[str, str]] = []
    scope = walk.scope(node)
    if scope is not None and shape in ("NAME", "ATTRIBUTE"):
        candidates = [(q, FULLY_QUALIFIED) for q in walk.qnames.of(scope, func)]
    member = _self_member(func, ctx)
    if member is not None and all(q != member for q, _ in candidates):
        candidates.append((member, SYNTACTIC))
    _props(
        walk,
        e.node_id,
        {
            "callee_shape": shape,
            "arg_count": len(node.args),
            "callee_dotted": dotted,
            "callee_text": callee_text,
        },
    )
    if candidates:
        walk.facts.add_props(
            NODE, e.node_id, None, {"callee_qnames": sorted(q for q, _ in candidates)}
        )
        walk.qnames.candidates(walk.facts, CALLSITE_CANDIDATE_QNAME, e.node_id, e.span, candidates)
    _row(
        walk,
        "cst_callsites",
        call_id=e.node_id,
        call_bstart=e.span[0],
        call_bend=e.span[1],
        callee_bstart=callee_span[0],
        callee_bend=callee_span[1],
        callee_name_bstart=None if name_span is None else name_span[0],
        callee_name_bend=None if name_span is None else name_span[1],
        callee_shape=shape,
        callee_text=callee_text,
        callee_dotted=dotted,
        arg_count=len(node.args),
    )
    for qname, source in candidates:
        _row(
            walk,
            "callsite_qname_candidates",
            call_id=e.node_id,
            call_bstart=e.span[0],
            call_bend=e.span[1],
            qname=qname,
            qname_source=source,
        )


def _callee_name(func: cst.CSTNode) -> cst.Name | None:
    """The name a callee ends in: ``f`` of ``f``, ``m`` of ``a.b.m``; None for other shapes."""
    if isinstance(func, cst.Name):
        return func
    if isinstance(func, cst.Attribute):
        return func.attr
    return None


def _self_member(func: cst.CSTNode, ctx: Ctx) -> str | None:
    """``C.m`` for ``self.m`` in a method of class ``C`` (``self`` its first parameter)."""
    if ctx.self_name is None or ctx.class_qname is None or not isinstance(func, cst.Attribute):
        return None
    base = func.value
    if isinstance(base, cst.Name) and base.value == ctx.self_name:
        return f"{ctx.class_qname}.{func.attr.value}"
    return None


def _arg(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.Arg)
    _props(walk, e.node_id, {"is_star": node.star == "*", "is_kw_star": node.star == "**"})


def _subscript(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.Subscript)
    if node.slice:
        start = walk.utf8_span(node.slice[0])[0]
        end = walk.utf8_span(node.slice[-1])[1]
        _props(walk, e.node_id, {"subscript_text": walk.raw[start:end].decode("utf-8")})


# ---------------------------------------------------------------------- definitions


def _definition(
    walk: Walk,
    node: cst.FunctionDef | cst.ClassDef | cst.Lambda,
    e: Emitted,
    ctx: Ctx,
    *,
    def_kind: str,
    name: str,
    name_span: Span,
) -> tuple[str, str | None]:
    """The CST_DEF of a def (its id and qualified name) and its ``cst_defs`` row."""
    def_id = walk.node_id(CST_DEF, f"{CST_DEF}:{def_kind}", e.span)
    qname: str | None = None
    scope = walk.scope(node)
    if scope is not None and not isinstance(node, cst.Lambda):
        found = walk.qnames.of(scope, node)
        qname = found[0] if found else None
    decorators = () if isinstance(node, cst.Lambda) else node.decorators
    props: dict[str, PropValue] = {
        "name": name,
        "def_kind": def_kind,
        "decorator_count": len(decorators),
        "container_def_id": ctx.def_id,
    }
    if isinstance(node, cst.FunctionDef):
        props["is_async"] = node.asynchronous is not None
    walk.facts.add_node(
        NodeRow(def_id, CST_DEF, walk.path, walk.file_id, e.span[0], e.span[1]),
        props,
        {"qnames": [qname]} if qname else None,
    )
    _row(
        walk,
        "cst_defs",
        def_id=def_id,
        bstart=e.span[0],
        bend=e.span[1],
        name_bstart=name_span[0],
        name_bend=name_span[1],
        def_kind=def_kind,
        name=name,
        container_def_id=ctx.def_id,
        qname=qname,
    )
    if qname is not None:
        walk.qnames.define(walk.facts, qname, name_span)
    return def_id, qname


def _function_def(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> Ctx:
    assert isinstance(node, cst.FunctionDef)
    name = node.name.value
    returns = walk.text(node.returns.annotation) if node.returns is not None else None
    _props(
        walk,
        e.node_id,
        {"name": name, "is_async": node.asynchronous is not None, "returns_annotation": returns},
    )
    name_span = walk.file_span(node.name)
    def_id, _ = _definition(walk, node, e, ctx, def_kind="function", name=name, name_span=name_span)
    if node.returns is not None:
        _type_expr(walk, node.returns.annotation, "return", owner=def_id)
    _mark_docstring(walk, node)
    self_name = ctx.self_name
    if ctx.in_class_body:
        self_name = None if _is_static(node) else _first_param(node.params)
    return ctx._replace(def_id=def_id, in_class_body=False, self_name=self_name, type_owner=def_id)


def _is_static(node: cst.FunctionDef) -> bool:
    return any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
        for d in node.decorators
    )


def _first_param(params: cst.Parameters) -> str | None:
    positional = (*params.posonly_params, *params.params)
    return positional[0].name.value if positional else None


def _class_def(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> Ctx:
    assert isinstance(node, cst.ClassDef)
    name = node.name.value
    _props(walk, e.node_id, {"name": name})
    walk.facts.add_props(
        NODE, e.node_id, None, {"base_exprs_json": [walk.text(arg.value) for arg in node.bases]}
    )
    name_span = walk.file_span(node.name)
    def_id, qname = _definition(
        walk, node, e, ctx, def_kind="class", name=name, name_span=name_span
    )
    _mark_docstring(walk, node)
    return ctx._replace(
        def_id=def_id, class_qname=qname, in_class_body=True, self_name=None, type_owner=def_id
    )


def _lambda(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> Ctx:
    assert isinstance(node, cst.Lambda)
    params = node.params
    count = len(params.posonly_params) + len(params.params) + len(params.kwonly_params)
    count += isinstance(params.star_arg, cst.Param) + (params.star_kwarg is not None)
    _props(walk, e.node_id, {"param_count": count})
    keyword = (e.span[0], e.span[0] + len("lambda"))
    def_id, _ = _definition(
        walk, node, e, ctx, def_kind="lambda", name="<lambda>", name_span=keyword
    )
    return ctx._replace(def_id=def_id, in_class_body=False)


def _param(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.Param)
    name = node.name.value
    _props(
        walk,
        e.node_id,
        {"name": name, "kind": e.role, "has_default": node.default is not None},
    )
    if node.annotation is not None:
        _type_expr(walk, node.annotation.annotation, "param", owner=e.node_id, param_name=name)


def _decorator(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.Decorator)
    _props(walk, e.node_id, {"decorator_text": walk.text(node.decorator)})


def _mark_docstring(walk: Walk, owner: cst.Module | cst.FunctionDef | cst.ClassDef) -> None:
    found = docstring_node(owner)
    if found is not None:
        walk.docstrings[id(found)] = isinstance(owner, cst.Module)


def docstring_node(owner: cst.Module | cst.FunctionDef | cst.ClassDef) -> cst.BaseString | None:
    """The string that is ``owner``'s docstring, where ``ast.get_docstring`` looks for it."""
    body = owner.body if isinstance(owner, cst.Module) else owner.body.body
    if not body:
        return None
    first: cst.CSTNode = body[0]
    if isinstance(first, cst.SimpleStatementLine):
        first = first.body[0]
    if not isinstance(first, cst.Expr):
        return None
    value = first.value
    if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)) and isinstance(
        value.evaluated_value, str
    ):
        return value
    return None


# ---------------------------------------------------------------------- annotations and types


def _type_expr(
    walk: Walk,
    expr: cst.BaseExpression,
    role: str,
    *,
    owner: str | None,
    param_name: str | None = None,
) -> None:
    span = walk.file_span(expr)
    text = walk.text(expr)
    type_expr_id = walk.node_id(TYPE_EXPR, TYPE_EXPR, span)
    walk.facts.add_node(
        NodeRow(type_expr_id, TYPE_EXPR, walk.path, walk.file_id, span[0], span[1]),
        {"expr_text": text, "expr_kind": "annotation", "expr_role": role, "param_name": param_name},
    )
    if owner is not None:
        _row(
            walk,
            "type_exprs_norm",
            type_expr_id=type_expr_id,
            owner_def_id=owner,
            bstart=span[0],
            bend=span[1],
            expr_text=text,
            expr_kind="annotation",
            expr_role=role,
            param_name=param_name,
            type_id=_annotated_type(walk, text),
        )


def _annotated_type(walk: Walk, text: str) -> str | None:
    """The id of the TYPE an annotation's text normalizes to (one node per file and type)."""
    normal = normalize(text)
    if normal is None:
        return None
    type_id = stable_id(TYPE, walk.file_id, ANNOTATION, normal.type_repr)
    if type_id not in walk.types:
        walk.types.add(type_id)
        walk.facts.add_node(
            NodeRow(type_id, TYPE, walk.path, walk.file_id),
            {"type_repr": normal.type_repr, "type_form": normal.type_form, "origin": ANNOTATION},
        )
    return type_id


def _ann_assign(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.AnnAssign)
    _type_expr(walk, node.annotation.annotation, "variable", owner=None)
    if node.value is None:
        walk.annotation_only.add(id(node.target))


def _type_alias(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> Ctx:
    assert isinstance(node, cst.TypeAlias)
    alias_id = walk.node_id(TYPE_ALIAS, TYPE_ALIAS, e.span)
    walk.facts.add_node(
        NodeRow(alias_id, TYPE_ALIAS, walk.path, walk.file_id, e.span[0], e.span[1]),
        {"name": node.name.value, "target_type_repr": walk.text(node.value)},
    )
    return ctx._replace(type_owner=alias_id)


def _type_param(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.TypeParam)
    param_id = walk.node_id(TYPE_PARAM, TYPE_PARAM, e.span)
    walk.facts.add_node(
        NodeRow(param_id, TYPE_PARAM, walk.path, walk.file_id, e.span[0], e.span[1]),
        {"name": node.param.name.value},
    )
    if ctx.type_owner is not None:
        eid = edge_id(TYPE_PARAM_OF, param_id, ctx.type_owner)
        walk.facts.add_edge(walk.edge(eid, TYPE_PARAM_OF, param_id, ctx.type_owner, None))


# ---------------------------------------------------------------------- imports


def _import(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> Ctx:
    assert isinstance(node, cst.Import)
    _props(walk, e.node_id, {"import_text": walk.text(node)})
    return ctx._replace(in_import=True, import_of=(e.node_id, "import", None, None))


def _import_from(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> Ctx:
    assert isinstance(node, cst.ImportFrom)
    module = get_full_name_for_node(node.module) if node.module is not None else None
    level = len(node.relative)
    _props(walk, e.node_id, {"module": module, "relative_level": level})
    return ctx._replace(in_import=True, import_of=(e.node_id, "from", module, level))


def _import_alias(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert ctx.import_of is not None
    import_id, import_kind, module, level = ctx.import_of
    asname: str | None = None
    if isinstance(node, cst.ImportStar):
        imported, bound, bound_span = "*", None, e.span
    else:
        assert isinstance(node, cst.ImportAlias)
        imported = get_full_name_for_node(node.name) or ""
        bound_node: cst.CSTNode = node.name
        if node.asname is not None:
            bound_node = node.asname.name
            asname = get_full_name_for_node(bound_node)
            bound = asname
        elif import_kind == "import":
            while isinstance(bound_node, cst.Attribute):
                bound_node = bound_node.value
            bound = imported.partition(".")[0]
        else:
            bound = imported
        bound_span = walk.file_span(bound_node)
    is_star = bound is None
    _props(
        walk,
        e.node_id,
        {
            "imported_name": imported,
            "asname": asname,
            "is_star": is_star,
            "import_kind": import_kind,
            "module": module,
            "relative_level": level,
            "name": bound,
        },
    )
    _row(
        walk,
        "cst_imports",
        import_alias_id=e.node_id,
        import_id=import_id,
        bstart=e.span[0],
        bend=e.span[1],
        alias_bstart=bound_span[0],
        alias_bend=bound_span[1],
        kind=import_kind,
        module=module,
        relative_level=level,
        name=imported,
        asname=asname,
        is_star=is_star,
    )
    scope = walk.scope(node)
    if bound is not None and scope is not None:
        walk.add_site(bound, bound_span, "def", "import", scope)
        _define_binding(walk, ctx, scope, bound, bound_span)


# ---------------------------------------------------------------------- literals and trivia


def _string(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, (cst.SimpleString, cst.ConcatenatedString))
    if e.kind == CST_DOCSTRING:
        value = node.evaluated_value
        assert isinstance(value, str)
        _props(
            walk,
            e.node_id,
            {
                "docstring": inspect.cleandoc(value),
                "is_module_docstring": walk.docstrings[id(node)],
            },
        )
        return
    _props(walk, e.node_id, {"literal_kind": _string_kind(node), "literal_text": walk.text(node)})


def _string_kind(node: cst.CSTNode) -> str:
    """``fstring`` if any part is one, else ``bytes`` or ``string`` (parts agree, or LibCST
    would have refused the file). A concatenation is a chain of pairs: walk it, not recurse."""
    parts: list[cst.CSTNode] = []
    while isinstance(node, cst.ConcatenatedString):
        parts.append(node.left)
        node = node.right
    parts.append(node)
    kinds = {_part_kind(part) for part in parts}
    return "fstring" if "fstring" in kinds else kinds.pop()


def _part_kind(node: cst.CSTNode) -> str:
    if isinstance(node, cst.SimpleString):
        return "bytes" if "b" in node.prefix.lower() else "string"
    return _LITERAL_KIND.get(type(node), "other")


def _literal(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    _props(
        walk,
        e.node_id,
        {"literal_kind": _LITERAL_KIND[type(node)], "literal_text": walk.text(node)},
    )


def _comment(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.Comment)
    _props(walk, e.node_id, {"text": node.value})


def _module(walk: Walk, node: cst.CSTNode, e: Emitted, ctx: Ctx) -> None:
    assert isinstance(node, cst.Module)
    _mark_docstring(walk, node)


HANDLERS: dict[type[cst.CSTNode], Handler] = {
    cst.Module: _module,
    cst.Name: _name,
    cst.Attribute: _attribute,
    cst.Call: _call,
    cst.Arg: _arg,
    cst.Subscript: _subscript,
    cst.FunctionDef: _function_def,
    cst.ClassDef: _class_def,
    cst.Lambda: _lambda,
    cst.Param: _param,
    cst.Decorator: _decorator,
    cst.AnnAssign: _ann_assign,
    cst.TypeAlias: _type_alias,
    cst.TypeParam: _type_param,
    cst.Import: _import,
    cst.ImportFrom: _import_from,
    cst.ImportAlias: _import_alias,
    cst.ImportStar: _import_alias,
    cst.SimpleString: _string,
    cst.ConcatenatedString: _string,
    cst.FormattedString: _literal,
    cst.TemplatedString: _literal,
    cst.Integer: _literal,
    cst.Float: _literal,
    cst.Imaginary: _literal,
    cst.Ellipsis: _literal,
    cst.Comment: _comment,
}
