"""The engine's indicators for your own strategies: the code the built-in strategies run, so a
strategy written in Python computes bit for bit what a built-in one does. Each takes array-likes
of numbers (converted to float64 once) and returns read-only float64 numpy arrays of the same
length, NaN where a value is undefined (see `docs/strategies.md`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from omega_v2._core import indicators as _engine


def _f64(values: Any) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def sma(values: Any, length: int) -> np.ndarray:
    """Mean of the last `length` values (NaN before index `length - 1`)."""
    return _engine.sma(_f64(values), length)


def ema(values: Any, length: int) -> np.ndarray:
    """Exponential moving average, alpha = 2 / (length + 1), seeded with the first value."""
    return _engine.ema(_f64(values), length)


def zscore(residuals: Any, window: int) -> np.ndarray:
    """`r[t] / s[t]` with `s` the sample standard deviation of the last `window` residuals."""
    return _engine.zscore(_f64(residuals), window)


def wilder_atr(high: Any, low: Any, close: Any, length: int) -> np.ndarray:
    """Wilder's average true range, seeded with the mean of the first `length` true ranges."""
    return _engine.wilder_atr(_f64(high), _f64(low), _f64(close), length)


def bollinger(values: Any, length: int, std_factor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(mid, upper, lower)`: SMA(length) +- std_factor x the population standard deviation."""
    return _engine.bollinger(_f64(values), length, std_factor)


def kalman(values: Any, r: float, q: float, window: int) -> tuple[np.ndarray, np.ndarray]:
    """`(mean, z)` of a random-walk Kalman filter (measurement noise r, process noise q) and the
    z-score of its residual over `window` values."""
    return _engine.kalman(_f64(values), r, q, window)
