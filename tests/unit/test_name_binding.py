"""Name binding (PY_SCOPE, PY_BINDING, sites, BINDING_RESOLVES_TO) where symtable and LibCST
disagree: comprehension scopes, class bodies, ``global``/``nonlocal``, free variables, mangling;
and on real stdlib files, every name occurrence finds its symtable binding."""

from __future__ import annotations

import os
import random
import symtable
import textwrap
from collections import Counter
from pathlib import Path

from graph.extract.cst_extract import extract_cst_tables
from graph.extract.file_facts import extract_file
from graph.extract.name_binding import extract_name_bindings
from graph.extract.rows import FileFacts
from graph.extract.source import LineIndex, decode_source

SOURCE = textwrap.dedent(
    """\
    import os
    g = 0
    def f(a):
        global g
        g = a
        def inner():
            nonlocal a
            a = 2
            return b
        b = [a for a in range(3)]
        return inner, os
    class C:
        y = 1
        __p = 2
        def m(self):
            return y, self.__p
        z = [y for _ in range(2)]
        def __q(self):
            return __p
    x: int
    del g
    """
)

Site = tuple[str, int, str]
"""``(name, line, def|use)``."""
Binding = tuple[str, str, str]
"""``(scope name, binding name, binding_kind)``."""


def _bindings(source: str) -> tuple[dict[Site, Binding], dict[Binding, tuple[Binding, str]], FileFacts]:
    data = source.encode()
    facts = extract_file("repo", "m.py", data)
    props: dict[str, dict[str, object]] = {}
    for prop in facts.props:
        props.setdefault(prop.entity_id, {})[prop.prop_key] = prop.value
    scope_names = {
        str(props[n.node_id]["scope_id"]): props[n.node_id]["scope_id"]
        for n in facts.nodes
        if n.node_kind == "SYM_SCOPE"
    }
    sym_names = {
        n.node_id: str(props[n.node_id]["scope_name"]) for n in facts.nodes if n.node_kind == "SYM_SCOPE"
    }
    assert set(scope_names) == set(sym_names)
    binding_of: dict[str, Binding] = {}
    for node in facts.nodes:
        if node.node_kind == "PY_BINDING":
            p = props[node.node_id]
            binding_of[node.node_id] = (
                sym_names[str(p["scope_id"])],
                str(p["name"]),
                str(p["binding_kind"]),
            )
    sites: dict[Site, Binding] = {}
    spans = {n.node_id: n for n in facts.nodes}
    for edge in facts.edges:
        if edge.edge_kind in ("DEF_SITE_OF", "USE_SITE_OF"):
            node = spans[edge.src_node_id]
            assert node.bstart is not None
            line = data.count(b"\n", 0, node.bstart) + 1
            name = data[node.bstart : node.bend].decode()
            role = "def" if edge.edge_kind == "DEF_SITE_OF" else "use"
            key = (name, line, role)
            assert key not in sites, key
            sites[key] = binding_of[edge.dst_node_id]
    resolves = {
        binding_of[e.src_node_id]: (binding_of[e.dst_node_id], str(props[e.edge_id]["kind"]))
        for e in facts.edges
        if e.edge_kind == "BINDING_RESOLVES_TO"
    }
    return sites, resolves, facts


def test_sites_belong_to_the_binding_of_the_scope_they_are_written_in() -> None:
    sites, _, _ = _bindings(SOURCE)
    assert sites[("os", 1, "def")] == ("top", "os", "import")
    assert sites[("g", 2, "def")] == ("top", "g", "local")
    assert sites[("f", 3, "def")] == ("top", "f", "namespace")
    assert sites[("a", 3, "def")] == ("f", "a", "param")
    # global g: the assignment in f is f's binding (global_ref), LibCST files it under the module
    assert sites[("g", 5, "def")] == ("f", "g", "global_ref")
    assert sites[("a", 5, "use")] == ("f", "a", "param")
    # nonlocal a / free b in inner
    assert sites[("a", 8, "def")] == ("inner", "a", "nonlocal_ref")
    assert sites[("b", 9, "use")] == ("inner", "b", "free_ref")
    # the comprehension is a scope of its own; its first iterable is evaluated in f
    assert sites[("a", 10, "use")] == ("listcomp", "a", "local")
    assert sites[("a", 10, "def")] == ("listcomp", "a", "local")
    assert sites[("range", 10, "use")] == ("f", "range", "global_ref")
    assert sites[("b", 10, "def")] == ("f", "b", "local")
    assert sites[("os", 11, "use")] == ("f", "os", "global_ref")
    # class body: a method does not see the class's y (an implicit global, not C.y)
    assert sites[("y", 13, "def")] == ("C", "y", "local")
    assert sites[("__p", 14, "def")] == ("C", "_C__p", "local")
    assert sites[("y", 16, "use")] == ("m", "y", "global_ref")
    assert ("__p", 16, "use") not in sites  # self.__p is an attribute, not a name
    assert sites[("y", 17, "use")] == ("listcomp", "y", "global_ref")
    assert sites[("range", 17, "use")] == ("C", "range", "global_ref")
    # symtable's is_namespace looks the mangled name up among the child tables ("__q"): False
    assert sites[("__q", 18, "def")] == ("C", "_C__q", "local")
    assert sites[("__p", 19, "use")] == ("__q", "_C__p", "global_ref")
    assert sites[("x", 20, "def")] == ("top", "x", "annot_only")
    assert sites[("g", 21, "use")] == ("top", "g", "local")  # del


