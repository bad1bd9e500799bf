//! Per-run tracing sinks: routing, context on every record, levels, isolation of parallel and
//! sequential runs, worker threads, flush on unwind, redaction.
//!
//! Tests run in parallel threads of one process, which is itself part of the check. The few
//! that assert process-wide state (global max level, open fds) take `EXCLUSIVE` for writing.

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;

use omega_v2::error::{ErrorCode, ErrorKind};
use omega_v2::layout::RunPaths;
use omega_v2::observability::{
    active_runs, allowlisted, in_current_span, spawn_in_run, RunLogContext, RunLogGuard, RunLogOptions, TraceExport,
};
use serde_json::{json, Value};
use tracing::level_filters::LevelFilter;
use tracing::{debug, info, info_span, trace, trace_span, warn, Level, Span};

static EXCLUSIVE: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    EXCLUSIVE.read().unwrap_or_else(PoisonError::into_inner)
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    EXCLUSIVE.write().unwrap_or_else(PoisonError::into_inner)
}

fn run_id(name: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn ctx(run_id: &str) -> RunLogContext {
    RunLogContext {
        run_id: run_id.to_owned(),
        strategy_name: "sma_crossover".into(),
        symbol: "EURUSD".into(),
        timeframe: "M1".into(),
    }
}

/// A dev run's options: its log files under `<var>/logs/`, INFO, phase spans.
fn dev(var: &Path, run_id: &str) -> RunLogOptions {
    let paths = RunPaths::new(var, run_id).unwrap();
    RunLogOptions {
        text_log: paths.text_log,
        json_log: paths.json_log,
        default_level: Level::INFO,
        rust_log: None,
        to_stdout: false,
        phase_spans: true,
        trace_export: TraceExport::Off,
    }
}

fn prod(var: &Path, run_id: &str) -> RunLogOptions {
    RunLogOptions { default_level: Level::WARN, phase_spans: false, ..dev(var, run_id) }
}

/// `<var>/logs/<run_id>.jsonl`.
fn json_log(var: &Path, run_id: &str) -> std::path::PathBuf {
    RunPaths::new(var, run_id).unwrap().json_log
}

/// Every line of a `.jsonl` file, each checked to be a JSON object with the run's context.
fn json_lines(path: &Path, run_id: &str) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("valid JSON line")).collect();
    for line in &lines {
        for key in ["timestamp", "level", "target", "message", "span", "spans", "fields"] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
        assert_eq!(line["run_id"], run_id, "foreign line in {}: {line}", path.display());
        assert_eq!(line["strategy_name"], "sma_crossover");
        assert_eq!(line["symbol"], "EURUSD");
        assert_eq!(line["timeframe"], "M1");
    }
    lines
}

fn messages(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|l| l["message"].as_str().unwrap()).collect()
}

fn find<'a>(lines: &'a [Value], message: &str) -> &'a Value {
    lines.iter().find(|l| l["message"] == message).unwrap_or_else(|| panic!("no `{message}` in {lines:?}"))
}

