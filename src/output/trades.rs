//! `trades.json`: the closed trades sorted by exit time, streamed with serde (no Value tree).

use std::io::{self, Write};

use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::Serialize;

use crate::execution::Trade;
use crate::timefmt::format_iso;

/// One trade as written, borrowing the engine's record.
pub struct TradeRecord<'a> {
    pub trade: &'a Trade,
    pub symbol: &'a str,
}

impl Serialize for TradeRecord<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.trade;
        let mut r = s.serialize_struct("Trade", 17)?;
        r.serialize_field("entry_time", &format_iso(t.entry_time_ns))?;
        r.serialize_field("entry_time_ns", &t.entry_time_ns)?;
        r.serialize_field("exit_time", &format_iso(t.exit_time_ns))?;
        r.serialize_field("exit_time_ns", &t.exit_time_ns)?;
        r.serialize_field("direction", &t.direction)?;
        r.serialize_field("symbol", self.symbol)?;
        r.serialize_field("entry_price", &t.entry_price)?;
        r.serialize_field("exit_price", &t.exit_price)?;
        r.serialize_field("stop_loss", &t.stop_loss)?;
        r.serialize_field("take_profit", &t.take_profit)?;
        r.serialize_field("size", &t.size)?;
        r.serialize_field("result", &t.result)?;
        r.serialize_field("fees", &t.fees)?;
        r.serialize_field("r_multiple", &t.r_multiple)?;
        r.serialize_field("reason", &t.reason)?;
        r.serialize_field("scenario_id", &t.scenario_id)?;
        r.serialize_field("meta", &TradeMeta(t))?;
        r.end()
    }
}

struct TradeMeta<'a>(&'a Trade);

impl Serialize for TradeMeta<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("in_entry_candle", &t.in_entry_candle)?;
        m.serialize_entry("stop_loss_kind", &t.stop_loss_kind)?;
        m.serialize_entry("initial_stop_loss", &t.initial_stop_loss)?;
        m.serialize_entry("signal", &Snapshot(&t.snapshot))?;
        m.end()
    }
}

struct Snapshot<'a>(&'a [(std::borrow::Cow<'static, str>, f64)]);

impl Serialize for Snapshot<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            // NaN has no JSON form; an undefined indicator is written as null.
            m.serialize_entry(k, &v.is_finite().then_some(*v))?;
        }
        m.end()
    }
}

/// Trades between two polls of `cancelled` (a long file must stay interruptible).
const CANCEL_CHECK_TRADES: usize = 16_384;

/// The whole array in the engine's (exit time) order, one compact trade object per line so
/// large files stay small and line-oriented tools (grep, jq -c) work on them.
/// Stops early with `ErrorKind::Interrupted` when `cancelled` says so.
pub fn write_trades<W: Write>(
    w: &mut W,
    trades: &[Trade],
    symbol: &str,
    cancelled: &dyn Fn() -> bool,
) -> io::Result<()> {
    w.write_all(b"[")?;
    for (i, trade) in trades.iter().enumerate() {
        if i % CANCEL_CHECK_TRADES == CANCEL_CHECK_TRADES - 1 && cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "run cancelled"));
        }
        w.write_all(if i == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut *w, &TradeRecord { trade, symbol }).map_err(io::Error::other)?;
    }
    w.write_all(if trades.is_empty() { b"]\n" } else { b"\n]\n" })
}