def test_a_comprehension_nested_in_a_first_iterable_matches_its_own_table() -> None:
    # symtable creates the inner comprehension's table before the outer one's (it visits the
    # first iterable first); LibCST's outer scope starts first. b is global in the outer one.
    sites, _, _ = _bindings("h = [(a, b) for a in [0 for b in g]]\n")
    assert sites[("a", 1, "use")] == ("listcomp", "a", "local")
    assert sites[("b", 1, "use")] == ("listcomp", "b", "global_ref")
    assert sites[("a", 1, "def")] == ("listcomp", "a", "local")
    assert sites[("b", 1, "def")] == ("listcomp", "b", "local")
    assert sites[("g", 1, "use")] == ("top", "g", "global_ref")


def test_references_resolve_to_the_binding_they_name() -> None:
    _, resolves, _ = _bindings(SOURCE)
    assert resolves == {
        ("f", "g", "global_ref"): (("top", "g", "local"), "GLOBAL"),
        ("f", "os", "global_ref"): (("top", "os", "import"), "GLOBAL"),
        ("inner", "a", "nonlocal_ref"): (("f", "a", "param"), "NONLOCAL"),
        ("inner", "b", "free_ref"): (("f", "b", "local"), "FREE"),
    }  # range, y and _C__p name no module binding: builtins or a NameError, no edge


def test_scopes_and_bindings_mirror_the_symtable() -> None:
    _, _, facts = _bindings(SOURCE)
    counts = Counter(n.node_kind for n in facts.nodes)
    edges = Counter(e.edge_kind for e in facts.edges)
    assert counts["PY_SCOPE"] == counts["SYM_SCOPE"] == 8  # top f inner listcomp C m listcomp __q
    assert counts["PY_BINDING"] == counts["SYM_SYMBOL"] == edges["SCOPE_BINDS"]
    scope_ids = {
        p.value for p in facts.props if p.prop_key == "scope_id" and p.entity_id.startswith("PY_SCOPE")
    }
    assert scope_ids == {n.node_id for n in facts.nodes if n.node_kind == "SYM_SCOPE"}


def test_pep563_annotations_are_no_symtable_names() -> None:
    source = "from __future__ import annotations\ndef f(x: int) -> str:\n    return x\n"
    sites, _, _ = _bindings(source)
    assert ("int", 2, "use") not in sites and ("str", 2, "use") not in sites
    assert sites[("x", 3, "use")] == ("f", "x", "param")


def test_no_bindings_when_symtable_fails() -> None:
    facts = extract_file("repo", "m.py", b"x = 1\nnonlocal y\n")
    kinds = {n.node_kind for n in facts.nodes}
    assert "PY_BINDING" not in kinds and "PY_SCOPE" not in kinds


def test_every_stdlib_name_finds_its_binding() -> None:
    root = Path(os.__file__).parent
    files = sorted(p for p in root.glob("*.py") if p.stat().st_size < 60_000)
    sample = random.Random(7).sample(files, 25)
    sites = resolved = 0
    for path in sample:
        data = path.read_bytes()
        text, encoding = decode_source(data)
        lines = LineIndex(data, text, encoding)
        cst = extract_cst_tables(
            text, data, path=path.name, file_id="F", module_fqn="m", encoding=encoding, lines=lines
        )
        table = symtable.symtable(text, path.name, "exec")
        facts = extract_name_bindings(table, cst, path=path.name, file_id="F", module_fqn="m")
        sites += len(cst.sites)
        resolved += sum(e.edge_kind in ("DEF_SITE_OF", "USE_SITE_OF") for e in facts.edges)
    assert sites > 10_000
    assert resolved == sites