#[test]
fn info_run_writes_context_fields_and_phase_durations_to_both_files() {
    let _shared = shared();
    let dir = tempfile::tempdir().unwrap();
    let id = run_id("info");
    let guard = RunLogGuard::start(&ctx(&id), &dev(dir.path(), &id)).unwrap();
    {
        let _run = guard.root_span().enter();
        info!(config_hash = "ab12", "run started");
        let _phase = info_span!("data_load", component = "data_load", phase = "init").entered();
        info!(rows = 300, gaps = -2, ratio = 0.5, complete = true, file = "a b.csv", path = ?Path::new("x"), "bars loaded");
    }
    let (json_path, text_path) = (guard.json_log_path().to_path_buf(), guard.text_log_path().to_path_buf());
    drop(guard);

    assert_eq!(json_path, dir.path().join("logs").join(format!("{id}.jsonl")));
    let lines = json_lines(&json_path, &id);
    assert_eq!(messages(&lines), ["run started", "bars loaded", "close"]);

    let started = find(&lines, "run started");
    assert_eq!(started["span"], "backtest_run");
    assert!(started.get("component").is_none());
    assert_eq!(started["fields"], json!({"config_hash": "ab12"}));

    let loaded = find(&lines, "bars loaded");
    assert_eq!(loaded["level"], "INFO");
    assert_eq!(loaded["target"], "observability");
    assert_eq!((&loaded["component"], &loaded["phase"]), (&json!("data_load"), &json!("init")));
    assert_eq!(loaded["span"], "data_load");
    assert_eq!(loaded["spans"], json!(["backtest_run", "data_load"]));
    assert_eq!(
        loaded["fields"],
        json!({"rows": 300, "gaps": -2, "ratio": 0.5, "complete": true, "file": "a b.csv", "path": "\"x\""})
    );
    let timestamp = loaded["timestamp"].as_str().unwrap();
    assert!(timestamp.len() == 27 && timestamp.ends_with('Z') && &timestamp[10..11] == "T", "{timestamp}");

    let close = find(&lines, "close");
    assert_eq!((&close["span"], &close["component"]), (&json!("data_load"), &json!("data_load")));
    assert!(close["fields"]["duration_ns"].is_u64());
    assert!(close["fields"]["duration_ms"].is_f64());

    let text = fs::read_to_string(text_path).unwrap();
    let text_lines: Vec<&str> = text.lines().collect();
    assert_eq!(text_lines.len(), lines.len());
    let context = format!("[run_id={id} strategy_name=sma_crossover symbol=EURUSD timeframe=M1");
    assert!(text_lines.iter().all(|l| l.contains(&context)), "{text}");
    let loaded_text = text_lines[1];
    assert_eq!(&loaded_text[..timestamp.len()], timestamp);
    let expected_tail = format!(
        " INFO [run_id={id} strategy_name=sma_crossover symbol=EURUSD timeframe=M1 component=data_load phase=init] \
         backtest_run:data_load: observability: bars loaded rows=300 gaps=-2 ratio=0.5 complete=true \
         file=\"a b.csv\" path=\"\\\"x\\\"\""
    );
    assert!(loaded_text.ends_with(&expected_tail), "{loaded_text}");
    let raw_json = fs::read_to_string(&json_path).unwrap();
    println!("example .jsonl line: {}", raw_json.lines().nth(1).unwrap());
    println!("example .log line:   {loaded_text}");
    println!("example close line:  {}", text_lines[2]);
}

#[test]
fn prod_level_rust_log_override_and_invalid_rust_log() {
    let _shared = shared();
    let dir = tempfile::tempdir().unwrap();

    let id = run_id("prod");
    let guard = RunLogGuard::start(&ctx(&id), &prod(dir.path(), &id)).unwrap();
    guard.root_span().in_scope(|| {
        info!("hidden info");
        debug!("hidden debug");
        warn!(slippage_pips = 3.5, "shown warn");
        let _phase = info_span!("backtest_loop", component = "execution", phase = "loop").entered();
        warn!("warn in phase");
    });
    let path = guard.json_log_path().to_path_buf();
    drop(guard);
    let lines = json_lines(&path, &id);
    assert_eq!(messages(&lines), ["shown warn", "warn in phase"], "no INFO, no phase close records");

    let id = run_id("debug");
    let opts = RunLogOptions { rust_log: Some("debug".into()), ..prod(dir.path(), &id) };
    let guard = RunLogGuard::start(&ctx(&id), &opts).unwrap();
    guard.root_span().in_scope(|| {
        debug!(bar = 7_u64, "debug shown");
        tracing::trace!("trace hidden");
    });
    let path = guard.json_log_path().to_path_buf();
    drop(guard);
    assert_eq!(messages(&json_lines(&path, &id)), ["debug shown"]);

    let bad_dir = dir.path().join("never-created");
    let id = run_id("bad");
    let opts = RunLogOptions { rust_log: Some("info,omega_v2=loud".into()), ..prod(&bad_dir, &id) };
    let err = RunLogGuard::start(&ctx(&id), &opts).err().expect("invalid RUST_LOG must fail");
    assert_eq!((err.kind(), err.code), (ErrorKind::Config, ErrorCode::ConfigRustLog));
    assert!(err.to_string().contains("RUST_LOG") && err.to_string().contains("omega_v2=loud"), "{err}");
    assert!(!bad_dir.exists(), "nothing is touched before validation");
}

