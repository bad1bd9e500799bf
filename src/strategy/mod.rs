//! Strategies: one trait, one file per strategy, one registry.
//!
//! A strategy precomputes its indicators once over all bars when it is built, then answers
//! one cheap question per bar ([`Strategy::decide`]). The engine owns everything else: entry
//! gates (session, news, position, cooldown), fills, exits and bookkeeping.
//!
//! Adding a strategy: write `src/strategy/<name>.rs` with a parameter struct (every field
//! required, `deny_unknown_fields`: Python validates and fills defaults) and a type implementing
//! [`Strategy`] and [`Build`], then add one line to the [`registry!`] call below.

mod mrz;
mod signals;
mod sma_crossover;

pub use mrz::{MeanReversionZScore, MrzParams, MrzScenario, IMPLEMENTED_MRZ_SCENARIOS};
pub use signals::{SignalColumns, Signals, SignalsParams};
pub use sma_crossover::{SmaCrossover, SmaCrossoverParams};

use serde::de::DeserializeOwned;

use crate::config::from_value_at;
use crate::domain::{Action, Direction};
use crate::error::{EngineError, ErrorCode, Result};
use crate::market::Bars;
use crate::specs::SymbolSpec;

/// How often (in bars) the engine asks a strategy for its failure and the run whether it was
/// cancelled, unless the strategy asks for more often.
pub const CHECK_EVERY_BARS: usize = 16_384;

pub trait Strategy {
    /// First bar index at which the strategy can produce a signal (its indicators are warm).
    fn first_signal_index(&self) -> usize;
    /// Decision at the close of bar `t`, given the direction of the open position.
    fn decide(&mut self, t: usize, bars: &Bars, position: Option<Direction>) -> Action;
    /// Bars after an exit before the engine lets a new entry through (0: in the exit bar).
    fn cooldown_bars(&self) -> usize {
        0
    }
    /// Why the strategy could not decide (a user strategy raised): the run fails with it. The
    /// engine asks every [`Strategy::check_every_bars`] bars and after the last one.
    fn failure(&mut self) -> Option<EngineError> {
        None
    }
    /// How often (in bars; a power of two, other values round up to one) the engine asks
    /// `failure` and whether the run was cancelled: a strategy whose bars cost microseconds asks
    /// more often, so that a Ctrl-C stops it within milliseconds rather than thousands of its bars.
    fn check_every_bars(&self) -> usize {
        CHECK_EVERY_BARS
    }
}

/// A boxed strategy (a user strategy, built at run time) is a strategy.
impl<S: Strategy + ?Sized> Strategy for Box<S> {
    fn first_signal_index(&self) -> usize {
        (**self).first_signal_index()
    }
    fn decide(&mut self, t: usize, bars: &Bars, position: Option<Direction>) -> Action {
        (**self).decide(t, bars, position)
    }
    fn cooldown_bars(&self) -> usize {
        (**self).cooldown_bars()
    }
    fn failure(&mut self) -> Option<EngineError> {
        (**self).failure()
    }
    fn check_every_bars(&self) -> usize {
        (**self).check_every_bars()
    }
}

/// A strategy the caller brings (a Python class through the bindings), built once the bars are
/// loaded; the engine knows it only through [`Strategy`].
pub trait UserStrategy {
    fn build<'b>(&self, input: &StrategyInput<'b>) -> Result<Box<dyn Strategy + 'b>>;
}

/// What a run may hand its strategy besides the parameters.
#[derive(Default, Clone, Copy)]
pub struct Extras<'a> {
    /// The columns of a signals frame (strategy `signals`).
    pub signals: Option<&'a SignalColumns<'a>>,
    /// The caller's own strategy (strategy `python`).
    pub user: Option<&'a (dyn UserStrategy + Sync)>,
}

/// Everything a strategy may look at when it is built.
pub struct StrategyInput<'a> {
    pub name: &'a str,
    /// `strategy_parameters` of the config, deserialised by the strategy's [`Build::Params`].
    pub params: &'a serde_json::Value,
    pub bars: &'a Bars,
    /// First bar that trades; earlier ones only warm indicators.
    pub start_index: usize,
    pub spec: &'a SymbolSpec,
    pub extras: Extras<'a>,
}

/// How a registered strategy is built from its typed parameters.
pub trait Build: Strategy + Sized {
    type Params: DeserializeOwned;
    /// The invariants of the parameters the strategy relies on (Python already enforced its
    /// friendlier rules); checked before any data is read.
    fn check(params: &Self::Params) -> Result<()>;
    fn build(params: Self::Params, input: &StrategyInput) -> Result<Self>;
}

/// Receives the concrete strategy, so the engine loop is monomorphised per strategy
/// (no virtual call per bar).
pub trait StrategyVisitor {
    type Output;
    fn visit<S: Strategy>(self, strategy: S) -> Self::Output;
}

fn params<S: Build>(value: &serde_json::Value) -> Result<S::Params> {
    let params = from_value_at(value, "strategy_parameters")?;
    S::check(&params)?;
    Ok(params)
}

fn build<S: Build>(input: &StrategyInput) -> Result<S> {
    S::build(params::<S>(input.params)?, input)
}

/// A parameter that breaks an invariant the strategy relies on.
pub(crate) fn invalid_parameter(strategy: &str, name: &str, rule: &str) -> EngineError {
    let field = format!("strategy_parameters.{name}");
    EngineError::new(ErrorCode::ConfigStrategyParameter, format!("`{field}` of strategy `{strategy}` {rule}"))
        .with("field", field)
}

fn unknown_strategy(name: &str) -> EngineError {
    EngineError::new(
        ErrorCode::ConfigUnknownStrategy,
        format!("unknown strategy `{name}`; registered: {}", REGISTERED.join(", ")),
    )
    .with("field", "strategy_name")
}

macro_rules! registry {
    ($($name:literal => $strategy:ty,)+) => {
        /// Names of the registered strategies, the caller's own included.
        pub const REGISTERED: &[&str] = &[$($name,)+ USER_STRATEGY];

        /// Builds the named strategy and hands it to `visitor`.
        pub fn with_strategy<V: StrategyVisitor>(input: &StrategyInput, visitor: V) -> Result<V::Output> {
            match input.name {
                $($name => Ok(visitor.visit(build::<$strategy>(input)?)),)+
                USER_STRATEGY => Ok(visitor.visit(build_user(input)?)),
                other => Err(unknown_strategy(other)),
            }
        }

        /// Deserialises and checks the named strategy's parameters (no data needed).
        pub fn check_parameters(name: &str, value: &serde_json::Value) -> Result<()> {
            match name {
                $($name => params::<$strategy>(value).map(drop),)+
                // The user's class validates its own parameters (its `Params` model).
                USER_STRATEGY => Ok(()),
                other => Err(unknown_strategy(other)),
            }
        }
    };
}

/// The name under which a run trades the strategy the caller brings ([`Extras::user`]).
pub const USER_STRATEGY: &str = "python";

fn build_user<'a>(input: &StrategyInput<'a>) -> Result<Box<dyn Strategy + 'a>> {
    let user = input.extras.user.ok_or_else(|| {
        EngineError::new(
            ErrorCode::ConfigStrategy,
            "strategy `python` needs a strategy class: pass strategy= to run (see docs/own-strategy.md)",
        )
        .with("field", "strategy_name")
    })?;
    user.build(input)
}

registry! {
    "mean_reversion_z_score" => MeanReversionZScore,
    "signals" => Signals,
    "sma_crossover" => SmaCrossover,
}
