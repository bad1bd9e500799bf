//! A run's trace end to end through the global router, the bridge and the file destination
//! (the OTLP/HTTP path is tested from Python against a real receiver).

use std::path::{Path, PathBuf};

use serde_json::Value;
use tracing::{info_span, trace_span, warn, Level};

use super::{TraceExport, DETAIL_SAMPLE_EVERY};
use crate::observability::{RunLogContext, RunLogGuard, RunLogOptions};

fn start(dir: &Path, run_id: &str, level: Level, trace_export: TraceExport) -> RunLogGuard {
    let ctx = RunLogContext {
        run_id: run_id.into(),
        strategy_name: "sma_crossover".into(),
        symbol: "EURUSD".into(),
        timeframe: "M1".into(),
    };
    let opts = RunLogOptions {
        text_log: dir.join(format!("{run_id}.log")),
        json_log: dir.join(format!("{run_id}.jsonl")),
        default_level: level,
        rust_log: None,
        to_stdout: false,
        phase_spans: level >= Level::INFO,
        trace_export,
    };
    RunLogGuard::start(&ctx, &opts).unwrap()
}

fn to_file(path: &Path) -> TraceExport {
    TraceExport::File { path: path.to_path_buf() }
}

/// The spans of the file's only line (one `ExportTraceServiceRequest`), with its resource.
fn read_trace(path: &PathBuf) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one request per run");
    let request: Value = serde_json::from_str(lines[0]).unwrap();
    let resource_spans = request["resourceSpans"].as_array().unwrap();
    assert_eq!(resource_spans.len(), 1);
    let scope_spans = resource_spans[0]["scopeSpans"].as_array().unwrap();
    assert_eq!(scope_spans.len(), 1);
    (resource_spans[0]["resource"].clone(), scope_spans[0]["spans"].as_array().unwrap().clone())
}

fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

fn attribute_keys(item: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> =
        item["attributes"].as_array().unwrap().iter().map(|kv| kv["key"].as_str().unwrap()).collect();
    keys.sort_unstable();
    keys
}

fn attribute<'a>(item: &'a Value, key: &str) -> Option<&'a Value> {
    Some(&item["attributes"].as_array()?.iter().find(|kv| kv["key"] == key)?["value"])
}

fn string_attribute<'a>(item: &'a Value, key: &str) -> Option<&'a str> {
    attribute(item, key)?["stringValue"].as_str()
}

#[test]
fn a_prod_run_is_one_trace_with_allowlisted_attributes_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("traces.jsonl");
    // A prod run: WARN, no phase spans in its log, yet its phases are in the trace.
    let guard = start(dir.path(), "otel-prod", Level::WARN, to_file(&file));
    {
        let _root = guard.root_span().enter();
        let _phase = info_span!("data_load", component = "data_load", phase = "init", data_path = "/secret/eurusd.csv")
            .entered();
        warn!(code = "data.gap", error = "gap in /secret/eurusd.csv", "bars missing");
    }
    drop(guard);

    let (resource, spans) = read_trace(&file);
    assert_eq!(string_attribute(&resource, "service.name"), Some("omega-v2"));
    assert_eq!(string_attribute(&resource, "service.version"), Some(env!("CARGO_PKG_VERSION")));
    let (root, phase) = (named(&spans, "backtest_run")[0], named(&spans, "data_load")[0]);
    assert_eq!(spans.len(), 2);
    assert_eq!(root["traceId"], phase["traceId"]);
    assert_eq!(phase["parentSpanId"], root["spanId"]);
    assert!(root["parentSpanId"].as_str().unwrap_or_default().is_empty());
    assert_eq!(attribute_keys(root), ["busy_ns", "idle_ns", "run_id", "strategy_name", "symbol", "timeframe"]);
    assert_eq!(string_attribute(root, "run_id"), Some("otel-prod"));
    assert_eq!(attribute_keys(phase), ["busy_ns", "component", "idle_ns", "phase"]);
    let events = phase["events"].as_array().unwrap();
    assert_eq!((events.len(), events[0]["name"].as_str()), (1, Some("bars missing")));
    assert_eq!(attribute_keys(&events[0]), ["code", "level", "target"]);
    assert!(!std::fs::read_to_string(&file).unwrap().contains("secret"));
}

#[test]
fn only_per_bar_spans_marked_as_sampled_are_exported_with_everything_inside_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("traces.jsonl");
    let guard = start(dir.path(), "otel-profiling", Level::INFO, to_file(&file));
    assert!(guard.exports_trace());
    guard.enable_detail_spans();
    let bars = 2 * DETAIL_SAMPLE_EVERY + 1;
    {
        let _root = guard.root_span().enter();
        let _phase = info_span!("backtest_loop", component = "execution", phase = "loop").entered();
        // As the loop does when its log writes TRACE: every bar has a span, the sample is marked.
        for index in 0..bars {
            let _bar = if index % DETAIL_SAMPLE_EVERY == 0 {
                trace_span!("bar", index, sampled = tracing::field::Empty).entered()
            } else {
                trace_span!("bar", index).entered()
            };
            let _fill = trace_span!("fill", bar = index).entered();
        }
    }
    drop(guard);

    let (_, spans) = read_trace(&file);
    let sampled: Vec<u64> = named(&spans, "bar")
        .iter()
        // tracing-opentelemetry records unsigned fields (the engine's bar indices) as strings.
        .map(|s| string_attribute(s, "index").unwrap().parse().unwrap())
        .collect();
    // The first bar and every DETAIL_SAMPLE_EVERY-th after it, each with its fill.
    assert_eq!(sampled, [0, DETAIL_SAMPLE_EVERY, 2 * DETAIL_SAMPLE_EVERY]);
    // The marker is a field without a value: no attribute, nothing dropped for it.
    for bar in named(&spans, "bar") {
        assert_eq!(attribute_keys(bar), ["busy_ns", "idle_ns", "index"]);
        assert!(bar["droppedAttributesCount"].as_u64().unwrap_or(0) == 0, "{bar}");
    }
    let fills = named(&spans, "fill");
    assert_eq!(fills.len(), 3);
    for fill in fills {
        let parent = spans.iter().find(|s| s["spanId"] == fill["parentSpanId"]).unwrap();
        assert_eq!(parent["name"], "bar");
    }
    assert_eq!(spans.len(), 2 + 3 + 3);
}

#[test]
fn parallel_runs_are_separate_traces_and_a_run_without_export_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("traces-{i}.jsonl"))).collect();
    std::thread::scope(|s| {
        for (i, file) in files.iter().enumerate() {
            let dir = dir.path();
            s.spawn(move || {
                let guard = start(dir, &format!("otel-par-{i}"), Level::INFO, to_file(file));
                let _root = guard.root_span().enter();
                for _ in 0..50 {
                    let _s = info_span!("metrics", component = "metrics", phase = "finalize").entered();
                }
            });
        }
        s.spawn(|| {
            let guard = start(dir.path(), "otel-off", Level::INFO, TraceExport::Off);
            let _root = guard.root_span().enter();
            let _s = info_span!("write", component = "output", phase = "finalize").entered();
        });
    });
    for (i, file) in files.iter().enumerate() {
        let (_, spans) = read_trace(file);
        assert_eq!(named(&spans, "metrics").len(), 50);
        assert_eq!(spans.len(), 51, "no span of another run");
        let roots = named(&spans, "backtest_run");
        assert_eq!(string_attribute(roots[0], "run_id"), Some(format!("otel-par-{i}").as_str()));
        assert!(spans.iter().all(|s| s["traceId"] == roots[0]["traceId"]));
    }
}
