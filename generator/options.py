"""What a run works on, resolved once from the command line and the project's configuration.

Every command takes ``--registry`` the same way: a registry root (the folder holding ``cpg/``
and ``relspec/``), a folder holding ``registry/`` (a graph build's output, a project root), or
an object-store URI. The defaults come from the project (``generator.project``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from generator.project import Project
from storage.deltalake.locations import Location, is_uri
from storage.deltalake.registry_layout import TARGETS
from storage.deltalake.registry_models import REGISTRY_DIR


class UsageError(ValueError):
    """Options that do not go together, or a run that lacks what it needs."""


class RegistryMissingError(FileNotFoundError):
    """The registry a command reads is not there."""


@dataclass(frozen=True)
class Reporter:
    """Messages go to stderr (stdout is for what a command produces: a diff, a report)."""

    quiet: bool
    verbose: bool

    def info(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)

    def detail(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr)


@dataclass(frozen=True)
class Options:
    """The resolved locations and switches of one run."""

    project: Project | None
    registry: Location
    output: Path
    exports: bool
    registry_version: int | None

    @property
    def single_version(self) -> bool:
        """Whether the registry is the project's committed one: one version per table, its
        history in git."""
        return (
            self.project is not None
            and not is_uri(self.registry)
            and Path(self.registry).resolve() == self.project.registry.resolve()
        )

    @property
    def cache(self) -> Path | None:
        """The generator cache (under the project's ``build/``), or None outside a project."""
        return None if self.project is None else self.project.cache

    @property
    def regenerate_command(self) -> str:
        """The command that regenerates what this run looked at (non-default locations kept)."""
        parts = ["python -m generator"]
        if self.project is None or self.registry != self.project.registry:
            parts.append(f"--registry {display(self.registry)}")
        if self.project is None or self.output.absolute() != self.project.output.absolute():
            parts.append(f"--output {display(self.output)}")
        return " ".join(parts)

    def registry_exists(self) -> bool:
        """Whether a registry (any of its target folders) is at ``registry``."""
        if is_uri(self.registry):
            return True  # an object store is asked table by table
        return any(Path(self.registry, target).is_dir() for target in TARGETS)

    def require_registry(self) -> None:
        """Raise ``RegistryMissingError`` unless a registry is at ``registry``."""
        if not self.registry_exists():
            msg = (
                f"no registry at {self.registry}: expected a folder holding "
                f"{'/, '.join(TARGETS)}/ or one holding {REGISTRY_DIR}/"
            )
            raise RegistryMissingError(msg)


def display(location: Location) -> str:
    """``location`` as a person would type it here: relative to the working directory when it is
    inside it, else as it is."""
    if is_uri(location):
        return str(location)
    path = Path(location).absolute()
    cwd = Path.cwd()
    return path.relative_to(cwd).as_posix() if path.is_relative_to(cwd) else str(path)


def registry_root(value: str | Path) -> Location:
    """The registry root ``value`` names: itself, or its ``registry/`` when it holds one."""
    if isinstance(value, str) and is_uri(value):
        return value
    path = Path(value)
    nested = path / REGISTRY_DIR
    if nested.is_dir() and not any((path / target).is_dir() for target in TARGETS):
        return nested
    return path


def resolve(
    project: Project | None,
    registry: str | None,
    output: Path | None,
    *,
    exports: bool,
    registry_version: int | None,
) -> Options:
    """The options of a run; ``UsageError`` when a location has no default outside a project."""
    if registry is None:
        if project is None:
            msg = (
                "no project found (no pyproject.toml with [tool.cpg-registry] in this folder or "
                "above): pass --registry"
            )
            raise UsageError(msg)
        root: Location = project.registry
    else:
        root = registry_root(registry)
    if output is None:
        if project is None:
            msg = (
                "no project found (no pyproject.toml with [tool.cpg-registry] in this folder or "
                "above): pass --output"
            )
            raise UsageError(msg)
        output = project.output
    return Options(project, root, output, exports, registry_version)
