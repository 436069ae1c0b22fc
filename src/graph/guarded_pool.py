"""Worker processes for per-file work that cannot outlive the build, exhaust memory or hang.

Built on pebble's ``ProcessPool``, which fails one task (not the whole pool, as
``concurrent.futures`` does) when its worker dies or its time runs out. On top of it:

- A worker ends with its parent: ``PR_SET_PDEATHSIG(SIGKILL)`` on Linux, which works even while
  the worker is inside one long C call (``ast.parse`` of a 20 MB file holds the GIL for 19 s),
  and everywhere a thread that polls ``os.getppid()``. Without this, workers of a build killed
  with ``kill -9`` ran on for minutes.
- The same thread ends its worker (exit code ``MEMORY_EXIT``) once the worker's resident memory
  passes the limit while it runs a task: dense generated code costs 1-2 GB of extraction memory
  per MB of source.
- A batch whose worker was ended, died or ran out of time is retried file by file; a file that
  fails alone goes to ``on_failure``, which makes its rows (a DIAG saying why).

Results come back in batch order, with at most two batches per worker in flight.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import psutil
from pebble import ProcessExpired, ProcessFuture, ProcessPool

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")
Handle = TypeVar("Handle")

MEMORY_EXIT = 86
"""Exit code of a worker that ended itself for passing its memory limit."""
_POLL_SECONDS = 0.05
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class PoolLimits:
    """How many workers, and what one batch may take: resident bytes per worker, and seconds
    per batch (None: no limit)."""

    workers: int
    memory_bytes: int
    timeout: float | None


@dataclass(frozen=True)
class WorkFailure:
    """Why an item was not processed: a short ``code`` and a one-line ``message``."""

    code: str
    message: str


def default_memory_limit(workers: int) -> int:
    """Half the machine's physical memory shared by ``workers``, at least 1 GiB each."""
    return max(1 << 30, psutil.virtual_memory().total // (2 * max(workers, 1)))


class WorkerFailedError(RuntimeError):
    """A task that cannot be split into items failed with its worker (see ``GuardedPool.run``)."""


class GuardedPool:
    """``limits.workers`` spawned processes (each runs ``initializer(*initargs)`` first), kept for
    several rounds of tasks; see the module docstring for what guards them.

    Use as a context manager: leaving it normally waits for the workers, leaving it by an error
    (or an interrupt) drops the queued work first.
    """

    def __init__(
        self, limits: PoolLimits, initializer: Callable[..., None], initargs: tuple[object, ...]
    ) -> None:
        context = multiprocessing.get_context("spawn")  # deltalake's runtime does not survive fork
        guard = (os.getpid(), limits.memory_bytes, initializer, initargs)
        self.limits = limits
        self._pool = ProcessPool(
            limits.workers, initializer=_start_worker, initargs=guard, context=context
        )

    def __enter__(self) -> GuardedPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self._pool.close()  # type: ignore[no-untyped-call]
        else:
            self._pool.stop()  # type: ignore[no-untyped-call]
        self._pool.join()

    def run_batches(
        self,
        task: Callable[[Sequence[Item]], Outcome],
        batches: Sequence[Sequence[Item]],
        on_failure: Callable[[Item, WorkFailure], Outcome],
    ) -> Iterator[Outcome]:
        """``task(batch)`` for every batch, in order; a batch whose worker failed is retried item
        by item, and an item that fails alone goes to ``on_failure``."""
        limits = self.limits

        def submit(items: Sequence[Item]) -> ProcessFuture[Outcome]:
            return self._pool.schedule(_busy_with, (task, items), timeout=limits.timeout)

        def result(future: ProcessFuture[Outcome]) -> Outcome | WorkFailure:
            try:
                return future.result()
            except (ProcessExpired, TimeoutError) as exc:
                return _failure(exc, limits)

        def cancel(future: ProcessFuture[Outcome]) -> None:
            future.cancel()  # type: ignore[no-untyped-call]

        return split_retry(batches, submit, result, cancel, on_failure, 2 * limits.workers)

    def run(self, task: Callable[[Item], Outcome], items: Sequence[Item]) -> Iterator[Outcome]:
        """Start ``task(item)`` for every item now; the returned iterator gives the outcomes in
        order. A failed worker is a ``WorkerFailedError`` (there is nothing smaller to retry)."""
        limits = self.limits
        futures = [
            self._pool.schedule(_busy_with, (task, item), timeout=limits.timeout) for item in items
        ]

        def outcomes() -> Iterator[Outcome]:
            try:
                for future in futures:
                    try:
                        yield future.result()
                    except (ProcessExpired, TimeoutError) as exc:
                        raise WorkerFailedError(_failure(exc, limits).message) from exc
            finally:
                for future in futures:
                    future.cancel()  # type: ignore[no-untyped-call]

        return outcomes()


def run_batches(
    task: Callable[[Sequence[Item]], Outcome],
    batches: Sequence[Sequence[Item]],
    *,
    limits: PoolLimits,
    initializer: Callable[..., None],
    initargs: tuple[object, ...],
    on_failure: Callable[[Item, WorkFailure], Outcome],
) -> Iterator[Outcome]:
    """``GuardedPool.run_batches`` in a pool of its own, for one round of batches."""
    with GuardedPool(limits, initializer, initargs) as pool:
        yield from pool.run_batches(task, batches, on_failure)


def split_retry(
    batches: Iterable[Sequence[Item]],
    submit: Callable[[Sequence[Item]], Handle],
    result: Callable[[Handle], Outcome | WorkFailure],
    cancel: Callable[[Handle], None],
    on_failure: Callable[[Item, WorkFailure], Outcome],
    window: int,
) -> Iterator[Outcome]:
    """Every batch's outcome, in order, whatever runs them (``submit`` starts one, ``result``
    waits for it): a batch whose worker failed is retried item by item, and an item that fails
    alone goes to ``on_failure``. At most ``window`` batches are in flight, which bounds memory
    when the caller is slower; those the caller does not take are cancelled."""

    def settle(items: Sequence[Item], handle: Handle) -> Iterator[Outcome]:
        outcome = result(handle)
        if not isinstance(outcome, WorkFailure):
            yield outcome
        elif len(items) == 1:
            yield on_failure(items[0], outcome)
        else:
            for item in items:  # find the item at fault; the others still get done
                yield from settle([item], submit([item]))

    pending: deque[tuple[Sequence[Item], Handle]] = deque()
    try:
        for items in batches:
            pending.append((items, submit(items)))
            if len(pending) >= window:
                yield from settle(*pending.popleft())
        while pending:
            yield from settle(*pending.popleft())
    finally:
        for _, handle in pending:
            cancel(handle)


def _failure(exc: ProcessExpired | TimeoutError, limits: PoolLimits) -> WorkFailure:
    if isinstance(exc, TimeoutError):
        return WorkFailure("worker-timeout", f"not done within {limits.timeout:g} s")
    if exc.exitcode == MEMORY_EXIT:
        limit = limits.memory_bytes >> 20
        return WorkFailure("worker-memory-limit", f"needs more than {limit} MiB of memory")
    return WorkFailure("worker-died", f"the worker process died (exit code {exc.exitcode})")


# ------------------------------------------------------------------ in the worker

_BUSY = threading.Event()
"""Set while the worker runs a task: only a busy worker is ended for its memory. pebble takes
the death of an idle worker, when no task runs anywhere, for a broken pool."""


def _busy_with(task: Callable[[Sequence[Item]], Outcome], items: Sequence[Item]) -> Outcome:
    _BUSY.set()
    try:
        return task(items)
    finally:
        _BUSY.clear()


def _start_worker(
    parent: int,
    memory_bytes: int,
    initializer: Callable[..., None],
    initargs: tuple[object, ...],
) -> None:
    _end_with_parent(parent)
    threading.Thread(
        target=_watch, args=(parent, memory_bytes), name="worker-guard", daemon=True
    ).start()
    initializer(*initargs)


def _end_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _watch(parent: int, memory_bytes: int) -> None:
    """End this worker when its parent is gone or its resident memory passes ``memory_bytes``."""
    me = psutil.Process()
    while True:
        if os.getppid() != parent:
            os._exit(1)
        if _BUSY.is_set() and me.memory_info().rss > memory_bytes:
            os._exit(MEMORY_EXIT)
        time.sleep(_POLL_SECONDS)
