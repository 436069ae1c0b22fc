"""The LibCST layer: call sites against ``ast.Call`` on real files, the relations the rules read,
kind-specific props, PEP 695 syntax on any interpreter, and files LibCST cannot handle."""

from __future__ import annotations

import ast
import os
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from graph.extract.file_facts import extract_file
from graph.extract.module_names import ModuleNames
from graph.extract.rows import FileFacts
from graph.extract.source import LineIndex, decode_source

STDLIB = Path(os.__file__).parent

RELATION_COLUMNS = {
    "cst_name_refs": {"name_ref_id", "file_id", "path", "bstart", "bend", "name", "expr_ctx"},
    "cst_imports": {
        *("import_alias_id", "import_id", "file_id", "path", "bstart", "bend", "alias_bstart"),
        *("alias_bend", "kind", "module", "relative_level", "name", "asname", "is_star"),
    },
    "cst_defs": {
        *("def_id", "file_id", "path", "bstart", "bend", "name_bstart", "name_bend", "def_kind"),
        *("name", "container_def_id", "qname"),
    },
    "cst_callsites": {
        *("call_id", "file_id", "path", "call_bstart", "call_bend", "callee_bstart"),
        *("callee_bend", "callee_shape", "callee_text", "callee_dotted", "arg_count"),
        *("callee_name_bstart", "callee_name_bend"),
    },
    "callsite_qname_candidates": {
        *("call_id", "file_id", "path", "call_bstart", "call_bend", "qname", "qname_source"),
    },
    "dim_qualified_names": {"qname_id", "qname", "file_id", "path", "bstart", "bend"},
    "type_exprs_norm": {
        *("type_expr_id", "owner_def_id", "file_id", "path", "bstart", "bend", "expr_text"),
        *("expr_kind", "expr_role", "param_name", "type_id"),
    },
}
"""The columns agreed with the rule engine, per relation."""

SOURCE = textwrap.dedent(
    '''\
    """Module doc."""
    from __future__ import annotations
    import os.path as osp, sys
    from .. import pkg as p
    from .x import *

    # a comment
    class Box(Base, metaclass=Meta):
        """Box doc."""

        def put(self, item: "Item", *rest: int, flag=True, **kw) -> None:
            self.items.append(item)  # trailing
            return osp.join(b"x", 1.5j, ..., None)

        def get(self, key): return lambda k=key: k
    '''
)


def _props(facts: FileFacts) -> dict[str, dict[str, object]]:
    props: dict[str, dict[str, object]] = {}
    for prop in facts.props:
        props.setdefault(prop.entity_id, {})[prop.prop_key] = prop.value
    return props


def _of_kind(facts: FileFacts, kind: str) -> list[dict[str, object]]:
    props = _props(facts)
    return [
        {"span": (n.bstart, n.bend), **props.get(n.node_id, {})}
        for n in facts.nodes
        if n.node_kind == kind
    ]


@pytest.fixture(scope="module")
def snippet() -> FileFacts:
    modules = ModuleNames(packages=frozenset({"pkg"}))
    return extract_file("repo", "pkg/box.py", SOURCE.encode(), modules=modules)


def test_relations_have_the_agreed_columns(snippet: FileFacts) -> None:
    assert set(snippet.relations) == set(RELATION_COLUMNS)
    for relation, rows in snippet.relations.items():
        assert rows, relation
        for row in rows:
            assert set(row) == RELATION_COLUMNS[relation], relation


def test_a_callee_ends_in_the_name_of_its_target() -> None:
    source = b"f()\na.b.m(1)\nf()()\nx[0]()\n"
    facts = extract_file("repo", "calls.py", source)
    spans = {
        row["callee_text"]: (row["callee_name_bstart"], row["callee_name_bend"])
        for row in facts.relations["cst_callsites"]
    }
    names = {text: None if a is None else source[a:b] for text, (a, b) in spans.items()}
    assert names == {"f": b"f", "a.b.m": b"m", "f()": None, "x[0]": None}


def test_annotations_point_at_their_normalized_types(snippet: FileFacts) -> None:
    props = _props(snippet)
    types = {n.node_id: props[n.node_id] for n in snippet.nodes if n.node_kind == "TYPE"}
    reprs = {
        r["expr_text"]: types[str(r["type_id"])]["type_repr"]
        for r in snippet.relations["type_exprs_norm"]
    }
    assert reprs == {'"Item"': "Item", "int": "int", "None": "None"}
    assert {t["origin"] for t in types.values()} == {"annotation"}


def test_import_rows(snippet: FileFacts) -> None:
    data = SOURCE.encode()
    rows = [
        (
            r["kind"], r["module"], r["relative_level"], r["name"], r["asname"], r["is_star"],
            data[r["alias_bstart"] : r["alias_bend"]].decode(),  # type: ignore[misc]
            data[r["bstart"] : r["bend"]].decode(),  # type: ignore[misc]
        )
        for r in snippet.relations["cst_imports"]
    ]  # fmt: skip
    assert rows == [
        ("from", "__future__", 0, "annotations", None, False, "annotations", "annotations"),
        ("import", None, None, "os.path", "osp", False, "osp", "os.path as osp"),
        ("import", None, None, "sys", None, False, "sys", "sys"),
        ("from", None, 2, "pkg", "p", False, "p", "pkg as p"),
        ("from", "x", 1, "*", None, True, "*", "*"),
    ]


