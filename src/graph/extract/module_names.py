"""Module names from import roots: the dotted name under which ``import`` finds a source file.

An import root is a directory on ``sys.path`` as the repository's layout intends it (``src/`` of
a src layout, a setuptools ``package-dir``, the repository itself), possibly standing for a
package (``prefix``): when the repository given to the build is a package folder such as
``site-packages/jinja2``, its root is that folder with prefix ``jinja2``, so
``jinja2/utils.py`` is ``jinja2.utils`` and the folder's own ``__init__.py`` is ``jinja2``.
Finding the roots (reading ``pyproject.toml``, ``--source-root``) is ``graph.source_roots``' job;
this module only names files, so workers can do it without touching the disk.

A file belongs to the deepest root that contains it; the repository itself, without prefix, is
the root of last resort (``method`` ``repo_root``, confidence 0.5). Under a declared or detected
root (``method`` ``source_root``) the name is the dotted path below the root, as PEP 420 imports
it: confidence 0.9 when every directory on the way holds an ``__init__.py``, 0.7 when one is a
namespace directory (it may as well be a folder of scripts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import NamedTuple

_MODULE_SUFFIXES = (".py", ".pyi")
SOURCE_ROOT = "source_root"
REPO_ROOT = "repo_root"


@dataclass(frozen=True, order=True)
class ImportRoot:
    """A directory of the repository (``""`` for the repository itself) that ``sys.path`` holds,
    or that stands for the dotted package ``prefix``."""

    path: str = ""
    prefix: str = ""

    def __str__(self) -> str:
        where = self.path or "."
        return f"{where} (as {self.prefix})" if self.prefix else where


class ModuleName(NamedTuple):
    """The module a file declares, the root it was named from, and how sure that is."""

    fqn: str
    root: str
    method: str
    confidence: float


@dataclass(frozen=True)
class ModuleNames:
    """Names the modules of one repository: its import roots and its package directories (those
    holding an ``__init__.py``, ``""`` for the repository itself)."""

    roots: tuple[ImportRoot, ...] = ()
    packages: frozenset[str] = frozenset()

    def of(self, relpath: str) -> ModuleName | None:
        """The module ``relpath`` (repo-relative, POSIX) declares; None for a file that is no
        module (not ``.py``/``.pyi``, or the ``__init__.py`` of a root without prefix)."""
        pure = PurePosixPath(relpath)
        if pure.suffix not in _MODULE_SUFFIXES:
            return None
        root, method = self._root_of(pure)
        below = pure.relative_to(root.path) if root.path else pure
        stem = below.name.rsplit(".", 1)[0]
        dirs = below.parent.parts
        names = [*root.prefix.split("."), *dirs] if root.prefix else [*dirs]
        if stem != "__init__":
            names.append(stem)
        if not names:
            return None
        if method == REPO_ROOT:
            confidence = 0.5
        else:
            chain = (root.path, *dirs)
            regular = all(
                "/".join(p for p in chain[: i + 1] if p) in self.packages
                for i in range(1, len(chain))
            )
            confidence = 0.9 if regular else 0.7
        return ModuleName(".".join(names), root.path, method, confidence)

    def _root_of(self, pure: PurePosixPath) -> tuple[ImportRoot, str]:
        best: ImportRoot | None = None
        for root in self.roots:
            inside = not root.path or pure.is_relative_to(root.path)
            if inside and (best is None or len(root.path) > len(best.path)):
                best = root
        if best is None:
            return ImportRoot(), REPO_ROOT
        return best, SOURCE_ROOT


def package_dirs(relpaths: Iterable[str]) -> frozenset[str]:
    """Directories (POSIX, ``''`` for the root) that hold an ``__init__.py``."""
    dirs = set()
    for relpath in relpaths:
        pure = PurePosixPath(relpath)
        if pure.name == "__init__.py":
            parent = pure.parent.as_posix()
            dirs.add("" if parent == "." else parent)
    return frozenset(dirs)
