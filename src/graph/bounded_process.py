"""A child process the build runs beside its workers, bounded in time and tied to the build.

The repository-level layers (SCIP, runtime inspection) each run one tool as a subprocess:
started at once (``BoundedProcess.start``), collected later (``finish``). The process

- runs in a scratch directory of its own, removed by ``finish``; its stdout and stderr go to a
  file there (a pipe nobody reads would block it);
- ends with the build: on Linux a launcher arms ``PR_SET_PDEATHSIG`` (SIGKILL) and ``exec``s the
  command (a ``preexec_fn`` could deadlock after a fork of this threaded process);
- runs in its own process group, which a watchdog thread kills at the timeout, even while the
  build is still extracting files.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_OUTPUT = "output.txt"
_LAUNCHER = (
    "import ctypes, os, sys; ctypes.CDLL(None).prctl(1, 9, 0, 0, 0); "
    "os.getppid() == int(sys.argv[1]) or os._exit(1); os.execv(sys.argv[2], sys.argv[2:])"
)


@dataclass(frozen=True)
class Finished:
    """How the process ended: exit code, whether the watchdog killed it, its output, CPU
    seconds (user + system: it runs beside the build, so its wall time says little) and peak
    resident KiB (``wait4``'s ``ru_maxrss``: this process alone)."""

    returncode: int
    timed_out: bool
    output: str
    cpu_seconds: float
    peak_kib: int


class BoundedProcess:
    """A started child process and its scratch directory."""

    def __init__(self, process: subprocess.Popen[bytes], scratch: Path, timeout: float | None):
        self._process = process
        self.scratch = scratch
        self._timed_out = threading.Event()
        self._watchdog: threading.Timer | None = None
        if timeout is not None:
            self._watchdog = threading.Timer(timeout, self._kill)
            self._watchdog.daemon = True
            self._watchdog.start()

    @classmethod
    def start(
        cls,
        command: Callable[[Path], Sequence[str]],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        prefix: str = "cpg-",
    ) -> BoundedProcess:
        """Start ``command(scratch)`` (in ``cwd``, default: the scratch directory); raises
        ``OSError`` when it cannot be started (the scratch directory is removed)."""
        scratch = Path(tempfile.mkdtemp(prefix=prefix))
        try:
            argv = list(command(scratch))
            with (scratch / _OUTPUT).open("wb") as output:
                process = subprocess.Popen(
                    _ending_with_this_process(argv),
                    cwd=cwd or scratch,
                    env=None if env is None else dict(env),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except BaseException:
            shutil.rmtree(scratch, ignore_errors=True)
            raise
        return cls(process, scratch, timeout)

    def wait(self) -> Finished:
        """Wait for the process to end (the scratch directory stays until ``close``)."""
        _, status, usage = os.wait4(self._process.pid, 0)
        self._process.returncode = os.waitstatus_to_exitcode(status)
        if self._watchdog is not None:
            self._watchdog.cancel()
        output = (self.scratch / _OUTPUT).read_bytes().decode("utf-8", "replace")
        return Finished(
            self._process.returncode,
            self._timed_out.is_set(),
            output,
            usage.ru_utime + usage.ru_stime,
            int(usage.ru_maxrss),
        )

    def close(self) -> None:
        """Remove the scratch directory."""
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _kill(self) -> None:
        self._timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)


def _ending_with_this_process(command: list[str]) -> list[str]:
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-S", "-c", _LAUNCHER, str(os.getpid()), *command]


def tail(text: str, limit: int = 400) -> str:
    """The last characters of a tool's output, on one line."""
    flat = " ".join(text.split())
    return flat[-limit:] if flat else "no output"
