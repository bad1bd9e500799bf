//! Record rendering: one JSON line (fixed key order, typed fields) and one human text line per
//! record, built in per-thread scratch buffers so that a written record allocates nothing once
//! the buffers are warm, and a filtered-out record never reaches this module.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::Level;

use super::context::RunLogContext;
use crate::timefmt::{civil_from_days, NANOS_PER_DAY};

/// A structured field value; strings live in [`Scratch::arena`].
enum Value {
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    Str(Range<usize>),
}

/// Everything of one record that does not come from the run sink.
pub(crate) struct Head<'a> {
    pub level: &'a Level,
    pub target: &'a str,
    pub component: Option<&'a str>,
    pub phase: Option<&'a str>,
}

/// Reusable per-thread buffers: the record's message and fields, its span path, and the two
/// rendered lines.
#[derive(Default)]
pub(crate) struct Scratch {
    arena: String,
    message: Range<usize>,
    fields: Vec<(&'static str, Value)>,
    pub spans: Vec<&'static str>,
    timestamp: String,
    pub json: Vec<u8>,
    pub text: String,
}

/// Buffers above this size are released after use, so one huge record does not pin memory.
const KEEP_CAPACITY: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's scratch buffers, or fresh ones when they are busy (a field's
/// `Debug` impl that logs) or gone (thread teardown).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    let mut f = Some(f);
    let reused = SCRATCH.try_with(|cell| {
        let mut scratch = cell.try_borrow_mut().ok()?;
        scratch.clear();
        let out = (f.take()?)(&mut scratch);
        scratch.release_if_large();
        Some(out)
    });
    match (reused, f) {
        (Ok(Some(out)), _) => out,
        (_, Some(f)) => f(&mut Scratch::default()),
        (_, None) => unreachable!("the closure ran but returned nothing"),
    }
}

impl Scratch {
    fn clear(&mut self) {
        self.arena.clear();
        self.message = 0..0;
        self.fields.clear();
        self.spans.clear();
        self.timestamp.clear();
        self.json.clear();
        self.text.clear();
    }

    fn release_if_large(&mut self) {
        if self.arena.capacity() + self.json.capacity() + self.text.capacity() > KEEP_CAPACITY {
            *self = Scratch::default();
        }
    }

    /// Collects an event's message and fields.
    pub fn record_event(&mut self, event: &tracing::Event<'_>) {
        event.record(self);
    }

    /// The fields of a span close record.
    pub fn record_close(&mut self, busy: Duration) {
        let ns = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
        self.message = self.push_str("close");
        self.fields.push(("duration_ns", Value::U64(ns)));
        self.fields.push(("duration_ms", Value::F64(ns as f64 / 1e6)));
    }

    fn push_str(&mut self, s: &str) -> Range<usize> {
        let start = self.arena.len();
        self.arena.push_str(s);
        start..self.arena.len()
    }

    fn push_debug(&mut self, value: &dyn fmt::Debug) -> Range<usize> {
        let start = self.arena.len();
        let _ = write!(self.arena, "{value:?}");
        start..self.arena.len()
    }

    /// Renders `json` and `text` (newline-terminated) for a record of run `ctx`.
    pub fn render(&mut self, head: &Head<'_>, ctx: &RunLogContext) {
        write_timestamp(&mut self.timestamp, SystemTime::now());
        let message = &self.arena[self.message.clone()];
        let line = JsonLine {
            timestamp: &self.timestamp,
            level: head.level.as_str(),
            target: head.target,
            message,
            run_id: &ctx.run_id,
            strategy_name: &ctx.strategy_name,
            symbol: &ctx.symbol,
            timeframe: &ctx.timeframe,
            component: head.component,
            phase: head.phase,
            span: self.spans.last().copied().unwrap_or_default(),
            spans: &self.spans,
            fields: Fields { fields: &self.fields, arena: &self.arena },
        };
        // Cannot fail: every key is a string and the writer is a Vec.
        let _ = serde_json::to_writer(&mut self.json, &line);
        self.json.push(b'\n');
        self.render_text(head, ctx);
    }

