//! Profiling mode artefacts: profiling.json shape, CPU profile files, one profiler per
//! process, honest per-run peak RSS.
//!
//! The CPU sampler (one session per process) and the RSS high-water mark are process-wide, so
//! every test takes `SERIAL` (tests of one binary run on parallel threads).

use std::collections::BTreeSet;
use std::fs;
use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use omega_v2::engine::{BarTimeSummary, Counters, BAR_SAMPLE_EVERY};
use omega_v2::layout::RunPaths;
use omega_v2::output::StagingDir;
use omega_v2::profiling::{ProfilingInput, ProfilingSession};
use omega_v2::timing::PhaseTimings;
use pprof::protos::Message;
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

const FREQUENCY_HZ: i32 = 199;
const ON_LINUX: bool = cfg!(target_os = "linux");

const KEYS: &[&str] = &[
    "wall_time_total_ms",
    "wall_time_total_ns",
    "time_data_load_ms",
    "time_data_load_ns",
    "time_strategy_init_ms",
    "time_strategy_init_ns",
    "time_backtest_ms",
    "time_backtest_ns",
    "time_metrics_ms",
    "time_metrics_ns",
    "time_write_ms",
    "time_write_ns",
    "peak_rss_mb",
    "bars_processed",
    "events_processed",
    "trades_emitted",
    "orders_filled",
    "rss_start_mb",
    "rss_end_mb",
    "peak_rss_delta_mb",
    "rss_profiler_overhead_mb",
    "peak_rss_method",
    "concurrent_runs",
    "time_profiler_start_ms",
    "time_profiler_start_ns",
    "cpu_profile",
    "cpu_profile_reason",
    "cpu_profile_samples",
    "cpu_profile_frequency_hz",
    "cpu_profile_cpu_ms",
    "cpu_profile_leaf_only_samples",
    "cpu_profile_dropped_samples",
    "bar_time_sample_every",
    "bar_time_samples",
    "bar_time_p50_ns",
    "bar_time_p90_ns",
    "bar_time_p99_ns",
    "bar_time_p999_ns",
    "bar_time_max_ns",
    "bar_time_mean_ns",
    "bar_time_clock_floor_ns",
];

/// Spins for `ms` of wall time in a named frame the flamegraph must show.
#[inline(never)]
fn burn_cpu(ms: u64) -> u64 {
    spin(ms)
}

/// The same, under another name, for a worker thread.
#[inline(never)]
fn burn_cpu_in_worker(ms: u64) -> u64 {
    spin(ms)
}

#[inline(always)]
fn spin(ms: u64) -> u64 {
    let until = Instant::now() + Duration::from_millis(ms);
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    while Instant::now() < until {
        for _ in 0..10_000 {
            x = black_box(x.rotate_left(7) ^ x.wrapping_mul(0x2545_f491_4f6c_dd1d));
        }
    }
    x
}

fn timings() -> PhaseTimings {
    PhaseTimings {
        data_load_ns: 1_500_000,
        strategy_init_ns: 2_345,
        backtest_ns: 300_123_456,
        metrics_ns: 700_000,
        write_ns: 4_000_001,
        total_ns: 306_325_802,
    }
}

fn counters() -> Counters {
    Counters {
        bars_processed: 377_000,
        events_processed: 900,
        trades_emitted: 42,
        orders_filled: 84,
        ..Counters::default()
    }
}

fn bar_times() -> BarTimeSummary {
    BarTimeSummary {
        samples: 23_563,
        p50_ns: 41,
        p90_ns: 63,
        p99_ns: 410,
        p999_ns: 2_300,
        max_ns: 91_000,
        mean_ns: 52.12345,
        clock_floor_ns: 17,
    }
}

/// Finishes `session` into the fresh run directory of run `name` under the var dir `var` and
/// returns it.
fn finish(session: ProfilingSession, var: &Path, name: &str) -> PathBuf {
    let dir = StagingDir::for_run(&RunPaths::new(var, name).unwrap()).unwrap();
    session
        .finish(&dir, &ProfilingInput { timings: &timings(), counters: &counters(), bar_times: Some(bar_times()) })
        .unwrap();
    dir.commit().unwrap()
}

fn profiling_json(run_dir: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(run_dir.join("profiling/profiling.json")).unwrap()).unwrap()
}

fn metric<'a>(json: &'a Value, key: &str) -> &'a Value {
    json["metrics"].get(key).unwrap_or_else(|| panic!("metrics.{key} missing"))
}

