"""What an incremental build may keep: the inputs every file's rows depend on, and each file's own.

A build's rows depend on

- inputs shared by every file (``BuildInputs``): the registry (its spec fingerprint), the
  extractor (a hash of the ``graph`` package's source and the versions of the parsers it calls),
  the interpreter (``ast``, ``symtable`` and bytecode differ between versions), the repository
  id (every id hashes it) and the file size limit. Any change is a full rebuild;
- per file (``file_key``): its content (SHA-256), its display path and the module name the
  import roots give it, which depends on other files (adding an ``__init__.py`` renames the
  modules below it). A file whose key changed, or that appeared or left, is extracted again
  (or dropped); every other file keeps its rows;
- the repository-level layers (SCIP, runtime: ``graph.repo_layers``) see every file at once, so
  their rows depend on all of them and on which layers run (``repo_layers``): they run again,
  all of them, when any file is extracted or dropped or the layers asked for changed, and keep
  the previous build's rows otherwise.

The state of a complete build is ``OUT/_build_files.parquet``: per file its on-disk path, file
id, key and segment. It is written after the tables are committed and before the build record
says ``complete``, so a build that stopped in between is followed by a full one.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from graph.extract.module_names import ModuleNames

STATE_FILE = "_build_files.parquet"
_PARSERS = ("libcst", "tree-sitter", "tree-sitter-python", "pyarrow")
"""Packages whose version changes extracted rows."""
_STATE_SCHEMA = pa.schema(
    [
        pa.field("relpath", pa.binary(), nullable=False),
        pa.field("file_id", pa.string(), nullable=False),
        pa.field("key", pa.string()),
        pa.field("segment", pa.string(), nullable=False),
        pa.field("diagnostics", pa.int64(), nullable=False),
    ]
)


@dataclass(frozen=True)
class BuildInputs:
    """What every file's rows depend on; a build can keep rows only when all of it is equal."""

    registry: str
    extractor: str
    interpreter: str
    repo_id: str
    max_file_bytes: int
    repo_layers: str
    """The repository-level layers that run (``graph.repo_layers.layer_signature``): a change
    reruns them alone."""

    def as_record(self) -> dict[str, str]:
        return {
            "registry": self.registry,
            "extractor": self.extractor,
            "interpreter": self.interpreter,
            "repo_id": self.repo_id,
            "max_file_bytes": str(self.max_file_bytes),
            "repo_layers": self.repo_layers,
        }

    def changed_since(self, recorded: Mapping[str, str]) -> str | None:
        """What differs from a previous build's record, in words, among the inputs every
        file's rows depend on; None when nothing does."""
        names = {
            "registry": "the registry",
            "extractor": "the extractor",
            "interpreter": "the interpreter",
            "repo_id": "the repository id",
            "max_file_bytes": "--max-file-bytes",
        }
        current = self.as_record()
        for key in names:
            value = current[key]
            before = recorded.get(key)
            if before != value:
                was = "none" if before is None else _short(before)
                return f"{names[key]} changed ({was} -> {_short(value)})"
        return None

    def layers_changed(self, recorded: Mapping[str, str]) -> bool:
        return recorded.get("repo_layers") != self.repo_layers


def _short(text: str) -> str:
    """A hash cut to 12 characters; other values as they are."""
    return text[:12] if len(text) == 64 else text


def build_inputs(
    registry_fingerprint: str, repo_id: str, max_file_bytes: int, repo_layers: str
) -> BuildInputs:
    """The inputs of a build in this interpreter with this extractor."""
    interpreter = f"{sys.implementation.name} {platform.python_version()}"
    return BuildInputs(
        registry_fingerprint, extractor_version(), interpreter, repo_id, max_file_bytes, repo_layers
    )


def extractor_version() -> str:
    """A hash of every source file of the ``graph`` package and of the parsers' versions: any
    change to the code that makes rows is a full rebuild (no version number to forget)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode())
        digest.update(source.read_bytes())
    for name in _PARSERS:
        try:
            digest.update(f"{name}={version(name)}".encode())
        except PackageNotFoundError:
            digest.update(f"{name}=none".encode())
    return digest.hexdigest()


def file_key(path: str, content: str | None, modules: ModuleNames) -> str | None:
    """The key of one file's rows: its content hash (None: the file could not be read, so it is
    always extracted again), display path and module name."""
    if content is None:
        return None
    name = modules.of(path)
    naming = "" if name is None else "\x1f".join(map(str, name))
    return hashlib.sha256(f"{content}\x1f{path}\x1f{naming}".encode()).hexdigest()


def content_digest(file: Path) -> str | None:
    """The SHA-256 of a file's bytes, or None when it cannot be read."""
    try:
        with file.open("rb") as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError:
        return None


@dataclass(frozen=True)
class FileState:
    """What the state keeps of one file of a complete build."""

    file_id: str
    key: str | None
    segment: str
    diagnostics: int


def read_state(out: Path) -> dict[str, FileState] | None:
    """The file state of the build in ``out`` (by on-disk relative path), or None when there is
    none or it cannot be read."""
    try:
        table = pq.read_table(out / STATE_FILE, schema=_STATE_SCHEMA)
    except (OSError, pa.ArrowException):
        return None
    columns = [table.column(name).to_pylist() for name in _STATE_SCHEMA.names]
    return {
        relpath.decode("utf-8", "surrogateescape"): FileState(file_id, key, segment, diags)
        for relpath, file_id, key, segment, diags in zip(*columns, strict=True)
    }


def write_state(out: Path, files: Mapping[str, FileState]) -> None:
    """Replace the file state of ``out`` atomically (temp file, fsync, rename)."""
    ordered = sorted(files.items())
    table = pa.table(
        [
            pa.array([p.encode("utf-8", "surrogateescape") for p, _ in ordered], pa.binary()),
            pa.array([s.file_id for _, s in ordered], pa.string()),
            pa.array([s.key for _, s in ordered], pa.string()),
            pa.array([s.segment for _, s in ordered], pa.string()),
            pa.array([s.diagnostics for _, s in ordered], pa.int64()),
        ],
        schema=_STATE_SCHEMA,
    )
    temp = out / f".{STATE_FILE}.{os.getpid()}.tmp"
    try:
        pq.write_table(table, temp)
        with temp.open("rb") as stream:
            os.fsync(stream.fileno())
        temp.replace(out / STATE_FILE)
    except OSError:
        temp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class FileChanges:
    """How the files of a repository differ from the state of its last build (on-disk paths)."""

    extract: tuple[str, ...]
    """Files to extract: added, changed, or never read successfully."""
    added: tuple[str, ...]
    removed: tuple[str, ...]
    kept: tuple[str, ...]

    @property
    def departing(self) -> tuple[str, ...]:
        """Files whose old rows leave the tables: removed, or changed."""
        added = set(self.added)
        return self.removed + tuple(path for path in self.extract if path not in added)


def file_changes(keys: Mapping[str, str | None], state: Mapping[str, FileState]) -> FileChanges:
    """Compare the files' keys now (by on-disk path) with the state of the last build."""
    extract, kept, added = [], [], []
    for relpath, key in sorted(keys.items()):
        before = state.get(relpath)
        if before is None:
            added.append(relpath)
            extract.append(relpath)
        elif key is None or key != before.key:
            extract.append(relpath)
        else:
            kept.append(relpath)
    removed = sorted(set(state) - set(keys))
    return FileChanges(tuple(extract), tuple(added), tuple(removed), tuple(kept))
