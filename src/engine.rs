//! The bar loop. It owns the order of the steps of SPEC 4 and the run's bookkeeping, nothing
//! else: fill, exit and sizing rules live in `execution`, signals in `strategy`.
//!
//! Per primary bar t: 1) trigger pending orders placed before t; 2) SL/TP exits; 3) trade
//! management (timeout, break-even, trailing; stop moves apply from t+1); 4) strategy at the
//! close (entries only when session, news filter, position gate and cooldown allow; market
//! orders fill now); 5) equity marked at the close of the exit side. Open positions are closed
//! at the last bar's close (`end_of_data`).

use serde::Serialize;
use tracing::debug;

use crate::error::{EngineError, Result};
use crate::execution::fills::{exit_hit, pending_fill, EntryBar, ExitHit};
use crate::execution::management::Manager;
use crate::execution::sizing::Rejection;
use crate::execution::{CostModel, ExitReason, Position, SizeDecision, Sizer, StopLossKind, Trade};
use crate::market::{Bars, Direction};
use crate::strategy::{Action, OrderKind, Signal, Strategy};

/// How often (in bars) the loop asks whether the run was cancelled.
const CANCEL_CHECK_BARS: usize = 16_384;

/// Converts PnL in quote currency into account currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteConversion {
    /// The account currency is the quote currency.
    Unit,
    /// The account currency is the base currency: divide by the mid close of the bar.
    InverseMid,
}

/// Entry gates of step 4 that do not depend on the strategy.
#[derive(Debug, Clone, Default)]
pub struct EntryGates {
    /// Open sessions as (start, end) minute of the UTC day; `end <= start` crosses midnight.
    /// Empty means always open.
    pub sessions: Vec<(u32, u32)>,
    /// Sorted, non-overlapping news blackout intervals [from, to] in ns.
    pub news_blackouts: Vec<(i64, i64)>,
    /// Bars after an exit before a new entry; 0 allows an entry in the exit bar.
    pub cooldown_bars: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocked {
    Session,
    News,
    Cooldown,
}

impl EntryGates {
    fn check(&self, time_ns: i64, t: usize, last_exit: Option<usize>) -> Option<Blocked> {
        if !self.sessions.is_empty() {
            let minute = crate::timefmt::minute_of_day(time_ns);
            let open =
                self.sessions
                    .iter()
                    .any(|&(s, e)| if e > s { minute >= s && minute < e } else { minute >= s || minute < e });
            if !open {
                return Some(Blocked::Session);
            }
        }
        // The first blackout ending at or after `time_ns` is the only candidate.
        let i = self.news_blackouts.partition_point(|&(_, to)| to < time_ns);
        if self.news_blackouts.get(i).is_some_and(|&(from, _)| from <= time_ns) {
            return Some(Blocked::News);
        }
        if last_exit.is_some_and(|e| t < e + self.cooldown_bars) {
            return Some(Blocked::Cooldown);
        }
        None
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
    pub gates: EntryGates,
    /// Per-bar and per-event spans (profiling mode only).
    pub profiling: bool,
}

/// What happened in a run, for logs, `profiling.json` and `meta.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub bars_processed: u64,
    /// Signals, order placements, fills, exits, rejections and stop moves.
    pub events_processed: u64,
    pub signals: u64,
    /// Entry and exit fills.
    pub orders_filled: u64,
    pub orders_cancelled: u64,
    pub trades_emitted: u64,
    pub rejected_invalid_stop: u64,
    pub rejected_stop_too_close: u64,
    pub rejected_below_volume_min: u64,
    pub sizes_clamped: u64,
    pub blocked_session: u64,
    pub blocked_news: u64,
    pub blocked_cooldown: u64,
    pub stop_moves: u64,
}

pub struct EngineOutput {
    pub trades: Vec<Trade>,
    /// One row per bar from `start_index` on.
    pub equity: Vec<f64>,
    pub balance: Vec<f64>,
    pub counters: Counters,
}

struct PendingOrder {
    signal: Signal,
}

/// Mutable state of one run.
struct Book<'a> {
    setup: &'a EngineSetup<'a>,
    position: Option<Position>,
    pending: Option<PendingOrder>,
    ledger: Ledger,
    fills: u64,
    last_exit: Option<usize>,
    trades: Vec<Trade>,
    counters: Counters,
}

