"""Repository-level rows (PY_REPO, PY_PACKAGE, REPO_CONTAINS) and the per-file identity rows
(PY_FILE, PY_MODULE, FILE_DECLARES_MODULE).

Paths are repo-relative POSIX strings. Module and package names come from the repository's import
roots (``module_names.ModuleNames``); without any, a file is named by its whole dotted path.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath

from generated.cpg_contracts import EdgeKind, NodeKind
from graph.extract.ids import stable_id
from graph.extract.module_names import ImportRoot, ModuleNames, package_dirs
from graph.extract.provenance import edge_row
from graph.extract.rows import FileFacts, NodeRow

PY_REPO = NodeKind.PY_REPO.value
PY_FILE = NodeKind.PY_FILE.value
PY_PACKAGE = NodeKind.PY_PACKAGE.value
PY_MODULE = NodeKind.PY_MODULE.value
REPO_CONTAINS = EdgeKind.REPO_CONTAINS.value
FILE_DECLARES_MODULE = EdgeKind.FILE_DECLARES_MODULE.value

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


def extract_repo(
    repo_id: str, repo_root: str, relpaths: Iterable[str], roots: Sequence[ImportRoot] = ()
) -> FileFacts:
    """PY_REPO, a PY_PACKAGE per package directory that ``roots`` name, and REPO_CONTAINS to
    every listed file."""
    paths = sorted({normalize_relpath(p) for p in relpaths})
    packages = package_dirs(paths)
    names = ModuleNames(tuple(roots), packages)
    repo = repo_node_id(repo_id)
    facts = FileFacts()
    facts.add_node(NodeRow(repo, PY_REPO, None, None), {"repo_root": repo_root, "repo_id": repo_id})
    for directory in sorted(packages):
        init = f"{directory}/__init__.py" if directory else "__init__.py"
        name = names.of(init)
        if name is None:  # the repository folder, imported from itself: no package
            continue
        package = stable_id(PY_PACKAGE, repo_id, directory)
        facts.add_node(
            NodeRow(package, PY_PACKAGE, init, file_node_id(repo_id, init)),
            {"package_fqn": name.fqn, "path": directory},
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
    modules: ModuleNames | None = None,
) -> FileFacts:
    """PY_FILE (size, sha256, encoding) and, for a file that declares a module, its PY_MODULE."""
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
    name = (modules or ModuleNames()).of(path)
    if name is None:
        return facts
    module = stable_id(PY_MODULE, file_id)
    facts.add_node(
        NodeRow(module, PY_MODULE, path, file_id),
        {"path": path, "module_fqn": name.fqn, "package_root": name.root},
    )
    facts.add_edge(
        edge_row(
            FILE_DECLARES_MODULE,
            file_id,
            module,
            path=path,
            file_id=file_id,
            method=name.method,
            confidence=name.confidence,
        ),
        {"module_fqn": name.fqn},
    )
    return facts
