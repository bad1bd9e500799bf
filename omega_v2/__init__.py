"""omega-v2: a deterministic, observable bid/ask backtesting engine with a Rust core.

Public API::

    import omega_v2
    result = omega_v2.run("config.json")          # or a dict, or omega_v2.example_config_path()
    result.metrics["profit_net"], result.trades, result.equity, result.logs()
"""

from omega_v2.config import LoadedConfig, example_config_path, load_config
from omega_v2.errors import (
    ConfigError,
    DataError,
    ExecutionError,
    OmegaError,
    OutputError,
    RunCancelled,
)
from omega_v2.result import RunResult, load_run
from omega_v2.runner import CancelToken, new_run_id, run
from omega_v2.sweep import sweep

__version__ = "0.1.0"

__all__ = [
    "CancelToken",
    "ConfigError",
    "DataError",
    "ExecutionError",
    "LoadedConfig",
    "OmegaError",
    "OutputError",
    "RunCancelled",
    "RunResult",
    "example_config_path",
    "load_config",
    "load_run",
    "new_run_id",
    "run",
    "sweep",
]
