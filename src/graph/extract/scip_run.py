"""Run the pinned scip-python on a repository: a subprocess with a timeout and a heap bound.

``ScipProcess.start`` launches ``node --max-old-space-size=HEAP .../scip-python/index.js index``
writing to a scratch directory and returns at once, so the indexer runs while the build extracts
files; ``wait`` collects ``index.scip`` (or says why there is none). Everything that can go
wrong is a ``WorkFailure`` with a code, never an exception: no node on the machine or
scip-python not installed (``scip-unavailable``), a timeout (``scip-timeout``: a watchdog thread
kills the process group, even while the build is still extracting), the heap bound hit
(``scip-memory-limit``), another exit or no index (``scip-failed``). A fatal error it reports
on one file (pyright's "Debug Failure" on this interpreter's ``signal.py``, after 18 minutes and
121 of 1,790 stdlib files) ends the run, with the index of the files before it: those are kept,
with a ``scip-partial`` warning saying where it stopped.

How it is run, and why:

- ``--environment`` names an empty package list: without it scip-python runs ``pip list`` and
  ``pip show`` for every installed package (13 of the 22 s it takes on click here); third-party
  symbols then carry no package version, in-repository ones are unaffected.
- ``--project-name`` is the repository's folder name and ``--project-version`` a fixed ``0``, so
  symbols are the same on every run (scip-python otherwise asks git, and crashes without one).
- Module names come from pyright's import resolution, rooted at the working directory (plus
  ``src/``, which pyright adds itself). When the repository is itself a package (its import root
  is an ancestor), scip-python runs in that ancestor with ``--target-only`` the repository, so
  ``click/core.py`` is ``click.core`` as the rest of the graph names it.
- ``PATH`` starts with this interpreter's folder: pyright asks ``python3`` for its search paths.
- It runs as a ``BoundedProcess``: tied to the build, killed at the timeout.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from graph.bounded_process import BoundedProcess, tail
from graph.guarded_pool import WorkFailure

SCIP_PYTHON = Path("node_modules", "@sourcegraph", "scip-python", "index.js")
DEFAULT_TIMEOUT = 3600.0
"""Seconds scip-python may take: 9 s on click (16 files) here, 18 minutes for 121 files of the
stdlib before it stopped (README)."""
DEFAULT_HEAP_MIB = 4096
"""Node's ``--max-old-space-size``. Node's default (~2 GiB on 64-bit) is known to be too small
for large repositories; scip-python's peak on this interpreter's stdlib is in the README."""
PROJECT_VERSION = "0"
_FATAL = "Experienced Fatal Error"
_FATAL_FILE = re.compile(r"currentFilepath: '([^']*)'")
_FATAL_ERROR = re.compile(r"error: (?:Error: )?([^\n]*)")
_OOM_MARKERS = ("heap out of memory", "Reached heap limit")
_INDEX = "index.scip"


@dataclass(frozen=True)
class ScipLimits:
    """What scip-python may take: seconds (None: no limit) and MiB of Node heap."""

    timeout: float | None = DEFAULT_TIMEOUT
    heap_mib: int = DEFAULT_HEAP_MIB


@dataclass(frozen=True)
class ScipIndexFile:
    """What a successful run wrote, and what it cost (CPU seconds, peak resident KiB of the
    node process)."""

    data: bytes
    cpu_seconds: float
    peak_kib: int
    stopped: WorkFailure | None = None
    """Set when scip-python stopped on a fatal error: the index holds the files before it."""


class ScipProcess:
    """A running scip-python."""

    def __init__(self, process: BoundedProcess, limits: ScipLimits, repo: Path) -> None:
        self._process = process
        self._limits = limits
        self._repo = repo

    @classmethod
    def start(
        cls, repo: Path, package_prefix: str, limits: ScipLimits, tools: Path
    ) -> ScipProcess | WorkFailure:
        """Launch scip-python on ``repo`` (the dotted package it stands for, or ``""``)."""
        node = shutil.which("node")
        if node is None:
            return WorkFailure("scip-unavailable", "node is not on PATH: no SCIP index")
        script = tools / SCIP_PYTHON
        if not script.is_file():
            message = f"{script} is missing (run npm ci --prefix tools/scip): no SCIP index"
            return WorkFailure("scip-unavailable", message)
        call = _invocation(node, script, repo, package_prefix, limits)
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        try:
            process = BoundedProcess.start(
                call.command, cwd=call.cwd, env=env, timeout=limits.timeout, prefix="cpg-scip-"
            )
        except OSError as exc:
            return WorkFailure("scip-unavailable", f"cannot start node: {exc.strerror or exc}")
        return cls(process, limits, repo)

    def wait(self) -> ScipIndexFile | WorkFailure:
        """The index, once scip-python is done (or the failure); the scratch folder is removed."""
        try:
            return self._wait()
        finally:
            self._process.close()

    def _wait(self) -> ScipIndexFile | WorkFailure:
        ended = self._process.wait()
        if ended.timed_out:
            timeout = self._limits.timeout
            return WorkFailure("scip-timeout", f"scip-python did not finish within {timeout:g} s")
        text = ended.output
        if any(marker in text for marker in _OOM_MARKERS):
            heap = self._limits.heap_mib
            return WorkFailure("scip-memory-limit", f"scip-python ran out of its {heap} MiB heap")
        fatal = _FATAL in text
        if ended.returncode != 0 and not fatal:
            message = f"scip-python stopped with exit code {ended.returncode}: {tail(text)}"
            return WorkFailure("scip-failed", message)
        try:
            data = (self._process.scratch / _INDEX).read_bytes()
        except OSError:
            data = b""
        stopped = self._stopped_at(text) if fatal else None
        if not data:
            failure = stopped or WorkFailure("scip-failed", "scip-python wrote no index")
            return WorkFailure("scip-failed", failure.message)
        return ScipIndexFile(data, ended.cpu_seconds, ended.peak_kib, stopped)

    def _stopped_at(self, text: str) -> WorkFailure:
        """What a fatal error scip-python reports says: the file (relative to the repository)
        and the error's first line. It keeps what it wrote: the files indexed before."""
        found = _FATAL_FILE.search(text)
        where = "a file"
        if found is not None:
            where = found.group(1)
            with contextlib.suppress(ValueError):
                where = Path(where).relative_to(self._repo).as_posix()
        error = _FATAL_ERROR.search(text)
        reason = error.group(1).strip() if error is not None else tail(text)
        message = f"scip-python stopped with a fatal error at {where} ({reason})"
        return WorkFailure("scip-partial", message)


@dataclass(frozen=True)
class _Invocation:
    command: Callable[[Path], list[str]]
    cwd: Path


def _invocation(
    node: str, script: Path, repo: Path, package_prefix: str, limits: ScipLimits
) -> _Invocation:
    """The command line (given the scratch directory); the working directory is the import root
    of ``repo``'s modules."""
    depth = len(package_prefix.split(".")) if package_prefix else 0
    cwd = repo.parents[depth - 1] if depth else repo
    target = ["--target-only", repo.relative_to(cwd).as_posix()] if depth else []

    def command(scratch: Path) -> list[str]:
        environment = scratch / "environment.json"
        environment.write_text("[]", encoding="utf-8")
        return [
            node,
            f"--max-old-space-size={limits.heap_mib}",
            str(script),
            "index",
            "--quiet",
            "--project-name",
            repo.name or "repo",
            "--project-version",
            PROJECT_VERSION,
            "--environment",
            str(environment),
            "--output",
            str(scratch / _INDEX),
            *target,
        ]

    return _Invocation(command, cwd)
