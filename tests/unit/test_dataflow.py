"""The data-flow layer on hand-written functions: which definitions reach each use.

Expectations are written from Python's semantics (and CPython 3.11's compilation of ``finally``,
``except ... as`` and loop conditions, each noted where it shows), not read off the output.
Each use is ``(code unit, the use's source text, its line)``; its reaching definitions are
``(line, def_kind)``, ``"param"`` for a parameter's (which has no span). A use compiled twice
(a ``finally`` body, a loop condition) lists one entry per copy.
"""

from __future__ import annotations

import ast
import itertools
import symtable
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

from graph.extract.bytecode_extract import extract_bytecode_table
from graph.extract.code_scopes import code_scopes
from graph.extract.dataflow_extract import extract_dataflow
from graph.extract.file_facts import extract_file
from graph.extract.rows import FileFacts
from graph.extract.source import LineIndex, decode_source
from tests.unit.test_extractors import check_contracts

Use = tuple[str, str, int]
Def = tuple[int | str, str]


def run(source: str, *, max_reaches: int | None = None) -> tuple[FileFacts, bytes, dict[str, str]]:
    data = textwrap.dedent(source).encode()
    text, encoding = decode_source(data)
    code = compile(ast.parse(text), "m.py", "exec", dont_inherit=True, optimize=0)
    table = symtable.symtable(text, "m.py", "exec")
    layer = extract_bytecode_table(
        code, path="m.py", file_id="file:m", lines=LineIndex(data, text, encoding)
    )
    bound = {} if max_reaches is None else {"max_reaches": max_reaches}
    facts = extract_dataflow(layer.flows, table, path="m.py", file_id="file:m", **bound)
    units = {flow.unit_id: flow.code.co_qualname for flow in layer.flows}
    return facts, data, units


def reaching(source: str) -> dict[Use, list[list[Def]]]:
    facts, data, units = run(source)
    props = {(p.entity_id, p.prop_key): p.value for p in facts.props}
    nodes = {node.node_id: node for node in facts.nodes}
    reached: dict[str, list[Def]] = defaultdict(list)
    for edge in facts.edges:
        if edge.edge_kind == "REACHES":
            d = nodes[edge.src_node_id]
            line: int | str = "param" if d.bstart is None else data[: d.bstart].count(b"\n") + 1
            reached[edge.dst_node_id].append((line, str(props[(d.node_id, "def_kind")])))
    found: dict[Use, list[list[Def]]] = defaultdict(list)
    for node in facts.nodes:
        if node.node_kind == "DF_USE":
            assert node.bstart is not None and node.bend is not None
            unit = units[str(props[(node.node_id, "code_unit_id")])]
            use = (unit, data[node.bstart : node.bend].decode(), data[: node.bstart].count(b"\n"))
            found[(use[0], use[1], use[2] + 1)].append(sorted(reached[node.node_id], key=str))
    return {use: sorted(defs) for use, defs in found.items()}


def test_branches_join_both_definitions() -> None:
    assert reaching("""\
        def f(a):
            if a:
                x = 1
            else:
                x = 2
            return x
        """) == {
        ("f", "a", 2): [[("param", "param")]],
        ("f", "x", 6): [[(3, "store"), (5, "store")]],
    }


def test_a_loop_carries_the_augmented_assignment_around() -> None:
    assert reaching("""\
        def f(n):
            total = 0
            for i in range(n):
                total += i
            return total
        """) == {
        ("f", "range", 3): [[]],  # a builtin: defined outside the unit
        ("f", "n", 3): [[("param", "param")]],
        ("f", "total", 4): [[(2, "store"), (4, "store")]],
        ("f", "i", 4): [[(3, "store")]],
        ("f", "total", 5): [[(2, "store"), (4, "store")]],
    }