    fn render_text(&mut self, head: &Head<'_>, ctx: &RunLogContext) {
        let t = &mut self.text;
        let _ = write!(t, "{} {:>5} [", self.timestamp, head.level.as_str());
        let context = [
            ("run_id", Some(ctx.run_id.as_str())),
            ("strategy_name", Some(ctx.strategy_name.as_str())),
            ("symbol", Some(ctx.symbol.as_str())),
            ("timeframe", Some(ctx.timeframe.as_str())),
            ("component", head.component),
            ("phase", head.phase),
        ];
        for (i, (key, value)) in context.iter().filter_map(|(k, v)| Some((k, (*v)?))).enumerate() {
            t.push_str(if i == 0 { "" } else { " " });
            let _ = push_pair(t, key, value);
        }
        t.push_str("] ");
        for name in &self.spans {
            t.push_str(name);
            t.push(':');
        }
        t.push_str(if self.spans.is_empty() { "" } else { " " });
        t.push_str(head.target);
        t.push_str(": ");
        self.push_message_and_fields();
        self.text.push('\n');
    }

    /// `message k=v k2=v2` into `text`: the text line's tail and the body of a record forwarded
    /// to the `log` crate.
    pub fn push_message_and_fields(&mut self) {
        let t = &mut self.text;
        t.push_str(&self.arena[self.message.clone()]);
        for (i, (name, value)) in self.fields.iter().enumerate() {
            t.push_str(if i == 0 && self.message.is_empty() { "" } else { " " });
            let _ = match value {
                Value::I64(v) => write!(t, "{name}={v}"),
                Value::U64(v) => write!(t, "{name}={v}"),
                Value::F64(v) => write!(t, "{name}={}", HumanFloat(*v)),
                Value::Bool(v) => write!(t, "{name}={v}"),
                Value::Str(r) => push_pair(t, name, &self.arena[r.clone()]),
            };
        }
    }
}

/// A float for a human reader: six significant digits, trailing zeros dropped (the JSON sink
/// keeps the full value), e.g. `12.345678901` -> `12.3457`, `9499.17450617831` -> `9499.17`.
struct HumanFloat(f64);

impl fmt::Display for HumanFloat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const DIGITS: i32 = 6;
        let v = self.0;
        let magnitude = if v == 0.0 || !v.is_finite() { 0 } else { v.abs().log10().floor() as i32 };
        if !v.is_finite() || v == 0.0 || !(-4..15).contains(&magnitude) {
            return if v.is_finite() && v != 0.0 { write!(f, "{v:.5e}") } else { write!(f, "{v}") };
        }
        let decimals = (DIGITS - 1 - magnitude).max(0) as usize;
        let text = format!("{v:.decimals$}");
        let trimmed = if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.') } else { &text };
        f.write_str(trimmed)
    }
}

/// `key=value`, quoting (Rust string escapes) only values that would be ambiguous unquoted.
fn push_pair(out: &mut String, key: &str, value: &str) -> fmt::Result {
    let ambiguous =
        value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '=');
    if ambiguous {
        write!(out, "{key}={value:?}")
    } else {
        write!(out, "{key}={value}")
    }
}

impl Visit for Scratch {
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.push((field.name(), Value::I64(value)));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.push((field.name(), Value::U64(value)));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields.push((field.name(), Value::F64(value)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.push((field.name(), Value::Bool(value)));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let range = self.push_str(value);
        self.push_string_field(field, range);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let range = self.push_debug(value);
        self.push_string_field(field, range);
    }
}

impl Scratch {
    fn push_string_field(&mut self, field: &Field, range: Range<usize>) {
        if field.name() == "message" {
            self.message = range;
        } else {
            self.fields.push((field.name(), Value::Str(range)));
        }
    }
}

/// One `.jsonl` line; the derive fixes the key order.
#[derive(Serialize)]
struct JsonLine<'a> {
    timestamp: &'a str,
    level: &'a str,
    target: &'a str,
    message: &'a str,
    run_id: &'a str,
    strategy_name: &'a str,
    symbol: &'a str,
    timeframe: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    component: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<&'a str>,
    span: &'a str,
    spans: &'a [&'static str],
    fields: Fields<'a>,
}

