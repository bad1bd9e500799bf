"""The worker side of a sweep: one point's run, wherever it executes.

A task carries the point's config and where the run is written; the in-memory inputs travel
separately, once per worker (`executors`). Three destinations:

* `direct`: the run writes into a var dir the worker can see (the client's own var dir for the
  local process pool, or a shared directory named as `store=`); the engine commits it there.
* `ship`: the run writes into a temporary var dir on the worker, whose files come back to the
  client as bytes (`transfer.Bundle`) and the temporary dir is removed; nothing is assumed
  about the worker's disk.
* `upload`: as `ship`, but the worker puts the files into the fsspec store itself.

Failures of the run are outcomes, never exceptions: a sweep goes on past a bad point.
"""

from __future__ import annotations

import os
import pickle
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2.errors import Code, OmegaError, OutputError, RunCancelled
from omega_v2.paths import EXAMPLE_DATA_ROOT

DIRECT, SHIP, UPLOAD = "direct", "ship", "upload"
#: Bars the points run in this process loaded (a worker's, or the client's own when its
#: executor runs points in it), reused by the later points on the same files and span; the
#: client releases its own when the sweep ends (`release_data`).
_data_cache: Any = None
#: The engine's phases, recorded per point in the store (`phases_ms`).
PHASES = ("data_load", "strategy_init", "backtest", "metrics", "write")


@dataclass(frozen=True)
class Inputs:
    """What runs read besides their config and data files, shipped to each worker once."""

    market: Any = None
    signals: Any = None
    strategy: Any = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.market, self.signals, self.strategy))

    def kwargs(self) -> dict[str, Any]:
        return {"data": self.market, "signals": self.signals, "strategy": self.strategy}

    def __reduce__(self) -> tuple[Any, ...]:
        # The arrays go in-band (protocol 4 copies them into fresh, aligned memory when loaded):
        # Dask's out-of-band buffers arrive as views at any offset of a network frame, which the
        # engine cannot read as int64/float64. The strategy stays a plain field, so an executor
        # that pickles classes by value (Dask's cloudpickle) still can.
        arrays = pickle.dumps((self.market, self.signals), protocol=4)
        return (_restore, (arrays, self.strategy))


def _restore(arrays: bytes, strategy: Any) -> Inputs:
    market, signals = pickle.loads(arrays)
    return Inputs(market, signals, strategy)


@dataclass(frozen=True)
class Task:
    """One point to run: its config (seed as configured, hashed as the client hashed it) and where
    its run goes."""

    index: int
    config: dict[str, Any]
    #: data_root as the worker resolves it (None: the worker's own default).
    data_root: str | None
    #: The bundled example's data, wherever omega_v2 is installed on the worker.
    example_data: bool
    mode: str
    #: The var dir (`direct`) or the store URL (`upload`); unused for `ship`.
    target: str | None = None


def run_task(task: Task, inputs: Inputs | None) -> dict[str, Any]:
    """Runs one point; returns its outcome (module level, so any executor can pickle it)."""
    from omega_v2.runner import run

    started = time.perf_counter()
    scratch = None if task.mode == DIRECT else Path(tempfile.mkdtemp(prefix="omega_sweep_", dir=_scratch_root()))
    var = Path(task.target) if task.mode == DIRECT else scratch
    try:
        try:
            result = run(
                task.config,
                data_root=EXAMPLE_DATA_ROOT if task.example_data else task.data_root,
                var_dir=var,
                progress=False,
                data_cache=_process_data_cache(),
                **(inputs or Inputs()).kwargs(),
            )
        except OmegaError as e:
            outcome = _failed(e)
            run_id = e.run_id
        else:
            outcome = _succeeded(result)
            run_id = result.run_id
        outcome["task_ms"] = (time.perf_counter() - started) * 1e3
        if scratch is not None and run_id is not None:
            _deliver(task, scratch, run_id, outcome)
        outcome.update(index=task.index, worker=f"{socket.gethostname()}:{os.getpid()}", worker_rss_mb=rss_mb())
        return outcome
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _process_data_cache() -> Any:
    global _data_cache
    if _data_cache is None:
        from omega_v2.runner import DataCache

        _data_cache = DataCache()
    return _data_cache


def release_data() -> None:
    """Lets go of the bars this process's points loaded."""
    global _data_cache
    _data_cache = None


def _succeeded(result: Any) -> dict[str, Any]:
    meta = result.meta
    dataset = meta["dataset"]
    return {
        "status": "success",
        "run_id": result.run_id,
        "error": "",
        "transient": False,
        "metrics": result.metrics,
        "engine_ms": result.summary.timings.total_ns / 1e6,
        "phases_ms": {phase: getattr(result.summary.timings, f"{phase}_ns") / 1e6 for phase in PHASES},
        # What the store keys and checks a reused point by (the run's own record).
        "record": {
            "config_hash": meta["config"]["hash"],
            "manifest_sha256": dataset["manifest_sha256"],
            "inputs": meta.get("inputs") or {},
            "dataset": {k: dataset[k] for k in ("symbol", "files", "specs", "additional_timeframes") if k in dataset},
        },
    }


def _failed(error: OmegaError) -> dict[str, Any]:
    return {
        "status": "failed",
        "run_id": error.run_id,
        "error": f"{error.code}: {error}",
        # A run cancelled (a signal reached its worker) or whose files could not be written (a
        # full disk, a var dir in the way) says nothing about the point: it runs again next call.
        "transient": isinstance(error, (RunCancelled, OutputError)),
        "metrics": {},
        "engine_ms": None,
        "record": None,
    }


def not_started(task: Task) -> dict[str, Any]:
    """The outcome of a task its worker did not start because the sweep is stopping."""
    return {**_failed(RunCancelled("the sweep was stopped before this point started")), "index": task.index}


def cancelled(outcome: dict[str, Any]) -> bool:
    """Whether `outcome` is a run cancelled (by a signal to its worker, or `not_started`)."""
    return outcome["status"] == "failed" and outcome["error"].startswith(f"{Code.RUN_CANCELLED}:")


def _deliver(task: Task, scratch: Path, run_id: str, outcome: dict[str, Any]) -> None:
    """The run's files, as bytes for the client (`ship`) or put into the store (`upload`)."""
    from omega_v2.sweeps import transfer

    bundle = transfer.collect(scratch, run_id)
    if task.mode == SHIP:
        outcome["bundle"] = bundle
        return
    try:
        transfer.upload(bundle, task.target)
    except Exception as e:  # any filesystem's error: the run is fine but not in the store, so not recorded
        outcome.update(status="failed", error=f"upload to the store failed: {e}", transient=True)


def _scratch_root() -> str | None:
    """A Dask worker's own local directory when running on one, else the system temp dir."""
    if "distributed" not in sys.modules:  # a Dask worker has imported it; nobody else need pay for it
        return None
    from distributed import get_worker

    try:
        return get_worker().local_directory
    except ValueError:  # not inside a Dask task
        return None


def rss_mb() -> float | None:
    """This process's resident memory now (Linux), in MB of 2**20 bytes."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
