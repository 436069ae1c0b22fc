"""The build's tasks as Ray tasks: on an existing cluster (``address``, or ``RAY_ADDRESS``) or a
local one started for the build (``pip install -e '.[ray]'``).

Tasks are the very functions the process pool runs (``graph.build_worker``): they write Parquet
into the output folder, which every node must reach at the same path (a shared file system),
and return what the driver commits; deltalake runs on the driver alone. A worker process is set
up once per build (``executors.SetUpExecutor``: the setup travels with each task, and a
worker keeps the one it was last given).

Failures map onto the executor contract: a task whose worker died (``WorkerCrashedError``,
Ray's ``OutOfMemoryError``) or that passed ``timeout`` is retried file by file, and a file that
fails alone gets a DIAG; an exception raised by the task itself fails the build with that
exception. Ray retries nothing on its own (``max_retries=0``): the split does it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from graph.guarded_pool import PoolLimits, WorkFailure, split_retry

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

ADDRESS_ENV = "RAY_ADDRESS"


class RayUnavailableError(RuntimeError):
    """``--executor ray`` without the ``ray`` extra installed, or with no cluster at the address."""


def _run_task(task: Callable[[Any], Any], argument: Any) -> Any:
    return task(argument)


class RayExecutor:
    """Runs tasks on a Ray cluster, at most ``window`` at a time."""

    def __init__(self, ray: Any, limits: PoolLimits | None) -> None:
        self._ray = ray
        self._timeout = None if limits is None else limits.timeout
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self._window = 2 * max(cpus, 1)
        self._remote = ray.remote(max_retries=0)(_run_task)

    def _submit(self, task: Callable[[Any], Any], argument: Any) -> Any:
        return self._remote.remote(task, argument)

    def _result(self, ref: Any) -> Any:
        """The task's outcome, or the ``WorkFailure`` saying why its worker failed; a task's own
        exception is raised."""
        exceptions = self._ray.exceptions
        try:
            return self._ray.get(ref, timeout=self._timeout)
        except exceptions.GetTimeoutError:
            self._ray.cancel(ref, force=True)
            return WorkFailure("worker-timeout", f"not done within {self._timeout:g} s")
        except exceptions.OutOfMemoryError as exc:
            return WorkFailure("worker-memory-limit", _first_line(exc))
        except (exceptions.WorkerCrashedError, exceptions.TaskCancelledError) as exc:
            return WorkFailure("worker-died", _first_line(exc))
        except exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None

    def run_batches(
        self,
        task: Callable[[Sequence[Item]], Outcome],
        batches: Sequence[Sequence[Item]],
        on_failure: Callable[[Item, WorkFailure], Outcome],
    ) -> Iterator[Outcome]:
        """``task(batch)`` for every batch, in order; see the module docstring for failures."""

        def submit(items: Sequence[Item]) -> Any:
            return self._submit(task, items)

        def cancel(ref: Any) -> None:
            self._ray.cancel(ref, force=True)

        return split_retry(batches, submit, self._result, cancel, on_failure, self._window)

    def run(self, task: Callable[[Item], Outcome], items: Sequence[Item]) -> Iterator[Outcome]:
        """Start ``task(item)`` for every item now; the outcomes come in order, and a failed
        worker fails the build."""
        refs = [self._submit(task, item) for item in items]

        def outcomes() -> Iterator[Outcome]:
            for ref in refs:
                outcome = self._result(ref)
                if isinstance(outcome, WorkFailure):
                    raise RuntimeError(f"a Ray task failed: {outcome.message}")
                yield outcome

        return outcomes()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _require_reachable(address: str | None, timeout: float = 5.0) -> None:
    """Fail fast, naming the address, when nothing listens at a ``host:port`` cluster address
    (Ray itself retries an unreachable one for minutes). ``auto``, ``local`` and ``ray://``
    client addresses are left to Ray."""
    if address is None or address in ("auto", "local") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        msg = f"--ray-address {address!r} is not host:port, auto, local or ray://host:port"
        raise RayUnavailableError(msg)
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        msg = f"no Ray cluster answers at {address} ({exc.strerror or exc})"
        raise RayUnavailableError(msg) from None


@contextmanager
def ray_executor(address: str | None, limits: PoolLimits | None) -> Iterator[RayExecutor]:
    """A Ray executor on the cluster at ``address`` (default: ``RAY_ADDRESS``, else a local
    cluster started here and stopped afterwards). A Ray session this process already holds
    (``ray.init`` called by the caller) is used as it is."""
    try:
        import ray
    except ImportError:
        msg = "--executor ray needs the ray extra: pip install -e '.[ray]'"
        raise RayUnavailableError(msg) from None
    started = not ray.is_initialized()
    if started:
        address = address or os.environ.get(ADDRESS_ENV) or None
        _require_reachable(address)
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    try:
        yield RayExecutor(ray, limits)
    finally:
        if started:
            ray.shutdown()
