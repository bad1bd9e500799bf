"""`sweep`: many runs of one base config over a grid, on a local process pool or a Dask cluster,
resumable from the store of finished points (see `docs/sweeps.md`)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2 import paths
from omega_v2.config import LoadedConfig, load_config
from omega_v2.errors import Code, ConfigError, OutputError, RunCancelled
from omega_v2.interrupts import StopOnSignals
from omega_v2.progress import SweepProgress
from omega_v2.runner import config_or_example
from omega_v2.sweeps import executors, identity, summary, tasks, transfer
from omega_v2.sweeps import grid as grids
from omega_v2.sweeps.store import Reuse, Runs, SweepStore, is_url, local_path
from omega_v2.sweeps.summary import Ranking, SweepResult

_log = logging.getLogger("omega_v2.sweeps")
#: Runs brought home as bytes that are written into the var dir at once.
COMMIT_THREADS = 4


def sweep(
    config: Any,
    grid: Mapping[str, Iterable[Any]],
    *,
    executor: Any = None,
    max_workers: int | None = None,
    data: Any = None,
    signals: Any = None,
    strategy: Any = None,
    data_root: str | os.PathLike[str] | None = None,
    var_dir: str | os.PathLike[str] | None = None,
    sweep_id: str | None = None,
    resume: bool = True,
    retry_failed: bool = False,
    equity: str | None = None,
    store: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    rank_by: str = "profit_net",
) -> SweepResult:
    """Runs `config` (a dict, a JSON file, a LoadedConfig, or None for the bundled example) at
    every point of `grid` (dotted config paths to lists of values) and returns the ranked
    :class:`SweepResult`.

    * `executor`: None for a local process pool of `max_workers` (default: one per core), a Dask
      `distributed.Client` (or `client.get_executor()`), or any `concurrent.futures.Executor`.
    * `data`, `signals`, `strategy`: in-memory inputs as for :func:`omega_v2.run`, sent to each
      worker once. Without `data`, workers read `data_root` themselves.
    * `var_dir`: where the runs and their logs arrive (the client's, whatever the workers' disks),
      and the store of finished points (`<var>/sweeps/<sweep_id>/`); `store`: a directory every
      worker can write (the runs go there directly) or an fsspec URL (workers upload to it).
    * `sweep_id` (default: derived from the base config, the grid's parameter names and the
      data) with `resume=True` reuses every point already finished; failed points run again
      only with `retry_failed=True`.
    * `equity`: `bar`, `daily` or `none` overrides `outputs.equity` (lean outputs; metrics are
      identical). `rank_by`: the metric to rank by, `-metric` for lower is better.
    * `progress`: a bar with done/failed/reused counts on a terminal, plain lines elsewhere;
      False for none.
    """
    loaded = load_config(config_or_example(config))
    base = grids.sweep_base(loaded, equity)
    values = grids.grid_values(grid)
    points = [grids.checked(params, cfg) for params, cfg in grids.expand_grid(base, values)]
    settings = Settings.make(
        loaded,
        executor=executor,
        max_workers=max_workers,
        data=data,
        signals=signals,
        strategy=strategy,
        data_root=data_root,
        var_dir=var_dir,
        resume=resume,
        retry_failed=retry_failed,
        store=store,
        progress=progress,
        rank_by=rank_by,
    )
    sweep_id = settings.sweep_id(sweep_id, base, list(values), kind="sweep")
    return run_points(points, list(values), settings, sweep_id)


@dataclass(frozen=True)
class Settings:
    """Everything about a sweep but its points (walk-forward runs several sweeps with one)."""

    executor: Any
    max_workers: int | None
    inputs: tasks.Inputs
    identity: dict[str, Any]
    #: data_root as given, for the workers (None: the workers' own default).
    data_root: str | None
    example_data: bool
    #: The data root as this process sees it (None for an in-memory market).
    local_root: Path | None
    var: Path
    resume: bool
    retry_failed: bool
    store: str | None
    progress: bool
    ranking: Ranking

    @classmethod
    def make(cls, loaded: LoadedConfig, **options: Any) -> Settings:
        ranking = Ranking.parse(options["rank_by"])
        workers = options["max_workers"]
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ConfigError(
                "max_workers must be a whole number >= 1 (or None: one per core)",
                code=Code.CONFIG_INVALID,
                context={"field": "max_workers"},
            )
        inputs = _inputs(options["data"], options["signals"], options["strategy"])
        example = loaded.source == "example" and options["data_root"] is None
        market = inputs.market is not None
        store = options["store"]
        return cls(
            executor=options["executor"],
            max_workers=options["max_workers"],
            inputs=inputs,
            identity=identity.input_identity(inputs),
            data_root=None if options["data_root"] is None else str(options["data_root"]),
            example_data=example,
            local_root=None if market else paths.data_root(options["data_root"], example=example).resolve(),
            var=paths.var_dir(options["var_dir"]).resolve(),
            resume=options["resume"],
            retry_failed=options["retry_failed"],
            store=None if store is None else (str(store) if is_url(str(store)) else str(local_path(str(store)))),
            progress=options["progress"] is not False,
            ranking=ranking,
        )

    def sweep_id(
        self, given: str | None, base: dict[str, Any], params: list[str], *, kind: str, extra: dict | None = None
    ) -> str:
        """The sweep_id given (checked), else one derived from what defines the sweep."""
        if given is not None:
            return identity.checked_sweep_id(given)
        root = None if self.local_root is None else str(self.local_root)
        return identity.default_sweep_id(base, params, self.identity, root, kind, extra)


def _inputs(data: Any, signals: Any, strategy: Any) -> tasks.Inputs:
    """The in-memory inputs, a signals frame converted (and so checked) once here."""
    if signals is not None:
        from omega_v2.signals import Signals

        signals = signals if isinstance(signals, Signals) else Signals(signals)
    return tasks.Inputs(market=data, signals=signals, strategy=strategy)


def run_points(
    points: list[grids.Point],
    params: list[str],
    settings: Settings,
    sweep_id: str,
    *,
    called_as: tuple[str, str] | None = None,
) -> SweepResult:
    """Runs the points not already in the store and returns the summary of all of them.
    `called_as`: (the function, its sweep_id) a cancelled caller is told to call again
    (default: `sweep` with `sweep_id`)."""
    from omega_v2.inputs import engine_inputs

    for point in points:  # every point's inputs are checked before any run starts
        engine_inputs(point.loaded, **settings.inputs.kwargs())
    keys = [identity.point_key(p.loaded.config_hash, settings.identity) for p in points]
    store = SweepStore(settings.var, sweep_id)
    store.open(
        {
            "sweep_id": sweep_id,
            "params": params,
            "inputs": settings.identity,
            "data_root": None if settings.local_root is None else str(settings.local_root),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    try:
        rows = _Sweep(points, keys, settings, store, called_as or ("sweep", sweep_id)).run()
    finally:
        store.close()
        tasks.release_data()
    table = summary.frame(rows, params, settings.ranking)
    store.write_summary(table)
    return SweepResult(sweep_id, table, tuple(params), _rank_text(settings.ranking), store.directory)


def _rank_text(ranking: Ranking) -> str:
    return ranking.metric if ranking.descending else f"-{ranking.metric}"


class _Sweep:
    """One call's work: reuse what the store holds, run the rest, record each as it finishes."""

    def __init__(
        self,
        points: list[grids.Point],
        keys: list[str],
        settings: Settings,
        store: SweepStore,
        called_as: tuple[str, str],
    ) -> None:
        self.points, self.keys, self.settings, self.store = points, keys, settings, store
        self.called_as = called_as
        self.rows: list[dict[str, Any] | None] = [None] * len(points)
        #: Points whose outcome the store holds (reused or recorded by this call).
        self.kept = 0
        self._lock = threading.Lock()  # commit threads finish points too

    def run(self) -> list[dict[str, Any]]:
        todo = self._reuse()
        with SweepProgress(len(self.points), enabled=self.settings.progress) as bar:
            for row in self.rows:
                if row is not None:
                    bar.update(row["status"])
            if todo:
                self._execute(todo, bar)
        return [row for row in self.rows if row is not None]

    def _reuse(self) -> list[int]:
        """Fills the rows of recorded points that still stand; returns the indices to run."""
        s = self.settings
        entries = self.store.entries() if s.resume else {}
        reuse = Reuse(s.local_root)
        todo, not_retried = [], 0
        for i, key in enumerate(self.keys):
            entry = entries.get(key)
            if entry is None or (entry["status"] == "failed" and s.retry_failed) or not reuse.usable(entry):
                todo.append(i)
                continue
            not_retried += entry["status"] == "failed"
            self.kept += 1
            self.rows[i] = _row(self.points[i].params, {**entry, "status": _reused(entry["status"])}, entry["location"])
        if not_retried:
            _log.warning(
                "sweep %s: %d point(s) failed in an earlier call and were not run again; pass retry_failed=True "
                "to run them",
                self.store.sweep_id,
                not_retried,
            )
        return todo

    def _execute(self, todo: list[int], bar: SweepProgress) -> None:
        s = self.settings
        backend = executors.backend(s.executor, max_workers=s.max_workers, tasks=len(todo), inputs=s.inputs)
        mode, target, location = self._delivery(backend)
        futures: dict[Any, int] = {}
        # Runs that come home as bytes are committed on threads (fsync releases the GIL), so the
        # client's disk does not take the runs one at a time while workers wait on it.
        with (
            StopOnSignals() as signals,
            ThreadPoolExecutor(COMMIT_THREADS, thread_name_prefix="omega_v2-commit") as committer,
        ):
            taken = _Taken(self, backend, committer, location, bar)
            interrupted = True
            try:
                futures.update({backend.submit(self._task(i, mode, target)): i for i in todo})
                for future in backend.as_completed(futures):
                    taken(futures.pop(future), future)
                interrupted = False
            except KeyboardInterrupt:
                pass  # Ctrl-C or SIGTERM: reported below, once what finished meanwhile is kept
            finally:
                backend.close(cancel=interrupted)
                if interrupted:  # Ctrl-C or an error here: keep what finished meanwhile
                    for future, i in futures.items():
                        if future.done() and not future.cancelled():
                            taken(i, future)
            taken.check()
        if interrupted:
            raise self._cancelled(signals)

    def _cancelled(self, signals: StopOnSignals) -> RunCancelled:
        function, sweep_id = self.called_as
        part = "" if self.store.sweep_id == sweep_id else f" of {self.store.sweep_id}"  # walk_forward's train/test
        outcome = (
            f"{self.kept} of {len(self.points)} point(s){part} are finished and kept in its store; call the "
            f"same {function} again (sweep_id={sweep_id!r}, resume=True) to run only the others"
        )
        return signals.cancelled(f"{function} {sweep_id}", outcome, run_id=None, context={"sweep_id": sweep_id})

    def _delivery(self, backend: executors.Backend) -> tuple[str, str | None, str]:
        """(task mode, its target, where the runs end up)."""
        s = self.settings
        if s.store is None:
            if backend.shares_disk:
                return tasks.DIRECT, str(s.var), str(s.var)
            return tasks.SHIP, None, str(s.var)
        if is_url(s.store):
            return tasks.UPLOAD, s.store, s.store
        return tasks.DIRECT, s.store, s.store

    def _task(self, i: int, mode: str, target: str | None) -> tasks.Task:
        s = self.settings
        return tasks.Task(i, self.points[i].config, s.data_root, s.example_data, mode, target)

    def commit(self, i: int, outcome: dict[str, Any], bundle: transfer.Bundle, location: str, bar: Any) -> None:
        """Writes a run that came home as bytes into the var dir, then finishes its point."""
        try:
            committed = transfer.commit(bundle, self.settings.var)
        except OutputError as e:
            outcome = _lost(f"{e.code}: {e}", outcome["run_id"])
        else:
            if committed is None and outcome["status"] == "success":
                outcome = _lost("the run's directory did not come back", outcome["run_id"])
        self.finish(i, outcome, location, bar)

    def finish(self, i: int, outcome: dict[str, Any], location: str, bar: Any) -> None:
        """Records a finished point in the store, unless its outcome says nothing about the
        point (cancelled, a lost worker, a client-side write failure), and shows it."""
        with self._lock:
            if not outcome["transient"]:
                entry = {"key": self.keys[i], "params": self.points[i].params, "location": location, **outcome}
                self.store.append(entry)
                self.kept += 1
            self.rows[i] = _row(self.points[i].params, outcome, location)
            bar.update(outcome["status"])


