"""The repository-level layers of a build: SCIP, and (with ``--runtime``) runtime inspection.

They see the whole repository at once, so they run beside the per-file workers rather than in
them: ``RepoLayers.start`` launches their subprocesses before the files are extracted, ``finish``
waits for them and hands their rows, a batch at a time, to the build's writer. Each is a
function of the repository alone (its files and import roots), so a build can rerun it on its
own. A layer that cannot run (no node on the machine, scip-python failing or timing out, the
runtime probe not starting or timing out) adds one DIAG on PY_REPO and one summary line; the rest
of the graph is built as usual.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.extract.diagnostics import WARNING, repo_diagnostic
from graph.extract.module_names import ImportRoot, ModuleNames, package_dirs
from graph.extract.rows import FileFacts
from graph.extract.runtime_inspect import (
    RuntimeLimits,
    RuntimeModule,
    RuntimeProcess,
    extract_runtime_tables,
)
from graph.extract.scip_extract import ScipCounts, scip_batches
from graph.extract.scip_proto import ScipDecodeError, ScipSchemaError, decode_index, tools_dir
from graph.extract.scip_run import ScipIndexFile, ScipLimits, ScipProcess
from graph.guarded_pool import WorkFailure
from graph.scan import RepoScan, display_path

Emit = Callable[[FileFacts], None]


@dataclass(frozen=True)
class RepoLayerOptions:
    """Which repository-level layers run, and their limits."""

    scip: bool = True
    scip_limits: ScipLimits = field(default_factory=ScipLimits)
    tools: Path | None = None
    """The folder of the pinned npm packages (default: ``scip_proto.tools_dir()``)."""
    runtime: bool = False
    """Import the repository's modules (runs its code: ``runtime_inspect``)."""
    runtime_limits: RuntimeLimits = field(default_factory=RuntimeLimits)


@dataclass
class RepoLayers:
    """The repository-level layers of one build, started."""

    repo: Path
    repo_id: str
    files: Mapping[str, str]
    """The build's file paths (as rows name them) -> their paths on disk, relative to ``repo``."""
    tools: Path
    scip: ScipProcess | WorkFailure | None
    runtime: RuntimeProcess | WorkFailure | None = None
    modules: tuple[RuntimeModule, ...] = ()
    summary: list[str] = field(default_factory=list)
    diagnostics: int = 0
    """DIAG nodes the layers emitted."""

    @classmethod
    def start(
        cls,
        repo: Path,
        repo_id: str,
        roots: Sequence[ImportRoot],
        scan: RepoScan,
        options: RepoLayerOptions,
    ) -> RepoLayers:
        """Launch the layers on the files of ``scan`` in ``repo``, named from ``roots``."""
        tools = options.tools or tools_dir()
        files = {display_path(relpath): relpath for relpath in scan.files}
        package_prefix = next((r.prefix for r in roots if not r.path and r.prefix), "")
        scip = (
            ScipProcess.start(repo, package_prefix, options.scip_limits, tools)
            if options.scip
            else None
        )
        layers = cls(repo, repo_id, files, tools, scip)
        if options.runtime:
            layers.modules = runtime_modules(files, roots)
            layers.runtime = _start_runtime(repo, roots, layers.modules, options.runtime_limits)
        return layers

    def finish(self, write: Emit) -> None:
        """Wait for the layers and ``write`` their rows; ``summary`` says what each did."""

        def emit(facts: FileFacts) -> None:
            self.diagnostics += sum(1 for node in facts.nodes if node.node_kind == "DIAG")
            write(facts)

        if self.scip is not None:
            self._finish_scip(self.scip, emit)
        if self.runtime is not None:
            self._finish_runtime(self.runtime, emit)

    def _finish_runtime(self, runtime: RuntimeProcess | WorkFailure, emit: Emit) -> None:
        if isinstance(runtime, WorkFailure):
            emit(self._diagnostic(runtime, "runtime"))
            self.summary.append(f"runtime: no runtime layer ({runtime.code}): {runtime.message}")
            return
        run = runtime.wait()
        if run.timed_out:
            failure = WorkFailure("runtime-timeout", "the runtime probe passed its time limit")
            emit(self._diagnostic(failure, "runtime"))
        facts = extract_runtime_tables(
            run.events, repo_id=self.repo_id, repo=self.repo, modules=self.modules
        )
        emit(facts)
        kinds = Counter(node.node_kind for node in facts.nodes)
        done = sum(1 for event in run.events if "done" in event)
        network = "no network" if run.isolated else "network NOT isolated (no unshare here)"
        self.summary.append(
            f"runtime: imported {done} of {len(self.modules)} modules in "
            f"{run.cpu_seconds:.1f} s CPU ({network}): {kinds['RT_OBJECT']} objects, "
            f"{kinds['RT_SIGNATURE']} signatures, {kinds['DIAG']} modules failed"
        )

    def _finish_scip(self, scip: ScipProcess | WorkFailure, emit: Emit) -> None:
        ran = scip.wait() if isinstance(scip, ScipProcess) else scip
        if isinstance(ran, WorkFailure):
            self._failed(ran, emit)
            return
        try:
            index = decode_index(ran.data, self.tools)
        except (ScipDecodeError, ScipSchemaError) as exc:
            self._failed(WorkFailure("scip-decode", str(exc)), emit)
            return
        counts = ScipCounts()
        for batch in scip_batches(
            index, repo_id=self.repo_id, repo=self.repo, files=self.files, counts=counts
        ):
            emit(batch)
        self.summary.append(_scip_line(index, ran, counts))
        if ran.stopped is not None:
            emit(self._diagnostic(ran.stopped, "scip"))
            self.summary.append(f"scip: partial index ({ran.stopped.code}): {ran.stopped.message}")

    def _failed(self, failure: WorkFailure, emit: Emit) -> None:
        """One DIAG on PY_REPO and one summary line for a layer that did not run."""
        emit(self._diagnostic(failure, "scip"))
        self.summary.append(f"scip: no SCIP layer ({failure.code}): {failure.message}")

    def _diagnostic(self, failure: WorkFailure, stage: str) -> FileFacts:
        return repo_diagnostic(
            self.repo_id,
            path=".",
            stage=stage,
            code=failure.code,
            message=failure.message,
            severity=WARNING,
        )


