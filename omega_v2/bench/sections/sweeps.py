"""`sweeps`: parameter sweeps as users run them from Python, every measurement a fresh process
(`omega_v2.bench.sweep_runs`), MRZ on seeded M1 data.

* `machine_scaling`: the same pure-CPU loop in one process and in `WORKERS` processes at once,
  the ceiling of any speedup on this machine at this moment (shared or virtual CPUs scale less
  than their count).
* `grid_64`: 64 points (z_score_long x z_score_short, 8 x 8) on the year with daily equity
  (lean outputs, as a large sweep keeps them), as a loop of `omega_v2.run`, on the local process
  pool and on a Dask LocalCluster of single-threaded worker processes whose runs come home as
  bytes: runs per second, the worker time per run beyond the engine's own, and each worker's
  resident memory after its first, middle and last run, its highest, and its trend over the
  sweep (flat: no growth per run).
* `eight_points`: 8 points on a quarter with the config's outputs (equity per bar), a loop of
  `omega_v2.run` against the sweep on the same number of workers: the speedup, and each engine
  phase's mean in both, which shows what two concurrent runs contend for; again with
  `outputs.equity = "none"`, which leaves the write phase almost nothing to fsync. The
  machine's idle share during each measurement says how much of the CPUs other work took.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any

from omega_v2.bench import workload
from omega_v2.bench.children import script
from omega_v2.bench.context import Bench
from omega_v2.bench.measure import json_output, measure
from omega_v2.bench.stats import ratio
from omega_v2.sweeps.tasks import PHASES

WORKERS = 2
STRATEGY = "mrz"
QUARTER_DAYS = 92
# About 0.15 s of an integer loop per process.
SPIN_ITERATIONS = 4_000_000
LONG, SHORT = "strategy_parameters.z_score_long", "strategy_parameters.z_score_short"
GRID_64 = {
    LONG: [-1.5, -1.75, -2.0, -2.25, -2.5, -2.75, -3.0, -3.25],
    SHORT: [1.5, 1.75, 2.0, 2.25, 2.5, 2.75, 3.0, 3.25],
}
GRID_8 = {LONG: GRID_64[LONG]}


def section(bench: Bench) -> dict[str, Any]:
    year_span = bench.spans["year"]
    year = bench.dataset("year", "parquet")
    quarter_span = _quarter(year_span)
    quarter = _dataset(bench, quarter_span)
    year_config = _config(bench, year_span)
    quarter_config = _config(bench, quarter_span)
    grid_64 = {
        mode: _measure(bench, f"grid64-{mode}", mode, year_config, year.root, GRID_64, "daily")
        for mode in ("sequential", "pool", "cluster")
    }
    loop_rate = grid_64["sequential"]["runs_per_s"]
    speedups = {f"{mode}_vs_sequential": ratio(grid_64[mode]["runs_per_s"], loop_rate) for mode in ("pool", "cluster")}
    eight: dict[str, Any] = {}
    for equity in (None, "none"):
        label = "config_outputs" if equity is None else "equity_none"
        runs = {
            mode: _measure(bench, f"eight-{mode}-{label}", mode, quarter_config, quarter.root, GRID_8, equity)
            for mode in ("sequential", "pool")
        }
        eight[label] = {**runs, **_comparison(runs["sequential"], runs["pool"])}
    return {
        "workers": WORKERS,
        "strategy": workload.STRATEGIES[STRATEGY][0],
        "machine_scaling": _machine_scaling(bench),
        "grid_64": {"span": year_span.describe(), "equity": "daily", "grid": GRID_64, **grid_64, **speedups},
        "eight_points": {
            "span": quarter_span.describe(),
            "data": quarter.describe(),
            "grid": GRID_8,
            **eight,
        },
    }


def _quarter(year: workload.Span) -> workload.Span:
    """The last QUARTER_DAYS days of the year span (all of it when `--days` makes it shorter)."""
    days = min(QUARTER_DAYS, (year.last - year.first).days + 1)
    return workload.Span(f"{days}d", year.last - timedelta(days=days - 1), year.last)


def _dataset(bench: Bench, span: workload.Span) -> workload.Dataset:
    root = bench.options.work / "data" / f"{span.label}-parquet"
    return workload.make_dataset(root, span, "parquet", bench.options.seed)


def _config(bench: Bench, span: workload.Span) -> str:
    path = bench.options.work / "configs" / f"sweeps-{STRATEGY}-{span.label}.json"
    return str(workload.write_config(path, workload.config(STRATEGY, span, "dev")))


def _measure(
    bench: Bench, name: str, mode: str, config: str, data_root: Any, grid: dict[str, list[float]], equity: str | None
) -> dict[str, Any]:
    specs = bench.options.work / "sweep-specs"
    specs.mkdir(parents=True, exist_ok=True)

    def once(i: int) -> dict[str, Any]:
        spec = {
            "mode": mode,
            "workers": WORKERS,
            "config": config,
            "grid": grid,
            "data_root": str(data_root),
            "var_dir": str(bench.var_dir / "sweeps" / f"{name}-{i}"),
            "equity": equity,
            "sweep_id": f"{bench.tag}-{name}-{i}",
        }
        path = specs / f"{name}-{i}.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        measured = measure([sys.executable, "-m", "omega_v2.bench.sweep_runs", str(path)], what=name)
        return {**json_output(measured, name), "process_wall_s": measured.wall_s, "peak_rss_mb": measured.peak_rss_mb}

    return bench.repeated(name, once)


def _machine_scaling(bench: Bench) -> dict[str, Any]:
    """Pure-CPU work in one process and in WORKERS at once: the most any sweep can gain here."""

    def once(i: int) -> dict[str, Any]:
        cmd = [sys.executable, script("cpu_scaling"), str(WORKERS), str(SPIN_ITERATIONS)]
        return json_output(measure(cmd, what="cpu scaling"), "cpu scaling")

    return bench.repeated("cpu scaling", once, key="scaling")


def _comparison(sequential: dict[str, Any], pool: dict[str, Any]) -> dict[str, Any]:
    """The sweep's rate against the loop's, and how much longer each phase took in the sweep
    (a phase that slows by about the number of workers is one the runs take turns at)."""
    seq_phases, pool_phases = sequential["phases_ms_mean"], pool["phases_ms_mean"]
    return {
        "speedup": ratio(pool["runs_per_s"], sequential["runs_per_s"]),
        "phase_slowdown": {p: ratio(pool_phases[p], seq_phases[p]) for p in PHASES},
        "engine_slowdown": ratio(pool["engine_ms_mean"], sequential["engine_ms_mean"]),
    }
