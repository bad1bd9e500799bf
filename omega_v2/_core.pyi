"""Typed surface of the Rust extension `omega_v2._core` (checked against the built module in tests:
names, parameters and their defaults, class attributes)."""

from collections.abc import Callable
from os import PathLike
from pathlib import Path
from typing import Any

__version__: str
#: Error kinds of the catalogue (`error_catalogue()`), each mapped to one exception class.
ERROR_KINDS: tuple[str, ...]
#: (config path, log name) of the only config fields logs and messages may show.
LOG_ALLOWLIST: list[tuple[str, str]]
#: Metrics a summary, a sweep row and a result's repr show first.
HEADLINE_METRICS: tuple[str, ...]
#: Names of the registered built-in strategies.
STRATEGIES: list[str]
IMPLEMENTED_MRZ_SCENARIOS: tuple[int, ...]
SYMBOL_SPECS_ENV: str
EXECUTION_COSTS_ENV: str
NEWS_CALENDAR_ENV: str
VAR_DIR_ENV: str
DATA_ROOT_ENVS: tuple[str, ...]
#: The artefacts holding a run's results (byte-identical for the same config and data).
RESULT_ARTEFACTS: tuple[str, ...]
#: Plain int64 timestamps are nanoseconds only within this range (years 1973..2099).
PLAUSIBLE_NS: tuple[int, int]

class CancelToken:
    """Cancels a run from any thread: the run raises `RunCancelled`."""

    def __init__(self) -> None: ...
    def cancel(self) -> None: ...
    @property
    def cancelled(self) -> bool: ...

class DataCache:
    """Keeps the last few loads from data files; runs given the same cache that read the same
    files for the same span share its bars instead of reading the files again."""

    def __init__(self) -> None: ...
    @property
    def loads(self) -> int: ...