#[test]
fn invalid_or_active_run_id_is_rejected_without_touching_files() {
    let _shared = shared();
    let dir = tempfile::tempdir().unwrap();
    // The options name valid files; the context's run_id is what is checked.
    let err = RunLogGuard::start(&ctx("../escape"), &dev(dir.path(), "escape")).err().unwrap();
    assert_eq!((err.kind(), err.code), (ErrorKind::Config, ErrorCode::ConfigRunId));
    assert!(!dir.path().join("logs").exists(), "nothing is touched before validation");

    let id = run_id("dup");
    let first = RunLogGuard::start(&ctx(&id), &dev(dir.path(), &id)).unwrap();
    first.root_span().in_scope(|| info!("first run"));
    first.flush().unwrap();
    let err = RunLogGuard::start(&ctx(&id), &dev(dir.path(), &id)).err().unwrap();
    assert_eq!((err.kind(), err.code), (ErrorKind::Output, ErrorCode::OutputExists));
    assert!(err.message.contains("already active"), "{err}");
    let path = first.json_log_path().to_path_buf();
    drop(first);
    assert_eq!(messages(&json_lines(&path, &id)), ["first run"], "the active run's file was not truncated");
}

#[test]
fn parallel_runs_at_different_levels_never_mix() {
    let _shared = shared();
    let dir = tempfile::tempdir().unwrap();
    const N: usize = 500;
    let emit = || {
        for i in 0..N {
            info!(i, "tick");
            warn!(i, "tock");
        }
    };
    let run = |id: String, opts: RunLogOptions| {
        let guard = RunLogGuard::start(&ctx(&id), &opts).unwrap();
        {
            let _run = guard.root_span().enter();
            thread::scope(|s| {
                s.spawn(in_current_span(emit));
                emit();
            });
        }
        (id, guard.json_log_path().to_path_buf())
    };
    let ((info_id, info_path), (warn_id, warn_path)) = thread::scope(|s| {
        let (info_id, warn_id) = (run_id("par-info"), run_id("par-warn"));
        let (info_opts, warn_opts) = (dev(dir.path(), &info_id), prod(dir.path(), &warn_id));
        let a = s.spawn(|| run(info_id, info_opts));
        let b = s.spawn(|| run(warn_id, warn_opts));
        (a.join().unwrap(), b.join().unwrap())
    });

    let info_lines = json_lines(&info_path, &info_id);
    assert_eq!(info_lines.len(), 4 * N);
    let warn_lines = json_lines(&warn_path, &warn_id);
    assert_eq!(warn_lines.len(), 2 * N);
    assert!(warn_lines.iter().all(|l| l["level"] == "WARN"));
}

fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[test]
fn two_hundred_sequential_runs_leave_nothing_behind() {
    let _exclusive = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let one_run = |id: &str| {
        let guard = RunLogGuard::start(&ctx(id), &dev(dir.path(), id)).unwrap();
        let _run = guard.root_span().enter();
        let _phase = info_span!("metrics", component = "metrics", phase = "finalize").entered();
        info!(trades = 3, "metrics computed");
    };
    one_run(&run_id("warmup"));
    let fds_before = open_fds();

    let ids: Vec<String> = (0..200).map(|_| run_id("seq")).collect();
    for id in &ids {
        one_run(id);
    }
    for id in &ids {
        let lines = json_lines(&json_log(dir.path(), id), id);
        assert_eq!(messages(&lines), ["metrics computed", "close"]);
        let text_log = RunPaths::new(dir.path(), id).unwrap().text_log;
        assert_eq!(fs::read_to_string(text_log).unwrap().lines().count(), 2);
    }
    assert_eq!(active_runs(), 0);
    assert_eq!(LevelFilter::current(), LevelFilter::OFF, "no run active: every callsite is off");
    assert!(open_fds() <= fds_before, "fds grew: {fds_before} -> {}", open_fds());
}

