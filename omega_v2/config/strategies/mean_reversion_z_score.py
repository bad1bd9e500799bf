"""Parameters of `mean_reversion_z_score` (MRZ, see `docs/strategies.md`)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, Field, field_validator

from omega_v2 import _core
from omega_v2.config.strategies.base import StrategyParameters
from omega_v2.config.types import Float, Int, NonNegativeFloat, PositiveFloat, lower, rule
from omega_v2.errors import Code


class MeanReversionZScoreParameters(StrategyParameters):
    """Mean reversion on the z-score of the close's residual to its EMA (scenarios 1-3)."""

    strategy_name: ClassVar[str] = "mean_reversion_z_score"
    window_length: Int = Field(20, ge=2, description="bars of the residual's rolling standard deviation")
    ema_length: Int = Field(20, ge=1, description="bars of the EMA (alpha = 2 / (ema_length + 1))")
    atr_length: Int = Field(14, ge=1, description="bars of the Wilder ATR")
    atr_mult: PositiveFloat = Field(2.0, description="stop loss distance in ATRs beyond the bar's extreme")
    z_score_long: Float = Field(-2.0, lt=0, description="go long at or below this z")
    z_score_short: Float = Field(2.0, gt=0, description="go short at or above this z")
    b_b_length: Int = Field(20, ge=2, description="bars of the Bollinger band (scenarios 2, 3)")
    std_factor: PositiveFloat = Field(2.0, description="Bollinger band width in standard deviations")
    kalman_r: PositiveFloat = Field(1.0, description="Kalman measurement noise (scenarios 2, 3)")
    kalman_q: PositiveFloat = Field(0.1, description="Kalman process noise (scenarios 2, 3)")
    tp_min_distance: NonNegativeFloat = Field(0.0010, description="scenario 3: minimum |EMA - entry| in price units")
    direction_filter: Annotated[Literal["long", "short", "both"], BeforeValidator(lower)] = Field(
        "both", description="which directions may trade"
    )
    enabled_scenarios: list[Annotated[Int, Field(ge=1, le=6)]] = Field(
        default_factory=lambda: [1],
        min_length=1,
        description="scenarios checked in ascending order; the first that signals enters",
        examples=[[1, 3]],
    )
    cooldown_bars: Int = Field(0, ge=0, description="bars after an exit before a new entry (0: in the exit bar)")

    @field_validator("enabled_scenarios")
    @classmethod
    def _implemented_scenarios(cls, scenarios: list[int]) -> list[int]:
        """each scenario once, and only scenarios this build implements"""
        if len(set(scenarios)) != len(scenarios):
            raise rule("must not contain the same scenario twice")
        implemented = _core.IMPLEMENTED_MRZ_SCENARIOS
        for scenario in scenarios:
            if scenario not in implemented:
                # An unimplemented scenario must fail loudly, never run with 0 trades.
                listed = ", ".join(map(str, implemented))
                raise rule(
                    f"scenario {scenario} is not implemented yet (implemented: {listed})", Code.CONFIG_UNSUPPORTED
                )
        return scenarios
