"""Every relation the relspec rules read or produce: columns, types, producer.

Columns come from the rules' payloads and the reference catalog's entity families. Workers shape
the rows extractors append (``FileFacts.add_relation_row``) into Arrow tables with the schemas
derived from these declarations, and the rule engine checks each rule's inputs and outputs
against them; nothing else declares a relation's columns.

Relations whose layer does not exist yet (LibCST, SCIP, runtime inspection) are ``planned``:
a build does not have them, and the rules reading them are skipped.
"""

from __future__ import annotations

from cpg.derivation import DerivationStatus
from cpg.kinds import NodeKind, SourceKind
from relspec.rules.model import RelationColumn, RelationContract

_CST = "graph.extract.cst_extract:extract_cst_tables"
_SCIP = "graph.extract.scip_extract:extract_scip_tables"
_RUNTIME = "graph.extract.runtime_inspect:extract_runtime_tables"


def _id(name: str, kind: str, *, nullable: bool = False) -> RelationColumn:
    return RelationColumn(name, "string", nullable, node_kind=kind)


def _str(name: str, *, nullable: bool = False) -> RelationColumn:
    return RelationColumn(name, "string", nullable)


def _int(name: str, arrow_type: str = "int64", *, nullable: bool = False) -> RelationColumn:
    return RelationColumn(name, arrow_type, nullable)


def _bool(name: str, *, nullable: bool = False) -> RelationColumn:
    return RelationColumn(name, "bool", nullable)


_FILE = (_id("file_id", NodeKind.PY_FILE), _str("path"))
_SPAN = (_int("bstart"), _int("bend"))
_CALL_SPAN = (_int("call_bstart"), _int("call_bend"))
_SYMBOL = (_id("symbol", NodeKind.SCIP_SYMBOL), _int("symbol_roles", "int32"))


def _extracted(
    name: str,
    layer: str,
    extractor: str,
    columns: tuple[RelationColumn, ...],
    description: str,
    status: DerivationStatus = DerivationStatus.PLANNED,
) -> RelationContract:
    return RelationContract(name, 1, layer, extractor, status, columns, description)


def _cst(name: str, columns: tuple[RelationColumn, ...], description: str) -> RelationContract:
    """A relation the LibCST layer extracts (``cst_extract``), implemented."""
    return _extracted(
        name, SourceKind.LIBCST, _CST, columns, description, DerivationStatus.IMPLEMENTED
    )


def _derived(name: str, columns: tuple[RelationColumn, ...], description: str) -> RelationContract:
    return RelationContract(
        name, 1, SourceKind.DERIVED, None, DerivationStatus.IMPLEMENTED, columns, description
    )


