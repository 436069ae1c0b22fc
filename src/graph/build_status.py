"""The build record ``OUT/_build.json``: whether the datasets under ``OUT`` are a complete build.

A build writes ``status: running`` before it touches any table and ``status: complete`` (with
its counts) only after its last write, so an output left by a killed, failed or still-running
build is never taken for a complete one. ``require_complete(out)`` is what readers call: it
raises ``IncompleteBuildError`` unless the record says ``complete``. The record is replaced
atomically (temp file, fsync, ``os.replace``), so it is always whole.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

STATUS_FILE = "_build.json"
RUNNING = "running"
COMPLETE = "complete"
FAILED = "failed"


class IncompleteBuildError(Exception):
    """The output directory holds no complete build (running, killed, failed or none)."""


@dataclass(frozen=True)
class BuildRecord:
    """What ``_build.json`` says: the status, which build, and (once complete) its counts."""

    status: str
    repo: str
    started_at: str
    pid: int
    host: str
    finished_at: str | None = None
    reason: str | None = None
    files: int | None = None
    rows: Mapping[str, int] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    """What every file's rows depend on (``graph.incremental.BuildInputs``): a next build with
    the same inputs keeps the rows of unchanged files."""


def mark_running(out: Path, repo: Path) -> BuildRecord:
    """Record that a build of ``repo`` into ``out`` has started (before any table is written)."""
    record = BuildRecord(RUNNING, str(repo), _now(), os.getpid(), socket.gethostname())
    _write(out, record)
    return record


def mark_complete(
    out: Path,
    started: BuildRecord,
    files: int,
    rows: Mapping[str, int],
    inputs: Mapping[str, str] | None = None,
) -> None:
    """Record that the build ``started`` wrote everything."""
    done = replace(
        started, status=COMPLETE, finished_at=_now(), files=files, rows=rows, inputs=inputs or {}
    )
    _write(out, done)


def mark_failed(out: Path, started: BuildRecord, reason: str) -> None:
    """Record why the build ``started`` stopped; best effort (a full disk keeps ``running``,
    which says incomplete just as well)."""
    with contextlib.suppress(OSError):
        _write(out, replace(started, status=FAILED, finished_at=_now(), reason=reason))


def read_record(out: Path) -> BuildRecord | None:
    """The build record of ``out``, or None when there is none."""
    try:
        text = (out / STATUS_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return BuildRecord(**json.loads(text))
    except (ValueError, TypeError) as exc:
        msg = f"{out / STATUS_FILE}: not a build record ({exc})"
        raise IncompleteBuildError(msg) from None


def require_complete(out: str | Path) -> BuildRecord:
    """The record of the complete build in ``out``; ``IncompleteBuildError`` (one line naming
    ``out``) when a build there is running, was interrupted or failed, or none was recorded."""
    out = Path(out)
    record = read_record(out)
    if record is None:
        msg = f"{out} holds no complete build: no {STATUS_FILE} (not written by `graph build`)"
        raise IncompleteBuildError(msg)
    if record.status == COMPLETE:
        return record
    since = f"the build of {record.repo} started {record.started_at} (pid {record.pid})"
    if record.status == FAILED:
        raise IncompleteBuildError(
            f"{out} holds an incomplete build: {since} failed: {record.reason}"
        )
    raise IncompleteBuildError(
        f"{out} holds an incomplete build: {since} has not completed (still running or killed)"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write(out: Path, record: BuildRecord) -> None:
    target = out / STATUS_FILE
    temp = out / f".{STATUS_FILE}.{os.getpid()}.tmp"
    try:
        with temp.open("w", encoding="utf-8") as stream:
            json.dump(asdict(record), stream, indent=2, sort_keys=True)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        temp.replace(target)
    except OSError:
        temp.unlink(missing_ok=True)
        raise
