"""What the bench runs: the spans, the strategies and modes, their configs and seeded data."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from omega_v2.config import example_config_path, load_config
from omega_v2.synth import generate

SYMBOL = "EURUSD"
TIMEFRAME = "M1"
# The last day of every span; spans count back from it.
SPAN_END = date(2024, 12, 31)
# Extra data before each span for the warmup bars (500 M1 bars need less than a day of weekdays).
WARMUP_DAYS = 14
WARMUP_BARS = 500
#: Every bench account, ours and the peers': ten years of 1-lot crossovers never stop it out
#: (an account that stops out early would time fewer bars than the row says).
CASH = 100_000_000.0
# A quick `--days N` run replaces the ten years by ten times N days, so `scale` keeps its 10x.
SCALE_FACTOR = 10
FORMATS = ("parquet", "csv")
# key -> (strategy_name, parameters; None keeps the example config's, i.e. MRZ scenario 1)
STRATEGIES: dict[str, tuple[str, dict[str, Any] | None]] = {
    "sma": ("sma_crossover", {"fast": 20, "slow": 50}),
    "mrz": ("mean_reversion_z_score", None),
}
# mode -> (config run_mode, --profile)
MODES: dict[str, tuple[str, bool]] = {"dev": ("dev", False), "prod": ("prod", False), "profiling": ("dev", True)}


@dataclass(frozen=True)
class Span:
    """Trading days `first..last` (inclusive); the data starts WARMUP_DAYS earlier."""

    label: str
    first: date
    last: date

    @property
    def data_first(self) -> date:
        return self.first - timedelta(days=WARMUP_DAYS)

    def describe(self) -> dict[str, str]:
        return {"label": self.label, "first_day": self.first.isoformat(), "last_day": self.last.isoformat()}


def spans(days: int | None) -> dict[str, Span]:
    """`year` (2024) and `decade` (2015-2024), or N days and 10 x N days ending on SPAN_END."""
    if days is None:
        return {
            "year": Span("1y", date(SPAN_END.year, 1, 1), SPAN_END),
            "decade": Span("10y", date(SPAN_END.year - 9, 1, 1), SPAN_END),
        }
    long_days = days * SCALE_FACTOR
    return {
        "year": Span(f"{days}d", SPAN_END - timedelta(days=days - 1), SPAN_END),
        "decade": Span(f"{long_days}d", SPAN_END - timedelta(days=long_days - 1), SPAN_END),
    }


@dataclass(frozen=True)
class Dataset:
    root: Path
    format: str
    files: dict[str, Path]  # "bid", "ask"
    synth_s: float

    def nbytes(self) -> dict[str, int]:
        return {side: path.stat().st_size for side, path in self.files.items()}

    def describe(self) -> dict[str, Any]:
        sizes = self.nbytes()
        return {
            "format": self.format,
            "files": {side: str(path) for side, path in self.files.items()},
            "bytes": sizes,
            "synth_s": self.synth_s,
        }


def make_dataset(root: Path, span: Span, fmt: str, seed: int) -> Dataset:
    """Seeded M1 bid/ask files from span.data_first to span.last (not timed as part of any run)."""
    started = time.perf_counter()
    written = generate(
        root,
        span.data_first.isoformat(),
        span.last.isoformat(),
        symbol=SYMBOL,
        seed=seed,
        timeframes=[TIMEFRAME],
        format=fmt,
    )
    files = {side: next(p for p in written if p.stem.endswith(f"_{side.upper()}")) for side in ("bid", "ask")}
    return Dataset(root, fmt, files, time.perf_counter() - started)


def config(strategy: str, span: Span, run_mode: str) -> dict[str, Any]:
    """The bundled example config over `span` on M1 with the strategy's parameters."""
    doc = json.loads(example_config_path().read_text(encoding="utf-8"))
    name, params = STRATEGIES[strategy]
    doc.update(
        strategy_name=name,
        symbol=SYMBOL,
        start_date=span.first.isoformat(),
        end_date=span.last.isoformat(),
        run_mode=run_mode,
        warmup_bars=WARMUP_BARS,
        timeframes={"primary": TIMEFRAME, "additional": []},
        sessions=None,  # every bar trades, as in the peers
    )
    doc["account"]["initial_balance"] = CASH
    if params is not None:
        doc["strategy_parameters"] = params
    return doc


def write_config(path: Path, doc: dict[str, Any]) -> Path:
    """The normalised form, as `omega_v2 validate --write-normalized` would write it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(load_config(doc).canonical_json + "\n", encoding="utf-8")
    return path
