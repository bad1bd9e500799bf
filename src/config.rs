//! The normalised run config as the engine receives it. Python validates it, applies every
//! default and normalises it (see `docs/config.md`); this module only deserialises it (every
//! field required, unknown fields rejected) and re-checks the invariants the engine relies on.
//! `Debug` is deliberately not derived on anything holding parameters: the config must never be
//! printed whole (only its hash and the allowlisted fields reach a log).

use serde::Deserialize;
use serde_json::Value;

use crate::error::{EngineError, ErrorCode, Result};
use crate::market::Timeframe;

#[derive(Deserialize, Clone)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    Dev,
    Prod,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Timeframes {
    pub primary: Timeframe,
    pub additional: Vec<Timeframe>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// "HH:MM" UTC; `end <= start` crosses midnight.
    #[serde(deserialize_with = "de_hhmm")]
    pub start: u32,
    #[serde(deserialize_with = "de_hhmm")]
    pub end: u32,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub initial_balance: f64,
    pub account_currency: String,
    pub risk_per_trade: f64,
    /// Equity at a bar close at or below this stops the account out (0: when it is gone).
    pub stop_out_level: f64,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Costs {
    pub enabled: bool,
    pub fee_multiplier: f64,
    pub slippage_multiplier: f64,
    pub spread_multiplier: f64,
    /// Overrides the execution-costs default when set.
    #[serde(deserialize_with = "required")]
    pub pip_buffer_factor: Option<f64>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    Low,
    Medium,
    High,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct NewsFilter {
    pub enabled: bool,
    pub minutes_before: i64,
    pub minutes_after: i64,
    pub min_impact: Impact,
    /// Empty means the symbol's base and quote currencies.
    pub currencies: Vec<String>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct BreakEven {
    pub enabled: bool,
    /// Move the stop once the close is this many initial risk distances (R) in profit.
    pub trigger_r: f64,
    /// New stop = entry + offset (long) / entry - offset (short), in pips.
    pub offset_pips: f64,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Trailing {
    pub enabled: bool,
    /// Trailing starts once the close is this many R in profit.
    pub activation_r: f64,
    /// Distance of the trailing stop behind the close of the exit side, in pips.
    pub distance_pips: f64,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TradeManagement {
    #[serde(deserialize_with = "required")]
    pub max_holding_minutes: Option<i64>,
    pub break_even: BreakEven,
    pub trailing: Trailing,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Observability {
    pub profiling_mode: bool,
    pub profiling_frequency_hz: i32,
}

/// `outputs.equity`: which rows `equity.csv` gets (metrics always use the per-bar curve).
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum EquityOutput {
    /// One row per primary bar (the default).
    Bar,
    /// One row per UTC day: the last bar of each day.
    Daily,
    /// No `equity.csv`.
    None,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    pub equity: EquityOutput,
}

/// The validated config. Unknown keys were already reported and dropped by Python.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    pub schema_version: String,
    pub strategy_name: String,
    pub symbol: String,
    pub start_date: String,
    pub end_date: String,
    pub run_mode: RunMode,
    pub data_mode: String,
    pub execution_variant: String,
    /// The seed actually used (Python resolves `null` in prod to OS entropy). Never logged.
    pub rng_seed: u64,
    pub timeframes: Timeframes,
    pub warmup_bars: usize,
    #[serde(deserialize_with = "required")]
    pub sessions: Option<Vec<Session>>,
    pub account: Account,
    pub costs: Costs,
    pub news_filter: NewsFilter,
    /// Deserialised by the strategy's own typed parameter struct (see `strategy`).
    pub strategy_parameters: Value,
    pub trade_management: TradeManagement,
    pub observability: Observability,
    pub outputs: Outputs,
    /// Optimizer/robustness settings, passed through (hashed, not used by single runs).
    pub metrics: Value,
}

/// A parsed config: the typed view the engine runs on, and the JSON it came from (for the
/// allowlisted log fields), from one parse of the text.
pub struct ParsedConfig {
    pub config: RunConfig,
    pub value: Value,
}

impl RunConfig {
    pub fn from_json(text: &str) -> Result<Self> {
        Ok(Self::parse(text)?.config)
    }

    pub fn parse(text: &str) -> Result<ParsedConfig> {
        let value: Value = serde_json::from_str(text).map_err(|e| config_syntax_error(&e))?;
        let config: RunConfig = from_value_at(&value, "")?;
        config.check()?;
        Ok(ParsedConfig { config, value })
    }

    /// Invariants the engine relies on; Python enforces the same rules with friendlier messages.
    fn check(&self) -> Result<()> {
        let fail = |field: &'static str, rule: &str| {
            Err(EngineError::new(ErrorCode::ConfigInvalid, format!("config field `{field}` {rule}"))
                .with("field", field))
        };
        if !matches!(self.schema_version.as_str(), "2" | "2.0") {
            return fail("schema_version", "must be \"2\"");
        }
        if self.data_mode != "candle" {
            return fail("data_mode", "must be \"candle\" (tick mode is not supported yet)");
        }
        if self.execution_variant != "v2" {
            return fail("execution_variant", "must be \"v2\" (v1_parity is not supported yet)");
        }
        let (start, end) = (self.start_ns()?, self.end_ns()?);
        if start >= end {
            return fail("start_date", "must not be after end_date");
        }
        if !(self.account.initial_balance > 0.0 && self.account.initial_balance.is_finite()) {
            return fail("account.initial_balance", "must be a positive number");
        }
        if !(self.account.risk_per_trade > 0.0 && self.account.risk_per_trade.is_finite()) {
            return fail("account.risk_per_trade", "must be a positive number");
        }
        if !(self.account.stop_out_level >= 0.0 && self.account.stop_out_level < self.account.initial_balance) {
            return fail("account.stop_out_level", "must be >= 0 and below initial_balance");
        }
        let c = &self.costs;
        if [c.fee_multiplier, c.slippage_multiplier, c.spread_multiplier].iter().any(|m| !(*m >= 0.0 && m.is_finite()))
        {
            return fail("costs", "multipliers must be finite and >= 0");
        }
        if matches!(c.pip_buffer_factor, Some(f) if !(f >= 0.0 && f.is_finite())) {
            return fail("costs.pip_buffer_factor", "must be finite and >= 0");
        }
        if self.timeframes.additional.contains(&self.timeframes.primary) {
            return fail("timeframes.additional", "must not contain the primary timeframe");
        }
        Ok(())
    }

    /// First instant of `start_date` (UTC midnight), in ns.
    pub fn start_ns(&self) -> Result<i64> {
        parse_config_date(&self.start_date, "start_date")
    }

    /// First instant AFTER `end_date` (end date is inclusive), in ns.
    pub fn end_ns(&self) -> Result<i64> {
        Ok(parse_config_date(&self.end_date, "end_date")? + crate::timefmt::NANOS_PER_DAY)
    }

    pub fn is_prod(&self) -> bool {
        matches!(self.run_mode, RunMode::Prod)
    }

    pub fn run_mode_str(&self) -> &'static str {
        if self.is_prod() {
            "prod"
        } else {
            "dev"
        }
    }
}

/// Deserialises `value` (found at the dotted path `prefix`) into `T`, naming the failing field.
/// serde's messages quote offending values ("invalid type: string \"...\""), which may be
/// secrets, so the error names the field path and the kind of problem only.
pub fn from_value_at<T: serde::de::DeserializeOwned>(value: &Value, prefix: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.inner().to_string();
        let what = match inner.split_once('`') {
            Some(("missing field ", rest)) => format!("missing field `{}`", rest.split('`').next().unwrap_or("")),
            Some(("unknown field ", rest)) => format!("unknown field `{}`", rest.split('`').next().unwrap_or("")),
            _ => "wrong type or unsupported value".to_owned(),
        };
        let path = e.path().to_string();
        // A missing field is reported at its parent's path: name the field itself.
        let missing = inner.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
        let field = [prefix, path.as_str().trim_matches('.'), missing.unwrap_or("")]
            .iter()
            .filter(|part| !part.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(".");
        let code = if prefix.starts_with("strategy_parameters") {
            ErrorCode::ConfigStrategyParameter
        } else {
            ErrorCode::ConfigInvalid
        };
        EngineError::new(
            code,
            format!(
                "config field `{field}` rejected by the engine: {what}; `python -m omega_v2 validate CONFIG --write-normalized OUT` writes the form the engine expects"
            ),
        )
        .with("field", field)
    })
}

fn config_syntax_error(e: &serde_json::Error) -> EngineError {
    EngineError::new(
        ErrorCode::ConfigJsonInvalid,
        format!("the config is not valid JSON (line {} column {})", e.line(), e.column()),
    )
}

fn parse_config_date(s: &str, field: &'static str) -> Result<i64> {
    crate::timefmt::parse_date(s).ok_or_else(|| {
        EngineError::new(ErrorCode::ConfigInvalid, format!("config field `{field}` must be a date YYYY-MM-DD"))
            .with("field", field)
    })
}

/// An `Option` field that must be present (serde would read a missing one as `None`): Python
/// always writes every field, so a missing one means the config is not normalised.
pub fn required<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

fn de_hhmm<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u32, D::Error> {
    let s = String::deserialize(d)?;
    parse_hhmm(&s).ok_or_else(|| serde::de::Error::custom("session times must be HH:MM (00:00..23:59)"))
}

/// Minute of day of "HH:MM".
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}
