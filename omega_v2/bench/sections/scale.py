"""`scale`: the ten years from parquet (sma and MRZ, dev) against the year: linear cost means
every ratio close to the bars ratio (RSS grows with the bars held in memory)."""

from __future__ import annotations

from typing import Any

from omega_v2.bench.context import Bench
from omega_v2.bench.stats import ratio
from omega_v2.bench.workload import STRATEGIES

FORMAT, MODE = "parquet", "dev"


def section(bench: Bench) -> dict[str, Any]:
    runs, ratios = {}, {}
    for strategy in STRATEGIES:
        long, short = (bench.omega(strategy, span, FORMAT, MODE) for span in ("decade", "year"))
        runs[strategy] = long
        ratios[strategy] = scale_ratios(long, short)
    spans = bench.spans
    return {
        "span": spans["decade"].describe(),
        "compared_with": spans["year"].describe(),
        "format": FORMAT,
        "mode": MODE,
        "runs": runs,
        "ratios": ratios,
    }


def scale_ratios(long: dict[str, Any], short: dict[str, Any]) -> dict[str, float | None]:
    return {
        "bars": ratio(long["bars"], short["bars"]),
        "wall": ratio(long["wall_s"], short["wall_s"]),
        # The process wall holds ~0.2 s of interpreter start and imports that do not scale.
        "engine_total": ratio(long["phases_ms"]["engine_total"], short["phases_ms"]["engine_total"]),
        "loop": ratio(long["phases_ms"]["backtest"], short["phases_ms"]["backtest"]),
        "data_load": ratio(long["phases_ms"]["data_load"], short["phases_ms"]["data_load"]),
        "peak_rss": ratio(long["peak_rss_mb"], short["peak_rss_mb"]),
    }