/// Runs `strategy` over the bars. `cancelled` is polled every few thousand bars.
pub fn run<S: Strategy>(mut strategy: S, setup: &EngineSetup, cancelled: &dyn Fn() -> bool) -> Result<EngineOutput> {
    let bars = setup.bars;
    let n = bars.len();
    if setup.start_index >= n {
        return Err(EngineError::internal("engine.empty", "no bars to trade after warmup"));
    }
    let rows = n - setup.start_index;
    let mut book = Book {
        setup,
        position: None,
        pending: None,
        ledger: Ledger::default(),
        fills: 0,
        last_exit: None,
        trades: Vec::new(),
        counters: Counters::default(),
    };
    for t in setup.start_index..n {
        if (t - setup.start_index).is_multiple_of(CANCEL_CHECK_BARS) && cancelled() {
            return Err(EngineError::cancelled());
        }
        let _bar = setup.profiling.then(|| tracing::debug_span!("bar", index = t).entered());
        book.step(&mut strategy, t);
        if t == n - 1 && book.position.is_some() {
            let close = exit_side_close(book.position.as_ref().map(|p| p.direction), bars, t);
            book.close(t, close, ExitReason::EndOfData);
        }
    }
    if book.pending.take().is_some() {
        book.counters.orders_cancelled += 1;
    }
    book.counters.bars_processed = rows as u64;
    book.counters.trades_emitted = book.trades.len() as u64;
    // Exits happen in bar order, so trades are already sorted by exit time; keep it stable.
    book.trades.sort_by_key(|tr| tr.exit_time_ns);
    let (balance, equity) = book.ledger.columns(setup);
    Ok(EngineOutput { trades: book.trades, equity, balance, counters: book.counters })
}

/// Step 5 of SPEC 4 without per-bar work in the loop: the loop records balance changes and
/// holding periods; the per-bar balance and equity columns are derived from them afterwards
/// in tight loops, with the same arithmetic (so the values are those of marking bar by bar).
#[derive(Default)]
struct Ledger {
    /// `(bar, amount)` added to the balance at that bar, in booking order.
    cash: Vec<(usize, f64)>,
    /// A position open at the close of bars `from..to`.
    holdings: Vec<Holding>,
}

struct Holding {
    from: usize,
    to: usize,
    direction: Direction,
    entry_price: f64,
    size: f64,
}

impl Ledger {
    /// (balance, equity) per bar from `start_index` on. Equity marks open positions at the
    /// close of the side that would exit them (bid for longs, ask for shorts).
    fn columns(&self, setup: &EngineSetup) -> (Vec<f64>, Vec<f64>) {
        let (start, n, bars) = (setup.start_index, setup.bars.len(), setup.bars);
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
                Some(h) if h.from <= t => {
                    let (close, sign) = match h.direction {
                        Direction::Long => (bars.bid.close[t], 1.0),
                        Direction::Short => (bars.ask.close[t], -1.0),
                    };
                    running + (close - h.entry_price) * sign * h.size * setup.contract_size * quote_to_account(setup, t)
                }
                _ => running,
            });
        }
        (balance, equity)
    }
}

/// Converts one unit of quote currency into account currency at bar `t`.
#[inline(always)]
fn quote_to_account(setup: &EngineSetup, t: usize) -> f64 {
    match setup.conversion {
        QuoteConversion::Unit => 1.0,
        QuoteConversion::InverseMid => 2.0 / (setup.bars.bid.close[t] + setup.bars.ask.close[t]),
    }
}

fn exit_side_close(d: Option<Direction>, bars: &Bars, t: usize) -> f64 {
    match d {
        Some(Direction::Short) => bars.ask.close[t],
        _ => bars.bid.close[t],
    }
}