def test_while_with_break_and_else() -> None:
    assert reaching("""\
        def f(items):
            found = None
            while items:
                item = items.pop()
                if item:
                    found = item
                    break
            else:
                found = False
            return found
        """) == {
        # 3.11 tests the condition before the loop and again at the end of the body
        ("f", "items", 3): [[("param", "param")], [("param", "param")]],
        ("f", "items", 4): [[("param", "param")]],
        ("f", "item", 5): [[(4, "store")]],
        ("f", "item", 6): [[(4, "store")]],
        ("f", "found", 10): [[(6, "store"), (9, "store")]],
    }


def test_try_finally_sees_the_definitions_an_exception_may_interrupt() -> None:
    assert reaching("""\
        def f(g):
            x = 1
            try:
                x = g()
                x = x + 1
            finally:
                print(x)
            return x
        """) == {
        ("f", "g", 4): [[("param", "param")]],
        ("f", "x", 5): [[(4, "store")]],
        ("f", "print", 7): [[], []],
        # the finally body is compiled twice: after the try body, and in the handler, where
        # g() may have raised (x from line 2) or x + 1 may have (line 4); never after line 5
        ("f", "x", 7): [[(2, "store"), (4, "store")], [(5, "store")]],
        ("f", "x", 8): [[(5, "store")]],
    }


def test_with_binds_its_target_and_its_body() -> None:
    assert reaching("""\
        def f(path):
            with open(path) as fh:
                data = fh.read()
            return data
        """) == {
        ("f", "open", 2): [[]],
        ("f", "path", 2): [[("param", "param")]],
        ("f", "fh", 3): [[(2, "store")]],
        # if __exit__ swallows an exception from fh.read(), data is unbound here: no definition
        ("f", "data", 4): [[(3, "store")]],
    }


def test_del_is_a_definition_that_may_leave_the_name_unbound() -> None:
    assert reaching("""\
        def f(a):
            x = a
            if a:
                del x
            return x
        """) == {
        ("f", "a", 2): [[("param", "param")]],
        ("f", "a", 3): [[("param", "param")]],
        ("f", "x", 5): [[(2, "store"), (4, "del")]],
    }


def test_an_exception_variable_is_deleted_after_its_handler() -> None:
    assert reaching("""\
        def f(g):
            try:
                g()
            except ValueError as err:
                print(err)
            return err
        """) == {
        ("f", "g", 3): [[("param", "param")]],
        ("f", "ValueError", 4): [[]],
        ("f", "print", 5): [[]],
        ("f", "err", 5): [[(4, "store")]],
        # the compiler ends the handler with `err = None; del err` (at the body's last line)
        ("f", "err", 6): [[(5, "del")]],
    }


def test_a_comprehension_is_a_unit_of_its_own() -> None:
    assert reaching("""\
        def f(xs):
            y = 2
            return [x * y for x in xs if x]
        """) == {
        ("f", "xs", 3): [[("param", "param")]],
        # the iterator arrives as the comprehension's parameter .0, at the whole expression
        ("f.<locals>.<listcomp>", "[x * y for x in xs if x]", 3): [[("param", "param")]],
        ("f.<locals>.<listcomp>", "x", 3): [[(3, "store")], [(3, "store")]],
        ("f.<locals>.<listcomp>", "y", 3): [[]],  # a free variable: defined in f
    }


def test_global_nonlocal_and_class_bodies_use_their_own_scope() -> None:
    assert reaching("""\
        counter = 0

        def bump():
            global counter
            counter = counter + 1
            return counter

        def outer():
            value = 1
            def inner():
                nonlocal value
                value = value + 1
                return value
            return inner

        class Box:
            size = 1
            area = size * size
        """) == {
        ("bump", "counter", 5): [[]],
        ("bump", "counter", 6): [[(5, "store")]],
        ("outer", "inner", 14): [[(10, "store")]],
        ("outer.<locals>.inner", "value", 12): [[]],
        ("outer.<locals>.inner", "value", 13): [[(12, "store")]],
        ("Box", "size", 18): [[(17, "store")], [(17, "store")]],
    }


