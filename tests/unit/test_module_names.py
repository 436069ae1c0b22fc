"""Module names from import roots, and the roots a repository's layout (or the command line) gives.

The expected names are what ``import`` itself finds: the layout tests put each tree on
``sys.path`` as a real interpreter would (the detected root) and import the module by the name
the build gives it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from graph.extract.module_names import ImportRoot, ModuleName, ModuleNames, package_dirs
from graph.source_roots import SourceRootError, declared_roots, detect_source_roots


def names_of(roots: tuple[ImportRoot, ...], paths: list[str]) -> dict[str, ModuleName | None]:
    modules = ModuleNames(roots, package_dirs(paths))
    return {path: modules.of(path) for path in paths}


def fqns(roots: tuple[ImportRoot, ...], paths: list[str]) -> dict[str, str | None]:
    return {path: None if n is None else n.fqn for path, n in names_of(roots, paths).items()}


def test_names_below_a_root_follow_the_path_and_the_repo_is_the_last_resort() -> None:
    paths = [
        "src/pkg/__init__.py",
        "src/pkg/sub/__init__.py",
        "src/pkg/sub/m.py",
        "src/pkg/data/tool.py",  # data/ has no __init__.py: a namespace portion
        "src/pkg/stubs.pyi",
        "tests/test_m.py",
        "setup.py",
        "README.md",
    ]
    got = names_of((ImportRoot("src"),), paths)
    assert got == {
        "src/pkg/__init__.py": ModuleName("pkg", "src", "source_root", 0.9),
        "src/pkg/sub/__init__.py": ModuleName("pkg.sub", "src", "source_root", 0.9),
        "src/pkg/sub/m.py": ModuleName("pkg.sub.m", "src", "source_root", 0.9),
        "src/pkg/data/tool.py": ModuleName("pkg.data.tool", "src", "source_root", 0.7),
        "src/pkg/stubs.pyi": ModuleName("pkg.stubs", "src", "source_root", 0.9),
        "tests/test_m.py": ModuleName("tests.test_m", "", "repo_root", 0.5),
        "setup.py": ModuleName("setup", "", "repo_root", 0.5),
        "README.md": None,
    }


def test_a_package_folder_root_names_its_own_init_and_prefixes_everything() -> None:
    paths = ["__init__.py", "utils.py", "ext/__init__.py", "ext/i18n.py"]
    assert fqns((ImportRoot("", "jinja2"),), paths) == {
        "__init__.py": "jinja2",
        "utils.py": "jinja2.utils",
        "ext/__init__.py": "jinja2.ext",
        "ext/i18n.py": "jinja2.ext.i18n",
    }
    assert fqns((), paths)["__init__.py"] is None  # imported from itself it is no module


def test_the_deepest_root_wins() -> None:
    roots = (ImportRoot(""), ImportRoot("lib"), ImportRoot("lib/vendor", "vendored"))
    paths = ["lib/a.py", "lib/vendor/b.py", "lib/vendorx/c.py", "d.py"]
    assert fqns(roots, paths) == {
        "lib/a.py": "a",
        "lib/vendor/b.py": "vendored.b",
        "lib/vendorx/c.py": "vendorx.c",
        "d.py": "d",
    }
    assert names_of(roots, ["d.py"])["d.py"] == ModuleName("d", "", "source_root", 0.9)


# --- layouts ------------------------------------------------------------------------------------


def make(root: Path, files: dict[str, str]) -> Path:
    for relpath, text in files.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return root


SETUPTOOLS_SRC = """\
[project]
name = "x"
[tool.setuptools]
package-dir = {"" = "src"}
"""
SETUPTOOLS_MAPPED = """\
[tool.setuptools]
package-dir = {"pkg" = "lib/pkg", "other" = "code"}
"""
MALFORMED = """\
[tool.setuptools]
package-dir = "lib"
packages = ["m"]
"""
PROJECT_ONLY = "[project]\nname = 'x'\n"
SETUPTOOLS_WHERE = """\
[tool.setuptools.packages.find]
where = ["python", "./more", "../outside"]
"""


@pytest.mark.parametrize(
    ("files", "roots"),
    [
        ({"pyproject.toml": SETUPTOOLS_SRC, "src/pkg/__init__.py": ""}, (ImportRoot("src"),)),
        (
            {"pyproject.toml": SETUPTOOLS_MAPPED, "lib/pkg/__init__.py": "", "code/m.py": ""},
            (ImportRoot("code", "other"), ImportRoot("lib")),
        ),
        (
            {"pyproject.toml": SETUPTOOLS_WHERE, "python/a.py": "", "more/b.py": ""},
            (ImportRoot("more"), ImportRoot("python")),
        ),
        ({"pyproject.toml": PROJECT_ONLY, "src/pkg/__init__.py": ""}, (ImportRoot("src"),)),
        ({"pyproject.toml": "not = [toml", "src/pkg/__init__.py": ""}, (ImportRoot("src"),)),
        ({"pyproject.toml": MALFORMED, "lib/m.py": ""}, ()),
        ({"pyproject.toml": "tool = 1\n", "lib/m.py": ""}, ()),
        ({"pkg/__init__.py": "", "setup.py": ""}, ()),
    ],
    ids=[
        "package-dir-src",
        "package-dir-mapped",
        "find-where",
        "no-setuptools",
        "bad-toml",
        "malformed-setuptools",
        "tool-not-a-table",
        "flat",
    ],
)
def test_detected_roots(
    tmp_path: Path, files: dict[str, str], roots: tuple[ImportRoot, ...]
) -> None:
    assert detect_source_roots(make(tmp_path / "repo", files)) == roots


def test_a_package_folder_stands_for_its_package_and_its_parents(tmp_path: Path) -> None:
    make(tmp_path, {"site/outer/__init__.py": "", "site/outer/inner/__init__.py": ""})
    assert detect_source_roots(tmp_path / "site/outer") == (ImportRoot("", "outer"),)
    assert detect_source_roots(tmp_path / "site/outer/inner") == (ImportRoot("", "outer.inner"),)
    make(tmp_path, {"not-a-name/__init__.py": ""})
    assert detect_source_roots(tmp_path / "not-a-name") == ()


def test_declared_roots_inside_at_and_above_the_repo(tmp_path: Path) -> None:
    repo = make(tmp_path / "site" / "pkg", {"__init__.py": "", "sub/m.py": ""})
    assert declared_roots(repo, ["sub", ".", ".."]) == (
        ImportRoot(""),
        ImportRoot("", "pkg"),
        ImportRoot("sub"),
    )
    assert declared_roots(repo, [tmp_path]) == (ImportRoot("", "site.pkg"),)
    assert declared_roots(repo, [repo / "sub"]) == (ImportRoot("sub"),)


@pytest.mark.parametrize(
    ("directory", "message"),
    [
        ("missing", "is not a directory"),
        ("../other", "neither inside nor above"),
        ("../..", "'my-site' is not an identifier"),
        ("sub/m.py", "is not a directory"),
    ],
)
def test_unusable_declared_roots_are_named(tmp_path: Path, directory: str, message: str) -> None:
    repo = make(tmp_path / "my-site" / "pkg", {"__init__.py": "", "sub/m.py": ""})
    (tmp_path / "my-site" / "other").mkdir()
    with pytest.raises(SourceRootError, match=message) as raised:
        declared_roots(repo, [directory])
    assert directory in str(raised.value)


# --- the names are what the interpreter imports --------------------------------------------------

LAYOUTS: dict[str, dict[str, str]] = {
    "src": {
        "pyproject.toml": SETUPTOOLS_SRC,
        "src/pkg/__init__.py": "",
        "src/pkg/sub/__init__.py": "",
        "src/pkg/sub/mod.py": "",
        "src/pkg/nsdir/leaf.py": "",
    },
    "mapped": {
        "pyproject.toml": SETUPTOOLS_MAPPED,
        "lib/pkg/__init__.py": "",
        "lib/pkg/a.py": "",
        "code/__init__.py": "",
        "code/b.py": "",
    },
    "flat": {"pkg/__init__.py": "", "pkg/c.py": "", "top.py": ""},
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_detected_names_are_what_python_imports(tmp_path: Path, layout: str) -> None:
    repo = make(tmp_path / "repo", LAYOUTS[layout])
    roots = detect_source_roots(repo)
    paths = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py"))
    modules = ModuleNames(roots, package_dirs(paths))
    checks = []
    for path in paths:
        name = modules.of(path)
        assert (name is not None and name.method == "source_root") or not roots, path
        if name is not None:
            checks.append((name.fqn, (repo / path).resolve().as_posix()))
    # each root on sys.path; a root with a prefix is imported through a package alias
    script = textwrap.dedent("""
        import importlib, importlib.util, os, sys
        repo, roots, checks = sys.argv[1], eval(sys.argv[2]), eval(sys.argv[3])
        for path, prefix in roots:
            where = os.path.join(repo, path)
            if prefix:
                spec = importlib.util.spec_from_file_location(
                    prefix, os.path.join(where, "__init__.py"), submodule_search_locations=[where]
                )
                module = importlib.util.module_from_spec(spec)
                sys.modules[prefix] = module
                spec.loader.exec_module(module)
            else:
                sys.path.insert(0, where)
        for fqn, path in checks:
            assert importlib.import_module(fqn).__file__ == path, (fqn, path)
        print(len(checks))
        """)
    root_args = [(r.path, r.prefix) for r in roots] or [("", "")]
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, str(repo), repr(root_args), repr(checks)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(checks) > 0