impl Book<'_> {
    // The per-bar steps are inlined into the loop: most bars do nothing in most of them.
    #[inline(always)]
    fn step<S: Strategy>(&mut self, strategy: &mut S, t: usize) {
        self.trigger_pending(t);
        self.check_exits(t);
        self.manage(t);
        let action = strategy.decide(t, self.setup.bars, self.position.as_ref().map(|p| p.direction));
        match action {
            Action::Hold => {}
            Action::Exit => self.exit_on_signal(t),
            Action::Enter(signal) => self.enter(t, signal),
            Action::Reverse(signal) => {
                self.exit_on_signal(t);
                self.enter(t, signal);
            }
        }
    }

    #[inline(always)]
    fn trigger_pending(&mut self, t: usize) {
        if self.pending.is_none() {
            return;
        }
        let Some(order) = self.pending.take() else { return };
        // One position per symbol: an order cannot add to or replace an open position.
        if self.position.is_some() {
            self.counters.orders_cancelled += 1;
            return;
        }
        let s = &order.signal;
        match pending_fill(s.kind, s.direction, s.entry_price, self.setup.bars, t) {
            Some(price) => self.open(t, order.signal, price),
            None => self.pending = Some(order),
        }
    }

    #[inline(always)]
    fn check_exits(&mut self, t: usize) {
        let Some(p) = &self.position else { return };
        if (p.stop_loss.is_none() && p.take_profit.is_none())
            || (p.entry_index == t && p.entry_kind == OrderKind::Market)
        {
            return;
        }
        let entry_bar = if p.entry_index == t {
            EntryBar::Trigger { limit_entry: p.entry_kind == OrderKind::Limit }
        } else {
            EntryBar::No
        };
        match exit_hit(p.direction, p.stop_loss, p.take_profit, self.setup.pip_buffer, self.setup.bars, t, entry_bar) {
            Some(ExitHit::StopLoss(price)) => self.close(t, price, ExitReason::StopLoss),
            Some(ExitHit::TakeProfit(price)) => self.close(t, price, ExitReason::TakeProfit),
            None => {}
        }
    }

    #[inline(always)]
    fn manage(&mut self, t: usize) {
        let setup = self.setup;
        if !setup.manager.is_active() {
            return;
        }
        let Some(p) = self.position.as_mut() else { return };
        let close = exit_side_close(Some(p.direction), setup.bars, t);
        if setup.manager.timed_out(p, setup.bars.time_ns[t]) {
            self.close(t, close, ExitReason::Timeout);
            return;
        }
        let before = p.stop_loss;
        setup.manager.adjust_stop(p, close);
        if p.stop_loss != before {
            debug!(target: "omega_v2::execution", bar = t, stop_loss = p.stop_loss, kind = ?p.stop_loss_kind, "stop moved");
            self.counters.stop_moves += 1;
            self.counters.events_processed += 1;
        }
    }

    fn exit_on_signal(&mut self, t: usize) {
        if let Some(d) = self.position.as_ref().map(|p| p.direction) {
            self.close(t, exit_side_close(Some(d), self.setup.bars, t), ExitReason::Signal);
        }
    }

    /// Step 4 entry: gates first, then a market fill now or a pending order for later bars.
    fn enter(&mut self, t: usize, signal: Signal) {
        self.counters.signals += 1;
        self.counters.events_processed += 1;
        if self.position.is_some() {
            return;
        }
        if let Some(blocked) = self.setup.gates.check(self.setup.bars.time_ns[t], t, self.last_exit) {
            let counter = match blocked {
                Blocked::Session => &mut self.counters.blocked_session,
                Blocked::News => &mut self.counters.blocked_news,
                Blocked::Cooldown => &mut self.counters.blocked_cooldown,
            };
            *counter += 1;
            return;
        }
        match signal.kind {
            OrderKind::Market => {
                // A market entry supersedes a pending order that has not triggered yet.
                if self.pending.take().is_some() {
                    self.counters.orders_cancelled += 1;
                }
                let price = signal.entry_price;
                self.open(t, signal, price);
            }
            OrderKind::Limit | OrderKind::Stop => {
                if self.pending.replace(PendingOrder { signal }).is_some() {
                    self.counters.orders_cancelled += 1;
                }
            }
        }
    }

    /// Opens a position at `price` (before slippage) in bar `t`, or counts why it could not.
    fn open(&mut self, t: usize, signal: Signal, price: f64) {
        let _span = self.setup.profiling.then(|| tracing::debug_span!("fill", bar = t).entered());
        self.counters.events_processed += 1;
        let setup = self.setup;
        let costs = &setup.costs;
        let fill = costs.entry_fill(signal.direction, price, self.fills);
        let rate = quote_to_account(self.setup, t);
        let lots = match setup.sizer.size(signal.sizing, signal.direction, fill, signal.stop_loss, rate) {
            SizeDecision::Accept { lots, clamped } => {
                self.counters.sizes_clamped += u64::from(clamped);
                lots
            }
            SizeDecision::Reject(why) => {
                self.count_rejection(why);
                debug!(target: "omega_v2::execution", bar = t, reason = why.as_str(), direction = signal.direction.as_str(), "entry rejected");
                return;
            }
        };
        self.fills += 1;
        self.counters.orders_filled += 1;
        let entry_fee = costs.fee(lots, fill, rate);
        self.ledger.cash.push((t, -entry_fee));
        let contract = self.setup.contract_size;
        self.position = Some(Position {
            direction: signal.direction,
            entry_index: t,
            entry_time_ns: self.setup.bars.time_ns[t],
            entry_kind: signal.kind,
            entry_price: fill,
            size: lots,
            stop_loss: signal.stop_loss,
            take_profit: signal.take_profit,
            initial_stop_loss: signal.stop_loss,
            stop_loss_kind: if signal.stop_loss.is_some() { StopLossKind::Initial } else { StopLossKind::None },
            entry_fee,
            initial_risk: signal.stop_loss.map(|sl| (fill - sl).abs() * lots * contract * rate),
            scenario_id: signal.scenario_id,
            snapshot: signal.snapshot,
        });
    }

    fn count_rejection(&mut self, why: Rejection) {
        let c = &mut self.counters;
        c.events_processed += 1;
        match why {
            Rejection::InvalidStop => c.rejected_invalid_stop += 1,
            Rejection::StopTooClose => c.rejected_stop_too_close += 1,
            Rejection::BelowVolumeMin => c.rejected_below_volume_min += 1,
        }
    }

    /// Closes the open position at `price` (before slippage) in bar `t`.
    fn close(&mut self, t: usize, price: f64, reason: ExitReason) {
        let Some(p) = self.position.take() else { return };
        let setup = self.setup;
        let _span = setup.profiling.then(|| tracing::debug_span!("exit", bar = t).entered());
        let costs = &setup.costs;
        let fill = costs.exit_fill(p.direction, price, self.fills);
        self.fills += 1;
        self.counters.orders_filled += 1;
        self.counters.events_processed += 1;
        let rate = quote_to_account(self.setup, t);
        let result = p.favourable_move(fill) * p.size * self.setup.contract_size * rate;
        let exit_fee = costs.fee(p.size, fill, rate);
        self.ledger.cash.push((t, result - exit_fee));
        self.ledger.holdings.push(Holding {
            from: p.entry_index,
            to: t,
            direction: p.direction,
            entry_price: p.entry_price,
            size: p.size,
        });
        self.last_exit = Some(t);
        let trade = Trade {
            direction: p.direction,
            entry_time_ns: p.entry_time_ns,
            exit_time_ns: self.setup.bars.time_ns[t],
            entry_price: p.entry_price,
            exit_price: fill,
            stop_loss: p.stop_loss,
            take_profit: p.take_profit,
            initial_stop_loss: p.initial_stop_loss,
            size: p.size,
            result,
            fees: p.entry_fee + exit_fee,
            r_multiple: p.initial_risk.map(|risk| result / risk),
            reason,
            scenario_id: p.scenario_id,
            in_entry_candle: p.entry_index == t,
            stop_loss_kind: p.stop_loss_kind,
            snapshot: p.snapshot,
        };
        debug!(target: "omega_v2::execution", bar = t, direction = trade.direction.as_str(),
            reason = trade.reason.as_str(), entry_price = trade.entry_price, exit_price = trade.exit_price, size = trade.size,
            result = trade.result, fees = trade.fees, "trade closed");
        self.trades.push(trade);
    }
}
