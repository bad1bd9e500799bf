"""The nested sections of the run config (see `docs/config.md`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from omega_v2.config.types import (
    Bool,
    Currency,
    HhMm,
    Int,
    NonNegativeFloat,
    PositiveFloat,
    Section,
    Timeframe,
    dedup,
    lower,
    rule,
)


class Timeframes(Section):
    """Primary timeframe and additional ones (deduplicated, order kept)."""

    primary: Timeframe = Field("M5", description="bars the strategy trades on")
    additional: list[Timeframe] = Field(
        default_factory=list,
        description="more timeframes, loaded and validated from their own files and recorded in meta.json",
        examples=[["H1"]],
    )

    @field_validator("additional")
    @classmethod
    def _dedup_without_primary(cls, additional: list[str], info: ValidationInfo) -> list[str]:
        """must not contain `primary`; repeats are dropped"""
        if info.data.get("primary") in additional:
            raise rule("must not contain the primary timeframe")
        return dedup(additional)


class Session(Section):
    """A UTC session; `end <= start` crosses midnight, `end == start` is rejected."""

    start: HhMm = Field(description="first minute of the session (UTC), inclusive", examples=["07:00"])
    end: HhMm = Field(
        description="end of the session (UTC), exclusive; earlier than `start`: the session crosses midnight",
        examples=["16:00"],
    )

    @field_validator("end")
    @classmethod
    def _not_empty(cls, end: str, info: ValidationInfo) -> str:
        """differs from `start`"""
        if end == info.data.get("start"):
            raise rule("must differ from `start` (an empty session); set `sessions` to null for always open")
        return end


class Account(Section):
    """Account currency, starting balance and risk per trade (account currency)."""

    initial_balance: PositiveFloat = Field(10000.0, description="starting balance, account currency")
    account_currency: Currency = Field(
        "EUR", description="currency of balance, PnL and fees; must be the symbol's base or quote currency"
    )
    risk_per_trade: PositiveFloat = Field(
        100.0, description="account currency lost if a risk-sized trade hits its initial stop (docs/execution.md)"
    )
    stop_out_level: NonNegativeFloat = Field(
        0.0,
        validate_default=True,
        description="equity at a bar close at or below this stops the account out (docs/execution.md)",
    )

    @field_validator("stop_out_level")
    @classmethod
    def _below_initial_balance(cls, level: float, info: ValidationInfo) -> float:
        """below `initial_balance`"""
        initial = info.data.get("initial_balance")
        if initial is not None and level >= initial:
            raise rule("must be below `initial_balance` (the account would be stopped out at once)")
        return level


class Costs(Section):
    """Cost switches and multipliers; `pip_buffer_factor` null = the execution costs default."""

    enabled: Bool = Field(True, description="false: no fees, no slippage, bid/ask exactly as in the data")
    fee_multiplier: NonNegativeFloat = Field(1.0, description="scales every fee")
    slippage_multiplier: NonNegativeFloat = Field(1.0, description="scales fixed and random slippage")
    spread_multiplier: NonNegativeFloat = Field(1.0, description="widens bid/ask symmetrically around the mid")
    pip_buffer_factor: NonNegativeFloat | None = Field(
        None,
        description="SL/TP count as hit within pip_size x this of their level; null: the execution costs default",
        examples=[0.0],
    )


class NewsFilter(Section):
    """News blackout windows; when enabled, the engine reads the calendar named by the env."""

    enabled: Bool = Field(False, description="block entries around news events")
    minutes_before: Int = Field(30, ge=0, description="blackout before an event")
    minutes_after: Int = Field(30, ge=0, description="blackout after an event")
    min_impact: Annotated[Literal["low", "medium", "high"], BeforeValidator(lower)] = Field(
        "high", description="events of at least this impact count"
    )
    currencies: list[Currency] = Field(
        default_factory=list,
        description="event currencies that count; empty: the symbol's base and quote currency",
        examples=[["USD"]],
    )

    @field_validator("currencies")
    @classmethod
    def _dedup_currencies(cls, currencies: list[str]) -> list[str]:
        """repeats are dropped"""
        return dedup(currencies)


class BreakEven(Section):
    """Move the stop to entry + offset once the trade is `trigger_r` R in profit."""

    enabled: Bool = Field(False, description="apply the rule")
    trigger_r: PositiveFloat = Field(1.0, description="profit in initial risks (R) that triggers it")
    offset_pips: NonNegativeFloat = Field(0.0, description="new stop = entry + this (in the trade's favour)")


class Trailing(Section):
    """Trail the stop `distance_pips` behind the close from `activation_r` R profit."""

    enabled: Bool = Field(False, description="apply the rule")
    activation_r: NonNegativeFloat = Field(1.0, description="profit in R from which the stop trails")
    distance_pips: PositiveFloat = Field(10.0, description="distance behind the exit side's close")


class TradeManagement(Section):
    """Timeout, break-even and trailing rules (all off by default)."""

    max_holding_minutes: Annotated[Int, Field(gt=0)] | None = Field(
        None,
        description="close at the bar close once the position is this old; null: no timeout",
        examples=[240],
    )
    break_even: BreakEven = Field(default_factory=BreakEven)
    trailing: Trailing = Field(default_factory=Trailing)


class Observability(Section):
    """Profiling switch and sampling frequency."""

    profiling_mode: Bool = Field(False, description="bar timings, CPU profile and the other profiling/ artefacts")
    profiling_frequency_hz: Int = Field(
        1000,
        ge=1,
        le=1000,
        description="CPU profile samples per second of each sampled thread's CPU time (docs/observability.md)",
    )


class Outputs(Section):
    """What a run writes beyond trades, metrics and meta."""

    equity: Annotated[Literal["bar", "daily", "none"], BeforeValidator(lower)] = Field(
        "bar", description="equity.csv rows: one per bar, one per UTC day, or no file (metrics unaffected)"
    )
