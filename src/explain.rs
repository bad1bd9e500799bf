//! The story of one trade, told by an [`Observer`] of a rerun of the loop: the signal that made
//! it (with the strategy's indicator values), the gates it passed, the order, the fill (side,
//! both sides' prices, slippage, fee, sizing), every stop move, the exit check that fired and
//! the PnL arithmetic. A normal run carries none of this; `explain` reruns the loop (the run is
//! deterministic) with this observer, so explaining costs a normal run nothing.

use serde_json::{json, Value};

use crate::domain::{Direction, OrderKind, Signal, Sizing};
use crate::engine::{Blocked, EngineSetup, Fill, Observer};
use crate::execution::sizing::Rejection;
use crate::execution::{ExitReason, Position, Trade};
use crate::market::Ohlc;
use crate::timefmt::format_iso;

pub struct Explainer<'a> {
    setup: &'a EngineSetup<'a>,
    /// Index of the trade to explain (trades in exit order, as in trades.json).
    target: usize,
    cooldown_bars: usize,
    closed: usize,
    last_exit: Option<usize>,
    /// The current position's story so far (since the previous exit).
    signal: Option<Value>,
    gates: Option<Value>,
    order: Option<Value>,
    entry: Option<Value>,
    management: Vec<Value>,
    skipped: Skipped,
    story: Option<Value>,
}

/// Entry signals that got no position since the previous trade closed.
#[derive(Default, Clone, Copy, serde::Serialize)]
struct Skipped {
    blocked_session: u32,
    blocked_news: u32,
    blocked_cooldown: u32,
    rejected_invalid_stop: u32,
    rejected_invalid_take_profit: u32,
    rejected_stop_too_close: u32,
    rejected_below_volume_min: u32,
}

impl<'a> Explainer<'a> {
    pub fn new(setup: &'a EngineSetup<'a>, target: usize, cooldown_bars: usize) -> Self {
        Self {
            setup,
            target,
            cooldown_bars,
            closed: 0,
            last_exit: None,
            signal: None,
            gates: None,
            order: None,
            entry: None,
            management: Vec::new(),
            skipped: Skipped::default(),
            story: None,
        }
    }

    /// The story, if the run had that many trades; else the number of trades it had.
    pub fn story(self) -> Result<Value, usize> {
        self.story.ok_or(self.closed)
    }

    fn done(&self) -> bool {
        self.story.is_some()
    }

    fn bar(&self, t: usize) -> Value {
        let b = self.setup.bars;
        json!({"index": t, "time": format_iso(b.time_ns[t]), "time_ns": b.time_ns[t],
               "bid": ohlc(&b.bid, t), "ask": ohlc(&b.ask, t)})
    }

    fn gates_at(&self, t: usize) -> Value {
        let g = &self.setup.gates;
        let sessions: Vec<String> = g.sessions.iter().map(|&(s, e)| format!("{}-{}", hhmm(s), hhmm(e))).collect();
        json!({
            "sessions": if sessions.is_empty() { json!("always open") } else { json!(sessions) },
            "news_blackouts": g.news_blackouts.len(),
            "cooldown_bars": self.cooldown_bars,
            "bars_since_last_exit": self.last_exit.map(|e| t - e),
            "position": "flat",
        })
    }
}

fn ohlc(side: &Ohlc, t: usize) -> Value {
    json!({"open": side.open[t], "high": side.high[t], "low": side.low[t], "close": side.close[t]})
}

fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn side_name(d: Direction, entry: bool) -> &'static str {
    match (d, entry) {
        (Direction::Long, true) | (Direction::Short, false) => "ask",
        _ => "bid",
    }
}

fn signal_json(signal: &Signal) -> Value {
    let snapshot: serde_json::Map<String, Value> =
        signal.snapshot.iter().map(|(k, v)| (k.to_string(), v.is_finite().then_some(*v).into())).collect();
    json!({
        "direction": signal.direction.as_str(),
        "kind": signal.kind.as_str(),
        "entry_price": signal.entry_price,
        "stop_loss": signal.stop_loss,
        "take_profit": signal.take_profit,
        "sizing": match signal.sizing { Sizing::Risk => json!("risk"), Sizing::Lots(l) => json!({"lots": l}) },
        "scenario_id": signal.scenario_id,
        "indicators": snapshot,
    })
}

