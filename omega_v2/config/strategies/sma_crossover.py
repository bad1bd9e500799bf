"""Parameters of `sma_crossover` (see `docs/strategies.md`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, ValidationInfo, field_validator

from omega_v2.config.strategies.base import StrategyParameters
from omega_v2.config.types import Bool, Int, PositiveFloat, rule


class SmaCrossoverParameters(StrategyParameters):
    """Fast/slow SMA crossover of the mid close; market orders at the signal bar's close."""

    strategy_name: ClassVar[str] = "sma_crossover"
    fast: Int = Field(20, ge=1, description="bars of the fast SMA")
    slow: Int = Field(50, ge=2, validate_default=True, description="bars of the slow SMA (> fast)")
    allow_short: Bool = Field(True, description="a cross down goes short (else it only closes a long)")
    sl_pips: PositiveFloat | None = Field(
        None, description="stop loss distance in pips from the entry side's close; set: risk sizing", examples=[20.0]
    )
    tp_pips: PositiveFloat | None = Field(
        None, description="take profit distance in pips from the entry side's close", examples=[40.0]
    )
    size_lots: PositiveFloat = Field(1.0, description="fixed size when `sl_pips` is not set")

    @field_validator("slow")
    @classmethod
    def _slow_above_fast(cls, slow: int, info: ValidationInfo) -> int:
        """greater than `fast`"""
        fast = info.data.get("fast")
        if fast is not None and slow <= fast:
            raise rule("must be greater than `fast`")
        return slow
