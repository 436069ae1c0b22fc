"""Where a build's tasks run: this process, a guarded process pool, or a Ray cluster.

Every executor runs the same two kinds of task (``graph.build_worker``) with the same contract:

- ``run_batches(task, batches, on_failure)``: extraction; a batch whose worker died, ran out of
  memory or time is retried item by item, and an item that fails alone goes to ``on_failure``
  (in this process), so one file costs the build only that file;
- ``run(task, items)``: merges, started at once (they run while files are extracted); a failure
  fails the build.

Results come back in order. Tasks write their Parquet files themselves and return only what the
parent needs to commit them, so no executor moves rows between processes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

from graph.build_worker import WorkerSetup, init_worker, run_task, warm_up
from graph.guarded_pool import GuardedPool, PoolLimits, WorkFailure

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

PROCESS = "process"
RAY = "ray"
EXECUTORS = (PROCESS, RAY)


@dataclass(frozen=True)
class ExecutorChoice:
    """Which executor a build uses: ``process`` (``workers`` processes; 0: this process) or
    ``ray`` (the cluster at ``address``, or a local one when None)."""

    kind: str = PROCESS
    workers: int | None = None
    address: str | None = None


class Executor(Protocol):
    """What a build asks of an executor (see the module docstring)."""

    def run_batches(
        self,
        task: Callable[[Sequence[Item]], Outcome],
        batches: Sequence[Sequence[Item]],
        on_failure: Callable[[Item, WorkFailure], Outcome],
    ) -> Iterator[Outcome]: ...

    def run(self, task: Callable[[Item], Outcome], items: Sequence[Item]) -> Iterator[Outcome]: ...


class InlineExecutor:
    """Runs every task in this process: no memory or time limit, nothing to retry."""

    def run_batches(
        self,
        task: Callable[[Sequence[Item]], Outcome],
        batches: Sequence[Sequence[Item]],
        on_failure: Callable[[Item, WorkFailure], Outcome],
    ) -> Iterator[Outcome]:
        return map(task, batches)

    def run(self, task: Callable[[Item], Outcome], items: Sequence[Item]) -> Iterator[Outcome]:
        return map(task, items)


class SetUpExecutor:
    """An executor whose tasks run in processes set up with one build's ``WorkerSetup``: the
    setup travels with each task and a worker takes it once (``build_worker.run_task``), so the
    workers can start before the registry is read. This process is set up too: it makes the rows
    of files whose worker failed."""

    def __init__(self, executor: Executor, setup: WorkerSetup) -> None:
        self._executor = executor
        self._token = uuid.uuid4().hex
        self._setup = setup
        init_worker(setup, self._token)

    def _bound(self, task: Callable[[Any], Outcome]) -> Callable[[Any], Outcome]:
        return partial(run_task, self._token, self._setup, task)

    def run_batches(
        self,
        task: Callable[[Sequence[Item]], Outcome],
        batches: Sequence[Sequence[Item]],
        on_failure: Callable[[Item, WorkFailure], Outcome],
    ) -> Iterator[Outcome]:
        return self._executor.run_batches(self._bound(task), batches, on_failure)

    def run(self, task: Callable[[Item], Outcome], items: Sequence[Item]) -> Iterator[Outcome]:
        return self._executor.run(self._bound(task), items)


@contextmanager
def _inline() -> Iterator[Executor]:
    yield InlineExecutor()


def open_executor(
    choice: ExecutorChoice, limits: PoolLimits | None
) -> AbstractContextManager[Executor]:
    """The executor ``choice`` names (``limits`` None: this process); its workers start now and
    get a build's setup with its tasks (``SetUpExecutor``)."""
    if choice.kind == RAY:
        from graph.ray_executor import ray_executor

        return ray_executor(choice.address, limits)
    if limits is None:
        return _inline()
    return GuardedPool(limits, warm_up, ())
