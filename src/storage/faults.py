"""Fault injection for tests: make a writer stop or fail at a named point, deterministically.

``CPG_FAULT`` holds comma-separated rules ``point[@n][=action]``: at the ``n``-th time (default 1)
this process passes ``fault_point(point)``, it performs ``action``:

- ``kill`` (default): SIGKILL to itself, as ``kill -9`` would (no cleanup, no flush);
- an errno name (``ENOSPC``, ``EACCES``, ``EROFS``, ``EIO``, ...): raise that ``OSError``, naming
  the point's path;
- ``wait:FILE``: create ``FILE.reached.<pid>``, then wait (up to 120 s) until ``FILE`` exists, so
  a test can line processes up at exactly this point.

Points: ``delta.before_commit``, ``outputs.write_file``, ``outputs.before_swap``,
``generate.before_export``, ``generate.after_export`` (the generator and the registry export);
``graph.extract`` (a file is about to be read, in the process that extracts it), ``graph.write``
(the build's parent is about to take a written batch; path: the output directory),
``graph.after_batch``, ``graph.commit`` (a table is about to be committed; path: the output
directory).
Unset (always, outside tests), ``fault_point`` is one environment lookup.
"""

from __future__ import annotations

import errno
import os
import signal
import time
from functools import cache
from pathlib import Path

ENV = "CPG_FAULT"
_hits: dict[str, int] = {}


@cache
def _rules(spec: str) -> dict[str, tuple[int, str]]:
    rules: dict[str, tuple[int, str]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        point, _, action = item.partition("=")
        name, _, count = point.partition("@")
        rules[name] = (int(count or 1), action or "kill")
    return rules


def fault_point(name: str, path: object = None) -> None:
    """Stop or fail here if ``CPG_FAULT`` says so (``path`` names the file an error is about)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    rule = _rules(spec).get(name)
    if rule is None:
        return
    _hits[name] = _hits.get(name, 0) + 1
    count, action = rule
    if _hits[name] != count:
        return
    if action == "kill":
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
    if action.startswith("wait:"):
        _wait(Path(action.removeprefix("wait:")))
        return
    code = getattr(errno, action.upper(), None)
    if not isinstance(code, int):
        msg = f"{ENV}={spec}: {action!r} is neither 'kill', 'wait:FILE' nor an errno name"
        raise ValueError(msg)
    raise OSError(code, os.strerror(code), None if path is None else str(path))


def _wait(resume: Path) -> None:
    resume.with_name(f"{resume.name}.reached.{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while not resume.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