/// The record's own fields as a JSON object with their native types.
struct Fields<'a> {
    fields: &'a [(&'static str, Value)],
    arena: &'a str,
}

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (name, value) in self.fields {
            match value {
                Value::I64(v) => map.serialize_entry(name, v)?,
                Value::U64(v) => map.serialize_entry(name, v)?,
                Value::F64(v) => map.serialize_entry(name, v)?,
                Value::Bool(v) => map.serialize_entry(name, v)?,
                Value::Str(r) => map.serialize_entry(name, &self.arena[r.clone()])?,
            }
        }
        map.end()
    }
}

/// RFC 3339 UTC with fixed microseconds (`2026-11-27T10:30:00.123456Z`), the format of the
/// Python log too, so the streams sort and merge as plain strings.
fn write_timestamp(out: &mut String, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let ns = i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX);
    let (y, m, d) = civil_from_days(ns.div_euclid(NANOS_PER_DAY));
    let secs = ns.rem_euclid(NANOS_PER_DAY) / 1_000_000_000;
    let micros = since_epoch.subsec_micros();
    let _ = write!(out, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z", secs / 3600, secs / 60 % 60, secs % 60);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_rounded_for_humans() {
        let cases = [
            (12.345678901, "12.3457"),
            (9499.17450617831, "9499.17"),
            (0.000123456789, "0.000123457"),
            (250.0, "250"),
            (-0.5, "-0.5"),
            (0.0, "0"),
            (1.5e-9, "1.50000e-9"),
            (3.2e20, "3.20000e20"),
            (123456789.0, "123456789"),
        ];
        for (v, want) in cases {
            assert_eq!(HumanFloat(v).to_string(), want, "{v}");
        }
        assert_eq!(HumanFloat(f64::NAN).to_string(), "NaN");
    }

    fn ctx() -> RunLogContext {
        RunLogContext {
            run_id: "r1".into(),
            strategy_name: "sma cross".into(),
            symbol: "EURUSD".into(),
            timeframe: "M1".into(),
        }
    }

    #[test]
    fn timestamp_is_fixed_width_rfc3339() {
        let mut s = String::new();
        write_timestamp(&mut s, UNIX_EPOCH + Duration::new(1_795_775_400, 123_456_789));
        assert_eq!(s, "2026-11-27T10:30:00.123456Z");
        s.clear();
        write_timestamp(&mut s, UNIX_EPOCH);
        assert_eq!(s, "1970-01-01T00:00:00.000000Z");
    }

    #[test]
    fn close_record_renders_both_lines() {
        let mut s = Scratch::default();
        s.spans.extend(["backtest_run", "data_load"]);
        s.record_close(Duration::from_micros(1500));
        let head = Head { level: &Level::INFO, target: "omega_v2::data", component: Some("data_load"), phase: None };
        s.render(&head, &ctx());

        let json: serde_json::Value = serde_json::from_slice(&s.json).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert!(keys.contains(&"component".to_string()) && !keys.contains(&"phase".to_string()));
        assert_eq!(json["span"], "data_load");
        assert_eq!(json["fields"]["duration_ns"], 1_500_000);
        assert_eq!(json["fields"]["duration_ms"], 1.5);

        let text = s.text.split_once(' ').unwrap().1;
        assert_eq!(
            text,
            " INFO [run_id=r1 strategy_name=\"sma cross\" symbol=EURUSD timeframe=M1 component=data_load] \
             backtest_run:data_load: omega_v2::data: close duration_ns=1500000 duration_ms=1.5\n"
        );
    }

    #[test]
    fn json_key_order_is_fixed() {
        let mut s = Scratch::default();
        s.spans.push("backtest_run");
        s.message = s.push_str("hello");
        s.render(&Head { level: &Level::WARN, target: "t", component: None, phase: None }, &ctx());
        let line = String::from_utf8(s.json.clone()).unwrap();
        let order = ["timestamp", "level", "target", "message", "run_id", "strategy_name", "symbol", "timeframe"];
        let positions: Vec<usize> = order.iter().map(|k| line.find(&format!("\"{k}\":")).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
        assert!(line.ends_with(",\"span\":\"backtest_run\",\"spans\":[\"backtest_run\"],\"fields\":{}}\n"), "{line}");
    }
}
