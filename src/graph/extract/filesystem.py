"""Repository-level rows (PY_REPO, PY_PACKAGE, REPO_CONTAINS) and the per-file identity rows
(PY_FILE, PY_MODULE, FILE_DECLARES_MODULE).

Paths are repo-relative POSIX strings. A module name follows the ``__init__.py`` chain when the
caller knows the repository's package directories (the nearest ancestor directory without
``__init__.py`` is the package root, as for ``python -m`` from that root); without them, the whole
relative path is dotted (``confidence`` 0.5 instead of 0.9 on FILE_DECLARES_MODULE).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Set
from pathlib import PurePosixPath

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.ids import stable_id
from graph.extract.provenance import edge_row
from graph.extract.rows import FileFacts, NodeRow

PY_REPO = NodeKind.PY_REPO.value
PY_FILE = NodeKind.PY_FILE.value
PY_PACKAGE = NodeKind.PY_PACKAGE.value
PY_MODULE = NodeKind.PY_MODULE.value
REPO_CONTAINS = EdgeKind.REPO_CONTAINS.value
FILE_DECLARES_MODULE = EdgeKind.FILE_DECLARES_MODULE.value

_MODULE_SUFFIXES = (".py", ".pyi")
_ROOT = PurePosixPath(".")


def normalize_relpath(relpath: str) -> str:
    """The canonical repo-relative POSIX form; ValueError for absolute or escaping paths."""
    pure = PurePosixPath(relpath)
    if pure.is_absolute() or ".." in pure.parts or pure == _ROOT:
        raise ValueError(f"not a repo-relative file path: {relpath!r}")
    return pure.as_posix()


def repo_node_id(repo_id: str) -> str:
    """Node id of the PY_REPO node."""
    return stable_id(PY_REPO, repo_id)


def file_node_id(repo_id: str, relpath: str) -> str:
    """Node id of a PY_FILE node; also the ``file_id`` of every row extracted from that file."""
    return stable_id(PY_FILE, repo_id, normalize_relpath(relpath))


def package_dirs(relpaths: Iterable[str]) -> frozenset[str]:
    """Directories (POSIX, ``''`` for the root) that hold an ``__init__.py``."""
    dirs = set()
    for relpath in relpaths:
        pure = PurePosixPath(normalize_relpath(relpath))
        if pure.name == "__init__.py":
            dirs.add(_dir_str(pure.parent))
    return frozenset(dirs)


def module_fqn(relpath: str, packages: Set[str] | None = None) -> tuple[str, str | None]:
    """``(module_fqn, package_root)`` of a source path; ``package_root`` is None when unknown."""
    pure = PurePosixPath(normalize_relpath(relpath))
    stem = pure.name.rsplit(".", 1)[0] if pure.suffix in _MODULE_SUFFIXES else pure.name
    names = [] if stem == "__init__" else [stem]
    if packages is None:
        return ".".join([*pure.parent.parts, *names]), None
    directory = pure.parent
    while directory != _ROOT and directory.as_posix() in packages:
        names.insert(0, directory.name)
        directory = directory.parent
    return ".".join(names), _dir_str(directory)


def extract_repo(repo_id: str, repo_root: str, relpaths: Iterable[str]) -> FileFacts:
    """PY_REPO, a PY_PACKAGE per package directory and REPO_CONTAINS to every listed file."""
    paths = sorted({normalize_relpath(p) for p in relpaths})
    packages = package_dirs(paths)
    repo = repo_node_id(repo_id)
    facts = FileFacts()
    facts.add_node(NodeRow(repo, PY_REPO, None, None), {"repo_root": repo_root, "repo_id": repo_id})
    for directory in sorted(packages - {""}):
        init = f"{directory}/__init__.py"
        fqn, _ = module_fqn(init, packages)
        package = stable_id(PY_PACKAGE, repo_id, directory)
        facts.add_node(
            NodeRow(package, PY_PACKAGE, init, file_node_id(repo_id, init)),
            {"package_fqn": fqn, "path": directory},
        )
    for path in paths:
        file_id = file_node_id(repo_id, path)
        facts.add_edge(
            edge_row(REPO_CONTAINS, repo, file_id, path=path, file_id=file_id, method="listing")
        )
    return facts


def extract_file_entry(
    repo_id: str,
    relpath: str,
    data: bytes,
    *,
    encoding: str | None = None,
    packages: Set[str] | None = None,
) -> FileFacts:
    """PY_FILE (size, sha256, encoding) and, for ``.py``/``.pyi`` paths, its PY_MODULE."""
    path = normalize_relpath(relpath)
    file_id = file_node_id(repo_id, path)
    facts = FileFacts()
    facts.add_node(
        NodeRow(file_id, PY_FILE, path, file_id, 0, len(data)),
        {
            "path": path,
            "size_bytes": len(data),
            "file_sha256": hashlib.sha256(data).hexdigest(),
            "encoding": encoding,
        },
    )
    if PurePosixPath(path).suffix not in _MODULE_SUFFIXES:
        return facts
    fqn, root = module_fqn(path, packages)
    if not fqn:  # a root-level __init__.py names no module of its own
        return facts
    module = stable_id(PY_MODULE, file_id)
    facts.add_node(
        NodeRow(module, PY_MODULE, path, file_id),
        {"path": path, "module_fqn": fqn, "package_root": root},
    )
    method, confidence = ("path", 0.5) if packages is None else ("package_chain", 0.9)
    facts.add_edge(
        edge_row(
            FILE_DECLARES_MODULE,
            file_id,
            module,
            path=path,
            file_id=file_id,
            method=method,
            confidence=confidence,
        ),
        {"module_fqn": fqn},
    )
    return facts


def _dir_str(directory: PurePosixPath) -> str:
    return "" if directory == _ROOT else directory.as_posix()