impl Observer for Explainer<'_> {
    fn entry_signal(&mut self, t: usize, signal: &Signal) {
        if self.done() {
            return;
        }
        let mut value = signal_json(signal);
        value["bar"] = self.bar(t);
        self.signal = Some(value);
        self.gates = Some(self.gates_at(t));
    }

    fn entry_blocked(&mut self, _t: usize, why: Blocked) {
        let s = &mut self.skipped;
        match why {
            Blocked::Session => s.blocked_session += 1,
            Blocked::News => s.blocked_news += 1,
            Blocked::Cooldown => s.blocked_cooldown += 1,
        }
    }

    fn order_placed(&mut self, t: usize, signal: &Signal) {
        if !self.done() {
            self.order = Some(json!({"kind": signal.kind.as_str(), "entry_price": signal.entry_price,
                                     "placed": self.bar(t)}));
        }
    }

    fn entry_rejected(&mut self, _t: usize, why: Rejection) {
        let s = &mut self.skipped;
        match why {
            Rejection::InvalidStop => s.rejected_invalid_stop += 1,
            Rejection::InvalidTakeProfit => s.rejected_invalid_take_profit += 1,
            Rejection::StopTooClose => s.rejected_stop_too_close += 1,
            Rejection::BelowVolumeMin => s.rejected_below_volume_min += 1,
        }
    }

    fn opened(&mut self, t: usize, fill: &Fill, p: &Position) {
        if self.done() {
            return;
        }
        let setup = self.setup;
        let sizing = match &self.signal {
            Some(s) if s["sizing"] == "risk" => Sizing::Risk,
            Some(s) => Sizing::Lots(s["sizing"]["lots"].as_f64().unwrap_or(p.size)),
            None => Sizing::Lots(p.size),
        };
        self.entry = Some(json!({
            "bar": self.bar(t),
            "side": side_name(p.direction, true),
            "price_before_slippage": fill.price,
            "slippage": fill.slippage,
            "fill": p.entry_price,
            "fee": fill.fee,
            "size": p.size,
            "sizing": {
                "mode": if sizing == Sizing::Risk { "risk" } else { "lots" },
                "raw_lots": setup.sizer.raw_lots(sizing, p.entry_price, p.stop_loss, fill.rate),
                "limits": setup.sizer,
                "quote_to_account": fill.rate,
            },
            "stop_loss": p.stop_loss,
            "take_profit": p.take_profit,
        }));
        let triggered = self.bar(t);
        if let Some(order) = self.order.as_mut() {
            order["triggered"] = triggered;
        }
    }

    fn stop_moved(&mut self, t: usize, from: Option<f64>, p: &Position) {
        if !self.done() {
            let close = self.setup.bars.exit_side(p.direction).close[t];
            self.management.push(json!({"bar": self.bar(t), "rule": p.stop_loss_kind, "from": from,
                                        "to": p.stop_loss, "close": close, "effective": "from the next bar"}));
        }
    }

    fn closed(&mut self, t: usize, fill: &Fill, trade: &Trade) {
        if !self.done() && self.closed == self.target {
            self.story = Some(self.tell(t, fill, trade));
        }
        self.closed += 1;
        self.last_exit = Some(t);
        self.signal = None;
        self.gates = None;
        self.order = None;
        self.entry = None;
        self.management.clear();
        self.skipped = Skipped::default();
    }
}

impl Explainer<'_> {
    fn tell(&self, t: usize, fill: &Fill, trade: &Trade) -> Value {
        let setup = self.setup;
        let d = trade.direction;
        json!({
            "trade": self.target,
            "direction": d.as_str(),
            "signal": self.signal,
            "gates": self.gates,
            "skipped_before": self.skipped,
            "order": self.order.clone().unwrap_or_else(|| json!({"kind": OrderKind::Market.as_str()})),
            "entry": self.entry,
            "management": self.management,
            "exit": self.exit_check(t, fill, trade),
            "pnl": {
                "formula": "(exit_fill - entry_fill) x sign x size x contract_size x quote_to_account",
                "entry_fill": trade.entry_price,
                "exit_fill": trade.exit_price,
                "sign": d.sign(),
                "size": trade.size,
                "contract_size": setup.contract_size,
                "quote_to_account": fill.rate,
                "result": trade.result,
                "fees": trade.fees,
                "net": trade.net(),
                "r_multiple": trade.r_multiple,
            },
        })
    }

    /// Which exit rule fired and why: for SL/TP the level against the bar's extreme on the
    /// exit side, with the pip buffer and the gap rule.
    fn exit_check(&self, t: usize, fill: &Fill, trade: &Trade) -> Value {
        let setup = self.setup;
        let d = trade.direction;
        let side = setup.bars.exit_side(d);
        let mut check = json!({
            "bar": self.bar(t),
            "reason": trade.reason,
            "side": side_name(d, false),
            "price_before_slippage": fill.price,
            "slippage": fill.slippage,
            "fill": trade.exit_price,
            "fee": fill.fee,
        });
        let level = match trade.reason {
            ExitReason::StopLoss => trade.stop_loss,
            ExitReason::TakeProfit => trade.take_profit,
            _ => None,
        };
        if let Some(level) = level {
            let stop = trade.reason == ExitReason::StopLoss;
            // The extreme that reaches the level: a long's stop is hit from below, its target from above.
            let from_below = (d == Direction::Long) == stop;
            let (extreme_name, extreme) = if from_below { ("low", side.low[t]) } else { ("high", side.high[t]) };
            let open = side.open[t];
            let gap = fill.price == open && open != level;
            check["level"] = json!(level);
            check["buffer"] = json!(setup.pip_buffer);
            check["extreme"] = json!({"field": extreme_name, "value": extreme});
            check["rule"] = json!(if from_below {
                format!(
                    "{} {extreme_name} {extreme} <= level {level} + buffer {}",
                    side_name(d, false),
                    setup.pip_buffer
                )
            } else {
                format!(
                    "{} {extreme_name} {extreme} >= level {level} - buffer {}",
                    side_name(d, false),
                    setup.pip_buffer
                )
            });
            check["gap"] = json!(gap);
            if gap {
                check["gap_rule"] =
                    json!(format!("the bar opened at {open}, already beyond the level: filled at the open"));
            }
        }
        check
    }
}