RELATION_CONTRACTS: tuple[RelationContract, ...] = (
    _extracted(
        "diagnostics_norm",
        SourceKind.PIPELINE,
        "graph.extract.diagnostics:diagnostic",
        (
            _id("diag_id", NodeKind.DIAG),
            _id("file_id", NodeKind.PY_FILE, nullable=True),
            _id("repo_id", NodeKind.PY_REPO, nullable=True),
            _str("path"),
            *_SPAN,
            _str("severity"),
            _str("message"),
            _str("diag_source"),
            _str("code"),
        ),
        "One row per DIAG node: a file that failed (or warned) while being read, parsed or "
        "compiled (owned by its file), or a directory that could not be listed (owned by the "
        "repo node, ``repo_id``).",
        DerivationStatus.IMPLEMENTED,
    ),
    _cst(
        "cst_name_refs",
        (
            _id("name_ref_id", NodeKind.CST_NAME_REF),
            *_FILE,
            *_SPAN,
            _str("name"),
            _str("expr_ctx", nullable=True),
        ),
        "Name references (LibCST Name nodes in load/store/del context).",
    ),
    _cst(
        "cst_imports",
        (
            _id("import_alias_id", NodeKind.CST_IMPORT_ALIAS),
            _id("import_id", NodeKind.CST_IMPORT, nullable=True),
            *_FILE,
            *_SPAN,
            _int("alias_bstart", nullable=True),
            _int("alias_bend", nullable=True),
            _str("kind"),
            _str("module", nullable=True),
            _int("relative_level", "int32", nullable=True),  # None for a plain `import x`
            _str("name", nullable=True),
            _str("asname", nullable=True),
            _bool("is_star"),
        ),
        "One row per imported alias of an import statement (a star import is one row).",
    ),
    _cst(
        "cst_defs",
        (
            _id("def_id", NodeKind.CST_DEF),
            *_FILE,
            *_SPAN,
            _int("name_bstart"),
            _int("name_bend"),
            _str("def_kind"),
            _str("name"),
            _id("container_def_id", NodeKind.CST_DEF, nullable=True),
            _str("qname", nullable=True),
        ),
        "Function and class definitions, with the span of their name.",
    ),
    _cst(
        "cst_callsites",
        (
            _id("call_id", NodeKind.CST_CALLSITE),
            *_FILE,
            *_CALL_SPAN,
            _int("callee_bstart"),
            _int("callee_bend"),
            _int("callee_name_bstart", nullable=True),
            _int("callee_name_bend", nullable=True),
            _str("callee_shape"),
            _str("callee_text"),
            _str("callee_dotted", nullable=True),
            _int("arg_count", "int32"),
        ),
        "Call expressions, with the span of the callee and of the name it ends in (``m`` of "
        "``a.b.m``; null for other callee shapes).",
    ),
    _cst(
        "callsite_qname_candidates",
        (
            _id("call_id", NodeKind.CST_CALLSITE),
            *_FILE,
            *_CALL_SPAN,
            _str("qname"),
            _str("qname_source", nullable=True),
        ),
        "Qualified names a call's callee may refer to (LibCST QualifiedNameProvider), one row "
        "per candidate.",
    ),
    _cst(
        "dim_qualified_names",
        (
            _id("qname_id", NodeKind.PY_QUALIFIED_NAME),
            _str("qname"),
            _id("file_id", NodeKind.PY_FILE, nullable=True),
            _str("path", nullable=True),
            _int("bstart", nullable=True),
            _int("bend", nullable=True),
        ),
        "One row per definition site of a qualified name; qname_id is its PY_QUALIFIED_NAME.",
    ),
    _cst(
        "type_exprs_norm",
        (
            _id("type_expr_id", NodeKind.TYPE_EXPR),
            _id("owner_def_id", NodeKind.CST_DEF),
            *_FILE,
            *_SPAN,
            _str("expr_text"),
            _str("expr_kind"),
            _str("expr_role"),
            _str("param_name", nullable=True),
            _id("type_id", NodeKind.TYPE, nullable=True),
        ),
        "Annotation expressions of parameters and returns, with their owning definition.",
    ),
    _extracted(
        "scip_occurrences",
        SourceKind.SCIP,
        _SCIP,
        (_str("path"), *_SPAN, *_SYMBOL),
        "SCIP occurrences: a symbol (its SCIP_SYMBOL node id) at a byte span, with its role bits.",
        DerivationStatus.IMPLEMENTED,
    ),
    _extracted(
        "scip_symbol_relationships",
        SourceKind.SCIP,
        _SCIP,
        (
            _id("symbol", NodeKind.SCIP_SYMBOL),
            _id("related_symbol", NodeKind.SCIP_SYMBOL),
            _bool("is_reference", nullable=True),
            _bool("is_implementation", nullable=True),
            _bool("is_type_definition", nullable=True),
            _bool("is_definition", nullable=True),
        ),
        "SCIP symbol relationships, one row per (symbol, related symbol); both are SCIP_SYMBOL "
        "node ids.",
        DerivationStatus.IMPLEMENTED,
    ),
    _extracted(
        "scip_inferred_types",
        SourceKind.SCIP,
        _SCIP,
        (_id("symbol", NodeKind.SCIP_SYMBOL), _id("type_id", NodeKind.TYPE)),
        "Return types scip-python infers for functions without a return annotation (from the "
        "signature its symbol documentation shows), one row per function symbol.",
        DerivationStatus.IMPLEMENTED,
    ),
    _extracted(
        "rt_signatures",
        SourceKind.INSPECT,
        _RUNTIME,
        (
            _id("rt_id", NodeKind.RT_OBJECT),
            _id("sig_id", NodeKind.RT_SIGNATURE),
            _str("signature", nullable=True),
            _str("return_annotation", nullable=True),
        ),
        "Signatures of runtime objects (inspect.signature).",
        DerivationStatus.IMPLEMENTED,
    ),
    _extracted(
        "rt_signature_params",
        SourceKind.INSPECT,
        _RUNTIME,
        (
            _id("sig_id", NodeKind.RT_SIGNATURE),
            _id("param_id", NodeKind.RT_SIGNATURE_PARAM),
            _str("name"),
            _str("kind", nullable=True),
            _str("default_repr", nullable=True),
            _str("annotation_repr", nullable=True),
            _int("position", "int32", nullable=True),
        ),
        "Parameters of runtime signatures.",
        DerivationStatus.IMPLEMENTED,
    ),
    _extracted(
        "rt_members",
        SourceKind.INSPECT,
        _RUNTIME,
        (
            _id("rt_id", NodeKind.RT_OBJECT),
            _id("member_id", NodeKind.RT_MEMBER),
            _str("name"),
            _str("member_kind", nullable=True),
            _str("value_repr", nullable=True),
            _str("value_module", nullable=True),
            _str("value_qualname", nullable=True),
        ),
        "Members of runtime objects (inspect.getmembers_static).",
        DerivationStatus.IMPLEMENTED,
    ),
    _derived(
        "rel_name_symbol",
        (
            _id("name_ref_id", NodeKind.CST_NAME_REF),
            _str("path"),
            *_SPAN,
            _str("expr_ctx", nullable=True),
            *_SYMBOL,
        ),
        "Name references aligned with the SCIP occurrence inside their span.",
    ),
    _derived(
        "rel_import_symbol",
        (
            _id("import_alias_id", NodeKind.CST_IMPORT_ALIAS),
            _id("import_id", NodeKind.CST_IMPORT, nullable=True),
            _str("path"),
            *_SPAN,
            _int("alias_bstart", nullable=True),
            _int("alias_bend", nullable=True),
            *_SYMBOL,
        ),
        "Imported aliases aligned with the SCIP occurrence inside their span.",
    ),
    _derived(
        "rel_def_symbol",
        (_id("def_id", NodeKind.CST_DEF), _str("path"), *_SPAN, *_SYMBOL),
        "Definitions aligned with the SCIP occurrence inside their span.",
    ),
    _derived(
        "rel_callsite_symbol",
        (_id("call_id", NodeKind.CST_CALLSITE), _str("path"), *_CALL_SPAN, *_SYMBOL),
        "Call sites aligned with the SCIP occurrence of the name their callee ends in.",
    ),
    _derived(
        "rel_callsite_qname",
        (
            _id("call_id", NodeKind.CST_CALLSITE),
            _str("path"),
            *_CALL_SPAN,
            _str("qname_source", nullable=True),
            _id("qname_id", NodeKind.PY_QUALIFIED_NAME),
        ),
        "Call sites with the qualified names their callee may refer to, one row per candidate.",
    ),
)
