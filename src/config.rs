//! The normalised run config as the engine receives it (SPEC 2). Python validates, applies
//! defaults and normalises; this module only deserialises and re-checks the invariants the
//! engine relies on. `Debug` is deliberately not derived on anything holding parameters: the
//! config must never be printed whole (SPEC 8.5).

use serde::Deserialize;

use crate::error::{EngineError, Result};
use crate::market::Timeframe;

#[derive(Deserialize, Clone)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    Dev,
    Prod,
}

#[derive(Deserialize, Clone)]
pub struct Timeframes {
    pub primary: Timeframe,
    #[serde(default)]
    pub additional: Vec<Timeframe>,
}

#[derive(Deserialize, Clone, Copy)]
pub struct Session {
    /// "HH:MM" UTC; `end <= start` crosses midnight.
    #[serde(deserialize_with = "de_hhmm")]
    pub start: u32,
    #[serde(deserialize_with = "de_hhmm")]
    pub end: u32,
}

#[derive(Deserialize, Clone)]
pub struct Account {
    pub initial_balance: f64,
    pub account_currency: String,
    pub risk_per_trade: f64,
}

#[derive(Deserialize, Clone)]
pub struct Costs {
    pub enabled: bool,
    pub fee_multiplier: f64,
    pub slippage_multiplier: f64,
    pub spread_multiplier: f64,
    /// Overrides the execution-costs default when set.
    #[serde(default)]
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
pub struct NewsFilter {
    pub enabled: bool,
    pub minutes_before: i64,
    pub minutes_after: i64,
    pub min_impact: Impact,
    /// Empty means the symbol's base and quote currencies.
    #[serde(default)]
    pub currencies: Vec<String>,
}

#[derive(Deserialize, Clone, Default)]
pub struct BreakEven {
    pub enabled: bool,
    /// Move the stop once the close is this many initial risk distances (R) in profit.
    pub trigger_r: f64,
    /// New stop = entry + offset (long) / entry - offset (short), in pips.
    pub offset_pips: f64,
}

#[derive(Deserialize, Clone, Default)]
pub struct Trailing {
    pub enabled: bool,
    /// Trailing starts once the close is this many R in profit.
    pub activation_r: f64,
    /// Distance of the trailing stop behind the close of the exit side, in pips.
    pub distance_pips: f64,
}

#[derive(Deserialize, Clone, Default)]
pub struct TradeManagement {
    #[serde(default)]
    pub max_holding_minutes: Option<i64>,
    #[serde(default)]
    pub break_even: BreakEven,
    #[serde(default)]
    pub trailing: Trailing,
}

#[derive(Deserialize, Clone)]
pub struct Observability {
    pub profiling_mode: bool,
    pub profiling_frequency_hz: i32,
}

/// The validated config (SPEC 2). Unknown keys were already reported by Python and are ignored.
#[derive(Deserialize, Clone)]
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
    pub sessions: Option<Vec<Session>>,
    pub account: Account,
    pub costs: Costs,
    pub news_filter: NewsFilter,
    pub strategy_parameters: serde_json::Map<String, serde_json::Value>,
    pub trade_management: TradeManagement,
    pub observability: Observability,
}

impl RunConfig {
    pub fn from_json(text: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let cfg: RunConfig = serde_path_to_error::deserialize(de).map_err(|e| config_json_error(&e))?;
        cfg.check()?;
        Ok(cfg)
    }

    /// Invariants the engine relies on; Python enforces the same rules with friendlier messages.
    fn check(&self) -> Result<()> {
        let fail = |field: &'static str, rule: &str| {
            Err(EngineError::config("config.invalid", format!("config field `{field}` {rule}")).with("field", field))
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

/// serde's messages quote offending values ("invalid type: string \"...\""), which may be
/// secrets; the error names the field path and the kind of problem only (SPEC 8.5).
fn config_json_error(e: &serde_path_to_error::Error<serde_json::Error>) -> EngineError {
    let inner = e.inner();
    let text = inner.to_string();
    let what = if let Some(missing) = text.strip_prefix("missing field ") {
        format!("missing field {}", missing.split(" at line").next().unwrap_or(""))
    } else {
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "the file is not valid JSON".to_owned()
            }
            _ => "wrong type or unsupported value".to_owned(),
        }
    };
    let field = e.path().to_string();
    EngineError::config(
        "config.invalid",
        format!(
            "config field `{field}` rejected by the engine: {what} (line {} column {}); `python -m omega_v2 validate CONFIG --write-normalized OUT` writes the form the engine expects",
            inner.line(),
            inner.column()
        ),
    )
    .with("field", field)
}

fn parse_config_date(s: &str, field: &'static str) -> Result<i64> {
    crate::timefmt::parse_date(s).ok_or_else(|| {
        EngineError::config("config.invalid", format!("config field `{field}` must be a date YYYY-MM-DD"))
            .with("field", field)
    })
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

/// Parameters of one strategy: typed getters over the validated `strategy_parameters` object,
/// falling back to the strategy's documented defaults. Python already rejected unknown names
/// and wrong types; the engine re-checks types and names the parameter when it fails.
pub struct Params<'a> {
    strategy: &'a str,
    map: &'a serde_json::Map<String, serde_json::Value>,
}

impl<'a> Params<'a> {
    pub fn new(strategy: &'a str, map: &'a serde_json::Map<String, serde_json::Value>) -> Self {
        Self { strategy, map }
    }

    fn bad(&self, name: &str, rule: &str) -> EngineError {
        let field = format!("strategy_parameters.{name}");
        EngineError::config("config.strategy_parameter", format!("`{field}` of strategy `{}` {rule}", self.strategy))
            .with("field", field)
    }

    pub fn f64(&self, name: &str, default: f64) -> Result<f64> {
        match self.map.get(name) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| self.bad(name, "must be a finite number")),
        }
    }

    pub fn opt_f64(&self, name: &str) -> Result<Option<f64>> {
        match self.map.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(_) => self.f64(name, 0.0).map(Some),
        }
    }

    pub fn usize(&self, name: &str, default: usize) -> Result<usize> {
        match self.map.get(name) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v.as_u64().map(|x| x as usize).ok_or_else(|| self.bad(name, "must be a non-negative integer")),
        }
    }

    pub fn bool(&self, name: &str, default: bool) -> Result<bool> {
        match self.map.get(name) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.bad(name, "must be true or false")),
        }
    }

    pub fn str(&self, name: &str, default: &'a str) -> Result<&'a str> {
        match self.map.get(name) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v.as_str().ok_or_else(|| self.bad(name, "must be a string")),
        }
    }

    pub fn usize_list(&self, name: &str, default: &[usize]) -> Result<Vec<usize>> {
        match self.map.get(name) {
            None | Some(serde_json::Value::Null) => Ok(default.to_vec()),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|v| v.as_u64().map(|x| x as usize).ok_or_else(|| self.bad(name, "must be a list of integers")))
                .collect(),
            Some(_) => Err(self.bad(name, "must be a list of integers")),
        }
    }

    /// A rule violation found by the strategy itself (e.g. `fast < slow`).
    pub fn invalid(&self, name: &str, rule: &str) -> EngineError {
        self.bad(name, rule)
    }
}
