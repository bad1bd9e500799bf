//! The bar loop. It owns the order of the steps of the execution model (`docs/execution.md`)
//! and the run's bookkeeping, nothing else: fill, exit and sizing rules live in `execution`,
//! signals in `strategy`.
//!
//! Per primary bar t: 1) trigger pending orders placed before t; 2) SL/TP exits; 3) trade
//! management (timeout, break-even, trailing; stop moves apply from t+1); 4) strategy at the
//! close (entries only when session, news filter, position gate and cooldown allow; market
//! orders fill now); 5) equity marked at the close of the exit side. Open positions are closed
//! at the last bar's close (`end_of_data`).

mod gates;
mod ledger;
mod observer;
mod profile;
mod setup;

pub use gates::{Blocked, EntryGates};
pub use observer::{Fill, Observer, Unobserved};
pub use profile::{
    BarTimeSummary, BarTimes, DetailSpans, LoopProfiling, BAR_SAMPLE_EVERY, DETAIL_SAMPLE_EVERY, SPAN_TARGET,
};
pub use setup::{pip_buffer_factor, EngineSetup, QuoteConversion};

use serde::Serialize;
use tracing::debug;

use crate::domain::{Action, OrderKind, Signal};
use crate::error::{EngineError, ErrorCode, Result};
use crate::execution::fills::{exit_hit, pending_fill, EntryBar, ExitHit};
use crate::execution::sizing::{take_profit_rejection, Rejection};
use crate::execution::{ExitReason, Position, SizeDecision, StopLossKind, Trade};
use crate::strategy::Strategy;
use ledger::{marked_pnl, Holding, Ledger};

/// What happened in a run, for logs, `profiling.json` and `meta.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "python", pyo3::pyclass(module = "omega_v2._core", frozen, get_all, skip_from_py_object))]
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
    pub rejected_invalid_take_profit: u64,
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
    pub stop_out: Option<StopOut>,
    /// Profiling mode: the durations of the timed bars.
    pub bar_times: Option<BarTimes>,
}

/// The bar at whose close equity fell to `account.stop_out_level` or below: the open position
/// was closed there (reason `stop_out`) and no order was placed after it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StopOut {
    /// Index into the run's bars (warmup included).
    pub bar: usize,
    pub time_ns: i64,
    /// Equity marked at that close, before the stop-out exit's slippage and fee.
    pub equity: f64,
    pub level: f64,
}

struct PendingOrder {
    signal: Signal,
}

/// Mutable state of one run.
struct Book<'a, O> {
    setup: &'a EngineSetup<'a>,
    observer: O,
    position: Option<Position>,
    pending: Option<PendingOrder>,
    ledger: Ledger,
    fills: u64,
    last_exit: Option<usize>,
    /// Bars after an exit before a new entry (the strategy's own setting).
    cooldown_bars: usize,
    /// The ledger's running balance, booked in the same order (so the stop-out check sees the
    /// same numbers as `equity.csv`).
    balance: f64,
    trades: Vec<Trade>,
    counters: Counters,
    /// The current bar has a detail span: its fills and exits get one too.
    event_spans: bool,
}

/// Runs `strategy` over the bars. `cancelled` is polled with the bars done so far, every
/// [`Strategy::check_every_bars`] bars (the first bar included).
pub fn run<S: Strategy>(strategy: S, setup: &EngineSetup, cancelled: &dyn Fn(u64) -> bool) -> Result<EngineOutput> {
    run_observed(strategy, setup, cancelled, Unobserved).map(|(out, _)| out)
}

