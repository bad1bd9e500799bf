"""The bench's SMA crossover written by a user, both ways, on the engine: as a signals frame and
as a per-bar `omega_v2.Strategy`, plus `Market.from_frames` of the same year.

argv: the normalised sma_crossover config (JSON file), data root, var dir, run_id prefix. Unlike
the other children this one runs omega-v2 in-process: what it measures is the engine's own loop
(`timings.backtest_ns` of each run's summary) and the Python costs around it, not a fresh
process. Both strategies re-express the built-in exactly (SMAs of the mid close, crosses at the
close, the built-in's snapshot values), so their trades.json can be compared byte for byte with
the built-in's. Prints one JSON object.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import omega_v2 as om
from omega_v2 import indicators as ind

# Market.from_frames is timed this many times; the fastest is kept (the frames are in memory).
FROM_FRAMES_REPEATS = 5


class Probe(om.Strategy):
    """Keeps the run's bars, to build the signals frame from exactly what the engine trades."""

    seen: om.Bars | None = None

    def init(self, bars: om.Bars, params: Any) -> None:
        type(self).seen = bars
        self.first_signal_index = len(bars) - 1  # asks for the last bar only


class Crossover(om.Strategy):
    def init(self, bars: om.Bars, params: Any) -> None:
        mid = (bars.bid_close + bars.ask_close) * 0.5
        self.fast, self.slow = ind.sma(mid, params["fast"]), ind.sma(mid, params["slow"])
        self.first_signal_index = params["slow"]

    def on_bar(self, t: int, position: str | None) -> Any:
        f0, s0, f1, s1 = self.fast[t - 1], self.slow[t - 1], self.fast[t], self.slow[t]
        snapshot = {"sma_fast": f1, "sma_slow": s1}
        if f0 < s0 and f1 > s1 and position != "long":
            return (om.Reverse if position == "short" else om.Enter)("long", snapshot=snapshot)
        if f0 > s0 and f1 < s1 and position != "short":
            return (om.Reverse if position == "long" else om.Enter)("short", snapshot=snapshot)
        return None


def crossover_frame(bars: om.Bars, fast: int, slow: int) -> pd.DataFrame:
    mid = (bars.bid_close + bars.ask_close) * 0.5
    f, s = ind.sma(mid, fast), ind.sma(mid, slow)
    up, down = np.zeros(len(mid), bool), np.zeros(len(mid), bool)
    t = np.arange(slow, len(mid))
    up[t] = (f[t - 1] < s[t - 1]) & (f[t] > s[t])
    down[t] = (f[t - 1] > s[t - 1]) & (f[t] < s[t])
    return pd.DataFrame({"enter_long": up, "enter_short": down, "sma_fast": f, "sma_slow": s}, index=bars.index)


def timed_run(config: dict[str, Any], tag: str, **kwargs: Any) -> dict[str, Any]:
    started = time.perf_counter()
    result = om.run(config, progress=False, run_id=tag, **kwargs)
    wall = time.perf_counter() - started
    timings = json.loads(result.summary.to_json())["timings"]
    return {
        "run_id": result.run_id,
        "run_dir": str(result.run_dir),
        "wall_s": wall,
        "init_s": timings["strategy_init_ns"] / 1e9,
        "loop_s": timings["backtest_ns"] / 1e9,
        "trades": result.metrics["total_trades"],
    }


def from_frames_s(root: Path, symbol: str, timeframe: str) -> tuple[float, int]:
    """The fastest `Market.from_frames` of the bid and ask files read with pandas (not timed)."""
    folder = root / symbol
    bid, ask = (pd.read_parquet(folder / f"{symbol}_{timeframe}_{side}.parquet") for side in ("BID", "ASK"))
    best = float("inf")
    for _ in range(FROM_FRAMES_REPEATS):
        started = time.perf_counter()
        om.Market.from_frames(bid=bid, ask=ask, symbol=symbol, timeframe=timeframe)
        best = min(best, time.perf_counter() - started)
    return best, len(bid)


def main(config_path: str, data_root: str, var_dir: str, tag: str) -> None:
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    params = config["strategy_parameters"]
    common = {"data_root": data_root, "var_dir": var_dir}
    probe_config = {**config, "strategy_name": "python", "strategy_parameters": {}}
    om.run(probe_config, strategy=Probe, run_id=f"{tag}-probe", **common)
    assert Probe.seen is not None
    started = time.perf_counter()
    frame = crossover_frame(Probe.seen, params["fast"], params["slow"])
    frame_s = time.perf_counter() - started
    signals_config = {**config, "strategy_name": "signals", "strategy_parameters": {}}
    signals = timed_run(signals_config, f"{tag}-signals", signals=frame, **common)
    python = timed_run({**config, "strategy_name": "python"}, f"{tag}-python", strategy=Crossover, **common)
    from_frames, rows = from_frames_s(Path(data_root), config["symbol"], config["timeframes"]["primary"])
    doc = {
        "bars": len(Probe.seen) - Probe.seen.start_index,
        "signals": {**signals, "frame_s": frame_s},
        "python": python,
        "from_frames": {"s": from_frames, "rows_per_side": rows},
    }
    print(json.dumps(doc))


if __name__ == "__main__":
    main(*sys.argv[1:5])
