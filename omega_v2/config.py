"""Run config of omega-v2 (SPEC 2): validation, normalisation, canonical JSON, hash.

``load_config`` turns a dict or a JSON file into a :class:`LoadedConfig`. Its
``normalized`` dict has exactly the shape the Rust engine deserialises (``RunConfig``
in ``src/config.rs``), plus ``metrics``, which is passed through unchanged.

Design rules:

* **Unknown keys** are accepted for forward compatibility but reported as warnings
  naming the dotted key path and the closest known key; ``strict=True`` turns them into
  a ``ConfigError``. Their values are dropped, so they never reach Rust, the hash or a
  message. ``metrics`` is free-form and not checked; an unknown *strategy parameter* is
  always an error.
* **Redaction** (SPEC 8.5): every model sets ``hide_input_in_errors=True`` and
  ``ConfigError`` messages are built only from pydantic's error location and rule,
  never from the input, so config values (secrets included) never appear in an error,
  a warning or a log record. A field meant to hold credentials must be typed
  ``pydantic.SecretStr``: its JSON dump is ``"**********"``, so the secret stays out of
  the hash and of the config sent to Rust and must be handed over explicitly with
  ``get_secret_value()``. The core schema has no such field yet.
* **Seed and hash**: ``rng_seed`` defaults to 42 in dev. In prod a null seed is
  resolved at validation to OS entropy (``secrets.randbits(63)``, kept in
  ``OmegaConfig.effective_seed``) and ``normalized`` carries it, so Rust always gets an
  int. ``config_hash`` is computed over ``model_dump(mode="json")``: the config as given
  with defaults applied and the seed still null, so two loads of one prod config have
  the same hash whatever seed was drawn.
* **Hash definition**: ``config_hash`` = sha256 of :func:`canonical_json` of that dump.
  The hash is defined by this Python serialisation (floats as Python's ``json`` writes
  them, e.g. ``1e-07``); Rust never recomputes it.
* **Sessions**: ``end <= start`` crosses midnight; ``end == start`` is rejected as an
  empty session (reading it as "24 hours" would surprise; use ``sessions: null`` for
  always open), and so is an empty list (never open would silently give 0 trades).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import math
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    SerializeAsAny,
    Strict,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from .errors import ConfigError

__all__ = [
    "ALLOWLISTED_FIELDS",
    "NEWS_CALENDAR_ENV",
    "STRATEGIES",
    "SYMBOL_SPECS_ENV",
    "LoadedConfig",
    "MeanReversionZScoreParameters",
    "OmegaConfig",
    "SmaCrossoverParameters",
    "StrategyParameters",
    "allowlisted_fields",
    "canonical_json",
    "config_hash",
    "example_config_path",
    "load_config",
    "symbol_specs_path",
]

_log = logging.getLogger("omega_v2.config")
_PACKAGE_DIR = Path(__file__).resolve().parent

SYMBOL_SPECS_ENV = "OMEGA_SYMBOL_SPECS_FILE"
NEWS_CALENDAR_ENV = "OMEGA_NEWS_CALENDAR_FILE"
ALLOWLISTED_FIELDS = (
    "symbol",
    "timeframe",
    "strategy_name",
    "run_mode",
    "data_mode",
    "start_date",
    "end_date",
)

# Stable error codes (ConfigError.code).
CODE_INVALID = "config.invalid"
CODE_UNSUPPORTED = "config.unsupported"
CODE_UNKNOWN_KEY = "config.unknown_key"
CODE_STRATEGY_PARAMETER = "config.strategy_parameter"  # same code as the Rust engine
CODE_ENVIRONMENT = "config.environment"
CODE_FILE_NOT_FOUND = "config.file_not_found"
CODE_FILE_UNREADABLE = "config.file_unreadable"
CODE_JSON_INVALID = "config.json_invalid"

_SCHEMA_VERSIONS = {"2": "2", "2.0": "2"}  # accepted spelling -> normalised
_DEV_DEFAULT_SEED = 42
_SEED_LIMIT = 2**63
# Rust reads ints as i64/u64/usize; serde would echo an out-of-range value.
_INT64_MAX = 2**63 - 1
_IMPLEMENTED_SCENARIOS = (1, 2, 3)
_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")


# --------------------------------------------------------------------------------------
# Field types. Strict: JSON configs are typed, so "20" is not an int and true is not 1.


def _rule(message: str, code: str = CODE_INVALID) -> PydanticCustomError:
    """A validation failure whose pydantic `type` is our error code (no input in it)."""
    return PydanticCustomError(code, message)


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _check_date(value: str) -> str:
    if not (_DATE.fullmatch(value) and _is_calendar_date(value)):
        raise _rule("must be a calendar date YYYY-MM-DD")
    return value


def _is_calendar_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_hhmm(value: str) -> str:
    if not _HHMM.fullmatch(value):
        raise _rule("must be a UTC time HH:MM (00:00..23:59)")
    return value


def _check_currency(value: str) -> str:
    if not _CURRENCY.fullmatch(value):
        raise _rule("must be a 3-letter currency code such as EUR")
    return value


def _dedup(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _check_int64(value: int) -> int:
    if value > _INT64_MAX:
        raise _rule(f"must be less than or equal to {_INT64_MAX}")
    return value


# The int64 bound is a validator, not Field(le=...): a field's own Field(le=...) would
# be silently overridden by an `le` in the alias (pydantic merges constraints per key).
Int = Annotated[int, Strict(), AfterValidator(_check_int64)]
# Strict float still accepts ints (dumped as floats); rejects bools, strings, NaN, inf.
Float = Annotated[float, Strict(), AllowInfNan(False)]
PositiveFloat = Annotated[Float, Field(gt=0)]
NonNegativeFloat = Annotated[Float, Field(ge=0)]
Bool = Annotated[bool, Strict()]
Timeframe = Annotated[Literal["M1", "M5", "M15", "M30", "H1", "H4", "D1"], BeforeValidator(_upper)]
Currency = Annotated[str, Strict(), BeforeValidator(_upper), AfterValidator(_check_currency)]
IsoDate = Annotated[str, Strict(), AfterValidator(_check_date)]
HhMm = Annotated[str, Strict(), AfterValidator(_check_hhmm)]
Seed = Annotated[int, Strict(), Field(ge=0, lt=_SEED_LIMIT)]


class _Section(BaseModel):
    """Base of every config section: immutable, unknown keys ignored (reported)."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)