def test_events_name_the_bindings_of_the_name_binding_layer(tmp_path: Path) -> None:
    source = "import os\n\ndef f(a, *rest, k=1, **kw):\n    return os.sep, a + k, rest, kw\n"
    facts = extract_file("repo:r", "pkg/m.py", source.encode())
    check_contracts(facts)
    kinds = {node.node_id: node.node_kind for node in facts.nodes}
    names = {p.entity_id: p.value for p in facts.props if p.prop_key == "name"}
    steps = [e for e in facts.edges if e.edge_kind in ("STEP_DEF", "STEP_USE")]
    assert steps and all(kinds[e.dst_node_id] == "PY_BINDING" for e in steps)
    params = {
        names[e.dst_node_id]
        for e in steps
        if e.edge_kind == "STEP_DEF"
        and any(
            p.entity_id == e.src_node_id and p.prop_key == "def_kind" and p.value == "param"
            for p in facts.props
        )
    }
    assert params == {"a", "rest", "k", "kw"}


def test_the_reaches_bound_trades_edges_for_a_diagnostic() -> None:
    source = "def f(a):\n" + "".join(f"    if a:\n        x = {i}\n" for i in range(30))
    source += "    return " + " + ".join(["x"] * 30) + "\n"
    unbounded, _, _ = run(source)
    reaches = sum(1 for e in unbounded.edges if e.edge_kind == "REACHES")
    assert reaches == 30 * 30 + 30  # each x may come from every assignment; each a: the param
    bounded, _, _ = run(source, max_reaches=reaches - 1)
    assert not [e for e in bounded.edges if e.edge_kind == "REACHES"]
    diags = [n for n in bounded.nodes if n.node_kind == "DIAG"]
    assert len(diags) == 1
    messages = [p.value for p in bounded.props if p.prop_key == "message"]
    assert messages == [
        f"f (line 1): {reaches} REACHES edges exceed the bound of {reaches - 1}"
        "; none emitted for this code unit"
    ]
    assert sum(1 for n in bounded.nodes if n.node_kind == "DF_USE") == 60


TRICKY = """\
g = (x for x in (y for y in range(3)))
h = [(a, b) for a in [b for b in (c for c in g)]]


def top():
    return 0


@(lambda fn: fn)
def dec(p=lambda: 2, q=lambda: 3):
    return (lambda: p)()


class K:
    @property
    def v(self):
        return 1

    @v.setter
    def v(self, value):
        self._v = value

    def m(self):
        return super().m() + __class__.v


def early():
    return 1

    def dead():  # compiled away after the return; its table stays
        return 2
"""


def _table_qualname(path: list[symtable.SymbolTable]) -> str:
    """``co_qualname`` as the compiler derives it from the chain of tables below the module."""
    parts: list[str] = []
    for parent, table in itertools.pairwise(path):
        if parts and str(parent.get_type()) == "function":
            parts.append("<locals>")
        name = table.get_name()
        comprehension = name in ("listcomp", "setcomp", "dictcomp", "genexpr", "lambda")
        parts.append(f"<{name}>" if comprehension else name)
    return ".".join(parts) or "<module>"


def _check_scopes(source: str) -> int:
    """Match every code unit of ``source`` and check it against what the compiler says."""
    code = compile(source, "m.py", "exec", dont_inherit=True)
    table = symtable.symtable(source, "m.py", "exec")
    flows = extract_bytecode_table(code, path="m.py", file_id="file:m").flows
    scopes = code_scopes(flows, table, "file:m")
    paths: dict[int, list[symtable.SymbolTable]] = {}
    stack = [[table]]
    while stack:
        path = stack.pop()
        paths[path[-1].get_id()] = path
        stack.extend([*path, child] for child in path[-1].get_children())
    for flow in flows:
        scope = scopes[flow.unit_id]
        assert scope.exact, flow.code.co_qualname
        assert _table_qualname(paths[scope.table.get_id()]) == flow.code.co_qualname
        names = {*flow.code.co_varnames, *flow.code.co_cellvars, *flow.code.co_freevars}
        assert names - {"__class__"} <= set(scope.table.get_identifiers())
        if flow is not flows[0]:  # a decorated def's code starts at its decorator
            assert flow.code.co_firstlineno <= scope.table.get_lineno()
    return len(flows)


