"""`own_strategy`: the bench's SMA crossover written by a user, as a signals frame and as a
per-bar Python strategy, on the year of M1 (parquet), against the built-in sma_crossover's loop
and backtesting.py's `Strategy.next` run of the same strategy (from `peers`); plus
`Market.from_frames` of that year. Both re-expressions must make the built-in's trades, byte
for byte (reported, not asserted: the test suite owns that)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from omega_v2.bench import workload
from omega_v2.bench.children import script
from omega_v2.bench.context import Bench
from omega_v2.bench.measure import json_output, measure
from omega_v2.bench.sections import peers
from omega_v2.bench.stats import per_second, ratio

SPAN, FORMAT = "year", "parquet"


def section(bench: Bench) -> dict[str, Any]:
    span = bench.spans[SPAN]
    data = bench.dataset(SPAN, FORMAT)
    builtin = bench.omega("sma", SPAN, FORMAT, "dev")
    config = workload.write_config(
        bench.options.work / "configs" / f"own-sma-{span.label}.json", workload.config("sma", span, "dev")
    )
    what = "own strategies"

    def once(i: int) -> dict[str, Any]:
        run_ids = f"{bench.tag}-own-{i}"
        cmd = [sys.executable, script("own_sma"), str(config), str(data.root), str(bench.var_dir), run_ids]
        doc = json_output(measure(cmd, what=what), what)
        return {**doc, "python_loop_s": doc["python"]["loop_s"]}

    ours = bench.repeated(f"own sma {span.label} {FORMAT}", once, key="python_loop_s")
    builtin_loop_s = builtin["phases_ms"]["backtest"] / 1e3
    bars = ours["bars"]
    report: dict[str, Any] = {
        "strategy": "SMA(20)/SMA(50) crossover of the mid close, reversed on each cross",
        "bars": bars,
        "builtin": {
            "run_id": builtin["run_id"],
            "loop_s": builtin_loop_s,
            "loop_bars_per_s": per_second(bars, builtin_loop_s),
        },
        "signals": _leg(ours["signals"], bars, builtin),
        "python": _leg(ours["python"], bars, builtin),
        "market_from_frames_s": ours["from_frames"]["s"],
        "market_rows_per_side": ours["from_frames"]["rows_per_side"],
        "ratios": {"signals_loop_vs_builtin_loop": ratio(ours["signals"]["loop_s"], builtin_loop_s)},
    }
    if peers.installed():
        peer = peers.backtesting_run(bench)
        python_s = ours["python"]["init_s"] + ours["python"]["loop_s"]
        report["backtesting_py"] = {"run_s": peer["run_s"], "bars_per_s": per_second(peer["bars"], peer["run_s"])}
        report["ratios"]["backtesting_run_vs_python_strategy"] = ratio(peer["run_s"], python_s)
    return report


def _leg(run: dict[str, Any], bars: int, builtin: dict[str, Any]) -> dict[str, Any]:
    trades = [(Path(r["run_dir"]) / "trades.json").read_bytes() for r in (run, builtin)]
    same = trades[0] == trades[1]
    return {**run, "loop_bars_per_s": per_second(bars, run["loop_s"]), "trades_identical_to_builtin": same}
