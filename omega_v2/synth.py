"""Seeded synthetic FX bid/ask data (random walk with volatility clustering, spread, weekend
gaps) in the engine's data layout, for tests, benchmarks and experiments."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from omega_v2 import _core


def generate(
    root: str | os.PathLike[str],
    start_date: str,
    end_date: str,
    *,
    symbol: str = "EURUSD",
    seed: int = 7,
    timeframes: Sequence[str] = ("M1",),
    format: str = "parquet",
) -> list[Path]:
    """Writes `{root}/{SYMBOL}/{SYMBOL}_{TF}_{BID|ASK}.{parquet|csv}` for each timeframe (all
    aggregated from one M1 walk, so they agree) for the inclusive dates; returns the paths.
    The same arguments always give byte-identical files."""
    written = _core.generate_synthetic_data(
        Path(root), start_date, end_date, symbol=symbol, seed=seed, timeframes=list(timeframes), format=format
    )
    return [Path(p) for p in written]
