"""One measured sweep in a fresh process, as a user runs it from Python:
`python -m omega_v2.bench.sweep_runs JOB.json` prints one JSON object.

JOB: `mode` (`sequential`: a loop of `omega_v2.run`, the rate to beat; `pool`: `omega_v2.sweep`
on its local process pool of `workers`; `cluster`: `omega_v2.sweep` on a Dask `LocalCluster` of
`workers` single-threaded worker processes), `config` (a JSON file), `grid`, `data_root`,
`var_dir`, `equity` (None keeps the config's outputs.equity) and `sweep_id`.

Timed apart: the imports a session pays once (omega_v2, pandas), the cluster's start, the runs
(`wall_s`: the sweep call, or the loop). Per run: the engine's phases and the worker-side time
around them, from the sweep's own store (`points.jsonl`, in the order the points finished), and
each worker's resident memory after each of its runs. The machine's idle and iowait shares over
the runs tell whether other work shared the CPUs.
"""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

PHASES = ("data_load", "strategy_init", "backtest", "metrics", "write")


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    started = time.perf_counter()
    import pandas  # noqa: F401 - the summary's, paid once per session

    import omega_v2
    import omega_v2.sweeps

    doc: dict[str, Any] = {"mode": spec["mode"], "imports_s": time.perf_counter() - started}
    if spec["mode"] == "sequential":
        doc.update(_sequential(omega_v2, spec))
    else:
        doc.update(_swept(omega_v2, spec))
    print(json.dumps(doc))


def _sequential(omega_v2: Any, spec: dict[str, Any]) -> dict[str, Any]:
    config = json.loads(Path(spec["config"]).read_text(encoding="utf-8"))
    if spec["equity"]:
        config["outputs"] = {"equity": spec["equity"]}
    points = omega_v2.sweeps.expand_grid(config, spec["grid"])
    window, runs = _Window(), []
    for _, point in points:
        began = time.perf_counter()
        result = omega_v2.run(point, data_root=spec["data_root"], var_dir=spec["var_dir"], progress=False)
        timings = result.summary.timings
        runs.append(
            {
                "task_ms": (time.perf_counter() - began) * 1e3,
                "engine_ms": timings.total_ns / 1e6,
                "phases_ms": {p: getattr(timings, f"{p}_ns") / 1e6 for p in PHASES},
                "profit_net": result.metrics["profit_net"],
            }
        )
    return _figures(runs, window.close(), workers=1)


def _swept(omega_v2: Any, spec: dict[str, Any]) -> dict[str, Any]:
    options = {
        "data_root": spec["data_root"],
        "var_dir": spec["var_dir"],
        "equity": spec["equity"],
        "sweep_id": spec["sweep_id"],
        "resume": False,
        "progress": False,
    }
    extra: dict[str, Any] = {}
    if spec["mode"] == "pool":
        window = _Window()
        result = omega_v2.sweep(spec["config"], spec["grid"], max_workers=spec["workers"], **options)
        span = window.close()
    else:
        from distributed import Client, LocalCluster

        began = time.perf_counter()
        with (
            LocalCluster(n_workers=spec["workers"], threads_per_worker=1, processes=True, dashboard_address=None) as c,
            Client(c) as client,
        ):
            client.run(lambda: __import__("omega_v2.sweeps"))  # warm, as a long-lived cluster's workers are
            extra["cluster_start_s"] = time.perf_counter() - began
            window = _Window()
            result = omega_v2.sweep(spec["config"], spec["grid"], executor=client, **options)
            span = window.close()
        span["children_cpu_s"] = None  # the workers are not this process's children
    figures = _figures(_recorded(result), span, workers=spec["workers"])
    figures["statuses"] = result.counts
    return {**figures, **extra}


def _recorded(result: Any) -> list[dict[str, Any]]:
    lines = (result.directory / "points.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _figures(runs: list[dict[str, Any]], window: dict[str, Any], *, workers: int) -> dict[str, Any]:
    n = len(runs)
    wall_ms = window["wall_s"] * 1e3
    engine = [r["engine_ms"] for r in runs if r.get("engine_ms") is not None]
    return {
        "points": n,
        **window,
        "runs_per_s": n / window["wall_s"],
        "engine_ms_mean": sum(engine) / len(engine),
        "phases_ms_mean": {p: sum(r["phases_ms"][p] for r in runs) / n for p in PHASES},
        "task_ms_mean": sum(r["task_ms"] for r in runs) / n,
        # Worker-side Python around the engine: config validation, logs, reading the result.
        "python_ms_mean": sum(r["task_ms"] - r["engine_ms"] for r in runs) / n,
        # Worker time per run that is not engine time: everything a sweep adds, idle included.
        "overhead_per_run_ms": (wall_ms * workers - sum(engine)) / n,
        "workers_rss_mb": _rss(runs),
    }


def _rss(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]] | None:
    """Per worker, its resident memory after its first, middle and last run, the highest, and
    the trend: the median of its last third of runs minus that of its first third (after the
    first run). A single reading can catch a run's freed memory not yet given back (a few MB,
    gone at the next run); a leak shows in the trend."""
    by_worker: dict[str, list[float]] = {}
    for r in runs:
        if r.get("worker_rss_mb") is not None:
            by_worker.setdefault(r["worker"], []).append(r["worker_rss_mb"])
    if not by_worker:
        return None
    return {w: _rss_figures(v) for w, v in sorted(by_worker.items())}


def _rss_figures(v: list[float]) -> dict[str, float]:
    later = v[1:] or v
    third = max(1, len(later) // 3)
    return {
        "runs": len(v),
        "start": v[0],
        "middle": v[len(v) // 2],
        "end": v[-1],
        "max": max(v),
        "growth": statistics.median(later[-third:]) - statistics.median(later[:third]),
    }


class _Window:
    """Wall time, this process's and its children's CPU, and the machine's idle and iowait
    shares (Linux /proc/stat) from construction to `close()`."""

    def __init__(self) -> None:
        self.began, self.stat = time.perf_counter(), _cpu_stat()
        self.usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]

    def close(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.began
        after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        cpu = [(a.ru_utime + a.ru_stime) - (b.ru_utime + b.ru_stime) for a, b in zip(after, self.usage, strict=True)]
        doc: dict[str, Any] = {"wall_s": wall, "self_cpu_s": cpu[0], "children_cpu_s": cpu[1]}
        stat = _cpu_stat()
        if stat and self.stat:
            total = stat[2] - self.stat[2]
            doc["machine_idle_share"] = (stat[0] - self.stat[0]) / total if total else None
            doc["machine_iowait_share"] = (stat[1] - self.stat[1]) / total if total else None
        return doc


def _cpu_stat() -> tuple[int, int, int] | None:
    """(idle, iowait, total) jiffies of all CPUs."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return values[3], values[4], sum(values)


if __name__ == "__main__":
    main(sys.argv[1])
