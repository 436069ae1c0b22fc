"""The project the generator works on, found the way black and ruff find theirs.

The nearest ``pyproject.toml`` upward from the working directory that has a
``[tool.cpg-registry]`` table is the project; its ``registry`` and ``output`` keys (paths relative
to that file) name the committed registry and the folder of the generated modules.

A cpg-registry source checkout (one that holds ``src/cpg``) is always generated from its own
sources: ``use_project_sources`` puts ``<root>/src`` first on ``sys.path`` before any spec module
is imported, so a virtualenv shared by two checkouts, or a non-editable install, can never pair
one checkout's ``generated/`` with another checkout's specs. This module imports only the
standard library: it runs before anything else of the project is imported.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

CONFIG_TABLE = "cpg-registry"
SOURCE_PACKAGES = ("cpg", "relspec", "storage", "graph")
"""Packages of ``<root>/src`` that a checkout's generator must import from that checkout."""


class ProjectError(ValueError):
    """The project's configuration is unusable, or its sources cannot be the ones imported."""


@dataclass(frozen=True)
class Project:
    """A project: its root and where its registry, generated modules and caches live."""

    root: Path
    registry: Path
    output: Path

    @property
    def cache(self) -> Path:
        """Generator caches (black results, compiled templates), keyed by content."""
        return self.root / "build" / ".generator-cache"

    @property
    def sources(self) -> Path | None:
        """``<root>/src`` when this is a cpg-registry source checkout, else None."""
        src = self.root / "src"
        return src if (src / "cpg").is_dir() else None


def find_project(start: Path) -> Project | None:
    """The project of the nearest ``pyproject.toml`` with ``[tool.cpg-registry]`` upward."""
    for folder in (start, *start.parents):
        config = folder / "pyproject.toml"
        if not config.is_file():
            continue
        table = _config_table(config)
        if table is not None:
            return Project(
                root=folder,
                registry=folder / _path_setting(config, table, "registry"),
                output=folder / _path_setting(config, table, "output"),
            )
    return None


def _config_table(config: Path) -> dict[str, object] | None:
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        msg = f"{config}: cannot read it as TOML ({exc})"
        raise ProjectError(msg) from None
    tool = data.get("tool")
    table = tool.get(CONFIG_TABLE) if isinstance(tool, dict) else None
    if table is None:
        return None
    if not isinstance(table, dict):
        msg = f"{config}: [tool.{CONFIG_TABLE}] must be a table"
        raise ProjectError(msg)
    return table


def _path_setting(config: Path, table: dict[str, object], key: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        msg = f"{config}: [tool.{CONFIG_TABLE}] {key} must be a non-empty relative path string"
        raise ProjectError(msg)
    if Path(value).is_absolute() or ".." in Path(value).parts:
        msg = f"{config}: [tool.{CONFIG_TABLE}] {key} = {value!r} must stay inside the project"
        raise ProjectError(msg)
    return value


def use_project_sources(project: Project | None, generator_dir: Path) -> None:
    """Import the specs of ``project`` from its own ``src/``; refuse a generator from elsewhere.

    ``generator_dir`` is the folder the running ``generator`` package was imported from. Must run
    before any of ``SOURCE_PACKAGES`` is imported.
    """
    if project is None or project.sources is None:
        return
    own = project.root / "generator"
    if own.is_dir() and own.resolve() != generator_dir.resolve():
        msg = (
            f"this generator was imported from {generator_dir}, but the project at "
            f"{project.root} has its own generator/: run `python -m generator` from "
            f"{project.root} so the checkout's own code and specs are used"
        )
        raise ProjectError(msg)
    loaded = [name for name in SOURCE_PACKAGES if name in sys.modules]
    if loaded:
        msg = (
            f"internal error: {', '.join(loaded)} imported before the project's sources were chosen"
        )
        raise ProjectError(msg)
    sources = str(project.sources)
    if sources in sys.path:
        sys.path.remove(sources)
    sys.path.insert(0, sources)
