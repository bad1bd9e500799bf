"""Typed surface of the Rust extension `omega_v2._core` (checked against the built module in tests)."""

from os import PathLike
from typing import Any

__version__: str

class CancelToken:
    """Cancels a run from any thread: the run raises `RunCancelled`."""

    def __init__(self) -> None: ...
    def cancel(self) -> None: ...
    @property
    def cancelled(self) -> bool: ...

def run(config_json: str, context: dict[str, Any], cancel_token: CancelToken | None = None) -> dict[str, Any]:
    """Runs one backtest with the GIL released; returns the run summary."""

def reset_log_cache() -> None:
    """Forgets pyo3-log's cached loggers and levels after Python logging was reconfigured."""

def generate_synthetic_data(
    root: str | PathLike[str],
    start_date: str,
    end_date: str,
    *,
    symbol: str = "EURUSD",
    seed: int = 7,
    timeframes: list[str] = ...,
    format: str = "parquet",
) -> list[str]: ...
