//! The static inputs of one loop, built once from the config and the loaded market. Benches
//! and tests build it the same way (`EngineSetup::new`), so they run what a run runs.

use crate::config::RunConfig;
use crate::error::{EngineError, ErrorCode, Result};
use crate::execution::management::Manager;
use crate::execution::{CostModel, Sizer};
use crate::market::Bars;
use crate::specs::{MarketSpecs, SymbolSpec};

use super::gates::EntryGates;
use super::profile::LoopProfiling;

/// Converts PnL in quote currency into account currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteConversion {
    /// The account currency is the quote currency.
    Unit,
    /// The account currency is the base currency: divide by the mid close of the bar.
    InverseMid,
}

impl QuoteConversion {
    /// The conversion for an account in `account_currency` trading `symbol`; any other currency
    /// than the symbol's base or quote is a config error (PnL is converted with the symbol's own
    /// price), found before any data is read.
    pub fn for_account(account_currency: &str, symbol: &str, spec: &SymbolSpec) -> Result<Self> {
        if account_currency == spec.quote_currency {
            Ok(QuoteConversion::Unit)
        } else if account_currency == spec.base_currency {
            Ok(QuoteConversion::InverseMid)
        } else {
            Err(EngineError::new(
                ErrorCode::ConfigAccountCurrency,
                format!(
                    "`account.account_currency` must be the base ({}) or the quote ({}) currency of {symbol}: PnL is converted with the symbol's own price",
                    spec.base_currency, spec.quote_currency
                ),
            )
            .with("field", "account.account_currency"))
        }
    }

    /// Account currency per unit of quote currency at bar `t`.
    #[inline(always)]
    pub fn rate(self, bars: &Bars, t: usize) -> f64 {
        match self {
            QuoteConversion::Unit => 1.0,
            QuoteConversion::InverseMid => 2.0 / (bars.bid.close[t] + bars.ask.close[t]),
        }
    }
}

/// Static inputs of one loop.
pub struct EngineSetup<'a> {
    pub bars: &'a Bars,
    /// First bar that trades and gets an equity row; earlier bars only warm indicators.
    pub start_index: usize,
    pub contract_size: f64,
    pub costs: CostModel,
    pub sizer: Sizer,
    pub manager: Manager,
    /// `pip_size * pip_buffer_factor`.
    pub pip_buffer: f64,
    pub conversion: QuoteConversion,
    pub initial_balance: f64,
    /// Equity at a bar close at or below this stops the account out.
    pub stop_out_level: f64,
    pub gates: EntryGates,
    /// What profiling mode adds to the loop (bar times, detail spans); OFF otherwise.
    pub profiling: LoopProfiling,
}

impl<'a> EngineSetup<'a> {
    /// The setup of a run of `cfg` over `bars` (warmup first, trading from `start_index`).
    pub fn new(
        cfg: &RunConfig,
        specs: &MarketSpecs,
        bars: &'a Bars,
        start_index: usize,
        news_blackouts: Vec<(i64, i64)>,
        profiling: LoopProfiling,
    ) -> Result<Self> {
        let spec = &specs.symbol;
        Ok(Self {
            bars,
            start_index,
            contract_size: spec.contract_size,
            costs: CostModel::new(&cfg.costs, &specs.costs, spec, cfg.rng_seed),
            sizer: Sizer::new(spec, cfg.account.risk_per_trade),
            manager: Manager::new(&cfg.trade_management, spec.pip_size),
            pip_buffer: spec.pip_size * pip_buffer_factor(cfg, specs),
            conversion: QuoteConversion::for_account(&cfg.account.account_currency, &cfg.symbol, spec)?,
            initial_balance: cfg.account.initial_balance,
            stop_out_level: cfg.account.stop_out_level,
            gates: EntryGates {
                sessions: cfg.sessions.iter().flatten().map(|s| (s.start, s.end)).collect(),
                news_blackouts,
            },
            profiling,
        })
    }
}

/// The pip buffer factor in force: the config's, else the execution costs default.
pub fn pip_buffer_factor(cfg: &RunConfig, specs: &MarketSpecs) -> f64 {
    cfg.costs.pip_buffer_factor.unwrap_or(specs.costs.pip_buffer_factor)
}
