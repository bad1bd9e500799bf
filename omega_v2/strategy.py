"""Per-bar Python strategies on the Rust engine, like backtesting.py's `Strategy.next`.

Subclass :class:`Strategy`, override :meth:`Strategy.init` (once, with the run's bars and
parameters) and :meth:`Strategy.on_bar` (at each bar's close), and run it with
``omega_v2.run({**config, "strategy_name": "python"}, strategy=MyStrategy)``. The engine owns
everything else exactly as for its built-in strategies: bid/ask fills, SL/TP intrabar rules,
costs, sizing, gates, trade management, determinism and the run's logs (see
`docs/own-strategy.md`).

`on_bar` returns ``None`` (hold), :class:`Exit` (close at this bar's close), :class:`Enter`
(open, if the gates allow) or :class:`Reverse` (close, then enter).
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import marshal
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from omega_v2 import _core
from omega_v2.errors import Code, ConfigError

Enter = _core.Enter
Exit = _core.Exit
Reverse = _core.Reverse


@dataclass(frozen=True, eq=False)
class Bars:
    """The run's bars (warmup included) as read-only numpy arrays, indexed like `on_bar`'s `t`.

    `time_ns` is each bar's open time (int64 ns, UTC); prices are the bid and ask sides as the
    engine trades them (after `costs.spread_multiplier`)."""

    time_ns: np.ndarray
    bid_open: np.ndarray
    bid_high: np.ndarray
    bid_low: np.ndarray
    bid_close: np.ndarray
    ask_open: np.ndarray
    ask_high: np.ndarray
    ask_low: np.ndarray
    ask_close: np.ndarray
    #: Index of the first bar that trades (bars before it only warm indicators).
    start_index: int

    def __len__(self) -> int:
        return len(self.time_ns)

    @property
    def index(self) -> Any:
        """The bar open times as a UTC pandas DatetimeIndex."""
        import pandas as pd

        return pd.DatetimeIndex(self.time_ns.astype("datetime64[ns]"), tz="UTC")


class Strategy:
    """Base of per-bar Python strategies.

    Class attributes a subclass may set:

    * ``Params``: a pydantic model; ``strategy_parameters`` of the config are validated by it and
      `init` receives the model instance (else the plain dict).

    Attributes `init` may set:

    * ``first_signal_index``: bars before this index are never asked (default 0);
    * ``cooldown_bars``: bars after an exit before the engine lets a new entry through (0).
    """

    Params: ClassVar[Any] = None
    first_signal_index: int = 0
    cooldown_bars: int = 0

    def init(self, bars: Bars, params: Any) -> None:
        """Called once before the first bar: precompute indicators here."""

    def on_bar(self, t: int, position: str | None) -> Any:
        """The decision at the close of bar `t`; `position` is None, "long" or "short"."""
        return None

    @property
    def log(self) -> logging.Logger:
        """A logger whose records go to the run's `.python.log` at the run's level."""
        return logging.getLogger(f"omega_v2.strategy.{type(self).__qualname__}")


def instantiate(strategy: Any) -> Strategy:
    """A strategy instance from a :class:`Strategy` subclass or instance."""
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy()
    if isinstance(strategy, Strategy):
        return strategy
    raise ConfigError(
        f"strategy= must be an omega_v2.Strategy subclass or instance, not {type(strategy).__name__}",
        code=Code.CONFIG_STRATEGY,
        context={"field": "strategy"},
    )


def parameters(strategy: Strategy, values: dict[str, Any]) -> Any:
    """`strategy_parameters` for `init`: validated by the class's `Params` model when it has one
    (errors name the parameter, never its value), else the dict itself."""
    model = type(strategy).Params
    if model is None:
        return dict(values)
    from pydantic import ValidationError

    _reject_undeclared(strategy, model, values)
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = "; ".join(
            f"`strategy_parameters.{'.'.join(map(str, e['loc']))}`: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)[:8]
        )
        raise ConfigError(
            f"invalid parameters for strategy `{type(strategy).__qualname__}`: {problems}",
            code=Code.CONFIG_STRATEGY_PARAMETER,
            context={"field": "strategy_parameters"},
        ) from None


def _reject_undeclared(strategy: Strategy, model: Any, values: dict[str, Any]) -> None:
    """A parameter `Params` does not declare is refused, as a misspelt config key is: pydantic
    would drop it by default and the run would silently use the default. A model that says
    what to do with extra keys (`extra="allow"|"ignore"|"forbid"`) is left to decide."""
    if model.model_config.get("extra") is not None:
        return
    from omega_v2.config.suggest import did_you_mean

    declared = set(model.model_fields) | {field.alias for field in model.model_fields.values() if field.alias}
    undeclared = sorted(set(values) - declared)
    if undeclared:
        name = undeclared[0]
        raise ConfigError(
            f"strategy `{type(strategy).__qualname__}` has no parameter `strategy_parameters.{name}`"
            f"{did_you_mean(name, declared)} (its Params declares: {', '.join(sorted(declared)) or 'none'})",
            code=Code.CONFIG_STRATEGY_PARAMETER,
            context={"field": f"strategy_parameters.{name}"},
        )


def identity(strategy: Strategy) -> dict[str, str]:
    """What ran: the class's qualified name and a sha256 of its source (of its compiled code
    when the source is not available, e.g. a class typed into a REPL)."""
    cls = type(strategy)
    try:
        text = inspect.getsource(cls).encode("utf-8")
        basis = "source"
    except (OSError, TypeError):
        text = b"".join(marshal.dumps(f.__code__) for _, f in sorted(vars(cls).items()) if inspect.isfunction(f))
        basis = "bytecode"
    return {"class": f"{cls.__module__}.{cls.__qualname__}", "sha256": hashlib.sha256(text).hexdigest(), "of": basis}
