"""`e2e`: sma_crossover and MRZ on the year, from parquet and from CSV, in dev, prod and
profiling mode: wall, phases, loop throughput, trades, peak RSS, and the mode and format ratios."""

from __future__ import annotations

from typing import Any

from omega_v2.bench.context import Bench
from omega_v2.bench.stats import ratio
from omega_v2.bench.workload import FORMATS, MODES, STRATEGIES

SPAN = "year"


def section(bench: Bench) -> dict[str, Any]:
    runs = {
        strategy: {fmt: {mode: bench.omega(strategy, SPAN, fmt, mode) for mode in MODES} for fmt in FORMATS}
        for strategy in STRATEGIES
    }
    return {"span": bench.spans[SPAN].describe(), "runs": runs, "ratios": {s: ratios(r) for s, r in runs.items()}}


def ratios(by_format: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """prod/dev and profiling/dev (loop and wall) per format; CSV/parquet wall per mode."""
    out: dict[str, Any] = {}
    for fmt, by_mode in by_format.items():
        dev = by_mode["dev"]
        out[fmt] = {
            f"{kind}_{mode}_vs_dev": ratio(_figure(by_mode[mode], kind), _figure(dev, kind))
            for mode in MODES
            if mode != "dev"
            for kind in ("loop", "wall")
        }
    out["wall_csv_vs_parquet"] = {
        mode: ratio(by_format["csv"][mode]["wall_s"], by_format["parquet"][mode]["wall_s"]) for mode in MODES
    }
    return out


def _figure(run: dict[str, Any], kind: str) -> float:
    return run["phases_ms"]["backtest"] if kind == "loop" else run["wall_s"]