def layer_signature(options: RepoLayerOptions) -> str:
    """Which layers run, and for SCIP the hash of the lock file pinning scip-python: what the
    layers' rows depend on beyond the repository's files (an incremental build reruns the layers
    when it changes)."""
    names = []
    if options.scip:
        lock = (options.tools or tools_dir()) / "package-lock.json"
        try:
            pinned = hashlib.sha256(lock.read_bytes()).hexdigest()[:12]
        except OSError:
            pinned = "unpinned"
        names.append(f"scip@{pinned}")
    if options.runtime:
        names.append("runtime")
    return "+".join(names) or "none"


def runtime_modules(
    files: Mapping[str, str], roots: Sequence[ImportRoot]
) -> tuple[RuntimeModule, ...]:
    """The modules of the build's ``.py`` files, named as the rest of the graph names them,
    without ``__main__`` modules (importing one runs a program) and names no import can spell."""
    names = ModuleNames(tuple(roots), package_dirs(files))
    modules: dict[str, RuntimeModule] = {}
    for path in sorted(files):
        name = names.of(path) if path.endswith(".py") else None
        if name is None:
            continue
        parts = name.fqn.split(".")
        if parts[-1] == "__main__" or not all(part.isidentifier() for part in parts):
            continue
        modules.setdefault(name.fqn, RuntimeModule(name.fqn, path))
    return tuple(modules.values())


def import_paths(repo: Path, roots: Sequence[ImportRoot]) -> list[Path]:
    """The folders ``sys.path`` needs for the modules as they are named: each root (a package
    root's ancestor), then the repository itself (files outside every root are named from it)."""
    paths: list[Path] = []
    for root in roots:
        depth = len(root.prefix.split(".")) if root.prefix else 0
        folder = (repo / root.path).resolve()
        paths.append(folder.parents[depth - 1] if depth else folder)
    paths.append(repo)
    return list(dict.fromkeys(paths))


def _start_runtime(
    repo: Path,
    roots: Sequence[ImportRoot],
    modules: Sequence[RuntimeModule],
    limits: RuntimeLimits,
) -> RuntimeProcess | WorkFailure:
    try:
        return RuntimeProcess.start(import_paths(repo, roots), modules, limits)
    except OSError as exc:
        return WorkFailure("runtime-unavailable", f"cannot start the probe: {exc.strerror or exc}")


def _scip_line(index: Any, ran: ScipIndexFile, counts: ScipCounts) -> str:
    tool = index.metadata.tool_info
    name = f"{tool.name} {tool.version}".strip()
    skipped = f", {counts.skipped_documents} outside the build" if counts.skipped_documents else ""
    misplaced = f", {counts.misplaced} off their file" if counts.misplaced else ""
    misplaced += f", {counts.unresolved} of unresolved names" if counts.unresolved else ""
    return (
        f"scip: {name} indexed {counts.documents} files{skipped} in {ran.cpu_seconds:.1f} s CPU "
        f"(peak {ran.peak_kib >> 10} MiB): {counts.occurrences} occurrences{misplaced}, "
        f"{counts.symbols} symbols"
    )