/// [`run`] telling `observer` what happens; returns it with the output.
pub fn run_observed<S: Strategy, O: Observer>(
    mut strategy: S,
    setup: &EngineSetup,
    cancelled: &dyn Fn(u64) -> bool,
    observer: O,
) -> Result<(EngineOutput, O)> {
    let bars = setup.bars;
    let n = bars.len();
    if setup.start_index >= n {
        return Err(EngineError::new(ErrorCode::Internal, "no bars to trade after warmup"));
    }
    let rows = n - setup.start_index;
    let mut book = Book {
        setup,
        observer,
        position: None,
        pending: None,
        ledger: Ledger::default(),
        fills: 0,
        last_exit: None,
        cooldown_bars: strategy.cooldown_bars(),
        balance: setup.initial_balance,
        trades: Vec::new(),
        counters: Counters::default(),
        event_spans: false,
    };
    let profiling = setup.profiling;
    let mut bar_times = profiling.bar_times.then(|| BarTimes::for_rows(rows));
    let mut stop_out = None;
    // A mask keeps the per-bar test cheap; other values round up to the next power of two.
    let check_mask = strategy.check_every_bars().max(1).next_power_of_two() - 1;
    for t in setup.start_index..n {
        let offset = t - setup.start_index;
        if offset & check_mask == 0 {
            if let Some(failure) = strategy.failure() {
                return Err(failure);
            }
            if cancelled(offset as u64) {
                return Err(EngineError::cancelled());
            }
        }
        let (_bar, clock) = if profiling.is_off() {
            (None, None)
        } else {
            let span = profiling.bar_span(offset, t);
            book.event_spans = span.is_some();
            (span, profiling.bar_clock(offset))
        };
        book.step(&mut strategy, t);
        stop_out = book.stop_out(t);
        if t == n - 1 && stop_out.is_none() {
            book.close_at_close(t, ExitReason::EndOfData);
        }
        if let (Some(clock), Some(times)) = (clock, bar_times.as_mut()) {
            times.record(clock);
        }
        if stop_out.is_some() {
            break;
        }
    }
    if let Some(failure) = strategy.failure() {
        return Err(failure);
    }
    if book.pending.take().is_some() {
        book.counters.orders_cancelled += 1;
    }
    book.counters.bars_processed = stop_out.map_or(rows, |s| s.bar + 1 - setup.start_index) as u64;
    book.counters.trades_emitted = book.trades.len() as u64;
    // Exits happen in bar order, so trades are already sorted by exit time; keep it stable.
    book.trades.sort_by_key(|tr| tr.exit_time_ns);
    let (balance, equity) = book.ledger.columns(setup);
    let out = EngineOutput { trades: book.trades, equity, balance, counters: book.counters, stop_out, bar_times };
    Ok((out, book.observer))
}