def test_definitions_docstrings_and_annotations(snippet: FileFacts) -> None:
    defs = {str(r["name"]): r for r in snippet.relations["cst_defs"]}
    assert {name: r["def_kind"] for name, r in defs.items()} == {
        "Box": "class", "put": "function", "get": "function", "<lambda>": "lambda",
    }  # fmt: skip
    assert defs["put"]["container_def_id"] == defs["Box"]["def_id"]
    assert defs["<lambda>"]["container_def_id"] == defs["get"]["def_id"]
    assert defs["Box"]["container_def_id"] is None
    assert defs["put"]["qname"] == "pkg.box.Box.put"
    assert defs["<lambda>"]["qname"] is None
    docs = sorted((d["docstring"], d["is_module_docstring"]) for d in _of_kind(snippet, "CST_DOCSTRING"))
    assert docs == [("Box doc.", False), ("Module doc.", True)]
    types = {
        (r["expr_role"], r["param_name"], r["expr_text"]) for r in snippet.relations["type_exprs_norm"]
    }
    assert types == {("param", "item", '"Item"'), ("param", "rest", "int"), ("return", None, "None")}
    params = {str(p["name"]): p for p in _of_kind(snippet, "CST_PARAM")}
    owners = {r["param_name"]: r["owner_def_id"] for r in snippet.relations["type_exprs_norm"]}
    ids = {str(p["name"]): nid for nid, p in _props(snippet).items() if nid.startswith("CST_PARAM")}
    assert owners == {"item": ids["item"], "rest": ids["rest"], None: defs["put"]["def_id"]}
    assert {n: (p["kind"], p["has_default"]) for n, p in params.items()} == {
        "self": ("positional", False), "item": ("positional", False),
        "rest": ("vararg", False), "flag": ("kwonly", True), "kw": ("varkw", False),
        "key": ("positional", False), "k": ("positional", True),
    }  # fmt: skip


def test_literals_comments_and_calls(snippet: FileFacts) -> None:
    literals = Counter(str(p["literal_kind"]) for p in _of_kind(snippet, "CST_LITERAL"))
    assert literals == Counter(
        {"bytes": 1, "complex": 1, "ellipsis": 1, "none": 2, "bool": 1, "string": 1}
    )  # None twice (the return annotation and the argument), True, "Item"
    assert sorted(str(c["text"]) for c in _of_kind(snippet, "CST_COMMENT")) == [
        "# a comment", "# trailing",
    ]  # fmt: skip
    calls = {str(c["callee_text"]): c for c in snippet.relations["cst_callsites"]}
    assert calls["self.items.append"]["callee_dotted"] == "self.items.append"
    assert calls["osp.join"]["arg_count"] == 4
    qnames = {(r["qname"], r["qname_source"]) for r in snippet.relations["callsite_qname_candidates"]}
    assert ("os.path.join", "FullyQualifiedNameProvider") in qnames
    # self.m() names the class's m; self.items.append() names a method of an unknown type
    assert not any(source == "syntactic" for _, source in qnames)
    attrs = {str(a["attr"]): a["base_shape"] for a in _of_kind(snippet, "CST_ATTRIBUTE_ACCESS")}
    assert attrs == {"items": "NAME", "append": "ATTRIBUTE", "join": "NAME"}  # os.path: import


def _stdlib_sample(count: int = 20) -> list[Path]:
    files = sorted(p for p in STDLIB.glob("*.py") if p.stat().st_size < 50_000)
    return files[:: max(len(files) // count, 1)][:count]


def test_call_sites_are_the_ast_calls() -> None:
    checked = 0
    for path in _stdlib_sample():
        data = path.read_bytes()
        text, encoding = decode_source(data)
        lines = LineIndex(data, text, encoding)
        expected = Counter(
            lines.span(n.lineno, n.col_offset, n.end_lineno or 0, n.end_col_offset or 0)
            for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.Call)
        )
        facts = extract_file("stdlib", path.name, data)
        found = Counter((n.bstart, n.bend) for n in facts.nodes if n.node_kind == "CST_CALLSITE")
        assert found == expected, path.name
        checked += sum(expected.values())
    assert checked > 2000


PEP695 = "type Pair[T] = tuple[T, T]\ndef first[T: int, *Ts, **P](x: T) -> T:\n    return x\n"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="ast and symtable read PEP 695 from 3.12")
def test_pep695_syntax_on_311_comes_from_libcst_alone() -> None:
    facts = extract_file("repo", "m.py", PEP695.encode())
    kinds = Counter(n.node_kind for n in facts.nodes) + Counter(e.edge_kind for e in facts.edges)
    assert kinds["TYPE_ALIAS"] == 1 and kinds["TYPE_PARAM"] == 4 and kinds["TYPE_PARAM_OF"] == 4
    assert kinds["CST_DEF"] == 1 and kinds["CST_CALLSITE"] == 0
    assert kinds["AST_NODE"] == 0 and kinds["PY_BINDING"] == 0  # ast cannot parse it on 3.11
    diags = [p for p in _of_kind(facts, "DIAG")]
    assert [d["diag_source"] for d in diags] == ["py_ast"]
    (alias,) = _of_kind(facts, "TYPE_ALIAS")
    assert (alias["name"], alias["target_type_repr"]) == ("Pair", "tuple[T, T]")
    props = _props(facts)
    owners = {
        str(props[e.src_node_id]["name"]): e.dst_node_id.split(":")[0]
        for e in facts.edges
        if e.edge_kind == "TYPE_PARAM_OF"
    }
    assert owners == {"T": "CST_DEF", "Ts": "CST_DEF", "P": "CST_DEF"}  # "T" twice: same name


def test_a_file_libcst_rejects_keeps_the_other_layers() -> None:
    facts = extract_file("repo", "m.py", b"x = 1\nnonlocal y\n")  # parses; scopes fail
    kinds = Counter(n.node_kind for n in facts.nodes)
    assert kinds["CST_NODE"] == 0 and kinds["AST_NODE"] > 0
    sources = sorted(str(d["diag_source"]) for d in _of_kind(facts, "DIAG"))
    assert sources == ["libcst", "symtable"]
