"""The import roots of a repository: given with ``--source-root``, or read from its layout.

Detection, first match wins:

1. the repository is a package folder (it holds ``__init__.py``, e.g. ``site-packages/jinja2``):
   its parent is the import root, i.e. the folder itself stands for the package named after it
   (and after its parents, while they are packages too: ``numpy/linalg`` -> ``numpy.linalg``);
2. ``pyproject.toml`` declares setuptools roots: ``[tool.setuptools] package-dir`` (``"" = "src"``
   makes ``src`` a root; ``"pkg" = "lib/pkg"`` makes ``lib`` one, and ``"pkg" = "code"`` makes
   ``code`` stand for ``pkg``) and ``[tool.setuptools.packages.find] where``;
3. a ``src/`` directory (the src layout);
4. none: the repository itself is the root (``module_names`` falls back to it for every file no
   root contains, e.g. ``tests/`` beside ``src/``).

A ``pyproject.toml`` that cannot be read or parsed declares nothing (the build is about the code,
not the packaging); other build backends' settings (hatch, poetry, flit) are not read: give
``--source-root`` for those.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from graph.extract.module_names import ImportRoot

PYPROJECT = "pyproject.toml"


class SourceRootError(ValueError):
    """A ``--source-root`` that cannot be an import root of the repository."""


def declared_roots(repo: Path, directories: Iterable[str | Path]) -> tuple[ImportRoot, ...]:
    """The roots given on the command line, relative to ``repo`` (or absolute).

    A directory inside the repository (or the repository itself) is a root as it is; an ancestor
    of the repository makes the repository stand for the package its path below that ancestor
    names (``--source-root ..`` for a package folder).
    """
    repo = repo.resolve()
    roots: list[ImportRoot] = []
    for directory in directories:
        target = (repo / directory).resolve()
        if not target.is_dir():
            raise SourceRootError(f"source root {directory} ({target}) is not a directory")
        if target.is_relative_to(repo):
            relative = target.relative_to(repo).as_posix()
            roots.append(ImportRoot("" if relative == "." else relative))
        elif repo.is_relative_to(target):
            roots.append(ImportRoot("", _package_name(repo.relative_to(target).parts, directory)))
        else:
            msg = f"source root {directory} ({target}) is neither inside nor above {repo}"
            raise SourceRootError(msg)
    return tuple(sorted(set(roots)))


def _package_name(parts: tuple[str, ...], directory: str | Path) -> str:
    bad = [part for part in parts if not part.isidentifier()]
    if bad:
        msg = f"source root {directory}: the repository's path below it, {'/'.join(parts)}, "
        raise SourceRootError(msg + f"is no package name ({bad[0]!r} is not an identifier)")
    return ".".join(parts)


def detect_source_roots(repo: Path) -> tuple[ImportRoot, ...]:
    """The roots the repository's layout declares (see the module docstring); ``()`` when none."""
    repo = repo.resolve()
    prefix = _enclosing_package(repo)
    if prefix:
        return (ImportRoot("", prefix),)
    declared = _pyproject_roots(repo)
    if declared:
        return declared
    if (repo / "src").is_dir():
        return (ImportRoot("src"),)
    return ()


def _enclosing_package(repo: Path) -> str:
    """``a.b`` when ``repo`` is the package folder ``.../a/b`` (each with ``__init__.py``)."""
    names: list[str] = []
    folder = repo
    while (folder / "__init__.py").is_file() and folder.name.isidentifier():
        names.insert(0, folder.name)
        if folder.parent == folder:
            break
        folder = folder.parent
    return ".".join(names)


def _pyproject_roots(repo: Path) -> tuple[ImportRoot, ...]:
    try:
        with (repo / PYPROJECT).open("rb") as stream:
            config = tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return ()
    setuptools = _table(_table(config, "tool"), "setuptools")
    roots: set[ImportRoot] = set()
    for package, directory in _table(setuptools, "package-dir").items():
        if isinstance(directory, str):
            roots.add(_mapped_root(package, directory))
    where = _table(_table(setuptools, "packages"), "find").get("where", [])
    if isinstance(where, list):
        roots.update(ImportRoot(_clean(w)) for w in where if isinstance(w, str))
    inside = (r for r in roots if ".." not in PurePosixPath(r.path).parts)
    return tuple(sorted(r for r in inside if (repo / (r.path or ".")).is_dir()))


def _table(config: dict[str, object], key: str) -> dict[str, object]:
    """``config[key]`` if it is a TOML table, else empty: a malformed setting declares nothing."""
    value = config.get(key)
    return value if isinstance(value, dict) else {}


def _mapped_root(package: str, directory: str) -> ImportRoot:
    """The root for setuptools' ``package-dir`` entry ``package = directory``."""
    path = _clean(directory)
    names = package.split(".") if package else []
    parts = PurePosixPath(path).parts if path else ()
    if names and parts[len(parts) - len(names) :] == tuple(names):
        return ImportRoot("/".join(parts[: len(parts) - len(names)]))
    return ImportRoot(path, package)


def _clean(directory: str) -> str:
    posix = PurePosixPath(directory.replace("\\", "/")).as_posix()
    return "" if posix == "." else posix
