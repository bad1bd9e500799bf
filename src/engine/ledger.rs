//! Step 5 of the loop (equity per bar) without per-bar work in the loop: the loop books balance
//! changes and holding periods; the per-bar balance and equity columns are derived from them
//! afterwards in tight loops, with the same arithmetic as marking bar by bar.

use crate::domain::Direction;

use super::setup::EngineSetup;

#[derive(Default)]
pub(super) struct Ledger {
    /// `(bar, amount)` added to the balance at that bar, in booking order.
    pub cash: Vec<(usize, f64)>,
    /// A position open at the close of bars `from..to`.
    pub holdings: Vec<Holding>,
}

pub(super) struct Holding {
    pub from: usize,
    pub to: usize,
    pub direction: Direction,
    pub entry_price: f64,
    pub size: f64,
}

/// Unrealised PnL in account currency of `size` lots entered at `entry_price`, marked at `close`
/// (the exit side's close) with `rate` account units per quote unit. The one formula of equity.
#[inline(always)]
pub(super) fn marked_pnl(setup: &EngineSetup, d: Direction, entry_price: f64, size: f64, t: usize) -> f64 {
    let close = setup.bars.exit_side(d).close[t];
    (close - entry_price) * d.sign() * size * setup.contract_size * setup.conversion.rate(setup.bars, t)
}

impl Ledger {
    /// (balance, equity) per bar from `start_index` on. Equity marks open positions at the
    /// close of the side that would exit them (bid for longs, ask for shorts).
    pub fn columns(&self, setup: &EngineSetup) -> (Vec<f64>, Vec<f64>) {
        let (start, n) = (setup.start_index, setup.bars.len());
        let mut balance = Vec::with_capacity(n - start);
        let mut equity = Vec::with_capacity(n - start);
        let mut running = setup.initial_balance;
        let mut cash = self.cash.iter().peekable();
        // Holdings are chronological and never overlap (one position at a time).
        let mut holdings = self.holdings.iter().peekable();
        for t in start..n {
            while let Some((_, amount)) = cash.next_if(|(bar, _)| *bar <= t) {
                running += amount;
            }
            while holdings.next_if(|h| h.to <= t).is_some() {}
            balance.push(running);
            equity.push(match holdings.peek() {
                Some(h) if h.from <= t => running + marked_pnl(setup, h.direction, h.entry_price, h.size, t),
                _ => running,
            });
        }
        (balance, equity)
    }
}
