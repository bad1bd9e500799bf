"""`OmegaConfig`: the validated run config (see `docs/config.md`)."""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    JsonValue,
    PrivateAttr,
    SerializeAsAny,
    Strict,
    ValidationInfo,
    field_validator,
)

from omega_v2.config.sections import (
    Account,
    Costs,
    NewsFilter,
    Observability,
    Outputs,
    Session,
    Timeframes,
    TradeManagement,
)
from omega_v2.config.strategies import STRATEGIES, StrategyParameters
from omega_v2.config.suggest import did_you_mean
from omega_v2.config.types import Int, IsoDate, Section, Seed, lower, rule, upper
from omega_v2.errors import Code

_SCHEMA_VERSIONS = {"2": "2", "2.0": "2"}  # accepted spelling -> normalised
_DEV_DEFAULT_SEED = 42


class OmegaConfig(Section):
    """The validated run config.

    Field order matters: cross-field rules read earlier fields (e.g. `rng_seed` reads
    `run_mode`, `strategy_parameters` reads `strategy_name`).
    """

    schema_version: str = Field(description="version of the config format", examples=["2"])
    strategy_name: Annotated[str, Strict(), BeforeValidator(lower)] = Field(
        description="the strategy to run (docs/strategies.md)", examples=["mean_reversion_z_score"]
    )
    symbol: Annotated[str, Strict(), BeforeValidator(upper)] = Field(
        description="the traded symbol; it needs an entry in the symbol specs (docs/data.md)", examples=["EURUSD"]
    )
    start_date: IsoDate = Field(description="first UTC day of the run, inclusive", examples=["2025-01-06"])
    end_date: IsoDate = Field(description="last UTC day of the run, inclusive", examples=["2025-01-31"])
    run_mode: Annotated[Literal["dev", "prod"], BeforeValidator(lower)] = Field(
        "dev", description="dev: INFO logs with phase spans; prod: WARN logs, no spans"
    )
    data_mode: Annotated[Literal["candle", "tick"], BeforeValidator(lower)] = Field(
        "candle", description="bars (candles) of bid and ask prices"
    )
    execution_variant: Annotated[Literal["v2", "v1_parity"], BeforeValidator(lower)] = Field(
        "v2", description="the execution model (docs/execution.md)"
    )
    rng_seed: Seed | None = Field(
        None,
        validate_default=True,
        description="seed of the slippage jitter, the run's only randomness; never logged",
        examples=[7],
    )
    timeframes: Timeframes = Field(default_factory=Timeframes)
    warmup_bars: Int = Field(500, ge=0, description="bars before start_date that only warm indicators")
    sessions: list[Session] | None = Field(
        None,
        description="UTC sessions in which entries are allowed; null: always",
        examples=[[{"start": "07:00", "end": "16:00"}]],
    )
    account: Account = Field(default_factory=Account)
    costs: Costs = Field(default_factory=Costs)
    news_filter: NewsFilter = Field(default_factory=NewsFilter)
    strategy_parameters: SerializeAsAny[StrategyParameters] = Field(
        default_factory=dict,
        validate_default=True,
        description="the strategy's parameters; omitted ones take their defaults (docs/strategies.md)",
    )
    trade_management: TradeManagement = Field(default_factory=TradeManagement)
    observability: Observability = Field(default_factory=Observability)
    outputs: Outputs = Field(default_factory=Outputs)
    metrics: dict[str, JsonValue] = Field(
        default_factory=dict, description="optimizer and robustness settings: part of the hash, unused by a single run"
    )

    _effective_seed: int = PrivateAttr()

    @field_validator("schema_version", mode="plain")
    @classmethod
    def _supported_schema(cls, value: Any) -> str:
        """`"2"` (`"2.0"` is accepted and written as `"2"`)"""
        if isinstance(value, str) and value.strip() in _SCHEMA_VERSIONS:
            return _SCHEMA_VERSIONS[value.strip()]
        raise rule('is not supported; supported versions: "2" ("2.0" is accepted as "2")')

    @field_validator("strategy_name")
    @classmethod
    def _registered_strategy(cls, name: str) -> str:
        """a registered strategy name"""
        if name not in STRATEGIES:
            known = sorted(STRATEGIES)
            raise rule(
                f"is not a registered strategy (registered: {', '.join(known)})" + did_you_mean(name, known),
                Code.CONFIG_UNKNOWN_STRATEGY,
            )
        return name

    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, end: str, info: ValidationInfo) -> str:
        """not before `start_date`"""
        start = info.data.get("start_date")
        if start is not None and end < start:  # ISO dates sort as strings
            raise rule("must not be before `start_date`")
        return end

    @field_validator("sessions")
    @classmethod
    def _some_session(cls, sessions: list[Session] | None) -> list[Session] | None:
        """null or at least one session"""
        if sessions == []:  # never open would silently give 0 trades
            raise rule("must contain at least one session; use null for always open")
        return sessions

    @field_validator("data_mode")
    @classmethod
    def _candle_only(cls, mode: str) -> str:
        """`"tick"` is not supported yet"""
        if mode == "tick":
            raise rule('tick mode is not yet supported; use "candle"', Code.CONFIG_UNSUPPORTED)
        return mode

    @field_validator("execution_variant")
    @classmethod
    def _v2_only(cls, variant: str, info: ValidationInfo) -> str:
        """`"v1_parity"` is not supported yet"""
        if variant == "v1_parity":
            if info.data.get("run_mode") == "prod":
                raise rule('"v1_parity" is only allowed with run_mode "dev"')
            raise rule('"v1_parity" is not supported yet; use "v2"', Code.CONFIG_UNSUPPORTED)
        return variant

    @field_validator("rng_seed")
    @classmethod
    def _dev_default_seed(cls, seed: int | None, info: ValidationInfo) -> int | None:
        """null: 42 in dev; in prod a seed from OS entropy, recorded in meta.json"""
        # Dev runs are reproducible by default; a prod null stays null here (hashed as
        # null) and is resolved in model_post_init.
        if seed is None and info.data.get("run_mode") == "dev":
            return _DEV_DEFAULT_SEED
        return seed

    @field_validator("strategy_parameters", mode="plain")
    @classmethod
    def _strategy_parameters(cls, value: Any, info: ValidationInfo) -> StrategyParameters:
        """checked by the parameters of `strategy_name`; an unknown parameter is an error"""
        model = STRATEGIES.get(info.data.get("strategy_name", ""))
        if model is None:
            return StrategyParameters()  # strategy_name already failed; avoid follow-up noise
        return model.model_validate(value)

    @field_validator("metrics")
    @classmethod
    def _finite_metrics(cls, metrics: dict[str, Any]) -> dict[str, Any]:
        """any JSON object without NaN or Infinity"""
        if not _all_finite(metrics):
            raise rule("must contain only finite numbers (no NaN or Infinity)")
        return metrics

    def model_post_init(self, context: Any, /) -> None:
        """Resolve the seed actually used: the configured one, else OS entropy."""
        self._effective_seed = self.rng_seed if self.rng_seed is not None else secrets.randbits(63)

    @property
    def effective_seed(self) -> int:
        """The seed the engine runs with (never log it; it goes to meta.json only)."""
        return self._effective_seed

    def normalized(self) -> dict[str, Any]:
        """The JSON-ready config handed to Rust: the dump with the seed resolved."""
        return {**self.model_dump(mode="json"), "rng_seed": self._effective_seed}

    def __repr_args__(self) -> Iterable[tuple[str, Any]]:
        # A repr may end up in a log: show the allowlist only.
        from omega_v2.config.canonical import allowlisted_fields

        return allowlisted_fields(self.model_dump(mode="json")).items()


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    return True
