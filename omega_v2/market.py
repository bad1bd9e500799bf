"""`Market`: bid/ask bars of one symbol and timeframe held in memory, for `run(..., data=market)`.

The engine reads its arrays in place (no copy when they are contiguous float64 / int64) and
validates them exactly like data files: finite positive prices, OHLC consistency, increasing
timestamps, identical duplicates dropped, divergent ones rejected, bid <= ask after aligning the
sides on their timestamps. Its identity is the sha256 of a documented byte layout of the arrays
(see `docs/data.md`), recorded in the run's manifest.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from omega_v2.errors import Code, ConfigError
from omega_v2.frames import Columns, frame_error

PRICE_COLUMNS = ("Open", "High", "Low", "Close")
TIMEFRAMES = ("M1", "M5", "M15", "M30", "H1", "H4", "D1")


@dataclass(frozen=True, eq=False)
class Side:
    """One price side: bar open times (int64 ns, UTC) and OHLC prices (float64), read-only."""

    time_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    @classmethod
    def from_frame(cls, frame: Any, name: str) -> Side:
        columns = Columns(frame, name)
        return cls(columns.time_ns, *(columns.floats(c) for c in PRICE_COLUMNS))

    def __len__(self) -> int:
        return len(self.time_ns)


class Market:
    """Bid and ask bars of `symbol` on `timeframe`, in memory.

    Build it with :meth:`from_frames` (bid and ask frames) or :meth:`from_frame` (one price series
    plus a spread). Frames are pandas DataFrames (time-zone aware DatetimeIndex or a `UTC time`
    column), pyarrow Tables or Arrow-compatible frames such as polars, with columns `Open`,
    `High`, `Low`, `Close` (`Volume` and any other column is ignored).
    """

    def __init__(self, bid: Side, ask: Side, symbol: str, timeframe: str) -> None:
        self.bid, self.ask = bid, ask
        self.symbol = _symbol(symbol)
        self.timeframe = _timeframe(timeframe)

    @classmethod
    def from_frames(cls, *, bid: Any, ask: Any, symbol: str, timeframe: str) -> Market:
        return cls(Side.from_frame(bid, "bid frame"), Side.from_frame(ask, "ask frame"), symbol, timeframe)

    @classmethod
    def from_frame(cls, frame: Any, *, symbol: str, timeframe: str, spread: float | str) -> Market:
        """One price series as the bid side; ask = bid + `spread` on every price, where `spread`
        is a number (price units) or the name of a per-bar column of `frame`."""
        columns = Columns(frame, "frame")
        bid = Side(columns.time_ns, *(columns.floats(c) for c in PRICE_COLUMNS))
        if isinstance(spread, str):
            widths = columns.floats(spread)
        elif (
            isinstance(spread, numbers.Real)
            and not isinstance(spread, (bool, np.bool_))
            and np.isfinite(spread)
            and spread >= 0
        ):
            widths = np.float64(spread)
        else:
            raise frame_error("frame", "`spread` must be a finite number >= 0 or the name of a column of spreads")
        ask = Side(bid.time_ns, *(_readonly(p + widths) for p in (bid.open, bid.high, bid.low, bid.close)))
        return cls(bid, ask, symbol, timeframe)

    def __repr__(self) -> str:
        span = ""
        if len(self.bid):
            first, last = (np.datetime_as_string(self.bid.time_ns[i].astype("M8[ns]"), unit="s") for i in (0, -1))
            span = f", {first}Z .. {last}Z"
        return f"Market({self.symbol} {self.timeframe}, {len(self.bid)} bid / {len(self.ask)} ask rows{span})"

    def check_matches(self, symbol: str, timeframe: str) -> None:
        """The config must trade what this market holds."""
        if (symbol, timeframe) != (self.symbol, self.timeframe):
            raise ConfigError(
                f"the market given as data= holds {self.symbol} {self.timeframe} but the config trades "
                f"{symbol} {timeframe}; build the Market for the config's symbol and timeframes.primary",
                code=Code.CONFIG_DATA_MISMATCH,
                context={"field": "symbol" if symbol != self.symbol else "timeframes.primary"},
            )


def _symbol(symbol: Any) -> str:
    if not isinstance(symbol, str) or not symbol.strip():
        raise frame_error("market", "`symbol` must be a symbol name such as EURUSD")
    return symbol.strip().upper()


def _timeframe(timeframe: Any) -> str:
    tf = timeframe.strip().upper() if isinstance(timeframe, str) else None
    if tf not in TIMEFRAMES:
        raise frame_error("market", f"`timeframe` must be one of {', '.join(TIMEFRAMES)}")
    return tf


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
