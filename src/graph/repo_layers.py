"""The repository-level layers of a build: SCIP (and, with ``--runtime``, runtime inspection).

They see the whole repository at once, so they run beside the per-file workers rather than in
them: ``RepoLayers.start`` launches their subprocesses before the files are extracted, ``finish``
waits for them and hands their rows, a batch at a time, to the build's writer. Each is a
function of the repository alone (its files and import roots), so a build can rerun it on its
own. A layer that cannot run (no node on the machine, scip-python failing or timing out) adds
one DIAG on PY_REPO and one summary line; the rest of the graph is built as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.extract.diagnostics import WARNING, repo_diagnostic
from graph.extract.module_names import ImportRoot
from graph.extract.rows import FileFacts
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


@dataclass
class RepoLayers:
    """The repository-level layers of one build, started."""

    repo: Path
    repo_id: str
    files: Mapping[str, str]
    """The build's file paths (as rows name them) -> their paths on disk, relative to ``repo``."""
    tools: Path
    scip: ScipProcess | WorkFailure | None
    summary: list[str] = field(default_factory=list)

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
        return cls(repo, repo_id, files, tools, scip)

    def finish(self, emit: Emit) -> None:
        """Wait for the layers and ``emit`` their rows; ``summary`` says what each did."""
        if self.scip is not None:
            self._finish_scip(self.scip, emit)

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

    def _failed(self, failure: WorkFailure, emit: Emit) -> None:
        """One DIAG on PY_REPO and one summary line for a layer that did not run."""
        emit(
            repo_diagnostic(
                self.repo_id,
                path=".",
                stage="scip",
                code=failure.code,
                message=failure.message,
                severity=WARNING,
            )
        )
        self.summary.append(f"scip: no SCIP layer ({failure.code}): {failure.message}")


def _scip_line(index: Any, ran: ScipIndexFile, counts: ScipCounts) -> str:
    tool = index.metadata.tool_info
    name = f"{tool.name} {tool.version}".strip()
    skipped = f", {counts.skipped_documents} outside the build" if counts.skipped_documents else ""
    misplaced = f", {counts.misplaced} off their file" if counts.misplaced else ""
    misplaced += f", {counts.unresolved} of unresolved names" if counts.unresolved else ""
    return (
        f"scip: {name} indexed {counts.documents} files{skipped} in {ran.seconds:.1f} s "
        f"(peak {ran.peak_kib >> 10} MiB): {counts.occurrences} occurrences{misplaced}, "
        f"{counts.symbols} symbols"
    )
