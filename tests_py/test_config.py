"""Table-driven tests of the config model."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import traceback
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import omega_v2
from omega_v2 import _core
from omega_v2 import config as cfgmod
from omega_v2.config import (
    LoadedConfig,
    OmegaConfig,
    allowlisted_fields,
    canonical_json,
    config_hash,
    example_config_path,
    load_config,
)
from omega_v2.errors import ConfigError

BASE: dict[str, Any] = {
    "schema_version": "2",
    "strategy_name": "sma_crossover",
    "symbol": "EURUSD",
    "start_date": "2025-01-06",
    "end_date": "2025-01-31",
}
MRZ = {"strategy_name": "mean_reversion_z_score"}
DELETE = object()
SECRET = "sk-SECRET-123"

SMA_DEFAULTS = {
    "fast": 20,
    "slow": 50,
    "allow_short": True,
    "sl_pips": None,
    "tp_pips": None,
    "size_lots": 1.0,
}
MRZ_DEFAULTS = {
    "window_length": 20,
    "ema_length": 20,
    "atr_length": 14,
    "atr_mult": 2.0,
    "z_score_long": -2.0,
    "z_score_short": 2.0,
    "b_b_length": 20,
    "std_factor": 2.0,
    "kalman_r": 1.0,
    "kalman_q": 0.1,
    "tp_min_distance": 0.001,
    "direction_filter": "both",
    "enabled_scenarios": [1],
    "cooldown_bars": 0,
}
# Top-level keys of `RunConfig` in src/config.rs, plus `metrics` (passed through).
RUST_KEYS = {
    "schema_version",
    "strategy_name",
    "symbol",
    "start_date",
    "end_date",
    "run_mode",
    "data_mode",
    "execution_variant",
    "rng_seed",
    "timeframes",
    "warmup_bars",
    "sessions",
    "account",
    "costs",
    "news_filter",
    "strategy_parameters",
    "trade_management",
    "observability",
    "outputs",
    "metrics",
}


def make(changes: dict[str, Any] | None = None, base: dict[str, Any] = BASE) -> dict[str, Any]:
    """A copy of `base` with dotted-path changes applied (DELETE removes the key)."""
    raw = copy.deepcopy(base)
    for path, value in (changes or {}).items():
        *parents, leaf = path.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
        if value is DELETE:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return raw


def get(tree: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        tree = tree[part]
    return tree


# --------------------------------------------------------------------------------------
# Good inputs: expected normalised values

GOOD = [
    (
        "defaults",
        {},
        {
            "schema_version": "2",
            "run_mode": "dev",
            "data_mode": "candle",
            "execution_variant": "v2",
            "rng_seed": 42,
            "timeframes": {"primary": "M5", "additional": []},
            "warmup_bars": 500,
            "sessions": None,
            "account": {
                "initial_balance": 10000.0,
                "account_currency": "EUR",
                "risk_per_trade": 100.0,
                "stop_out_level": 0.0,
            },
            "costs": {
                "enabled": True,
                "fee_multiplier": 1.0,
                "slippage_multiplier": 1.0,
                "spread_multiplier": 1.0,
                "pip_buffer_factor": None,
            },
            "news_filter": {
                "enabled": False,
                "minutes_before": 30,
                "minutes_after": 30,
                "min_impact": "high",
                "currencies": [],
            },
            "trade_management": {
                "max_holding_minutes": None,
                "break_even": {"enabled": False, "trigger_r": 1.0, "offset_pips": 0.0},
                "trailing": {
                    "enabled": False,
                    "activation_r": 1.0,
                    "distance_pips": 10.0,
                },
            },
            "observability": {"profiling_mode": False, "profiling_frequency_hz": 1000},
            "outputs": {"equity": "bar"},
            "strategy_parameters": SMA_DEFAULTS,
            "metrics": {},
        },
    ),
    ("schema 2.0", {"schema_version": "2.0"}, {"schema_version": "2"}),
    ("symbol upper", {"symbol": " eurusd "}, {"symbol": "EURUSD"}),
    (
        "strategy lower",
        {"strategy_name": "SMA_Crossover"},
        {"strategy_name": "sma_crossover"},
    ),
    (
        "timeframes upper+dedup",
        {"timeframes": {"primary": "h1", "additional": ["m5", "M5", "d1", "m5"]}},
        {"timeframes.primary": "H1", "timeframes.additional": ["M5", "D1"]},
    ),
    (
        "currency upper",
        {"account.account_currency": "usd"},
        {"account.account_currency": "USD"},
    ),
    (
        "int to float",
        {"account.initial_balance": 5000},
        {"account.initial_balance": 5000.0},
    ),
    ("same day", {"end_date": "2025-01-06"}, {"end_date": "2025-01-06"}),
    ("leap day", {"start_date": "2024-02-29"}, {"start_date": "2024-02-29"}),
    (
        "prod seed",
        {"run_mode": "PROD", "rng_seed": 7},
        {"run_mode": "prod", "rng_seed": 7},
    ),
    ("dev null seed", {"rng_seed": None}, {"rng_seed": 42}),
    ("seed 0", {"rng_seed": 0}, {"rng_seed": 0}),
    ("seed max", {"rng_seed": 2**63 - 1}, {"rng_seed": 2**63 - 1}),
    ("warmup 0", {"warmup_bars": 0}, {"warmup_bars": 0}),
    (
        "sessions over midnight",
        {
            "sessions": [
                {"start": "22:00", "end": "06:00"},
                {"start": "08:00", "end": "17:30"},
            ]
        },
        {
            "sessions": [
                {"start": "22:00", "end": "06:00"},
                {"start": "08:00", "end": "17:30"},
            ]
        },
    ),
    ("pip buffer 0", {"costs.pip_buffer_factor": 0}, {"costs.pip_buffer_factor": 0.0}),
    ("costs off", {"costs.enabled": False}, {"costs.enabled": False}),
    (
        "news currencies",
        {
            "news_filter.currencies": ["usd", "USD", "jpy"],
            "news_filter.min_impact": "Medium",
        },
        {"news_filter.currencies": ["USD", "JPY"], "news_filter.min_impact": "medium"},
    ),
    (
        "trade management",
        {
            "trade_management.max_holding_minutes": 60,
            "trade_management.break_even": {"enabled": True},
            "trade_management.trailing": {"enabled": True, "activation_r": 0},
        },
        {
            "trade_management.max_holding_minutes": 60,
            "trade_management.break_even": {
                "enabled": True,
                "trigger_r": 1.0,
                "offset_pips": 0.0,
            },
            "trade_management.trailing": {
                "enabled": True,
                "activation_r": 0.0,
                "distance_pips": 10.0,
            },
        },
    ),
    (
        "profiling",
        {"observability": {"profiling_mode": True, "profiling_frequency_hz": 1000}},
        {"observability": {"profiling_mode": True, "profiling_frequency_hz": 1000}},
    ),
    (
        "metrics pass through",
        {"metrics": {"optimizer": {"trials": 10, "grid": [1.5, None, "a"]}}},
        {"metrics": {"optimizer": {"trials": 10, "grid": [1.5, None, "a"]}}},
    ),
    (
        "sma partial",
        {
            "strategy_parameters": {
                "fast": 5,
                "slow": 6,
                "sl_pips": 10,
                "allow_short": False,
            }
        },
        {
            "strategy_parameters": {
                **SMA_DEFAULTS,
                "fast": 5,
                "slow": 6,
                "sl_pips": 10.0,
                "allow_short": False,
            }
        },
    ),
    ("mrz defaults", MRZ, {"strategy_parameters": MRZ_DEFAULTS}),
    (
        "mrz partial",
        {
            **MRZ,
            "strategy_parameters": {
                "enabled_scenarios": [3, 1, 2],
                "direction_filter": "LONG",
                "tp_min_distance": 0,
            },
        },
        {
            "strategy_parameters": {
                **MRZ_DEFAULTS,
                "enabled_scenarios": [3, 1, 2],
                "direction_filter": "long",
                "tp_min_distance": 0.0,
            }
        },
    ),
]


@pytest.mark.parametrize(("changes", "expected"), [g[1:] for g in GOOD], ids=[g[0] for g in GOOD])
def test_good_inputs_normalise(changes: dict[str, Any], expected: dict[str, Any]) -> None:
    loaded = load_config(make(changes))
    for path, value in expected.items():
        assert get(loaded.normalized, path) == value, path
    assert set(loaded.normalized) == RUST_KEYS
    assert loaded.warnings == ()
    assert json.loads(loaded.canonical_json) == loaded.normalized


# --------------------------------------------------------------------------------------
# Bad inputs: (id, changes, field path, message fragment, code)

INV, UNSUP, PARAM, ENV = (
    "config.invalid",
    "config.unsupported",
    "config.strategy_parameter",
    "config.environment",
)
BAD = [
    (
        "schema 3",
        {"schema_version": "3"},
        "schema_version",
        'supported versions: "2"',
        INV,
    ),
    ("schema int", {"schema_version": 2}, "schema_version", "supported versions", INV),
    (
        "schema missing",
        {"schema_version": DELETE},
        "schema_version",
        "is required",
        INV,
    ),
    (
        "strategy typo",
        {"strategy_name": "sma_cross"},
        "strategy_name",
        "did you mean `sma_crossover`",
        "config.unknown_strategy",
    ),
    (
        "strategy unknown",
        {"strategy_name": "rsi"},
        "strategy_name",
        "registered: mean_reversion_z_score, python, signals, sma_crossover",
        "config.unknown_strategy",
    ),
    ("symbol unknown", {"symbol": "XXXYYY"}, "symbol", "(known: AUDUSD", "config.unknown_symbol"),
    ("symbol typo", {"symbol": "EURUDS"}, "symbol", "did you mean `EURUSD`", "config.unknown_symbol"),
    ("symbol missing", {"symbol": DELETE}, "symbol", "is required", INV),
    ("date format", {"start_date": "2025/01/06"}, "start_date", "YYYY-MM-DD", INV),
    ("date invalid", {"end_date": "2025-02-30"}, "end_date", "calendar date", INV),
    ("date type", {"start_date": 20250106}, "start_date", "valid string", INV),
    ("end before start", {"end_date": "2025-01-05"}, "end_date", "not be before", INV),
    ("run mode", {"run_mode": "staging"}, "run_mode", "'dev' or 'prod'", INV),
    ("tick", {"data_mode": "tick"}, "data_mode", "not yet supported", UNSUP),
    ("data mode", {"data_mode": "ticks"}, "data_mode", "'candle' or 'tick'", INV),
    (
        "v1 parity dev",
        {"execution_variant": "v1_parity"},
        "execution_variant",
        "not supported yet",
        UNSUP,
    ),
    (
        "v1 parity prod",
        {"execution_variant": "v1_parity", "run_mode": "prod"},
        "execution_variant",
        'only allowed with run_mode "dev"',
        INV,
    ),
    (
        "variant",
        {"execution_variant": "v3"},
        "execution_variant",
        "'v2' or 'v1_parity'",
        INV,
    ),
    ("seed negative", {"rng_seed": -1}, "rng_seed", "greater than or equal to 0", INV),
    ("seed too big", {"rng_seed": 2**63}, "rng_seed", "less than", INV),
    ("seed string", {"rng_seed": "42"}, "rng_seed", "valid integer", INV),
    ("seed bool", {"rng_seed": True}, "rng_seed", "valid integer", INV),
    ("seed float", {"rng_seed": 4.2}, "rng_seed", "valid integer", INV),
    (
        "timeframe",
        {"timeframes.primary": "M2"},
        "timeframes.primary",
        "'M1', 'M5'",
        INV,
    ),
    (
        "additional has primary",
        {"timeframes.additional": ["H1", "m5"]},
        "timeframes.additional",
        "must not contain the primary",
        INV,
    ),
    ("timeframes type", {"timeframes": "M5"}, "timeframes", "must be an object", INV),
    (
        "warmup negative",
        {"warmup_bars": -1},
        "warmup_bars",
        "greater than or equal to 0",
        INV,
    ),
    ("warmup float", {"warmup_bars": 1.5}, "warmup_bars", "valid integer", INV),
    (
        "warmup huge",
        {"warmup_bars": 2**64},
        "warmup_bars",
        "less than or equal to 922",
        INV,
    ),
    ("sessions empty", {"sessions": []}, "sessions", "at least one session", INV),
    (
        "session hour",
        {"sessions": [{"start": "24:00", "end": "01:00"}]},
        "sessions.0.start",
        "HH:MM",
        INV,
    ),
    (
        "session format",
        {"sessions": [{"start": "08:00", "end": "8:00"}]},
        "sessions.0.end",
        "HH:MM",
        INV,
    ),
    (
        "session empty",
        {"sessions": [{"start": "08:00", "end": "08:00"}]},
        "sessions.0.end",
        "empty session",
        INV,
    ),
    (
        "session missing end",
        {"sessions": [{"start": "08:00"}]},
        "sessions.0.end",
        "required",
        INV,
    ),
    (
        "balance 0",
        {"account.initial_balance": 0},
        "account.initial_balance",
        "greater than 0",
        INV,
    ),
    (
        "balance nan",
        {"account.initial_balance": float("nan")},
        "account.initial_balance",
        "finite",
        INV,
    ),
    (
        "balance string",
        {"account.initial_balance": "1000"},
        "account.initial_balance",
        "valid number",
        INV,
    ),
    (
        "risk",
        {"account.risk_per_trade": -5},
        "account.risk_per_trade",
        "greater than 0",
        INV,
    ),
    (
        "currency",
        {"account.account_currency": "EURO"},
        "account.account_currency",
        "3-letter",
        INV,
    ),
    (
        "fee",
        {"costs.fee_multiplier": -0.1},
        "costs.fee_multiplier",
        "greater than or equal to 0",
        INV,
    ),
    ("costs bool", {"costs.enabled": "yes"}, "costs.enabled", "valid boolean", INV),
    ("costs bool int", {"costs.enabled": 1}, "costs.enabled", "valid boolean", INV),
    (
        "pip buffer",
        {"costs.pip_buffer_factor": -1},
        "costs.pip_buffer_factor",
        "greater than or equal to 0",
        INV,
    ),
    (
        "news minutes",
        {"news_filter.minutes_before": -1},
        "news_filter.minutes_before",
        "greater than or equal to 0",
        INV,
    ),
    (
        "news impact",
        {"news_filter.min_impact": "extreme"},
        "news_filter.min_impact",
        "'low', 'medium' or 'high'",
        INV,
    ),
    (
        "news currency",
        {"news_filter.currencies": ["EURO"]},
        "news_filter.currencies.0",
        "3-letter",
        INV,
    ),
    (
        "news without calendar",
        {"news_filter.enabled": True},
        "news_filter.enabled",
        "the environment variable OMEGA_NEWS_CALENDAR_FILE is not set",
        ENV,
    ),
    (
        "holding 0",
        {"trade_management.max_holding_minutes": 0},
        "trade_management.max_holding_minutes",
        "greater than 0",
        INV,
    ),
    (
        "trigger 0",
        {"trade_management.break_even": {"trigger_r": 0}},
        "trade_management.break_even.trigger_r",
        "greater than 0",
        INV,
    ),
    (
        "offset negative",
        {"trade_management.break_even": {"offset_pips": -1}},
        "trade_management.break_even.offset_pips",
        "greater than or equal to 0",
        INV,
    ),
    (
        "trailing distance",
        {"trade_management.trailing": {"distance_pips": 0}},
        "trade_management.trailing.distance_pips",
        "greater than 0",
        INV,
    ),
    (
        "trailing activation",
        {"trade_management.trailing": {"activation_r": -0.5}},
        "trade_management.trailing.activation_r",
        "greater than or equal to 0",
        INV,
    ),
    (
        "profiling hz 0",
        {"observability.profiling_frequency_hz": 0},
        "observability.profiling_frequency_hz",
        "greater than or equal to 1",
        INV,
    ),
    (
        "profiling hz big",
        {"observability.profiling_frequency_hz": 1001},
        "observability.profiling_frequency_hz",
        "less than or equal to 1000",
        INV,
    ),
    (
        "metrics nan",
        {"metrics": {"x": [float("inf")]}},
        "metrics",
        "finite numbers",
        INV,
    ),
    ("metrics type", {"metrics": [1]}, "metrics", "must be an object", INV),
    # strategy parameters: sma_crossover
    (
        "params type",
        {"strategy_parameters": [1]},
        "strategy_parameters",
        "must be an object",
        PARAM,
    ),
    (
        "sma unknown",
        {"strategy_parameters": {"fsat": 5}},
        "strategy_parameters.fsat",
        "did you mean `fast`",
        PARAM,
    ),
    (
        "sma unknown, no match",
        {"strategy_parameters": {"zzz": 5}},
        "strategy_parameters.zzz",
        "parameters: allow_short, fast",
        PARAM,
    ),
    (
        "sma fast 0",
        {"strategy_parameters": {"fast": 0}},
        "strategy_parameters.fast",
        "greater than or equal to 1",
        PARAM,
    ),
    (
        "sma slow <= fast",
        {"strategy_parameters": {"fast": 30, "slow": 30}},
        "strategy_parameters.slow",
        "greater than `fast`",
        PARAM,
    ),
    (
        "sma slow default < fast",
        {"strategy_parameters": {"fast": 60}},
        "strategy_parameters.slow",
        "greater than `fast`",
        PARAM,
    ),
    (
        "sma sl 0",
        {"strategy_parameters": {"sl_pips": 0}},
        "strategy_parameters.sl_pips",
        "greater than 0",
        PARAM,
    ),
    (
        "sma size",
        {"strategy_parameters": {"size_lots": -1}},
        "strategy_parameters.size_lots",
        "greater than 0",
        PARAM,
    ),
    (
        "sma allow_short",
        {"strategy_parameters": {"allow_short": "true"}},
        "strategy_parameters.allow_short",
        "valid boolean",
        PARAM,
    ),
    # strategy parameters: mean_reversion_z_score
    (
        "mrz window",
        {**MRZ, "strategy_parameters": {"window_length": 1}},
        "strategy_parameters.window_length",
        "greater than or equal to 2",
        PARAM,
    ),
    (
        "mrz z long",
        {**MRZ, "strategy_parameters": {"z_score_long": 0.5}},
        "strategy_parameters.z_score_long",
        "less than 0",
        PARAM,
    ),
    (
        "mrz z short",
        {**MRZ, "strategy_parameters": {"z_score_short": 0}},
        "strategy_parameters.z_score_short",
        "greater than 0",
        PARAM,
    ),
    (
        "mrz kalman",
        {**MRZ, "strategy_parameters": {"kalman_q": 0}},
        "strategy_parameters.kalman_q",
        "greater than 0",
        PARAM,
    ),
    (
        "mrz tp distance",
        {**MRZ, "strategy_parameters": {"tp_min_distance": -0.1}},
        "strategy_parameters.tp_min_distance",
        "greater than or equal to 0",
        PARAM,
    ),
    (
        "mrz direction",
        {**MRZ, "strategy_parameters": {"direction_filter": "up"}},
        "strategy_parameters.direction_filter",
        "'long', 'short' or 'both'",
        PARAM,
    ),
    (
        "mrz cooldown",
        {**MRZ, "strategy_parameters": {"cooldown_bars": -1}},
        "strategy_parameters.cooldown_bars",
        "greater than or equal to 0",
        PARAM,
    ),
    (
        "mrz scenarios empty",
        {**MRZ, "strategy_parameters": {"enabled_scenarios": []}},
        "strategy_parameters.enabled_scenarios",
        "at least 1 item",
        PARAM,
    ),
    (
        "mrz scenario 7",
        {**MRZ, "strategy_parameters": {"enabled_scenarios": [1, 7]}},
        "strategy_parameters.enabled_scenarios.1",
        "less than or equal to 6",
        PARAM,
    ),
    (
        "mrz scenario twice",
        {**MRZ, "strategy_parameters": {"enabled_scenarios": [2, 2]}},
        "strategy_parameters.enabled_scenarios",
        "same scenario twice",
        PARAM,
    ),
    *[
        (
            f"mrz scenario {n} not implemented",
            {**MRZ, "strategy_parameters": {"enabled_scenarios": [1, n]}},
            "strategy_parameters.enabled_scenarios",
            f"scenario {n} is not implemented yet",
            UNSUP,
        )
        for n in (4, 5, 6)
    ],
    (
        "mrz unknown",
        {**MRZ, "strategy_parameters": {"z_score_lnog": -1}},
        "strategy_parameters.z_score_lnog",
        "did you mean `z_score_long`",
        PARAM,
    ),
    (
        "sma param on mrz",
        {**MRZ, "strategy_parameters": {"fast": 5}},
        "strategy_parameters.fast",
        "is not a parameter of strategy `mean_reversion_z_score`",
        PARAM,
    ),
]


@pytest.mark.parametrize(
    ("changes", "field", "fragment", "code"),
    [b[1:] for b in BAD],
    ids=[b[0] for b in BAD],
)
def test_bad_inputs_raise(changes: dict[str, Any], field: str, fragment: str, code: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(make(changes))
    err = info.value
    assert err.context["field"] == field
    assert f"`{field}`" in str(err)
    assert fragment in str(err)
    assert err.code == code
    assert err.run_id is None


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(make({"warmup_bars": -1, "account.initial_balance": 0, "symbol": DELETE}))
    err = info.value
    assert "invalid config (3 problems)" in str(err)
    assert err.context["fields"] == "symbol, warmup_bars, account.initial_balance"
    assert err.context["field"] == "symbol"


def test_config_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="`run_mode`"):
        load_config(make({"run_mode": "nope"}))


def test_model_validate_directly_fills_strategy_defaults() -> None:
    model = OmegaConfig.model_validate(make(MRZ))
    assert model.model_dump(mode="json")["strategy_parameters"] == MRZ_DEFAULTS


def test_model_is_frozen() -> None:
    model = load_config(BASE).model
    with pytest.raises(ValidationError):
        model.symbol = "GBPUSD"  # type: ignore[misc]


def test_input_dict_is_not_mutated() -> None:
    raw = make({"symbol": "eurusd", "extra": 1})
    before = copy.deepcopy(raw)
    load_config(raw)
    assert raw == before


# --------------------------------------------------------------------------------------
# Unknown keys

UNKNOWN = [
    (
        {"account.initial_cash": 5},
        "unknown config key `account.initial_cash`; did you mean `account.initial_balance`? It is ignored",
    ),
    (
        {"sessions": [{"start": "08:00", "end": "17:00", "tz": "UTC"}]},
        "unknown config key `sessions.0.tz`; it is ignored",
    ),
    (
        {"completely_new": {"a": 1}},
        "unknown config key `completely_new`; it is ignored",
    ),
]


TYPOS = [
    ({"strategy_paramters": {"fast": 5}}, "strategy_paramters", "strategy_parameters"),
    ({"account.initial_balnce": 5}, "account.initial_balnce", "account.initial_balance"),
    (
        {"trade_management.trailing": {"distance_pip": 5}},
        "trade_management.trailing.distance_pip",
        "trade_management.trailing.distance_pips",
    ),
]


@pytest.mark.parametrize(("changes", "typo", "meant"), TYPOS)
def test_a_misspelt_known_key_is_an_error_not_a_silent_default(changes: dict[str, Any], typo: str, meant: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(make(changes))
    assert info.value.code == "config.unknown_key"
    assert f"`{typo}` looks like a misspelling of `{meant}`" in str(info.value)
    assert info.value.context == {"field": typo, "did_you_mean": meant}


@pytest.mark.parametrize(("changes", "warning"), UNKNOWN)
def test_unknown_keys_warn_with_suggestion(
    changes: dict[str, Any], warning: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="omega_v2.config"):
        loaded = load_config(make(changes))
    assert loaded.warnings == (warning,)
    assert [r.getMessage() for r in caplog.records if r.name == "omega_v2.config"] == [warning]


@pytest.mark.parametrize(("changes", "warning"), UNKNOWN)
def test_strict_mode_rejects_unknown_keys(changes: dict[str, Any], warning: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(make(changes), strict=True)
    assert info.value.code == "config.unknown_key"
    assert warning in str(info.value)


def test_metrics_content_is_not_checked_for_unknown_keys() -> None:
    loaded = load_config(make({"metrics": {"anything": {"goes": 1}}}), strict=True)
    assert loaded.normalized["metrics"] == {"anything": {"goes": 1}}


def test_strict_loaded_config_with_warnings_is_rejected() -> None:
    loaded = load_config(make({"extra": 1}))
    assert load_config(loaded) is loaded
    with pytest.raises(ConfigError, match="unknown config key `extra`"):
        load_config(loaded, strict=True)


# --------------------------------------------------------------------------------------
# Secrets never leak

SECRET_INVALID = [
    {"schema_version": SECRET},
    {"strategy_name": SECRET},
    {"symbol": SECRET},
    {"start_date": SECRET},
    {"run_mode": SECRET},
    {"rng_seed": SECRET},
    {"timeframes.primary": SECRET},
    {"sessions": [{"start": SECRET, "end": "01:00"}]},
    {"account.account_currency": SECRET},
    {"account.initial_balance": SECRET},
    {"news_filter.currencies": [SECRET]},
    {"metrics": {"k": {SECRET}}},
    {"strategy_parameters": {"fast": SECRET}},
    {"strategy_parameters": {"api_key": SECRET}},
    {**MRZ, "strategy_parameters": {"direction_filter": SECRET}},
]


def _everything_said(err: BaseException) -> str:
    return "".join(traceback.format_exception(err)) + repr(err) + repr(vars(err))


@pytest.mark.parametrize("changes", SECRET_INVALID)
def test_secret_values_never_appear_in_errors(changes: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(ConfigError) as info:
        load_config(make(changes))
    assert SECRET not in _everything_said(info.value)
    assert SECRET not in str(info.value.__context__)  # suppressed ValidationError too
    assert SECRET not in caplog.text


def test_secret_in_unknown_keys_is_dropped(caplog: pytest.LogCaptureFixture) -> None:
    raw = make({"api_key": SECRET, "account.token": SECRET, "costs.password": {"x": SECRET}})
    with caplog.at_level(logging.DEBUG):
        loaded = load_config(raw)
    said = " ".join(loaded.warnings) + caplog.text + loaded.canonical_json + repr(loaded)
    assert SECRET not in said
    assert SECRET not in json.dumps(loaded.model.model_dump(mode="json"))  # the hash input
    assert SECRET not in repr(loaded.model)
    assert len(loaded.warnings) == 3
    with pytest.raises(ConfigError) as info:
        load_config(raw, strict=True)
    assert SECRET not in _everything_said(info.value)


def test_invalid_json_file_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "symbol": "' + SECRET + '",,\n}', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.code == "config.json_invalid"
    assert "line 2 column" in str(err)
    assert err.context["line"] == "2"
    assert SECRET not in _everything_said(err)


def test_repr_hides_seed_and_parameters() -> None:
    loaded = load_config(make({"run_mode": "prod", "rng_seed": 123456789}))
    assert "123456789" not in repr(loaded)
    assert "fast" not in repr(loaded.model)


# --------------------------------------------------------------------------------------
# Canonical JSON and hash


def test_canonical_json_format() -> None:
    assert canonical_json({"b": [1, 2.5], "a": "é"}) == '{"a":"é","b":[1,2.5]}'
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": float("nan")})


def test_hash_is_sha256_of_canonical_dump() -> None:
    loaded = load_config(BASE)
    expected = hashlib.sha256(canonical_json(loaded.model.model_dump(mode="json")).encode())
    assert loaded.config_hash == expected.hexdigest() == config_hash(loaded.normalized)
    assert loaded.canonical_json == canonical_json(loaded.normalized)


def test_hash_ignores_key_order_and_whitespace(tmp_path: Path) -> None:
    raw = make({"strategy_parameters": {"fast": 5, "slow": 9}, "account.risk_per_trade": 50})
    reordered = dict(reversed(list(raw.items())))
    pretty, compact = tmp_path / "pretty.json", tmp_path / "compact.json"
    pretty.write_text(json.dumps(raw, indent=4), encoding="utf-8")
    compact.write_text(json.dumps(reordered, separators=(",", ":")), encoding="utf-8")
    hashes = {load_config(x).config_hash for x in (raw, reordered, pretty, compact)}
    assert len(hashes) == 1


@pytest.mark.parametrize(
    "changes",
    [
        {"strategy_parameters": {"fast": 21}},
        {"account.risk_per_trade": 100.5},
        {"rng_seed": 43},
        {"metrics": {"a": 1}},
        {"end_date": "2025-01-30"},
    ],
)
def test_hash_changes_with_a_value(changes: dict[str, Any]) -> None:
    assert load_config(make(changes)).config_hash != load_config(BASE).config_hash


def test_unknown_keys_do_not_change_the_hash() -> None:
    raw = make({"extra": {"a": 1}, "account.tokn": "x", "costs.fee": 2})
    assert load_config(raw).normalized == load_config(BASE).normalized
    assert load_config(raw).config_hash == load_config(BASE).config_hash


def test_hash_is_defined_with_defaults_applied() -> None:
    explicit = make({"run_mode": "dev", "rng_seed": 42, "strategy_parameters": SMA_DEFAULTS})
    normalised = make({"schema_version": "2.0", "symbol": "eurusd"})
    hashes = {load_config(x).config_hash for x in (BASE, explicit, normalised)}
    assert len(hashes) == 1


def test_prod_null_seed_resolves_but_keeps_the_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws = iter([11, 22])
    monkeypatch.setattr(cfgmod.model.secrets, "randbits", lambda bits: next(draws))
    first = load_config(make({"run_mode": "prod"}))
    second = load_config(make({"run_mode": "prod", "rng_seed": None}))
    assert (first.normalized["rng_seed"], second.normalized["rng_seed"]) == (11, 22)
    assert first.model.rng_seed is None
    assert first.model.effective_seed == 11
    assert '"rng_seed":11' in first.canonical_json
    assert first.config_hash == second.config_hash
    assert first.config_hash != load_config(make({"run_mode": "prod", "rng_seed": 11})).config_hash


def test_prod_null_seed_uses_os_entropy() -> None:
    seeds = {load_config(make({"run_mode": "prod"})).normalized["rng_seed"] for _ in range(3)}
    assert all(isinstance(s, int) and 0 <= s < 2**63 for s in seeds)
    assert len(seeds) > 1


# --------------------------------------------------------------------------------------
# Environment: symbol specs and news calendar


def _write_specs(path: Path, symbols: list[str]) -> Path:
    spec = json.loads((Path(cfgmod.__file__).parent.parent / "data" / "symbol_specs.json").read_text())["EURUSD"]
    path.write_text(json.dumps({s: {**spec, "base_currency": s[:3], "quote_currency": s[3:]} for s in symbols}))
    return path


def test_symbol_specs_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = _write_specs(tmp_path / "specs.json", ["XAUUSD", "BTCUSD"])
    monkeypatch.setenv(_core.SYMBOL_SPECS_ENV, str(specs))
    assert load_config(make({"symbol": "xauusd", "account.account_currency": "USD"})).normalized["symbol"] == "XAUUSD"
    with pytest.raises(ConfigError, match=r"`symbol` EURUSD has no spec in .* \(known: BTCUSD, XAUUSD\)") as info:
        load_config(BASE)
    assert info.value.code == "config.unknown_symbol"
    assert str(specs) in str(info.value)


def test_a_long_symbol_list_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = _write_specs(tmp_path / "specs.json", [f"S{i:05d}USD"[:6] + str(i) for i in range(5000)])
    monkeypatch.setenv(_core.SYMBOL_SPECS_ENV, str(specs))
    with pytest.raises(ConfigError, match="and 4992 more") as info:
        load_config(BASE)
    assert len(str(info.value)) < 500


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "No such file"),
        ("{oops", "is not a valid symbol specs file"),
        ("[1]", "is not a valid symbol specs file"),
    ],
)
def test_broken_symbol_specs_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None, reason: str
) -> None:
    specs = tmp_path / "specs.json"
    if content is not None:
        specs.write_text(content, encoding="utf-8")
    monkeypatch.setenv(_core.SYMBOL_SPECS_ENV, str(specs))
    with pytest.raises(ConfigError, match=reason) as info:
        load_config(BASE)
    assert info.value.code == "config.specs_file"
    assert str(specs) in str(info.value)


def test_news_calendar_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = make({"news_filter.enabled": True})
    with pytest.raises(ConfigError, match=f"{_core.NEWS_CALENDAR_ENV} is not set") as info:
        load_config(raw)
    assert (info.value.code, info.value.context["field"]) == ("config.environment", "news_filter.enabled")
    monkeypatch.setenv(_core.NEWS_CALENDAR_ENV, str(tmp_path / "missing.csv"))
    with pytest.raises(ConfigError, match="cannot read the news calendar") as info:
        load_config(raw)
    assert info.value.code == "config.environment"
    calendar = tmp_path / "calendar.csv"
    calendar.write_text("date,currency,impact\n", encoding="utf-8")
    monkeypatch.setenv(_core.NEWS_CALENDAR_ENV, str(calendar))
    # validating reads the calendar as a run would, so a malformed one fails here already
    with pytest.raises(omega_v2.DataError, match="has no `UTC time` column"):
        load_config(raw)
    calendar.write_text("UTC time,currency,impact\n2025-01-07 13:30:00+00:00,USD,high\n", encoding="utf-8")
    assert load_config(raw).normalized["news_filter"]["enabled"] is True


# --------------------------------------------------------------------------------------
# Sources: files, example, API


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ConfigError, match="config file not found") as info:
        load_config(path)
    assert info.value.code == "config.file_not_found"
    assert info.value.context == {"file": str(path)}


def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.code == "config.file_unreadable"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"[1, 2]", "config.invalid"),
        (b'{"a": 1', "config.json_invalid"),
        (b"\xff\xfe{}", "config.json_invalid"),
    ],
)
def test_bad_file_content(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.code == code


def test_file_with_bom_and_source(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(BASE).encode())
    assert load_config(path).source == str(path)
    assert load_config(str(path)).source == str(path)
    assert load_config(BASE).source == "dict"


def test_wrong_argument_type() -> None:
    with pytest.raises(TypeError):
        load_config(42)  # type: ignore[arg-type]


def test_example_config() -> None:
    path = example_config_path()
    assert path == Path(cfgmod.__file__).parent.parent / "examples" / "example_config.json"
    loaded = load_config(path, strict=True)
    assert loaded.source == "example"
    assert loaded.warnings == ()
    n = loaded.normalized
    assert (n["schema_version"], n["strategy_name"], n["symbol"]) == (
        "2",
        "mean_reversion_z_score",
        "EURUSD",
    )
    assert (n["start_date"], n["end_date"], n["run_mode"], n["rng_seed"]) == (
        "2025-01-06",
        "2025-01-31",
        "dev",
        42,
    )
    assert n["timeframes"]["primary"] == "M5"
    assert n["warmup_bars"] == 500
    # Tuned for a first result a practitioner would accept: wider bands, sessions, a cooldown.
    tuned = {"window_length": 48, "atr_mult": 3.0, "z_score_long": -3.0, "z_score_short": 3.0, "cooldown_bars": 12}
    assert n["strategy_parameters"] == MRZ_DEFAULTS | tuned
    assert n["sessions"] == [{"start": "07:00", "end": "17:00"}]
    assert n["account"]["risk_per_trade"] / n["account"]["initial_balance"] == pytest.approx(0.01)
    # The file spells out every field: it normalises to itself.
    assert n == json.loads(path.read_text(encoding="utf-8"))
    # Pinned: a change here changes every run id and golden file; update deliberately.
    # The example lists every field with its default, so its own canonical form is the hashed dump.
    raw = json.loads(path.read_text(encoding="utf-8"))
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert loaded.config_hash == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_allowlisted_fields() -> None:
    loaded = load_config(make({"timeframes.primary": "h4", "run_mode": "prod"}))
    expected = {
        "symbol": "EURUSD",
        "timeframe": "H4",
        "strategy_name": "sma_crossover",
        "run_mode": "prod",
        "data_mode": "candle",
        "start_date": "2025-01-06",
        "end_date": "2025-01-31",
    }
    assert allowlisted_fields(loaded) == allowlisted_fields(loaded.model) == expected


def test_loaded_config_is_frozen() -> None:
    loaded = load_config(BASE)
    assert isinstance(loaded, LoadedConfig)
    with pytest.raises(AttributeError):
        loaded.config_hash = "x"  # type: ignore[misc]


def test_python_models_and_engine_register_the_same_strategies() -> None:
    assert sorted(cfgmod.STRATEGIES) == sorted(_core.STRATEGIES)


def test_the_example_config_lists_every_field_with_its_normalised_value() -> None:
    """The Rust tests run the example file as is, so it must stay complete and normalised."""
    raw = json.loads(example_config_path().read_text(encoding="utf-8"))
    assert load_config(raw).normalized == raw