#[test]
fn worker_threads_log_into_the_run_only_when_they_enter_its_span() {
    let _shared = shared();
    let dir = tempfile::tempdir().unwrap();
    let id = run_id("workers");
    let other_id = run_id("bystander");
    let guard = RunLogGuard::start(&ctx(&id), &dev(dir.path(), &id)).unwrap();
    let bystander = RunLogGuard::start(&ctx(&other_id), &dev(dir.path(), &other_id)).unwrap();
    {
        let _run = guard.root_span().enter();
        let parent = Span::current();
        thread::spawn(move || {
            let _entered = parent.enter();
            info!("entered worker");
        })
        .join()
        .unwrap();
        thread::spawn(|| info!("orphan worker")).join().unwrap();
        spawn_in_run(|| info!("spawn_in_run worker")).join().unwrap();
        thread::scope(|s| s.spawn(in_current_span(|| info!("scoped worker"))).join().unwrap());
    }
    let paths = [guard.json_log_path().to_path_buf(), bystander.json_log_path().to_path_buf()];
    drop((guard, bystander));

    let lines = json_lines(&paths[0], &id);
    assert_eq!(messages(&lines), ["entered worker", "spawn_in_run worker", "scoped worker"]);
    assert!(json_lines(&paths[1], &other_id).is_empty(), "orphan event mis-routed");
}

#[test]
fn drop_during_panic_unwind_flushes_the_lines_before_the_panic() {
    let _shared = shared();
    let dir = tempfile::tempdir().unwrap();
    let id = run_id("panic");
    let result = std::panic::catch_unwind(|| {
        let guard = RunLogGuard::start(&ctx(&id), &dev(dir.path(), &id)).unwrap();
        let _run = guard.root_span().enter();
        info!(bar = 41, "last bar before the panic");
        panic!("strategy bug");
    });
    assert!(result.is_err());
    let lines = json_lines(&json_log(dir.path(), &id), &id);
    assert_eq!(messages(&lines), ["last bar before the panic"]);
    // Its files stay its own; the run_id is free again (same id, files in another var dir).
    let err = RunLogGuard::start(&ctx(&id), &dev(dir.path(), &id)).err().expect("the log files exist");
    assert_eq!(err.code, ErrorCode::OutputExists);
    assert!(err.message.contains("already exists"), "{err}");
    let elsewhere = tempfile::tempdir().unwrap();
    assert!(RunLogGuard::start(&ctx(&id), &dev(elsewhere.path(), &id)).is_ok(), "the panicked run unregistered itself");
}

#[test]
fn detail_spans_exist_but_are_not_written() {
    let _exclusive = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let id = run_id("profiling");
    let guard = RunLogGuard::start(&ctx(&id), &dev(dir.path(), &id)).unwrap();
    assert!(!guard.writes("omega_v2::engine", Level::TRACE) && guard.writes("omega_v2::engine", Level::INFO));
    guard.root_span().in_scope(|| {
        assert!(trace_span!("bar").is_disabled(), "a dev run alone keeps TRACE callsites off");
        guard.enable_detail_spans();
        let _loop = info_span!("backtest_loop", component = "execution", phase = "loop").entered();
        for i in 0..3 {
            let bar = trace_span!("bar", i);
            assert!(!bar.is_disabled());
            bar.in_scope(|| trace!("per-bar trace is filtered by the run"));
        }
    });
    let path = guard.json_log_path().to_path_buf();
    drop(guard);
    let lines = json_lines(&path, &id);
    assert_eq!(messages(&lines), ["close"]);
    assert_eq!(lines[0]["span"], "backtest_loop");
    assert_eq!(LevelFilter::current(), LevelFilter::OFF);
}

#[test]
fn allowlist_drops_secrets_and_unknown_keys() {
    let config = json!({
        "symbol": "EURUSD",
        "timeframes": {"primary": "M1", "additional": ["M5"]},
        "strategy_name": "sma_crossover",
        "strategy_parameters": {"fast": 10, "api_key": "sk-live-123"},
        "run_mode": "prod",
        "data_mode": "candle",
        "start_date": "2025-01-01",
        "end_date": "2025-03-31",
        "rng_seed": 1234,
        "broker_token": "tok",
        "future_field": {"password": "hunter2"},
    });
    let logged = Value::Object(allowlisted(&config));
    assert_eq!(
        logged,
        json!({"symbol": "EURUSD", "timeframe": "M1", "strategy_name": "sma_crossover", "run_mode": "prod",
               "data_mode": "candle", "start_date": "2025-01-01", "end_date": "2025-03-31"})
    );
    let text = logged.to_string();
    for secret in ["sk-live-123", "1234", "tok", "hunter2", "fast"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}
