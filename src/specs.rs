//! Symbol specifications and execution costs: defaults shipped in the package (the same JSON
//! files the Python side reads), overridable by `OMEGA_SYMBOL_SPECS_FILE` and
//! `OMEGA_EXECUTION_COSTS_FILE`. The bytes actually used are hashed into the run manifest.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{did_you_mean, quote_list, EngineError, ErrorCode, Result};

const DEFAULT_SYMBOL_SPECS: &str = include_str!("../omega_v2/data/symbol_specs.json");
const DEFAULT_EXECUTION_COSTS: &str = include_str!("../omega_v2/data/execution_costs.json");
pub const SYMBOL_SPECS_ENV: &str = "OMEGA_SYMBOL_SPECS_FILE";
pub const EXECUTION_COSTS_ENV: &str = "OMEGA_EXECUTION_COSTS_FILE";

#[derive(Debug, Clone, Deserialize)]
pub struct SymbolSpec {
    pub base_currency: String,
    pub quote_currency: String,
    pub contract_size: f64,
    pub pip_size: f64,
    pub tick_size: f64,
    pub volume_min: f64,
    pub volume_step: f64,
    pub volume_max: f64,
    pub min_sl_distance_pips: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeModel {
    /// `fee_per_lot` per lot and side.
    PerLot,
    /// `fee_per_million` per million of notional (account currency) and side.
    PerMillion,
    /// `fee_percent` percent of notional and side.
    Percent,
}

/// Execution costs of one symbol. Fees are in account currency; slippage in pips.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ExecutionCosts {
    pub fee_model: FeeModel,
    #[serde(default)]
    pub fee_per_lot: f64,
    #[serde(default)]
    pub fee_per_million: f64,
    #[serde(default)]
    pub fee_percent: f64,
    #[serde(default)]
    pub min_fee: f64,
    pub slippage_fixed_pips: f64,
    pub slippage_jitter_pips: f64,
    pub pip_buffer_factor: f64,
}

#[derive(Deserialize)]
struct CostsFile {
    default: ExecutionCosts,
    #[serde(default)]
    symbols: BTreeMap<String, serde_json::Value>,
}

/// A specs file as used by one run: its parsed content plus name and hash for the manifest.
#[derive(Debug)]
pub struct SpecSource {
    pub name: String,
    pub sha256: String,
}

impl SpecSource {
    /// The file name without directories, so the manifest does not depend on paths.
    pub fn file_name(&self) -> &str {
        self.name.rsplit(['/', '\\']).next().unwrap_or(&self.name)
    }
}

pub struct MarketSpecs {
    pub symbol: SymbolSpec,
    pub costs: ExecutionCosts,
    pub sources: Vec<SpecSource>,
}

/// Resolves the symbol's spec and costs from the shipped defaults or the env overrides.
pub fn resolve(symbol: &str) -> Result<MarketSpecs> {
    let (specs_text, specs_src) = read_source(SYMBOL_SPECS_ENV, "symbol_specs.json", DEFAULT_SYMBOL_SPECS)?;
    let (costs_text, costs_src) = read_source(EXECUTION_COSTS_ENV, "execution_costs.json", DEFAULT_EXECUTION_COSTS)?;
    let mut specs: BTreeMap<String, SymbolSpec> = serde_json::from_str(&specs_text)
        .map_err(|e| spec_error(&specs_src.name, &format!("is not a valid symbol specs file: {e}")))?;
    let known: Vec<&String> = specs.keys().collect();
    let (listed, hint) = (quote_list(&known), did_you_mean(symbol, &known));
    let symbol_spec = specs.remove(symbol).ok_or_else(|| {
        EngineError::new(
            ErrorCode::ConfigUnknownSymbol,
            format!("`symbol` {symbol} has no spec in {} (known: {listed}){hint}", specs_src.name),
        )
        .with("field", "symbol")
    })?;
    check_symbol(symbol, &symbol_spec, &specs_src.name)?;
    let costs = costs_for(&costs_text, symbol, &costs_src.name)?;
    Ok(MarketSpecs { symbol: symbol_spec, costs, sources: vec![specs_src, costs_src] })
}

fn read_source(env: &str, default_name: &str, default_text: &str) -> Result<(String, SpecSource)> {
    let (text, name) = match std::env::var_os(env) {
        Some(path) => {
            let path = Path::new(&path);
            let text = std::fs::read_to_string(path).map_err(|e| {
                EngineError::new(
                    ErrorCode::ConfigSpecsFile,
                    format!("cannot read {} (set by {env}): {e}", path.display()),
                )
                .with_file(path)
            })?;
            (text, path.display().to_string())
        }
        None => (default_text.to_owned(), format!("omega_v2/data/{default_name}")),
    };
    let sha256 = crate::data::sha256_hex(text.as_bytes());
    Ok((text, SpecSource { name, sha256 }))
}

/// Per-symbol entries override individual keys of `default`.
fn costs_for(text: &str, symbol: &str, name: &str) -> Result<ExecutionCosts> {
    let file: CostsFile = serde_json::from_str(text)
        .map_err(|e| spec_error(name, &format!("is not a valid execution costs file: {e}")))?;
    let Some(overrides) = file.symbols.get(symbol) else { return Ok(file.default) };
    let mut merged = serde_json::to_value(&file.default).expect("costs serialise to JSON");
    if let (Some(base), Some(over)) = (merged.as_object_mut(), overrides.as_object()) {
        base.extend(over.clone());
    }
    serde_json::from_value(merged).map_err(|e| spec_error(name, &format!("has an invalid entry for {symbol}: {e}")))
}

fn check_symbol(symbol: &str, s: &SymbolSpec, name: &str) -> Result<()> {
    let positive = [s.contract_size, s.pip_size, s.tick_size, s.volume_min, s.volume_step, s.volume_max];
    if positive.iter().any(|v| !(*v > 0.0 && v.is_finite()))
        || s.volume_min > s.volume_max
        || s.min_sl_distance_pips < 0.0
    {
        return Err(spec_error(
            name,
            &format!("has an invalid spec for {symbol}: sizes and steps must be positive, volume_min <= volume_max"),
        ));
    }
    Ok(())
}

fn spec_error(name: &str, what: &str) -> EngineError {
    EngineError::new(ErrorCode::ConfigSpecsFile, format!("{name} {what}")).with("file", name)
}
