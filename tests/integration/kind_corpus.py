"""A small repository that exercises every implemented derivation (``test_implemented_kinds``).

To cover a new kind, add a file (or a line to a file) below that makes the build emit it, and
name the kind in the comment; the test reads which kinds are implemented from the registry the
build exports, so it fails until the corpus covers the new kind.
"""

from __future__ import annotations

CORPUS: dict[str, str | bytes] = {
    # PY_REPO, PY_FILE, REPO_CONTAINS; PY_PACKAGE (a directory with __init__.py)
    "pkg/__init__.py": '"""The package."""\nfrom pkg.flow import Box\n',
    # PY_MODULE, FILE_DECLARES_MODULE; AST_* and AST_PARENT_OF; SYM_SCOPE, SYM_SYMBOL,
    # SCOPE_PARENT; BC_CODE_UNIT, BC_INSTR, CFG_BLOCK, CFG_EXIT, CFG_NEXT, CFG_JUMP;
    # TS_NODE, TS_PARENT_OF, FILE_CONTAINS; DF_DEF, DF_USE, STEP_DEF, STEP_USE, REACHES (n in
    # total), BYTECODE_ANCHOR (every instruction with a span)
    "pkg/flow.py": '''\
"""Control flow of every shape the CFG distinguishes."""
import os


def pick(x):
    if x > 1:  # CFG_BRANCH_TRUE / CFG_BRANCH_FALSE
        return os.path.join("a", str(x))
    return None


def total(items):
    n = 0
    for item in items:  # FOR_ITER: CFG_BRANCH
        n += item
    return n


class Box:
    def run(self):
        try:
            value = pick(len(self.name))
        except ValueError:  # CFG_EXC
            value = None
        return lambda: value
''',
    # CST_DECORATOR, CST_SUBSCRIPT; TYPE_EXPR and HAS_ANNOTATION (parameter and return
    # annotations); PY_CALLS_SYMBOL (a call SCIP resolves)
    "pkg/typed.py": """\
import functools

from pkg.flow import total


@functools.cache
def first(items: list[int]) -> int:
    return total(items[:1])
""",
    # SCIP_INDEX, SCIP_DOCUMENT, SCIP_SYMBOL, SCIP_OCCURRENCE (every file scip-python indexes);
    # PY_DEFINES/REFERENCES/READS/WRITES/IMPORTS_SYMBOL; SCIP_SYMBOL_IMPLEMENTATION (a subclass);
    # PY_CALLS_QNAME (a call in code pyright finds unreachable: SCIP resolves nothing there, the
    # qualified-name fallback does); TYPE and INFERRED_TYPE (legacy's inferred return type).
    # With --runtime: RT_OBJECT, RT_MEMBER, RT_SIGNATURE, RT_SIGNATURE_PARAM and their RT_HAS_*
    # edges; RT_WRAPS (a functools.wraps decorator)
    "pkg/semantic.py": """\
import functools
import sys

from pkg.flow import Box, total


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        return fn(*args)

    return wrapper


@logged
def shout(text: str) -> str:
    return text.upper()


class Crate(Box):
    def run(self):
        return total([1])


def legacy():
    if sys.version_info < (3, 0):
        return total([2])
    return None
""",
    # TYPE_ALIAS, TYPE_PARAM, TYPE_PARAM_OF (PEP 695: LibCST parses it on any interpreter; on
    # 3.11 ast rejects it, so it also yields a DIAG)
    "pkg/generic.py": "type Pair[T] = tuple[T, T]\n\n\ndef swap[T](p: Pair[T]) -> Pair[T]:\n    return p\n",
    # DIAG, HAS_DIAGNOSTIC (ast rejects it); TS_ERROR, TS_MISSING (tree-sitter recovers)
    "pkg/broken.py": "def f(:\n    return 1\n\nx = (1,\nclass C:\n    pass\n",
}