impl<O: Observer> Book<'_, O> {
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
        // Orders are only placed while flat and a market entry cancels them, so a pending
        // order never meets an open position (one position per symbol).
        debug_assert!(self.position.is_none());
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
        if setup.manager.timed_out(p, setup.bars.time_ns[t]) {
            self.close_at_close(t, ExitReason::Timeout);
            return;
        }
        let close = setup.bars.exit_side(p.direction).close[t];
        let before = p.stop_loss;
        setup.manager.adjust_stop(p, close);
        if p.stop_loss != before {
            debug!(target: "omega_v2::execution", bar = t, stop_loss = p.stop_loss, kind = ?p.stop_loss_kind, "stop moved");
            self.observer.stop_moved(t, before, p);
            self.counters.stop_moves += 1;
            self.counters.events_processed += 1;
        }
    }

    /// Step 5's check: equity at the close of bar `t` at or below the stop-out level closes the
    /// position at that close and ends trading.
    #[inline(always)]
    fn stop_out(&mut self, t: usize) -> Option<StopOut> {
        let setup = self.setup;
        let open = self.position.as_ref().map_or(0.0, |p| marked_pnl(setup, p.direction, p.entry_price, p.size, t));
        let equity = self.balance + open;
        if equity > setup.stop_out_level {
            return None;
        }
        self.close_at_close(t, ExitReason::StopOut);
        if self.pending.take().is_some() {
            self.counters.orders_cancelled += 1;
        }
        let time_ns = setup.bars.time_ns[t];
        tracing::warn!(component = "execution", bar = t, time = %crate::timefmt::format_iso(time_ns), equity,
            "account stopped out: equity at a bar close fell to the stop-out level; no further orders");
        Some(StopOut { bar: t, time_ns, equity, level: setup.stop_out_level })
    }

    fn book_cash(&mut self, t: usize, amount: f64) {
        self.ledger.cash.push((t, amount));
        self.balance += amount;
    }

    fn exit_on_signal(&mut self, t: usize) {
        self.close_at_close(t, ExitReason::Signal);
    }

    /// Closes the open position, if any, at bar `t`'s close of its exit side.
    fn close_at_close(&mut self, t: usize, reason: ExitReason) {
        if let Some(d) = self.position.as_ref().map(|p| p.direction) {
            self.close(t, self.setup.bars.exit_side(d).close[t], reason);
        }
    }

    /// Step 4 entry: gates first, then a market fill now or a pending order for later bars.
    fn enter(&mut self, t: usize, signal: Signal) {
        self.counters.signals += 1;
        self.counters.events_processed += 1;
        if self.position.is_some() {
            return;
        }
        self.observer.entry_signal(t, &signal);
        if let Some(blocked) = self.gate(t) {
            self.observer.entry_blocked(t, blocked);
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
                self.observer.order_placed(t, &signal);
                if self.pending.replace(PendingOrder { signal }).is_some() {
                    self.counters.orders_cancelled += 1;
                }
            }
        }
    }

    /// The gate that blocks an entry at bar `t`: session, news, then the cooldown after an exit.
    fn gate(&self, t: usize) -> Option<Blocked> {
        self.setup
            .gates
            .check(self.setup.bars.time_ns[t])
            .or_else(|| self.last_exit.is_some_and(|e| t < e + self.cooldown_bars).then_some(Blocked::Cooldown))
    }

    /// Opens a position at `price` (before slippage) in bar `t`, or counts why it could not.
    fn open(&mut self, t: usize, signal: Signal, price: f64) {
        let _span =
            self.event_spans.then(|| tracing::trace_span!(target: profile::SPAN_TARGET, "fill", bar = t).entered());
        self.counters.events_processed += 1;
        let setup = self.setup;
        let costs = &setup.costs;
        let fill = costs.entry_fill(signal.direction, price, self.fills);
        let rate = setup.conversion.rate(setup.bars, t);
        let decision = match take_profit_rejection(signal.direction, fill, signal.take_profit) {
            Some(why) => SizeDecision::Reject(why),
            None => setup.sizer.size(signal.sizing, signal.direction, fill, signal.stop_loss, rate),
        };
        let lots = match decision {
            SizeDecision::Accept { lots, clamped } => {
                self.counters.sizes_clamped += u64::from(clamped);
                lots
            }
            SizeDecision::Reject(why) => {
                self.observer.entry_rejected(t, why);
                self.count_rejection(why);
                debug!(target: "omega_v2::execution", bar = t, reason = why.as_str(), direction = signal.direction.as_str(), "entry rejected");
                return;
            }
        };
        self.fills += 1;
        self.counters.orders_filled += 1;
        let entry_fee = costs.fee(lots, fill, rate);
        self.book_cash(t, -entry_fee);
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
        if let Some(p) = &self.position {
            self.observer.opened(t, &Fill { price, slippage: fill - price, fee: entry_fee, rate }, p);
        }
    }

    fn count_rejection(&mut self, why: Rejection) {
        let c = &mut self.counters;
        c.events_processed += 1;
        match why {
            Rejection::InvalidStop => c.rejected_invalid_stop += 1,
            Rejection::InvalidTakeProfit => c.rejected_invalid_take_profit += 1,
            Rejection::StopTooClose => c.rejected_stop_too_close += 1,
            Rejection::BelowVolumeMin => c.rejected_below_volume_min += 1,
        }
    }

    /// Closes the open position at `price` (before slippage) in bar `t`.
    fn close(&mut self, t: usize, price: f64, reason: ExitReason) {
        let Some(p) = self.position.take() else { return };
        let setup = self.setup;
        let _span =
            self.event_spans.then(|| tracing::trace_span!(target: profile::SPAN_TARGET, "exit", bar = t).entered());
        let costs = &setup.costs;
        let fill = costs.exit_fill(p.direction, price, self.fills);
        self.fills += 1;
        self.counters.orders_filled += 1;
        self.counters.events_processed += 1;
        let rate = setup.conversion.rate(setup.bars, t);
        let result = p.favourable_move(fill) * p.size * self.setup.contract_size * rate;
        let exit_fee = costs.fee(p.size, fill, rate);
        self.book_cash(t, result - exit_fee);
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
        self.observer.closed(t, &Fill { price, slippage: fill - price, fee: exit_fee, rate }, &trade);
        self.trades.push(trade);
    }
}
