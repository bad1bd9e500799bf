"""What a run reads besides its config and data files: an in-memory market (`data=`), a signals
frame (`signals=`) and the user's own strategy (`strategy=`), checked against the config and
turned into the engine's arguments."""

from __future__ import annotations

from typing import Any

from omega_v2.errors import Code, ConfigError

SIGNALS, PYTHON = "signals", "python"


def engine_inputs(loaded: Any, *, data: Any = None, signals: Any = None, strategy: Any = None) -> dict[str, Any]:
    """The keyword arguments of `_core.run` for these inputs (none for a plain file run)."""
    name = loaded.model.strategy_name
    _needs(name == SIGNALS, signals, "signals", "a signals frame")
    _needs(name == PYTHON, strategy, "strategy", "an omega_v2.Strategy subclass or instance")
    kwargs: dict[str, Any] = {}
    if data is not None:
        from omega_v2.market import Market

        if not isinstance(data, Market):
            raise ConfigError(
                f"data= must be an omega_v2.Market (Market.from_frames / Market.from_frame), not {type(data).__name__}",
                code=Code.CONFIG_DATA_MISMATCH,
                context={"field": "data"},
            )
        data.check_matches(loaded.model.symbol, loaded.model.timeframes.primary)
        kwargs["market"] = data
    if signals is not None:
        from omega_v2.signals import Signals

        kwargs["signals"] = signals if isinstance(signals, Signals) else Signals(signals)
    if strategy is not None:
        from omega_v2 import strategy as user

        instance = user.instantiate(strategy)
        kwargs["strategy"] = instance
        kwargs["strategy_params"] = user.parameters(instance, loaded.normalized["strategy_parameters"])
        kwargs["strategy_identity"] = user.identity(instance)
    return kwargs


def _needs(wanted: bool, given: Any, argument: str, what: str) -> None:
    """`signals=` goes with strategy_name `signals`, `strategy=` with `python`, both ways."""
    if wanted and given is None:
        raise ConfigError(
            f"strategy_name `{SIGNALS if argument == 'signals' else PYTHON}` needs {what}: pass {argument}= to run",
            code=Code.CONFIG_STRATEGY,
            context={"field": "strategy_name"},
        )
    if not wanted and given is not None:
        name = SIGNALS if argument == "signals" else PYTHON
        raise ConfigError(
            f"{argument}= is only read by strategy_name `{name}`; set it, or drop {argument}=",
            code=Code.CONFIG_STRATEGY,
            context={"field": "strategy_name"},
        )