fn mb(json: &Value, key: &str) -> f64 {
    metric(json, key).as_f64().unwrap_or_else(|| panic!("metrics.{key} is not a number"))
}

#[test]
fn profiling_json_has_every_key_in_order_with_a_definition() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = finish(ProfilingSession::start(FREQUENCY_HZ), tmp.path(), "run");
    let text = fs::read_to_string(run_dir.join("profiling/profiling.json")).unwrap();
    assert!(text.ends_with("}\n"));
    // serde_json::Value sorts keys, so the order is checked on the text (pretty-printed).
    let keys_at = |indent: usize| -> Vec<&str> {
        let pad = " ".repeat(indent);
        text.lines().filter_map(|l| l.strip_prefix(pad.as_str())?.strip_prefix('"')?.split('"').next()).collect()
    };
    assert_eq!(keys_at(2), ["metrics", "definitions"]);
    assert_eq!(keys_at(4), [KEYS, KEYS].concat(), "metrics keys, then one definition per metric, same order");
    let json = profiling_json(&run_dir);
    for (key, def) in json["definitions"].as_object().unwrap() {
        let fields: BTreeSet<&str> = def.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(fields, BTreeSet::from(["unit", "description"]), "{key}");
        assert!(!def["unit"].as_str().unwrap().is_empty() && def["description"].as_str().unwrap().len() > 10, "{key}");
    }
    assert_eq!(metric(&json, "time_backtest_ms"), 300.123);
    assert_eq!(metric(&json, "time_backtest_ns"), 300_123_456);
    assert_eq!(metric(&json, "time_strategy_init_ms"), 0.002);
    assert_eq!(metric(&json, "time_write_ns"), 4_000_001);
    assert_eq!(metric(&json, "orders_filled"), 84);
    assert_eq!(metric(&json, "cpu_profile_frequency_hz"), FREQUENCY_HZ);
    assert!(metric(&json, "time_profiler_start_ns").as_u64().unwrap() > 0);
    assert_eq!(metric(&json, "bar_time_sample_every"), BAR_SAMPLE_EVERY);
    assert_eq!(metric(&json, "bar_time_samples"), 23_563);
    assert_eq!(metric(&json, "bar_time_p99_ns"), 410);
    assert_eq!(metric(&json, "bar_time_max_ns"), 91_000);
    assert_eq!(metric(&json, "bar_time_mean_ns"), 52.123);
    assert_eq!(metric(&json, "bar_time_clock_floor_ns"), 17);
    assert_eq!(json["definitions"]["bar_time_p50_ns"]["unit"], "ns");
    assert_eq!(json["definitions"]["time_backtest_ns"]["unit"], "ns");
    assert_eq!(json["definitions"]["peak_rss_mb"]["unit"], "MB");
}

#[test]
fn profiled_work_yields_flamegraph_and_pprof_with_samples() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let session = ProfilingSession::start(FREQUENCY_HZ);
    black_box(burn_cpu(400));
    let run_dir = finish(session, tmp.path(), "run");
    let json = profiling_json(&run_dir);
    assert_eq!(metric(&json, "cpu_profile"), "collected");
    assert!(metric(&json, "cpu_profile_reason").is_null());
    let samples = metric(&json, "cpu_profile_samples").as_u64().unwrap();
    assert!(samples > 0, "400 ms of CPU at {FREQUENCY_HZ} Hz gave no samples");

    let svg = fs::read_to_string(run_dir.join("profiling/flamegraph.svg")).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"), "not an SVG");
    assert!(svg.contains("burn_cpu"), "frames are not symbolised (debug line tables / strip?)");

    let mut raw = Vec::new();
    let gz = fs::File::open(run_dir.join("profiling/profile.pb.gz")).unwrap();
    flate2::read::GzDecoder::new(gz).read_to_end(&mut raw).unwrap();
    let profile = pprof::protos::Profile::decode(raw.as_slice()).unwrap();
    let counted: i64 = profile.sample.iter().map(|s| s.value[0]).sum();
    assert_eq!(counted, samples as i64, "profile.pb.gz and profiling.json disagree on the sample count");
    let cpu_ns: i64 = profile.sample.iter().map(|s| s.value[1]).sum();
    assert!(cpu_ns > 0, "the samples carry no CPU time");
    let cpu_ms = mb(&json, "cpu_profile_cpu_ms");
    assert!((cpu_ns as f64 / 1e6 - cpu_ms).abs() < 0.001, "{cpu_ns} ns vs cpu_profile_cpu_ms {cpu_ms}");
    // At most one period per sample, so no more CPU than wall time of the busy loop plus slack.
    assert!(cpu_ms <= 400.0 + samples as f64 * 1000.0 / FREQUENCY_HZ as f64 + 50.0, "{cpu_ms}");
    assert!(profile.string_table.iter().any(|s| s.contains("burn_cpu")));
    let text = |i: i64| profile.string_table[i as usize].as_str();
    let types: Vec<_> = profile.sample_type.iter().map(|t| (text(t.ty), text(t.unit))).collect();
    assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
    assert_eq!(profile.period, 1_000_000_000 / FREQUENCY_HZ as i64);
    let locations: BTreeSet<u64> = profile.location.iter().map(|l| l.id).collect();
    assert!(profile.sample.iter().flat_map(|s| &s.location_id).all(|id| locations.contains(id)));
    for key in ["cpu_profile_leaf_only_samples", "cpu_profile_dropped_samples"] {
        assert!(metric(&json, key).as_u64().is_some(), "{key}");
    }
    assert_eq!(metric(&json, "cpu_profile_dropped_samples"), 0);
}

