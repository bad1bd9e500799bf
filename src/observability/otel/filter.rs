//! What of a span leaves the process: an allowlist of attribute keys, applied to every span
//! and span event before it is buffered for export. A field added to a span later (a path, a
//! parameter) is dropped until it is named here, so no config value other than the
//! allowlisted context can reach a collector by accident.

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SpanData;

/// Span attributes that are exported: the run context of the root span (the allowlisted
/// config fields every log record carries too), the `component`/`phase` of the phase spans,
/// the bar index of the per-bar and per-event spans, and the time a span was entered
/// (`busy_ns`) or not (`idle_ns`), which the tracing bridge adds.
pub const SPAN_ATTRIBUTES: [&str; 10] =
    ["run_id", "strategy_name", "symbol", "timeframe", "component", "phase", "index", "bar", "busy_ns", "idle_ns"];

/// Attributes of exported span events (the run's WARN/ERROR records): their level and target
/// and, for a failed run, the error's catalogue code and kind. The error text stays in the
/// run's own logs.
pub const EVENT_ATTRIBUTES: [&str; 4] = ["level", "target", "code", "kind"];

/// Drops every attribute of `span` and of its events that is not allowlisted, and counts the
/// dropped ones in the span's and events' `dropped_attributes_count`, as OTLP expects.
pub fn retain_exported(span: &mut SpanData) {
    span.dropped_attributes_count += retain(&mut span.attributes, &SPAN_ATTRIBUTES);
    for event in &mut span.events.events {
        event.dropped_attributes_count += retain(&mut event.attributes, &EVENT_ATTRIBUTES);
    }
}

fn retain(attributes: &mut Vec<KeyValue>, allowed: &[&str]) -> u32 {
    let before = attributes.len();
    attributes.retain(|kv| allowed.contains(&kv.key.as_str()));
    u32::try_from(before - attributes.len()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Event, SpanContext, SpanId, SpanKind, Status};
    use opentelemetry::InstrumentationScope;
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};
    use std::time::SystemTime;

    fn keys(attributes: &[KeyValue]) -> Vec<&str> {
        attributes.iter().map(|kv| kv.key.as_str()).collect()
    }

    fn span(attributes: Vec<KeyValue>, events: Vec<Event>) -> SpanData {
        let mut span_events = SpanEvents::default();
        span_events.events = events;
        SpanData {
            span_context: SpanContext::empty_context(),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "backtest_run".into(),
            start_time: SystemTime::UNIX_EPOCH,
            end_time: SystemTime::UNIX_EPOCH,
            attributes,
            dropped_attributes_count: 1,
            events: span_events,
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("omega_v2").build(),
        }
    }

    #[test]
    fn only_allowlisted_span_attributes_survive() {
        let mut s = span(
            vec![
                KeyValue::new("run_id", "r1"),
                KeyValue::new("strategy_name", "sma_crossover"),
                KeyValue::new("symbol", "EURUSD"),
                KeyValue::new("timeframe", "M1"),
                KeyValue::new("rng_seed", 42),
                KeyValue::new("api_key", "s3cr3t"),
                KeyValue::new("data_path", "/data/EURUSD.csv"),
                KeyValue::new("busy_ns", 10),
                KeyValue::new("code.file.path", "src/run/mod.rs"),
                KeyValue::new("thread.name", "main"),
            ],
            Vec::new(),
        );
        retain_exported(&mut s);
        assert_eq!(keys(&s.attributes), ["run_id", "strategy_name", "symbol", "timeframe", "busy_ns"]);
        // One dropped before (span limits), five now.
        assert_eq!(s.dropped_attributes_count, 6);
    }

    #[test]
    fn event_attributes_keep_level_target_and_error_code_only() {
        let failed = Event::new(
            "run failed",
            SystemTime::UNIX_EPOCH,
            vec![
                KeyValue::new("level", "ERROR"),
                KeyValue::new("target", "omega_v2::run"),
                KeyValue::new("code", "data.gap"),
                KeyValue::new("kind", "data"),
                KeyValue::new("error", "gap in /data/EURUSD.csv at row 7"),
                KeyValue::new("run_id", "r1"),
            ],
            0,
        );
        let mut s = span(vec![KeyValue::new("component", "data_load"), KeyValue::new("phase", "init")], vec![failed]);
        retain_exported(&mut s);
        assert_eq!(keys(&s.attributes), ["component", "phase"]);
        assert_eq!(s.dropped_attributes_count, 1);
        let event = &s.events.events[0];
        assert_eq!(event.name, "run failed");
        assert_eq!(keys(&event.attributes), ["level", "target", "code", "kind"]);
        assert_eq!(event.dropped_attributes_count, 2);
    }

    #[test]
    fn the_allowlists_hold_no_config_field_beyond_the_log_allowlist() {
        let logged: Vec<&str> = crate::observability::ALLOWLIST.iter().map(|(_, key)| *key).collect();
        let non_config = ["run_id", "component", "phase", "index", "bar", "busy_ns", "idle_ns"];
        for key in SPAN_ATTRIBUTES {
            assert!(logged.contains(&key) || non_config.contains(&key), "{key}");
        }
    }
}
