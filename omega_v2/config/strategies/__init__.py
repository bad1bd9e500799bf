"""Parameter models of the built-in strategies, one module per strategy (mirroring the engine's
`src/strategy/`). Each model owns its parameters' defaults and bounds; the engine deserialises
exactly these fields and rechecks only the invariants it relies on.
"""

from __future__ import annotations

from omega_v2.config.strategies.base import StrategyParameters
from omega_v2.config.strategies.mean_reversion_z_score import MeanReversionZScoreParameters
from omega_v2.config.strategies.python import PythonStrategyParameters
from omega_v2.config.strategies.signals import SignalsParameters
from omega_v2.config.strategies.sma_crossover import SmaCrossoverParameters

#: strategy_name -> its parameter model (the engine's registry must list the same names).
STRATEGIES: dict[str, type[StrategyParameters]] = {
    model.strategy_name: model
    for model in (MeanReversionZScoreParameters, SignalsParameters, SmaCrossoverParameters, PythonStrategyParameters)
}

__all__ = [
    "STRATEGIES",
    "MeanReversionZScoreParameters",
    "PythonStrategyParameters",
    "SignalsParameters",
    "SmaCrossoverParameters",
    "StrategyParameters",
]