fn decode_profile(run_dir: &Path) -> pprof::protos::Profile {
    let mut raw = Vec::new();
    let gz = fs::File::open(run_dir.join("profiling/profile.pb.gz")).unwrap();
    flate2::read::GzDecoder::new(gz).read_to_end(&mut raw).unwrap();
    pprof::protos::Profile::decode(raw.as_slice()).unwrap()
}

#[test]
fn a_worker_thread_that_asks_to_be_sampled_is_in_the_profile() {
    if !ON_LINUX {
        return;
    }
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let session = ProfilingSession::start(1000);
    std::thread::spawn(|| {
        let _sampled = omega_v2::sampling::sample_this_thread();
        black_box(burn_cpu_in_worker(300));
    })
    .join()
    .unwrap();
    let run_dir = finish(session, tmp.path(), "run");
    let json = profiling_json(&run_dir);
    assert_eq!(metric(&json, "cpu_profile"), "collected", "{}", metric(&json, "cpu_profile_reason"));
    assert!(metric(&json, "cpu_profile_samples").as_u64().unwrap() > 0);
    let svg = fs::read_to_string(run_dir.join("profiling/flamegraph.svg")).unwrap();
    assert!(svg.contains("burn_cpu_in_worker"), "the worker's frames are missing");
    let profile = decode_profile(&run_dir);
    assert!(profile.string_table.iter().any(|s| s == "worker thread"), "no sample is labelled with the worker thread");
}

#[test]
fn threads_registering_outside_a_session_are_not_sampled_and_sessions_repeat() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    // Before any session, and after one ended: inert.
    drop(omega_v2::sampling::sample_this_thread());
    for round in 0..2 {
        let session = ProfilingSession::start(FREQUENCY_HZ);
        let run_dir = finish(session, tmp.path(), &format!("run{round}"));
        let expected = if ON_LINUX { "collected" } else { "unavailable" };
        assert_eq!(metric(&profiling_json(&run_dir), "cpu_profile"), expected);
    }
    let late = std::thread::spawn(|| {
        let _sampled = omega_v2::sampling::sample_this_thread();
        black_box(burn_cpu_in_worker(50))
    });
    late.join().unwrap();
    // A session started afterwards sees nothing of the late thread.
    let session = ProfilingSession::start(FREQUENCY_HZ);
    let run_dir = finish(session, tmp.path(), "after");
    if ON_LINUX {
        let svg = fs::read_to_string(run_dir.join("profiling/flamegraph.svg")).unwrap();
        assert!(!svg.contains("burn_cpu_in_worker"));
    }
}

#[test]
fn a_guard_outliving_its_session_is_harmless() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let session = ProfilingSession::start(FREQUENCY_HZ);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let worker = std::thread::spawn(move || {
        let _sampled = omega_v2::sampling::sample_this_thread();
        ready_tx.send(()).unwrap();
        rx.recv().unwrap();
        black_box(burn_cpu_in_worker(20))
    });
    ready_rx.recv().unwrap();
    finish(session, tmp.path(), "first");
    // A new session takes the slots; the old guard's drop must not touch the new registration.
    let next = ProfilingSession::start(FREQUENCY_HZ);
    tx.send(()).unwrap();
    worker.join().unwrap();
    black_box(burn_cpu(100));
    let run_dir = finish(next, tmp.path(), "second");
    if ON_LINUX {
        let json = profiling_json(&run_dir);
        assert_eq!(metric(&json, "cpu_profile"), "collected");
        assert!(metric(&json, "cpu_profile_samples").as_u64().unwrap() > 0, "the run thread lost its timer");
    }
}

