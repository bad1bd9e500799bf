//! `explain`: one trade's story from a rerun of a run's loop (its data, strategy and execution
//! model, without logs or artefacts; see [`crate::explain`]).

use std::path::Path;

use serde_json::Value;

use super::{market, preflight, RunInputs};
use crate::config::RunConfig;
use crate::engine::{self, EngineSetup, LoopProfiling};
use crate::error::{EngineError, ErrorCode, Result};
use crate::explain::Explainer;
use crate::strategy::{self, Strategy, StrategyVisitor};

/// The story of trade `trade` (0-based, in exit order as in trades.json) of a run of
/// `config_json` on the data under `data_root` (or the in-memory inputs).
pub fn explain(config_json: &str, data_root: &Path, inputs: &RunInputs, trade: usize) -> Result<Value> {
    // A rerun, not a run: what its loop logs (a stop-out, a warmup shortfall) was logged by the
    // run itself, so nothing reaches the caller's logging here.
    tracing::dispatcher::with_default(&tracing::Dispatch::none(), || tell(config_json, data_root, inputs, trade))
}

fn tell(config_json: &str, data_root: &Path, inputs: &RunInputs, trade: usize) -> Result<Value> {
    let cfg = RunConfig::from_json(config_json)?;
    let pre = preflight(&cfg)?;
    let market = market::load(&cfg, pre, data_root, inputs.market, inputs.data_cache, &|| false)?;
    let setup = market.setup(&cfg, LoopProfiling::OFF)?;
    let input = market.strategy_input(&cfg, inputs.extras());
    strategy::with_strategy(&input, Tell { setup: &setup, trade })?
}

struct Tell<'a> {
    setup: &'a EngineSetup<'a>,
    trade: usize,
}

impl StrategyVisitor for Tell<'_> {
    type Output = Result<Value>;

    fn visit<S: Strategy>(self, strategy: S) -> Self::Output {
        let explainer = Explainer::new(self.setup, self.trade, strategy.cooldown_bars());
        let (_, explainer) = engine::run_observed(strategy, self.setup, &|_| false, explainer)?;
        explainer.story().map_err(|trades| {
            EngineError::new(
                ErrorCode::ConfigInvalid,
                format!(
                    "the run has {trades} trades, so there is no trade {} (trades are numbered from 0)",
                    self.trade
                ),
            )
            .with("field", "trade")
        })
    }
}
