"""Fault injection for tests: make a writer stop or fail at a named point, deterministically.

``CPG_FAULT`` holds comma-separated rules ``point[@n][=action]``: at the ``n``-th time (default 1)
the process passes ``fault_point(point)``, it performs ``action``:

- ``kill`` (default): ``os._exit(137)`` at once, as ``kill -9`` would (no cleanup, no flush);
- ``enospc`` / ``eacces`` / ``erofs``: raise the ``OSError`` a full, forbidden or read-only disk
  raises;
- ``wait:FILE``: create ``FILE.reached.<pid>``, then wait (up to 120 s) until ``FILE`` exists, so
  a test can line processes up at exactly this point.

Unset (always, outside tests), ``fault_point`` is a dictionary lookup.
"""

from __future__ import annotations

import errno
import os
import time
from functools import cache
from pathlib import Path

ENV = "CPG_FAULT"
_ERRORS = {"enospc": errno.ENOSPC, "eacces": errno.EACCES, "erofs": errno.EROFS}
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
        os._exit(137)
    if action.startswith("wait:"):
        _wait(Path(action.removeprefix("wait:")))
        return
    code = _ERRORS[action]
    raise OSError(code, os.strerror(code), None if path is None else str(path))


def _wait(resume: Path) -> None:
    resume.with_name(f"{resume.name}.reached.{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while not resume.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