class _Order:
    def __init__(
        self,
        direction: str,
        stop_loss: float | None = None,
        take_profit: float | None = None,
        size_lots: float | None = None,
        kind: str = "market",
        entry_price: float | None = None,
        snapshot: dict[str, float] | None = None,
    ) -> None: ...
    @property
    def direction(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def stop_loss(self) -> float | None: ...
    @property
    def take_profit(self) -> float | None: ...
    @property
    def size_lots(self) -> float | None: ...
    @property
    def entry_price(self) -> float | None: ...
    @property
    def snapshot(self) -> dict[str, float]: ...

class Enter(_Order):
    """Open a position at this bar's close (market) or from the next bar (limit/stop), if the gates allow it."""

class Reverse(_Order):
    """Close the open position at this bar's close, then enter like `Enter`."""

class Exit:
    """Close the open position at this bar's close (exit reason `signal`)."""

    def __init__(self) -> None: ...

class RunProgress:
    """How far a run is (updated by the engine every few thousand bars, read by a progress bar)."""

    def __init__(self) -> None: ...
    @property
    def phase(self) -> str:
        """`loading`, `trading` or `writing`."""
    @property
    def done(self) -> int: ...
    @property
    def total(self) -> int: ...

class RunPaths:
    """Every path of one run under a var dir."""

    def __init__(self, var_dir: str | PathLike[str], run_id: str) -> None: ...
    @staticmethod
    def from_run_dir(run_dir: str | PathLike[str]) -> RunPaths: ...
    @property
    def run_id(self) -> str: ...
    @property
    def var_dir(self) -> Path: ...
    @property
    def results_dir(self) -> Path: ...
    @property
    def run_dir(self) -> Path: ...
    @property
    def logs_dir(self) -> Path: ...
    @property
    def text_log(self) -> Path: ...
    @property
    def json_log(self) -> Path: ...
    @property
    def python_log(self) -> Path: ...

class Counters:
    """What happened in a run (also in meta.json and profiling.json)."""

    @property
    def bars_processed(self) -> int: ...
    @property
    def events_processed(self) -> int: ...
    @property
    def signals(self) -> int: ...
    @property
    def orders_filled(self) -> int: ...
    @property
    def orders_cancelled(self) -> int: ...
    @property
    def trades_emitted(self) -> int: ...
    @property
    def rejected_invalid_stop(self) -> int: ...
    @property
    def rejected_invalid_take_profit(self) -> int: ...
    @property
    def rejected_stop_too_close(self) -> int: ...
    @property
    def rejected_below_volume_min(self) -> int: ...
    @property
    def sizes_clamped(self) -> int: ...
    @property
    def blocked_session(self) -> int: ...
    @property
    def blocked_news(self) -> int: ...
    @property
    def blocked_cooldown(self) -> int: ...
    @property
    def stop_moves(self) -> int: ...

class PhaseTimings:
    """Wall time of each phase of a run, in ns."""

    @property
    def data_load_ns(self) -> int: ...
    @property
    def strategy_init_ns(self) -> int: ...
    @property
    def backtest_ns(self) -> int: ...
    @property
    def metrics_ns(self) -> int: ...
    @property
    def write_ns(self) -> int: ...
    @property
    def total_ns(self) -> int: ...

class Summary:
    """What a run hands back: paths, counters, phase timings and the headline metrics."""

    @property
    def run_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def paths(self) -> RunPaths: ...
    @property
    def bars(self) -> int: ...
    @property
    def start_time(self) -> str: ...
    @property
    def end_time(self) -> str: ...
    @property
    def warmup_shortfall_bars(self) -> int: ...
    @property
    def counters(self) -> Counters: ...
    @property
    def timings(self) -> PhaseTimings: ...
    @property
    def metrics(self) -> dict[str, int | float | str]: ...
    def to_json(self) -> str:
        """The summary as one JSON object (the form the Rust binary prints)."""

def run(
    config_json: str,
    *,
    run_id: str,
    config_hash: str,
    config_source: str,
    var_dir: str | PathLike[str],
    data_root: str | PathLike[str],
    log_to_stdout: bool = False,
    rust_log: str | None = None,
    profile: bool = False,
    git_commit: str | None = None,
    git_dirty: bool = False,
    cancel_token: CancelToken | None = None,
    progress: RunProgress | None = None,
    before_commit: Callable[[Path, Summary], None] | None = None,
    market: Any = None,
    signals: Any = None,
    strategy: Any = None,
    strategy_params: Any = None,
    strategy_identity: dict[str, str] | None = None,
    data_cache: DataCache | None = None,
) -> Summary:
    """Runs one backtest of a normalised config with the GIL released; returns its summary.

    `before_commit(staging_dir, summary)` runs once every artefact and the Rust logs are on disk,
    just before the run directory is committed; an exception it raises fails the run (nothing
    is committed) and is re-raised unchanged. `market` is an `omega_v2.Market` read instead of
    the data files, `signals` an `omega_v2.signals.Signals`,
    `strategy` an `omega_v2.Strategy` instance initialised with `strategy_params`; `data_cache`
    serves the data files' bars when an earlier run given it loaded the same."""

def explain(
    config_json: str,
    *,
    data_root: str | PathLike[str],
    trade: int,
    market: Any = None,
    signals: Any = None,
    strategy: Any = None,
    strategy_params: Any = None,
) -> str:
    """Re-runs a normalised config in memory (no artefacts, no logs) and returns, as JSON, the
    story of trade `trade` (1-based): the bars and signal that opened it, sizing, every fill
    with its bid/ask and costs, and what closed it. Raises ConfigError when there is no such trade."""

def input_digests(*, market: Any = None, signals: Any = None) -> dict[str, str]:
    """The sha256 a run records for an `omega_v2.Market`'s sides (`bid`, `ask`) and a signals
    frame (`signals`), for those given."""

def check_config(config_json: str) -> None:
    """Every check of a normalised config that needs no market data (raises ConfigError)."""

def validate_run_id(run_id: str) -> None:
    """Raises ConfigError unless `run_id` is a safe file name."""

def new_run_id(config_hash: str) -> str:
    """`<UTC start>-<first 8 hex of config_hash>-<8 random hex>`."""

def resolve_var_dir(explicit: str | PathLike[str] | None = None) -> Path:
    """`explicit`, else `$OMEGA_VAR_DIR`, else `./var`."""

def resolve_data_root(explicit: str | PathLike[str] | None = None, fallback: str | PathLike[str] | None = None) -> Path:
    """`explicit`, else `fallback`, else `$OMEGA_DATA_ROOT` / `$OMEGA_DATA_PARQUET_ROOT`, else `./data`."""

def error_catalogue() -> list[tuple[str, str, str]]:
    """`(code, kind, description)` of every error code."""

def metric_catalogue() -> list[tuple[str, str, str, str, str, str]]:
    """`(key, unit, description, domain, source, type)` of every metric, in metrics.json order."""

def allowlisted_fields(config_json: str) -> dict[str, Any]:
    """The allowlisted scalar fields of a config, under their log names."""

def var_inventory(var_dir: str | PathLike[str], *, remove_stale: bool) -> dict[str, Any]:
    """`{"run_ids": [...], "staging": [...]}`: every run_id with a log file, run directory or staging
    directory under `var_dir`, and every staging directory as a dict (`path`, `run_id`, `state`:
    `live|stale|other_host|unknown`, `reason`, `bytes`, `removed`); `remove_stale` removes those
    whose owner process is gone."""

def implausible_ns_unit(value: int) -> str | None:
    """The unit a plain int64 timestamp seems to be in (`seconds`, ...) unless it lies in `PLAUSIBLE_NS`."""

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
) -> list[Path]:
    """Writes a seeded synthetic bid/ask dataset (timeframes default: `["M1"]`); returns the paths."""

class indicators:  # noqa: N801 - the extension's submodule `omega_v2._core.indicators`
    """The engine's indicators over float64 arrays (wrapped with conversions in `omega_v2.indicators`)."""

    @staticmethod
    def sma(values: Any, length: int) -> Any: ...
    @staticmethod
    def ema(values: Any, length: int) -> Any: ...
    @staticmethod
    def zscore(residuals: Any, window: int) -> Any: ...
    @staticmethod
    def wilder_atr(high: Any, low: Any, close: Any, length: int) -> Any: ...
    @staticmethod
    def bollinger(values: Any, length: int, std_factor: float) -> tuple[Any, Any, Any]: ...
    @staticmethod
    def kalman(values: Any, r: float, q: float, window: int) -> tuple[Any, Any]: ...
