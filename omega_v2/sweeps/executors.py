"""Where points run, and how their shared inputs reach the workers once per worker, not once per
run:

* no executor: a local process pool that this sweep owns. On Linux its workers are forked, so
  they start in milliseconds with omega_v2 already imported and inherit the inputs (and a
  strategy class typed into a notebook) without pickling; elsewhere they are spawned and get the
  inputs pickled once each, through the pool's initializer. They share this machine's disk, so
  runs write straight into the var dir.
* a Dask `distributed.Client`, or its `client.get_executor()`: the inputs are scattered to every
  worker once (`client.scatter(..., broadcast=True)`) and each task refers to them; nothing is
  assumed about the workers' disks.
* any other `concurrent.futures.Executor`: the inputs go with every task (free for threads,
  pickled per task for other executors); nothing is assumed about the workers' disks.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
from collections.abc import Iterable, Iterator
from typing import Any

from omega_v2.sweeps import pool_worker
from omega_v2.sweeps.tasks import Inputs, Task, release_data, run_task


class Backend:
    """Submits tasks and yields their futures as they finish."""

    #: Workers see the client's disk, so runs can be written in place.
    shares_disk = False

    def __init__(self) -> None:
        self.futures: set[Any] = set()

    def submit(self, task: Task) -> Any:
        future = self._submit(task)
        self.futures.add(future)
        return future

    def done(self, future: Any) -> None:
        """Drops a finished future: a Dask worker keeps a result while the client refers to it."""
        self.futures.discard(future)

    def _submit(self, task: Task) -> Any:
        raise NotImplementedError

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        return concurrent.futures.as_completed(list(futures))

    def close(self, *, cancel: bool) -> None:
        """Cancels what has not started when asked to; shuts down only what this sweep owns."""
        if cancel:
            for future in self.futures:
                future.cancel()


class LocalPool(Backend):
    shares_disk = True

    def __init__(self, max_workers: int, inputs: Inputs) -> None:
        super().__init__()
        forking = "fork" in multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork") if forking else None
        if forking:
            from omega_v2.runner import _git_info

            _git_info()  # looked up once per process: once here, not once in each forked worker
        self.pool = concurrent.futures.ProcessPoolExecutor(
            max_workers, mp_context=context, initializer=pool_worker.start, initargs=(inputs,)
        )

    def _submit(self, task: Task) -> Any:
        return self.pool.submit(pool_worker.run, task)

    def close(self, *, cancel: bool) -> None:
        """On cancel, sends the workers SIGTERM (an idle one ends; a busy one's run stops at the
        engine's next check), waits up to STOP_GRACE_S for them, then kills the workers still
        busy: a Python strategy's own code can keep a run going. Their staging directories are
        removed by the next run's start or `python -m omega_v2 clean`."""
        if not cancel:
            self.pool.shutdown(wait=True)
            return
        # The executor's own list of its processes (Python 3.14 adds terminate_workers()).
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + pool_worker.STOP_GRACE_S
        try:
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
        finally:
            for process in processes:
                if process.is_alive():
                    process.kill()


class Pooled(Backend):
    """Any `concurrent.futures.Executor`; the inputs travel with each task."""

    def __init__(self, executor: concurrent.futures.Executor, inputs: Inputs) -> None:
        super().__init__()
        self.executor = executor
        self.inputs = inputs if inputs else None

    def _submit(self, task: Task) -> Any:
        return self.executor.submit(run_task, task, self.inputs)


class Dask(Backend):
    """A Dask client (or its executor): the inputs are scattered to every worker once."""

    def __init__(self, client: Any, executor: Any, inputs: Inputs) -> None:
        super().__init__()
        self.client, self.executor = client, executor
        self.inputs = client.scatter(inputs, broadcast=True, hash=False) if inputs else None

    def _submit(self, task: Task) -> Any:
        if self.executor is self.client:
            return self.client.submit(run_task, task, self.inputs, pure=False)
        return self.executor.submit(run_task, task, self.inputs)  # keeps the executor's own options

    def as_completed(self, futures: Iterable[Any]) -> Iterator[Any]:
        if self.executor is self.client:
            from distributed import as_completed

            return as_completed(list(futures))
        return super().as_completed(futures)

    def close(self, *, cancel: bool) -> None:
        super().close(cancel=cancel)
        if self.inputs is not None:
            self.inputs.release()
        # The workers outlive the sweep: the data their points read goes with it.
        self.client.run(release_data)


def backend(executor: Any, *, max_workers: int | None, tasks: int, inputs: Inputs) -> Backend:
    if executor is None:
        import os

        workers = max_workers or os.cpu_count() or 1
        return LocalPool(max(1, min(workers, tasks)), inputs)
    client = dask_client(executor)
    if client is not None:
        return Dask(client, executor, inputs)
    return Pooled(executor, inputs)


def dask_client(executor: Any) -> Any:
    """The `distributed.Client` behind `executor` (the client itself or `client.get_executor()`),
    else None. Looks at the type's module first, so a sweep without Dask never imports it."""
    if not type(executor).__module__.startswith("distributed"):
        return None
    from distributed import Client

    if isinstance(executor, Client):
        return executor
    client = getattr(executor, "_client", None)  # distributed.cfexecutor.ClientExecutor
    return client if isinstance(client, Client) else None