#[test]
fn a_second_session_while_one_is_alive_degrades_and_still_finishes() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let first = ProfilingSession::start(FREQUENCY_HZ);
    let second = ProfilingSession::start(FREQUENCY_HZ);
    let second_dir = finish(second, tmp.path(), "second");
    let json = profiling_json(&second_dir);
    assert_eq!(metric(&json, "cpu_profile"), "unavailable");
    let reason = metric(&json, "cpu_profile_reason").as_str().unwrap();
    assert!(reason.contains("another profiled run"), "{reason}");
    assert!(metric(&json, "cpu_profile_samples").is_null());
    assert!(!second_dir.join("profiling/flamegraph.svg").exists());
    assert!(!second_dir.join("profiling/profile.pb.gz").exists());
    if ON_LINUX {
        assert_eq!(metric(&json, "peak_rss_method"), "vmhwm_shared", "the first session owns the HWM reset");
    }

    let first_dir = finish(first, tmp.path(), "first");
    let json = profiling_json(&first_dir);
    assert_eq!(metric(&json, "cpu_profile"), "collected");
    assert!(first_dir.join("profiling/profile.pb.gz").exists());
    // Once both are gone, the profiler is free again.
    let third_dir = finish(ProfilingSession::start(FREQUENCY_HZ), tmp.path(), "third");
    assert_eq!(metric(&profiling_json(&third_dir), "cpu_profile"), "collected");
}

#[test]
fn a_session_dropped_unfinished_frees_the_profiler() {
    // A run that fails or is cancelled after its session started never calls finish.
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    drop(ProfilingSession::start(FREQUENCY_HZ));
    let next = ProfilingSession::start(FREQUENCY_HZ);
    burn_cpu(30);
    let json = profiling_json(&finish(next, tmp.path(), "next"));
    assert_eq!(metric(&json, "cpu_profile"), "collected", "{:?}", metric(&json, "cpu_profile_reason"));
}

/// Allocates and touches `mib` MiB, so they count as resident.
fn ballast(mib: usize) -> Vec<u8> {
    let mut v = vec![0u8; mib << 20];
    v.iter_mut().step_by(4096).for_each(|b| *b = 1);
    black_box(v)
}

#[test]
fn peak_rss_is_per_run_in_a_long_lived_process() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let heavy = ProfilingSession::start(FREQUENCY_HZ);
    drop(ballast(256));
    let heavy = profiling_json(&finish(heavy, tmp.path(), "heavy"));
    let light = profiling_json(&finish(ProfilingSession::start(FREQUENCY_HZ), tmp.path(), "light"));

    for json in [&heavy, &light] {
        for key in ["rss_start_mb", "peak_rss_mb", "rss_end_mb"] {
            if ON_LINUX || key == "peak_rss_mb" {
                assert!(mb(json, key) > 0.0, "{key} = {}", metric(json, key));
            }
        }
    }
    if !ON_LINUX {
        assert_eq!(metric(&heavy, "peak_rss_method"), "ru_maxrss_process");
        return;
    }
    for json in [&heavy, &light] {
        assert_eq!(metric(json, "peak_rss_method"), "vmhwm_clear_refs");
        assert!(mb(json, "peak_rss_mb") >= mb(json, "rss_end_mb"));
        assert!(mb(json, "rss_profiler_overhead_mb") >= 0.0);
        let delta = mb(json, "peak_rss_mb") - mb(json, "rss_start_mb");
        assert!((mb(json, "peak_rss_delta_mb") - delta).abs() < 0.01);
    }
    assert!(mb(&heavy, "peak_rss_delta_mb") >= 250.0, "the 256 MiB ballast is missing from the peak");
    assert!(
        mb(&light, "peak_rss_mb") < mb(&heavy, "peak_rss_mb") - 128.0,
        "the light run inherited the heavy run's peak: {} vs {}",
        mb(&light, "peak_rss_mb"),
        mb(&heavy, "peak_rss_mb")
    );
}