class _Taken:
    """Takes each finished task: its row and store entry, or, for a run that came home as
    bytes, a commit on the committer's threads that ends the same way."""

    def __init__(self, sweep: _Sweep, backend: executors.Backend, committer: Any, location: str, bar: Any) -> None:
        self.sweep, self.backend, self.committer, self.location, self.bar = sweep, backend, committer, location, bar
        self.commits: list[Any] = []

    def __call__(self, i: int, future: Any) -> None:
        try:
            outcome = future.result()
        except Exception as e:  # the worker died or the task could not run: not the point's doing
            outcome = _lost(f"{type(e).__name__}: {e}")
        self.backend.done(future)
        bundle = outcome.pop("bundle", None)
        if bundle is None:
            self.sweep.finish(i, outcome, self.location, self.bar)
        else:
            self.commits.append(self.committer.submit(self.sweep.commit, i, outcome, bundle, self.location, self.bar))

    def check(self) -> None:
        for commit in self.commits:
            commit.result()  # a failure other than the var dir's own (a bug) must not vanish


def _reused(status: str) -> str:
    return "reused" if status == "success" else status


def _lost(error: str, run_id: str | None = None) -> dict[str, Any]:
    return {"status": "failed", "run_id": run_id, "error": error, "transient": True, "metrics": {}}


def _row(params: dict[str, Any], outcome: dict[str, Any], location: str) -> dict[str, Any]:
    run_id = outcome.get("run_id")
    run_dir = Runs.at(location).run_dir(run_id) if run_id and outcome["status"] != "failed" else None
    return {
        **params,
        "status": outcome["status"],
        "run_id": run_id,
        "error": outcome.get("error", ""),
        **outcome.get("metrics", {}),
        **{k: outcome.get(k) for k in summary.COST_COLUMNS if k != "run_dir"},
        "run_dir": run_dir,
    }
