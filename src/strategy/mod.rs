//! Strategies: one trait, one file per strategy, one registry.
//!
//! A strategy precomputes its indicators once over all bars when it is built, then answers
//! one cheap question per bar ([`Strategy::decide`]). The engine owns everything else: entry
//! gates (session, news, position, cooldown), fills, exits and bookkeeping.
//!
//! Adding a strategy: write `src/strategy/<name>.rs` implementing [`Strategy`] with a
//! `build(&StrategyInput) -> Result<Self>` constructor and add one line to [`with_strategy`].

mod mrz;
mod sma_crossover;

pub use mrz::MeanReversionZScore;
pub use sma_crossover::SmaCrossover;

use crate::config::Params;
use crate::error::{EngineError, Result};
use crate::market::{Bars, Direction};
use crate::specs::SymbolSpec;

/// How an entry order is executed (SPEC 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Fills in the signal bar at `entry_price` (the close of the entry side).
    Market,
    /// Placed at the bar close; fills from the next bar at `entry_price` or better.
    Limit,
    /// Placed at the bar close; fills from the next bar once price trades through `entry_price`.
    Stop,
}

/// Position size of an entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sizing {
    /// `account.risk_per_trade` at risk between the fill and the stop loss.
    Risk,
    /// A fixed number of lots.
    Lots(f64),
}

/// Indicator values at the signal bar, copied into the trade's `meta` for later analysis.
pub type Snapshot = Vec<(&'static str, f64)>;

/// An entry request. Prices are used exactly as computed (no tick rounding, SPEC 6).
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub direction: Direction,
    pub kind: OrderKind,
    pub entry_price: f64,
    pub stop_loss: Option<f64>,
    pub take_profit: Option<f64>,
    pub sizing: Sizing,
    pub scenario_id: u8,
    pub snapshot: Snapshot,
}

/// What a strategy wants at the close of a bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Hold,
    /// Close the open position at this bar's close (exit reason `signal`).
    Exit,
    /// Open a position if the engine's entry gates allow it.
    Enter(Signal),
    /// Close the open position, then enter if the gates allow it.
    Reverse(Signal),
}

pub trait Strategy {
    /// First bar index at which the strategy can produce a signal (its indicators are warm).
    fn first_signal_index(&self) -> usize;
    /// Decision at the close of bar `t`, given the direction of the open position.
    fn decide(&mut self, t: usize, bars: &Bars, position: Option<Direction>) -> Action;
}

/// Everything a strategy may look at when it is built.
pub struct StrategyInput<'a> {
    pub name: &'a str,
    pub params: Params<'a>,
    pub bars: &'a Bars,
    pub spec: &'a SymbolSpec,
}

/// Receives the concrete strategy, so the engine loop is monomorphised per strategy
/// (no virtual call per bar).
pub trait StrategyVisitor {
    type Output;
    fn visit<S: Strategy>(self, strategy: S) -> Self::Output;
}

pub const REGISTERED: &[&str] = &["mean_reversion_z_score", "sma_crossover"];

/// The registry: builds the named strategy and hands it to `visitor`.
pub fn with_strategy<V: StrategyVisitor>(input: &StrategyInput, visitor: V) -> Result<V::Output> {
    Ok(match input.name {
        "mean_reversion_z_score" => visitor.visit(MeanReversionZScore::build(input)?),
        "sma_crossover" => visitor.visit(SmaCrossover::build(input)?),
        other => {
            return Err(EngineError::config(
                "config.unknown_strategy",
                format!("unknown strategy `{other}`; registered: {}", REGISTERED.join(", ")),
            )
            .with("field", "strategy_name"))
        }
    })
}
