//! What the loop tells an observer while it runs: the events behind each trade (the signal, the
//! gates, the order, the fill, stop moves, the exit). `explain` tells a trade's story from them.
//! The loop is generic over the observer and every method is a no-op by default, so a normal
//! run ([`Unobserved`]) compiles to the same code as a loop without observer.

use crate::domain::Signal;
use crate::execution::sizing::Rejection;
use crate::execution::{Position, Trade};

use super::gates::Blocked;

/// A fill: the price the rules gave, the adverse slippage added to it, and the fee.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fill {
    /// Before slippage (the close, the level, the open of a gap, the limit or stop price).
    pub price: f64,
    /// Signed: the fill is `price + slippage` (adverse to the trade's side).
    pub slippage: f64,
    pub fee: f64,
    /// Account currency per unit of quote currency at the fill.
    pub rate: f64,
}

#[allow(unused_variables)] // the defaults ignore what they are told
pub trait Observer {
    /// A strategy's entry (or reversal) signal at bar `t`, before the gates.
    fn entry_signal(&mut self, t: usize, signal: &Signal) {}
    fn entry_blocked(&mut self, t: usize, why: Blocked) {}
    /// A limit or stop order placed at bar `t`'s close.
    fn order_placed(&mut self, t: usize, signal: &Signal) {}
    fn entry_rejected(&mut self, t: usize, why: Rejection) {}
    fn opened(&mut self, t: usize, fill: &Fill, position: &Position) {}
    /// Trade management moved the stop (effective from the next bar).
    fn stop_moved(&mut self, t: usize, from: Option<f64>, position: &Position) {}
    fn closed(&mut self, t: usize, fill: &Fill, trade: &Trade) {}
}

/// The observer of a normal run: nothing.
pub struct Unobserved;

impl Observer for Unobserved {}
