//! `meta.json`: provenance of a run. Deterministic except `generated_at(_ns)` and
//! `run_id`, so golden comparisons can ignore exactly those.

use serde::Serialize;

use crate::data::{FileDigest, Governance};
use crate::engine::Counters;
use crate::specs::SpecSource;

#[derive(Serialize)]
pub struct Meta<'a> {
    pub run_id: &'a str,
    pub status: &'static str,
    pub generated_at: String,
    pub generated_at_ns: i64,
    pub engine: Engine,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<&'a GitInfo>,
    pub config: ConfigRef<'a>,
    pub dataset: Dataset<'a>,
    pub account: Account<'a>,
    /// The seed actually used; meta.json is the only place it may appear (besides config.json).
    pub seed: u64,
    pub execution: Execution,
    pub counters: &'a Counters,
    /// The signals frame and the caller's strategy of a run that had them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<InputsRecord<'a>>,
    /// Where the account was stopped out, if it was.
    pub stop_out: Option<StopOutRecord>,
}

/// `meta.json.inputs`: what identifies a run's signals frame and the caller's own strategy.
#[derive(Serialize)]
pub struct InputsRecord<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signals: Option<SignalsRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize)]
pub struct SignalsRecord {
    pub sha256: String,
    pub rows: usize,
}

#[derive(Serialize)]
pub struct StopOutRecord {
    pub time: String,
    pub time_ns: i64,
    /// Equity marked at that bar's close, before the stop-out exit's slippage and fee.
    pub equity: f64,
    pub stop_out_level: f64,
}

#[derive(Serialize)]
pub struct Engine {
    pub name: &'static str,
    pub version: &'static str,
}

impl Engine {
    pub const CURRENT: Engine = Engine { name: "omega_v2", version: env!("CARGO_PKG_VERSION") };
}

#[derive(Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct GitInfo {
    pub commit: String,
    pub dirty: bool,
}

#[derive(Serialize)]
pub struct ConfigRef<'a> {
    pub hash: &'a str,
    pub source: &'a str,
    /// Only the allowlisted fields (symbol, timeframe, strategy_name, run_mode, ...).
    #[serde(flatten)]
    pub allowlisted: &'a serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize)]
pub struct Dataset<'a> {
    pub symbol: &'a str,
    pub timeframe: &'static str,
    /// First and last bar that traded (after warmup).
    pub start_time: String,
    pub start_time_ns: i64,
    pub end_time: String,
    pub end_time_ns: i64,
    pub bars: usize,
    pub warmup_bars_used: usize,
    pub manifest_sha256: &'a str,
    pub files: &'a [FileDigest],
    pub specs: Vec<SpecFile<'a>>,
    /// With `news_filter.enabled` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub news_calendar: Option<SpecFile<'a>>,
    pub governance: &'a Governance,
    pub additional_timeframes: Vec<AdditionalTimeframe<'a>>,
}

/// A `timeframes.additional` dataset: loaded (warmup included) and validated like the primary.
#[derive(Serialize)]
pub struct AdditionalTimeframe<'a> {
    pub timeframe: &'static str,
    pub bars: usize,
    pub files: &'a [FileDigest],
    pub governance: &'a Governance,
}

#[derive(Serialize)]
pub struct SpecFile<'a> {
    pub name: &'a str,
    pub sha256: &'a str,
}

impl<'a> SpecFile<'a> {
    pub fn of(source: &'a SpecSource) -> Self {
        Self { name: &source.name, sha256: &source.sha256 }
    }
}

#[derive(Serialize)]
pub struct Account<'a> {
    pub account_currency: &'a str,
    pub initial_balance: f64,
}

/// Execution parameters that shaped the fills, resolved from specs and config.
#[derive(Serialize)]
pub struct Execution {
    pub execution_variant: &'static str,
    pub pip_buffer_factor: f64,
    pub costs_enabled: bool,
}