def test_code_units_find_the_table_they_were_compiled_from() -> None:
    assert _check_scopes(TRICKY) == 17
    # nested comprehensions in a first iterable: symtable creates the inner table first
    code = compile(TRICKY, "m.py", "exec", dont_inherit=True)
    table = symtable.symtable(TRICKY, "m.py", "exec")
    flows = extract_bytecode_table(code, path="m.py", file_id="file:m").flows
    scopes = code_scopes(flows, table, "file:m")
    genexprs = [f for f in flows if f.code.co_name == "<genexpr>" and f.code.co_firstlineno == 1]
    assert {"x", ".0"} <= set(genexprs[0].code.co_varnames)
    assert "x" in scopes[genexprs[0].unit_id].table.get_identifiers()
    assert "y" in scopes[genexprs[1].unit_id].table.get_identifiers()


@pytest.mark.parametrize("step", [97])
def test_code_units_of_stdlib_modules_find_their_tables(step: int) -> None:
    lib = Path(ast.__file__).parent
    paths = sorted(p for p in lib.rglob("*.py") if "site-packages" not in p.parts)[::step]
    units = 0
    for path in paths:
        try:
            units += _check_scopes(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
    assert units > 500


def _same_name(binding: str, text: str) -> bool:
    """Whether ``text`` (source) spells ``binding`` (symtable's name, class-private mangled)."""
    if binding == text:
        return True
    return text.startswith("__") and binding.startswith("_") and binding.endswith(text)


@pytest.mark.parametrize("step", [211])
def test_events_agree_with_libcst_name_sites(step: int) -> None:
    """Two routes to a name's binding: bytecode operand + code unit's table (this layer) and
    LibCST scope analysis + symtable (the name-binding layer). Where an event's span is a def or
    use site of the same name, both must name the same PY_BINDING. (The compiler's cleanup of
    ``except ... as e`` carries the span of the handler's last statement: other text, skipped.)"""
    lib = Path(ast.__file__).parent
    paths = sorted(p for p in lib.rglob("*.py") if "site-packages" not in p.parts)[::step]
    sources = [("tricky.py", TRICKY.encode())] + [(p.name, p.read_bytes()) for p in paths]
    agreed = 0
    for relpath, data in sources:
        facts = extract_file("repo:r", relpath, data)
        nodes = {node.node_id: node for node in facts.nodes}
        names = {p.entity_id: str(p.value) for p in facts.props if p.prop_key == "name"}
        sites: dict[tuple[int | None, int | None], set[str]] = defaultdict(set)
        steps: dict[str, str] = {}
        for edge in facts.edges:
            if edge.edge_kind in ("DEF_SITE_OF", "USE_SITE_OF"):
                site = nodes[edge.src_node_id]
                sites[(site.bstart, site.bend)].add(edge.dst_node_id)
            elif edge.edge_kind in ("STEP_DEF", "STEP_USE"):
                steps[edge.src_node_id] = edge.dst_node_id
        for node in facts.nodes:
            if node.node_kind not in ("DF_DEF", "DF_USE") or node.bstart is None:
                continue
            binding = steps[node.node_id]
            found = sites.get((node.bstart, node.bend))
            text = data[node.bstart : node.bend].decode()
            if found and _same_name(names[binding], text):
                assert binding in found, (relpath, node, text)
                agreed += 1
    assert agreed > 1000
