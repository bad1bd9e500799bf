"""Parameters of `signals` (a signals frame traded by the engine; see `docs/strategies.md`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from omega_v2.config.strategies.base import StrategyParameters
from omega_v2.config.types import Int, PositiveFloat


class SignalsParameters(StrategyParameters):
    """Entries and exits from the boolean columns of the `signals=` frame of a run."""

    strategy_name: ClassVar[str] = "signals"
    size_lots: PositiveFloat = Field(1.0, description="lots of an entry whose row has no size_lots and no stop_loss")
    cooldown_bars: Int = Field(0, ge=0, description="bars after an exit before a new entry (0: in the exit bar)")
