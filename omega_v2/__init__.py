"""omega-v2: a deterministic, observable bid/ask backtesting engine with a Rust core.

Public API::

    import omega_v2
    result = omega_v2.run("config.json")          # or a dict, or omega_v2.example_config_path()
    result.metrics["profit_net"], result.trades, result.equity, result.logs()

Names are imported on first use, so ``import omega_v2`` stays cheap (pydantic, pandas and the
engine load only when a run needs them).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omega_v2.errors import (
    ConfigError,
    DataError,
    ExecutionError,
    OmegaError,
    OutputError,
    RunCancelled,
    RunNotFound,
    StrategyError,
)

__version__ = "0.1.0"

if importlib.util.find_spec("omega_v2._core") is None:
    _here = Path(__file__).resolve().parent
    raise ImportError(
        f"omega_v2's compiled engine (omega_v2._core) is missing from {_here}: this is a source "
        "checkout that was never built. Install it editable from the checkout's root with "
        "`pip install -e .`, or run from another directory if you installed it with `pip install .`"
    )

# public name -> module that defines it
_LAZY = {
    "Bars": "omega_v2.strategy",
    "CancelToken": "omega_v2.runner",
    "DataCache": "omega_v2.runner",
    "Enter": "omega_v2.strategy",
    "Exit": "omega_v2.strategy",
    "Market": "omega_v2.market",
    "Reverse": "omega_v2.strategy",
    "Strategy": "omega_v2.strategy",
    "LoadedConfig": "omega_v2.config",
    "RunResult": "omega_v2.result",
    "example_config_path": "omega_v2.config",
    "explain": "omega_v2.trade_story",
    "load_config": "omega_v2.config",
    "load_run": "omega_v2.result",
    "new_run_id": "omega_v2.runner",
    "replay": "omega_v2.replays",
    "run": "omega_v2.runner",
    "sweep": "omega_v2.sweeps",
    "walk_forward": "omega_v2.sweeps",
}

if TYPE_CHECKING:
    from omega_v2.config import LoadedConfig, example_config_path, load_config
    from omega_v2.market import Market
    from omega_v2.replays import replay
    from omega_v2.result import RunResult, load_run
    from omega_v2.runner import CancelToken, DataCache, new_run_id, run
    from omega_v2.strategy import Bars, Enter, Exit, Reverse, Strategy
    from omega_v2.sweeps import sweep, walk_forward
    from omega_v2.trade_story import explain


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'omega_v2' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Bars",
    "CancelToken",
    "ConfigError",
    "DataCache",
    "DataError",
    "Enter",
    "ExecutionError",
    "Exit",
    "LoadedConfig",
    "Market",
    "OmegaError",
    "OutputError",
    "Reverse",
    "RunCancelled",
    "RunNotFound",
    "RunResult",
    "Strategy",
    "StrategyError",
    "example_config_path",
    "explain",
    "load_config",
    "load_run",
    "new_run_id",
    "replay",
    "run",
    "sweep",
    "walk_forward",
]
