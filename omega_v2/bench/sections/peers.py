"""`peers`: backtesting.py's SMA(20)/SMA(50) crossover on the same year CSV (the bid file), in a
fresh process, against our sma_crossover dev runs of the `e2e` section (CSV and parquet)."""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata
from typing import Any

from omega_v2.bench.children import script
from omega_v2.bench.context import Bench
from omega_v2.bench.measure import json_output, measure
from omega_v2.bench.stats import ratio
from omega_v2.bench.workload import CASH, STRATEGIES

INSTALL_HINT = "pip install 'omega-v2[bench]'  (or: pip install backtesting)"
SPAN = "year"


def installed() -> bool:
    return importlib.util.find_spec("backtesting") is not None


def backtesting_run(bench: Bench) -> dict[str, Any]:
    """backtesting.py's SMA crossover on the year CSV (median of `repeat` fresh processes), once
    per bench."""
    csv = bench.dataset(SPAN, "csv").files["bid"]
    params = STRATEGIES["sma"][1]
    first_day = bench.spans[SPAN].first.isoformat()
    args = [str(csv), first_day, str(params["fast"]), str(params["slow"]), str(CASH)]
    cmd = [sys.executable, script("backtesting_sma"), *args]
    what = "backtesting.py SMA crossover"

    def once(_: int) -> dict[str, Any]:
        measured = measure(cmd, what=what)
        return {"wall_s": measured.wall_s, "peak_rss_mb": measured.peak_rss_mb, **json_output(measured, what)}

    name = f"backtesting.py sma {bench.spans[SPAN].label} csv"
    return bench.shared("backtesting_sma", lambda: bench.repeated(name, once))


def section(bench: Bench) -> dict[str, Any]:
    if not installed():
        return {"skipped": f"backtesting.py is not installed; {INSTALL_HINT}"}
    csv = bench.dataset(SPAN, "csv").files["bid"]
    params = STRATEGIES["sma"][1]
    peer = backtesting_run(bench)
    ours = {fmt: bench.omega("sma", SPAN, fmt, "dev") for fmt in ("csv", "parquet")}
    return {
        "library": "backtesting.py",
        "version": metadata.version("backtesting"),
        "file": str(csv),
        "strategy": f"SMA({params['fast']})/SMA({params['slow']}) crossover, reversed on each cross, costs off",
        "run": peer,
        "ours": {fmt: {k: r[k] for k in ("run_id", "wall_s", "bars", "trades")} for fmt, r in ours.items()},
        "ratios": {f"wall_vs_ours_{fmt}_dev": ratio(peer["wall_s"], r["wall_s"]) for fmt, r in ours.items()},
    }