# --------------------------------------------------------------------------------------
# Strategy parameters (SPEC 5)


class StrategyParameters(BaseModel):
    """Base of the per-strategy parameter models; unknown parameter names are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)
    strategy_name: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        unknown = [str(name) for name in data if name not in cls.model_fields]
        if unknown:
            # One located error per name (a nested ValidationError keeps its locations).
            raise ValidationError.from_exception_data(
                cls.__name__,
                [_unknown_parameter(cls, name) for name in unknown],
                hide_input=True,
            )
        return data


def _unknown_parameter(model: type[StrategyParameters], name: str) -> InitErrorDetails:
    known = sorted(model.model_fields)
    hint = _did_you_mean(name, known) or f" (parameters: {', '.join(known)})"
    message = f"is not a parameter of strategy `{model.strategy_name}`{hint}"
    return InitErrorDetails(type=_rule(message, CODE_STRATEGY_PARAMETER), loc=(name,), input=None)


class SmaCrossoverParameters(StrategyParameters):
    """Parameters of `sma_crossover` (SPEC 5)."""

    strategy_name: ClassVar[str] = "sma_crossover"
    fast: Int = Field(20, ge=1)
    slow: Int = Field(50, ge=2, validate_default=True)  # `fast` alone may pass it
    allow_short: Bool = True
    sl_pips: PositiveFloat | None = None
    tp_pips: PositiveFloat | None = None
    size_lots: PositiveFloat = 1.0

    @field_validator("slow")
    @classmethod
    def _slow_above_fast(cls, slow: int, info: ValidationInfo) -> int:
        fast = info.data.get("fast")
        if fast is not None and slow <= fast:
            raise _rule("must be greater than `fast`")
        return slow


class MeanReversionZScoreParameters(StrategyParameters):
    """Parameters of `mean_reversion_z_score` (SPEC 5)."""

    strategy_name: ClassVar[str] = "mean_reversion_z_score"
    window_length: Int = Field(20, ge=2)
    ema_length: Int = Field(20, ge=1)
    atr_length: Int = Field(14, ge=1)
    atr_mult: PositiveFloat = 2.0
    z_score_long: Float = Field(-2.0, lt=0)
    z_score_short: Float = Field(2.0, gt=0)
    b_b_length: Int = Field(20, ge=2)
    std_factor: PositiveFloat = 2.0
    kalman_r: PositiveFloat = 1.0
    kalman_q: PositiveFloat = 0.1
    tp_min_distance: NonNegativeFloat = 0.0010
    direction_filter: Annotated[Literal["long", "short", "both"], BeforeValidator(_lower)] = "both"
    enabled_scenarios: list[Annotated[Int, Field(ge=1, le=6)]] = Field(default_factory=lambda: [1], min_length=1)
    cooldown_bars: Int = Field(0, ge=0)

    @field_validator("enabled_scenarios")
    @classmethod
    def _implemented_scenarios(cls, scenarios: list[int]) -> list[int]:
        if len(set(scenarios)) != len(scenarios):
            raise _rule("must not contain the same scenario twice")
        for scenario in scenarios:
            if scenario not in _IMPLEMENTED_SCENARIOS:
                # An unimplemented scenario must fail loudly, never run with 0 trades.
                implemented = ", ".join(map(str, _IMPLEMENTED_SCENARIOS))
                raise _rule(
                    f"scenario {scenario} is not implemented yet (implemented: {implemented})",
                    CODE_UNSUPPORTED,
                )
        return scenarios


STRATEGIES: dict[str, type[StrategyParameters]] = {
    model.strategy_name: model for model in (SmaCrossoverParameters, MeanReversionZScoreParameters)
}


# --------------------------------------------------------------------------------------
# Config sections (SPEC 2)


class Timeframes(_Section):
    """Primary timeframe and additional ones (deduplicated, order kept)."""

    primary: Timeframe = "M5"
    additional: list[Timeframe] = Field(default_factory=list)

    @field_validator("additional")
    @classmethod
    def _dedup_without_primary(cls, additional: list[str], info: ValidationInfo) -> list[str]:
        if info.data.get("primary") in additional:
            raise _rule("must not contain the primary timeframe")
        return _dedup(additional)


class Session(_Section):
    """A UTC session; `end <= start` crosses midnight, `end == start` is rejected."""

    start: HhMm
    end: HhMm

    @field_validator("end")
    @classmethod
    def _not_empty(cls, end: str, info: ValidationInfo) -> str:
        if end == info.data.get("start"):
            raise _rule("must differ from `start` (an empty session); set `sessions` to null for always open")
        return end


class Account(_Section):
    """Account currency, starting balance and risk per trade (account currency)."""

    initial_balance: PositiveFloat = 10000.0
    account_currency: Currency = "EUR"
    risk_per_trade: PositiveFloat = 100.0


class Costs(_Section):
    """Cost switches and multipliers; `pip_buffer_factor` null = the costs default."""

    enabled: Bool = True
    fee_multiplier: NonNegativeFloat = 1.0
    slippage_multiplier: NonNegativeFloat = 1.0
    spread_multiplier: NonNegativeFloat = 1.0
    pip_buffer_factor: NonNegativeFloat | None = None


class NewsFilter(_Section):
    """News blackout windows; when enabled, needs a calendar file from the env."""

    enabled: Bool = False
    minutes_before: Int = Field(30, ge=0)
    minutes_after: Int = Field(30, ge=0)
    min_impact: Annotated[Literal["low", "medium", "high"], BeforeValidator(_lower)] = "high"
    # Empty = the symbol's base and quote currencies (resolved by the engine).
    currencies: list[Currency] = Field(default_factory=list)

    @field_validator("enabled")
    @classmethod
    def _calendar_available(cls, enabled: bool) -> bool:
        if enabled:
            _check_news_calendar()
        return enabled

    @field_validator("currencies")
    @classmethod
    def _dedup_currencies(cls, currencies: list[str]) -> list[str]:
        return _dedup(currencies)


class BreakEven(_Section):
    """Move the stop to entry + offset once the trade is `trigger_r` R in profit."""

    enabled: Bool = False
    trigger_r: PositiveFloat = 1.0
    offset_pips: NonNegativeFloat = 0.0


class Trailing(_Section):
    """Trail the stop `distance_pips` behind the close from `activation_r` R profit."""

    enabled: Bool = False
    activation_r: NonNegativeFloat = 1.0
    distance_pips: PositiveFloat = 10.0


class TradeManagement(_Section):
    """Timeout, break-even and trailing rules (all off by default)."""

    max_holding_minutes: Annotated[Int, Field(gt=0)] | None = None
    break_even: BreakEven = Field(default_factory=BreakEven)
    trailing: Trailing = Field(default_factory=Trailing)


class Observability(_Section):
    """Profiling switch and sampling frequency (SPEC 8)."""

    profiling_mode: Bool = False
    profiling_frequency_hz: Int = Field(199, ge=1, le=1000)


class OmegaConfig(_Section):
    """The validated run config (SPEC 2).

    Field order matters: cross-field rules read earlier fields (e.g. `rng_seed` reads
    `run_mode`, `strategy_parameters` reads `strategy_name`).
    """

    schema_version: str
    strategy_name: Annotated[str, Strict(), BeforeValidator(_lower)]
    symbol: Annotated[str, Strict(), BeforeValidator(_upper)]
    start_date: IsoDate
    end_date: IsoDate
    run_mode: Annotated[Literal["dev", "prod"], BeforeValidator(_lower)] = "dev"
    data_mode: Annotated[Literal["candle", "tick"], BeforeValidator(_lower)] = "candle"
    execution_variant: Annotated[Literal["v2", "v1_parity"], BeforeValidator(_lower)] = "v2"
    rng_seed: Seed | None = Field(None, validate_default=True)
    timeframes: Timeframes = Field(default_factory=Timeframes)
    warmup_bars: Int = Field(500, ge=0)
    sessions: list[Session] | None = None
    account: Account = Field(default_factory=Account)
    costs: Costs = Field(default_factory=Costs)
    news_filter: NewsFilter = Field(default_factory=NewsFilter)
    strategy_parameters: SerializeAsAny[StrategyParameters] = Field(default_factory=dict, validate_default=True)
    trade_management: TradeManagement = Field(default_factory=TradeManagement)
    observability: Observability = Field(default_factory=Observability)
    metrics: dict[str, JsonValue] = Field(default_factory=dict)

    _effective_seed: int = PrivateAttr()

    @field_validator("schema_version", mode="plain")
    @classmethod
    def _supported_schema(cls, value: Any) -> str:
        if isinstance(value, str) and value.strip() in _SCHEMA_VERSIONS:
            return _SCHEMA_VERSIONS[value.strip()]
        raise _rule('is not supported; supported versions: "2" ("2.0" is accepted as "2")')

    @field_validator("strategy_name")
    @classmethod
    def _registered_strategy(cls, name: str) -> str:
        if name not in STRATEGIES:
            known = sorted(STRATEGIES)
            raise _rule(f"is not a registered strategy (registered: {', '.join(known)})" + _did_you_mean(name, known))
        return name

    @field_validator("symbol")
    @classmethod
    def _known_symbol(cls, symbol: str) -> str:
        known, path = _known_symbols()
        if symbol not in known:
            raise _rule(
                f"is not in the symbol specs ({path}; known symbols: {', '.join(known)})" + _did_you_mean(symbol, known)
            )
        return symbol

    @field_validator("end_date")
    @classmethod
    def _not_before_start(cls, end: str, info: ValidationInfo) -> str:
        start = info.data.get("start_date")
        if start is not None and end < start:  # ISO dates sort as strings
            raise _rule("must not be before `start_date`")
        return end

    @field_validator("sessions")
    @classmethod
    def _some_session(cls, sessions: list[Session] | None) -> list[Session] | None:
        if sessions == []:  # never open would silently give 0 trades
            raise _rule("must contain at least one session; use null for always open")
        return sessions

    @field_validator("data_mode")
    @classmethod
    def _candle_only(cls, mode: str) -> str:
        if mode == "tick":
            raise _rule('tick mode is not yet supported; use "candle"', CODE_UNSUPPORTED)
        return mode

    @field_validator("execution_variant")
    @classmethod
    def _v2_only(cls, variant: str, info: ValidationInfo) -> str:
        if variant == "v1_parity":
            if info.data.get("run_mode") == "prod":
                raise _rule('"v1_parity" is only allowed with run_mode "dev"')
            raise _rule('"v1_parity" is not supported yet; use "v2"', CODE_UNSUPPORTED)
        return variant

    @field_validator("rng_seed")
    @classmethod
    def _dev_default_seed(cls, seed: int | None, info: ValidationInfo) -> int | None:
        # Dev runs are reproducible by default; a prod null stays null here (hashed as
        # null) and is resolved in model_post_init.
        if seed is None and info.data.get("run_mode") == "dev":
            return _DEV_DEFAULT_SEED
        return seed

    @field_validator("strategy_parameters", mode="plain")
    @classmethod
    def _strategy_parameters(cls, value: Any, info: ValidationInfo) -> StrategyParameters:
        model = STRATEGIES.get(info.data.get("strategy_name", ""))
        if model is None:
            return StrategyParameters()  # strategy_name already failed; avoid follow-up noise
        return model.model_validate(value)

    @field_validator("metrics")
    @classmethod
    def _finite_metrics(cls, metrics: dict[str, Any]) -> dict[str, Any]:
        if not _all_finite(metrics):
            raise _rule("must contain only finite numbers (no NaN or Infinity)")
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
        # A repr may end up in a log: show the allowlist only (SPEC 8.5).
        return allowlisted_fields(self).items()


# --------------------------------------------------------------------------------------
# Helpers used by the validators


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"; did you mean `{match[0]}`?" if match else ""


def symbol_specs_path() -> Path:
    """The symbol specs file: env `OMEGA_SYMBOL_SPECS_FILE`, else the packaged one."""
    override = os.environ.get(SYMBOL_SPECS_ENV)
    return Path(override) if override else _PACKAGE_DIR / "data" / "symbol_specs.json"


def _known_symbols() -> tuple[list[str], Path]:
    path = symbol_specs_path()
    try:
        specs = json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    except json.JSONDecodeError as exc:
        reason = f"invalid JSON at line {exc.lineno} column {exc.colno}"
    except UnicodeDecodeError:
        reason = "not UTF-8"
    else:
        if isinstance(specs, dict):
            return sorted(specs), path
        reason = "not a JSON object of symbols"
    raise _rule(
        f"cannot be checked: symbol specs file {path}: {reason} "
        f"(the file can be set with the environment variable {SYMBOL_SPECS_ENV})",
        CODE_ENVIRONMENT,
    )


def _check_news_calendar() -> None:
    path = os.environ.get(NEWS_CALENDAR_ENV)
    if not path:
        raise _rule(
            f"needs a news calendar: set the environment variable {NEWS_CALENDAR_ENV} to the calendar file",
            CODE_ENVIRONMENT,
        )
    if not Path(path).is_file():
        raise _rule(
            f"needs a news calendar, but {NEWS_CALENDAR_ENV} points to a missing file: {path}",
            CODE_ENVIRONMENT,
        )


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    return True


# --------------------------------------------------------------------------------------
# Unknown keys


def _unknown_keys(raw: Mapping[Any, Any], model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(dotted path, warning) of each key no model knows.

    `metrics` (free-form) and `strategy_parameters` (unknown names are errors) are not
    walked.
    """
    found: list[tuple[str, str]] = []
    for key, value in raw.items():
        path = f"{prefix}{key}"
        info = model.model_fields.get(key)
        if info is None:
            found.append((path, _unknown_key_message(str(key), model, prefix)))
            continue
        section = _section_model(info.annotation)
        if section is None:
            continue
        if isinstance(value, Mapping):
            found += _unknown_keys(value, section, f"{path}.")
        elif isinstance(value, list):  # e.g. sessions
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    found += _unknown_keys(item, section, f"{path}.{index}.")
    return found


