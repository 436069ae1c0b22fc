"""Fault injection for the fault tests: make the build stop or fail at a named point.

``CPG_FAULT=POINT[:N[:ACTION]]`` acts on the N-th arrival (default the first) at ``POINT`` in
this process. ``ACTION`` is ``kill`` (the default: SIGKILL, as ``kill -9`` would) or an errno
name such as ``ENOSPC``, raised as that ``OSError`` naming the point's path. Unset, a point
costs one environment lookup. Points: ``graph.extract`` (a file is about to be read, in the
process that extracts it), ``graph.write`` (the parent is about to write a batch; path: the
output directory), ``graph.after_batch`` (the parent wrote a batch).
"""

from __future__ import annotations

import errno
import os
import signal
from collections import Counter
from pathlib import Path

ENV = "CPG_FAULT"

_arrivals: Counter[str] = Counter()


def fault_point(point: str, path: Path | None = None) -> None:
    """Do what ``CPG_FAULT`` says when this is its point and arrival; else nothing."""
    spec = os.environ.get(ENV)
    if not spec or spec.split(":", 1)[0] != point:
        return
    parts = spec.split(":")
    count = int(parts[1]) if len(parts) > 1 else 1
    action = parts[2] if len(parts) > 2 else "kill"
    _arrivals[point] += 1
    if _arrivals[point] != count:
        return
    if action == "kill":
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
    code = getattr(errno, action, None)
    if not isinstance(code, int):
        raise ValueError(f"{ENV}={spec}: {action!r} is neither 'kill' nor an errno name")
    raise OSError(code, os.strerror(code), None if path is None else str(path))
