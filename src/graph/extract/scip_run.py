"""Run the pinned scip-python on a repository: a subprocess with a timeout and a heap bound.

``ScipProcess.start`` launches ``node --max-old-space-size=HEAP .../scip-python/index.js index``
writing to a scratch directory and returns at once, so the indexer runs while the build extracts
files; ``wait`` collects ``index.scip`` (or says why there is none). Everything that can go
wrong is a ``WorkFailure`` with a code, never an exception: no node on the machine or
scip-python not installed (``scip-unavailable``), a timeout (``scip-timeout``: a watchdog thread
kills the process group, even while the build is still extracting), the heap bound hit
(``scip-memory-limit``), another exit or a fatal error it reports while still exiting 0
(``scip-failed``; scip-python 0.6.6 does that, e.g. without a project version), no index.

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
- The process ends with the build (``PR_SET_PDEATHSIG``, SIGKILL) and runs in its own process
  group, which a timeout kills.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from graph.guarded_pool import WorkFailure

SCIP_PYTHON = Path("node_modules", "@sourcegraph", "scip-python", "index.js")
DEFAULT_TIMEOUT = 1800.0
"""Seconds scip-python may take. Measured here: 9 s on click (16 files), see the README for
the stdlib; a repository 100x the stdlib would still fit on this machine's cores."""
DEFAULT_HEAP_MIB = 4096
"""Node's ``--max-old-space-size``. Node's default (~2 GiB on 64-bit) is known to be too small
for large repositories; scip-python's peak on this interpreter's stdlib is in the README."""
PROJECT_VERSION = "0"
_FATAL = "Experienced Fatal Error"
_OOM_MARKERS = ("heap out of memory", "Reached heap limit")
_TAIL = 400
_OUTPUT = "output.txt"
_LAUNCHER = (
    "import ctypes, os, sys; ctypes.CDLL(None).prctl(1, 9, 0, 0, 0); "
    "os.getppid() == int(sys.argv[1]) or os._exit(1); os.execv(sys.argv[2], sys.argv[2:])"
)


@dataclass(frozen=True)
class ScipLimits:
    """What scip-python may take: seconds (None: no limit) and MiB of Node heap."""

    timeout: float | None = DEFAULT_TIMEOUT
    heap_mib: int = DEFAULT_HEAP_MIB


@dataclass(frozen=True)
class ScipIndexFile:
    """What a successful run wrote, and what it cost (wall seconds, peak resident KiB of the
    node process)."""

    data: bytes
    seconds: float
    peak_kib: int


@dataclass(frozen=True)
class _Invocation:
    command: list[str]
    cwd: Path


class ScipProcess:
    """A running scip-python."""

    def __init__(self, process: subprocess.Popen[bytes], scratch: Path, limits: ScipLimits) -> None:
        self._process = process
        self._scratch = scratch
        self._limits = limits
        self._started = time.monotonic()
        self._timed_out = threading.Event()
        self._watchdog: threading.Timer | None = None
        if limits.timeout is not None:
            self._watchdog = threading.Timer(limits.timeout, self._stop)
            self._watchdog.daemon = True
            self._watchdog.start()

    def _stop(self) -> None:
        """The watchdog's action at the timeout: kill the process group (it runs alone)."""
        self._timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)

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
        scratch = Path(tempfile.mkdtemp(prefix="cpg-scip-"))
        call = _invocation(node, script, repo, package_prefix, scratch, limits)
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        try:
            with (scratch / _OUTPUT).open("wb") as output:
                process = subprocess.Popen(
                    _ending_with_this_process(call.command),
                    cwd=call.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except OSError as exc:
            shutil.rmtree(scratch, ignore_errors=True)
            return WorkFailure("scip-unavailable", f"cannot start node: {exc.strerror or exc}")
        return cls(process, scratch, limits)

    def wait(self) -> ScipIndexFile | WorkFailure:
        """The index, once scip-python is done (or the failure); the scratch folder is removed."""
        try:
            return self._wait()
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _wait(self) -> ScipIndexFile | WorkFailure:
        returncode, peak = _reap(self._process)
        seconds = time.monotonic() - self._started
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._timed_out.is_set():
            timeout = self._limits.timeout
            return WorkFailure("scip-timeout", f"scip-python did not finish within {timeout:g} s")
        text = (self._scratch / _OUTPUT).read_bytes().decode("utf-8", "replace")
        if any(marker in text for marker in _OOM_MARKERS):
            heap = self._limits.heap_mib
            return WorkFailure("scip-memory-limit", f"scip-python ran out of its {heap} MiB heap")
        if returncode != 0 or _FATAL in text:
            reason = f"exit code {returncode}" if returncode else "a fatal error"
            return WorkFailure("scip-failed", f"scip-python stopped with {reason}: {_tail(text)}")
        index = self._scratch / "index.scip"
        try:
            data = index.read_bytes()
        except OSError:
            return WorkFailure("scip-failed", f"scip-python wrote no index: {_tail(text)}")
        return ScipIndexFile(data, seconds, peak)


def _invocation(
    node: str, script: Path, repo: Path, package_prefix: str, scratch: Path, limits: ScipLimits
) -> _Invocation:
    """The command line; the working directory is the import root of ``repo``'s modules."""
    environment = scratch / "environment.json"
    environment.write_text("[]", encoding="utf-8")
    depth = len(package_prefix.split(".")) if package_prefix else 0
    cwd = repo.parents[depth - 1] if depth else repo
    command = [
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
        str(scratch / "index.scip"),
    ]
    if depth:
        command += ["--target-only", repo.relative_to(cwd).as_posix()]
    return _Invocation(command, cwd)


def _ending_with_this_process(command: list[str]) -> list[str]:
    """On Linux, ``command`` behind a launcher that arms ``PR_SET_PDEATHSIG`` and ``exec``s it
    (a ``preexec_fn`` could deadlock after a fork of this threaded process)."""
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-S", "-c", _LAUNCHER, str(os.getpid()), *command]


def _reap(process: subprocess.Popen[bytes]) -> tuple[int, int]:
    """Wait for the process: its exit code and peak resident KiB (``wait4``'s ``ru_maxrss``,
    KiB on Linux, of this process alone)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, int(usage.ru_maxrss)


def _tail(text: str) -> str:
    """The last lines of the tool's output, on one line."""
    flat = " ".join(text.split())
    return flat[-_TAIL:] if flat else "no output"