def _section_model(annotation: Any) -> type[_Section] | None:
    """The section model inside a field annotation (through Optional/list), if any."""
    if isinstance(annotation, type) and issubclass(annotation, _Section):
        return annotation
    for arg in get_args(annotation):
        if (model := _section_model(arg)) is not None:
            return model
    return None


def _unknown_key_message(key: str, model: type[BaseModel], prefix: str) -> str:
    match = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
    if not match:
        return f"unknown config key `{prefix}{key}`; it is ignored"
    return f"unknown config key `{prefix}{key}`; did you mean `{prefix}{match[0]}`?"


# --------------------------------------------------------------------------------------
# Errors


def _config_error(exc: ValidationError) -> ConfigError:
    """A ConfigError from pydantic's errors: location and rule only, never the input."""
    problems = [
        (_dotted(err["loc"]), _rule_text(err), _error_code(err))
        for err in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
    texts = [f"`{path}`: {rule}" for path, rule, _ in problems]
    if len(texts) == 1:
        message = f"invalid config: {texts[0]}"
    else:
        message = f"invalid config ({len(texts)} problems): " + "; ".join(texts)
    first_path, _, first_code = problems[0]
    context = {"field": first_path}
    if len(problems) > 1:
        context["fields"] = ", ".join(path for path, _, _ in problems)
    return ConfigError(message, code=first_code, context=context)


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(config)"


_RULE_TEXTS = {
    "missing": "is required",
    "model_type": "must be an object",
    "dict_type": "must be an object",
}


def _rule_text(err: Mapping[str, Any]) -> str:
    if err["type"] in _RULE_TEXTS:
        return _RULE_TEXTS[err["type"]]
    msg = str(err["msg"]).removeprefix("Value error, ")
    # pydantic's messages read "Input should be ..."; ours start with a verb already.
    return msg.replace("Input should be", "must be", 1)


def _error_code(err: Mapping[str, Any]) -> str:
    code = str(err["type"])
    if code.startswith("config.") and code != CODE_INVALID:
        return code  # a specific code raised by our own rules
    if err["loc"] and err["loc"][0] == "strategy_parameters":
        return CODE_STRATEGY_PARAMETER
    return CODE_INVALID


# --------------------------------------------------------------------------------------
# Canonical JSON, hash, allowlist


def canonical_json(obj: Any) -> str:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8 text (SPEC 8.5).

    The config hash is defined over this serialisation only; Rust never recomputes it.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def config_hash(obj: Any) -> str:
    """sha256 hex of the UTF-8 bytes of `canonical_json(obj)`."""
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()


def allowlisted_fields(cfg: OmegaConfig | LoadedConfig) -> dict[str, str]:
    """The only config fields that may appear in logs and messages (SPEC 8.5)."""
    model = cfg.model if isinstance(cfg, LoadedConfig) else cfg
    return {
        "symbol": model.symbol,
        "timeframe": model.timeframes.primary,
        "strategy_name": model.strategy_name,
        "run_mode": model.run_mode,
        "data_mode": model.data_mode,
        "start_date": model.start_date,
        "end_date": model.end_date,
    }


# --------------------------------------------------------------------------------------
# Public API


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config with everything the runner needs.

    `normalized` and `canonical_json` contain the seed actually used, so they are kept
    out of the repr.
    """

    model: OmegaConfig
    normalized: dict[str, Any] = field(repr=False)
    canonical_json: str = field(repr=False)
    config_hash: str
    warnings: tuple[str, ...]
    source: str


def example_config_path() -> Path:
    """Path of the bundled example config (`omega_v2/examples/example_config.json`)."""
    return _PACKAGE_DIR / "examples" / "example_config.json"


def load_config(
    path_or_dict: Mapping[str, Any] | str | os.PathLike[str] | LoadedConfig,
    *,
    strict: bool = False,
) -> LoadedConfig:
    """Validate and normalise a config: a dict, a JSON file path or a LoadedConfig.

    Unknown keys are logged as warnings on the `omega_v2.config` logger and returned in
    `LoadedConfig.warnings`; with `strict=True` they raise a ConfigError instead.
    Raises ConfigError for any invalid input, never echoing config values.
    """
    if isinstance(path_or_dict, LoadedConfig):
        if strict and path_or_dict.warnings:
            raise _strict_error(list(path_or_dict.warnings))
        return path_or_dict
    raw, source = _read_source(path_or_dict)
    unknown = _unknown_keys(raw, OmegaConfig)
    warnings = tuple(message for _, message in unknown)
    if strict and warnings:
        raise _strict_error(list(warnings), unknown[0][0])
    for warning in warnings:
        _log.warning("%s", warning)
    try:
        model = OmegaConfig.model_validate(raw)
    except ValidationError as exc:
        raise _config_error(exc) from None  # the chained error would add nothing safe
    normalized = model.normalized()
    return LoadedConfig(
        model=model,
        normalized=normalized,
        canonical_json=canonical_json(normalized),
        config_hash=config_hash(model.model_dump(mode="json")),  # seed unresolved: see module doc
        warnings=warnings,
        source=source,
    )


def _strict_error(warnings: list[str], first_path: str | None = None) -> ConfigError:
    context = {"field": first_path} if first_path else {}
    return ConfigError(
        "strict mode rejects unknown config keys: " + "; ".join(warnings),
        code=CODE_UNKNOWN_KEY,
        context=context,
    )


def _read_source(source: Any) -> tuple[dict[str, Any], str]:
    if isinstance(source, Mapping):
        return dict(source), "dict"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        is_example = path.resolve() == example_config_path()
        return _read_json_file(path), "example" if is_example else str(path)
    raise TypeError(f"load_config expects a dict, a path to a JSON file or a LoadedConfig, not {type(source).__name__}")


def _read_json_file(path: Path) -> dict[str, Any]:
    context = {"file": str(path)}
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a BOM from Windows editors
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}", code=CODE_FILE_NOT_FOUND, context=context) from None
    except UnicodeDecodeError:  # `from None`: its text would quote the offending bytes
        raise ConfigError(
            f"config file {path} is not UTF-8 text",
            code=CODE_JSON_INVALID,
            context=context,
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror or type(exc).__name__}",
            code=CODE_FILE_UNREADABLE,
            context=context,
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            code=CODE_JSON_INVALID,
            context={**context, "line": str(exc.lineno), "column": str(exc.colno)},
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must contain a JSON object",
            code=CODE_INVALID,
            context=context,
        )
    return data
