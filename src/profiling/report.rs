//! `profiling.json`: `{"metrics": {...}, "definitions": {...}}` as in the plan (section 7.2).
//! Each key is declared once with its value, unit and description, so the two maps cannot
//! drift apart, and both keep the declaration order.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::cpu::CpuStats;
use super::rss::RssReport;
use super::ProfilingInput;
use crate::engine::{BarTimeSummary, BAR_SAMPLE_EVERY};

/// What became of the CPU profile.
pub(crate) struct CpuSummary {
    /// `None` when unavailable.
    pub stats: Option<CpuStats>,
    pub frequency_hz: i32,
    /// Why there is no profile; `None` when it was collected.
    pub unavailable: Option<String>,
}

/// Everything else `profiling.json` reports besides the run's own timings and counters.
pub(crate) struct Observed<'a> {
    pub rss: &'a RssReport,
    pub cpu: &'a CpuSummary,
    pub concurrent_runs: usize,
    /// Wall time of `ProfilingSession::start`.
    pub start_ns: u64,
}

struct Entry {
    key: Cow<'static, str>,
    value: Value,
    unit: &'static str,
    description: Cow<'static, str>,
}

pub(crate) struct ProfilingJson(Vec<Entry>);

impl ProfilingJson {
    pub(crate) fn build(input: &ProfilingInput, observed: &Observed) -> Self {
        let mut j = ProfilingJson(Vec::with_capacity(32));
        j.timings(input);
        // The plan's order: phases, peak RSS, counters; the extra keys follow.
        j.push("peak_rss_mb", mb(observed.rss.peak_kib), "MB", PEAK_RSS);
        j.counters(input);
        j.memory(observed.rss);
        j.push("concurrent_runs", observed.concurrent_runs, "count", CONCURRENT_RUNS);
        j.duration("time_profiler_start", observed.start_ns, PROFILER_START);
        j.cpu(observed.cpu);
        j.bar_times(input);
        j
    }

    fn push(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Value>,
        unit: &'static str,
        description: impl Into<Cow<'static, str>>,
    ) {
        self.0.push(Entry { key: key.into(), value: value.into(), unit, description: description.into() });
    }

    /// A phase duration as `<stem>_ms` (float, 3 decimals) and `<stem>_ns` (integer).
    fn duration(&mut self, stem: &str, ns: u64, what: &'static str) {
        self.push(format!("{stem}_ms"), round3(ns as f64 / 1e6), "ms", what);
        self.push(format!("{stem}_ns"), ns, "ns", format!("{what} (nanoseconds)"));
    }

    fn timings(&mut self, input: &ProfilingInput) {
        let t = input.timings;
        self.duration("wall_time_total", t.total_ns, "Total wall-clock time of the run, from engine entry until the artefacts are written (excludes writing the profiling artefacts)");
        self.duration(
            "time_data_load",
            t.data_load_ns,
            "Data loading phase duration (read, validate and align bid/ask bars, specs, news)",
        );
        self.duration(
            "time_strategy_init",
            t.strategy_init_ns,
            "Strategy initialisation phase duration (parameters, indicators)",
        );
        self.duration("time_backtest", t.backtest_ns, "Backtest loop phase duration");
        self.duration("time_metrics", t.metrics_ns, "Metrics computation phase duration");
        self.duration(
            "time_write",
            t.write_ns,
            "Artefact writing phase duration (trades.json, equity.csv, metrics.json, meta.json)",
        );
    }

    fn counters(&mut self, input: &ProfilingInput) {
        let c = input.counters;
        self.push("bars_processed", c.bars_processed, "count", "Number of bars processed by the backtest loop");
        self.push(
            "events_processed",
            c.events_processed,
            "count",
            "Number of engine events processed (signals, order placements, fills, exits, rejections, stop moves)",
        );
        self.push("trades_emitted", c.trades_emitted, "count", "Number of closed trades");
        self.push("orders_filled", c.orders_filled, "count", "Number of filled orders (entry and exit fills)");
    }

    fn memory(&mut self, rss: &RssReport) {
        self.push("rss_start_mb", mb(rss.start_kib), "MB", "Resident set size when profiling started, before the CPU profiler (null where the platform reports no current RSS)");
        self.push("rss_end_mb", mb(rss.end_kib), "MB", "Resident set size after the artefacts were written, CPU profiler still running (null where the platform reports no current RSS)");
        let delta = rss.peak_kib.zip(rss.start_kib).map(|(p, s)| p.saturating_sub(s));
        self.push(
            "peak_rss_delta_mb",
            mb(delta),
            "MB",
            "peak_rss_mb - rss_start_mb: memory the run added on top of what the process already held",
        );
        self.push("rss_profiler_overhead_mb", mb(rss.profiler_overhead_kib), "MB", "Resident set size added by starting the CPU profiler in this run; included in peak_rss_mb. The sample buffer is mapped lazily (only the samples written become resident, about 0.5 KB each), so this is near 0; naming the samples when the profile is rendered, after peak_rss_mb is taken, reads the engine's debug line tables and frees them again");
        self.push("peak_rss_method", rss.method.as_str(), "enum", PEAK_RSS_METHOD);
    }

    fn cpu(&mut self, cpu: &CpuSummary) {
        let status = if cpu.unavailable.is_some() { "unavailable" } else { "collected" };
        self.push("cpu_profile", status, "enum", "collected: profiling/flamegraph.svg and profiling/profile.pb.gz were written; unavailable: no CPU profile, see cpu_profile_reason");
        self.push(
            "cpu_profile_reason",
            cpu.unavailable.clone(),
            "text",
            "Why the CPU profile is unavailable; null when it was collected",
        );
        let stat = |f: fn(&CpuStats) -> u64| cpu.stats.as_ref().map(f);
        self.push("cpu_profile_samples", stat(|s| s.samples), "count", "CPU samples in the profile: each sampled thread (the run's own and the engine's workers) is interrupted every 1/cpu_profile_frequency_hz s of wall time by its own high-resolution timer, and a sample is kept when the thread used CPU since its previous one, weighted by that CPU time; null when unavailable");
        self.push("cpu_profile_frequency_hz", cpu.frequency_hz, "Hz", "Sampling frequency per sampled thread (config observability.profiling_frequency_hz): at most this many samples per second of a thread's wall time, as many per second of its CPU time while it is busy");
        self.push("cpu_profile_cpu_ms", stat(|s| s.cpu_ns).map(|ns| round3(ns as f64 / 1e6)), "ms", "CPU time the samples carry (sum of the profile's cpu/nanoseconds values): the sampled threads' CPU time while sampled, less what fell in dropped samples and the part of a sampling period each thread ran after its last sample; null when unavailable");
        self.push("cpu_profile_leaf_only_samples", stat(|s| s.leaf_only), "count", "Samples (part of cpu_profile_samples) that caught the thread inside libc, libgcc, libpthread, the dynamic loader or vdso, where unwinding the stack from a signal handler is not safe: they keep their CPU time and the interrupted function, under [callers not unwound] in the flamegraph; null when unavailable");
        self.push("cpu_profile_dropped_samples", stat(|s| s.dropped), "count", "Samples lost because the sample buffer was full (it holds 300 s of CPU time at the sampling frequency, all sampled threads together); null when unavailable");
    }
}

impl ProfilingJson {
    fn bar_times(&mut self, input: &ProfilingInput) {
        let b = input.bar_times.as_ref();
        self.push("bar_time_sample_every", BAR_SAMPLE_EVERY, "count", "One traded bar in this many is timed (the first, then every this many-th): timing every bar would cost as much as the bar");
        self.push(
            "bar_time_samples",
            b.map_or(0, |b| b.samples),
            "count",
            "Traded bars that were timed (0 when the loop timed none)",
        );
        let ns = |f: fn(&BarTimeSummary) -> u32| b.map(f);
        for (key, value, what) in [
            ("bar_time_p50_ns", ns(|b| b.p50_ns), "Median"),
            ("bar_time_p90_ns", ns(|b| b.p90_ns), "90th percentile"),
            ("bar_time_p99_ns", ns(|b| b.p99_ns), "99th percentile"),
            ("bar_time_p999_ns", ns(|b| b.p999_ns), "99.9th percentile"),
            ("bar_time_max_ns", ns(|b| b.max_ns), "Longest"),
        ] {
            self.push(
                key,
                value,
                "ns",
                format!("{what} of the timed bars' durations (nearest rank; {BAR_TIME}); null when no bar was timed"),
            );
        }
        self.push(
            "bar_time_mean_ns",
            b.map(|b| round3(b.mean_ns)),
            "ns",
            format!("Mean of the timed bars' durations ({BAR_TIME}); null when no bar was timed"),
        );
        self.push("bar_time_clock_floor_ns", b.map(|b| b.clock_floor_ns), "ns", "Median of 64 back-to-back reads of the monotonic clock before the loop: what an empty bar would measure, included in every bar time; null when no bar was timed");
    }
}

const BAR_TIME: &str = "one bar is every step of the loop for it: pending orders, exits, trade management, the strategy, the stop-out check; each includes bar_time_clock_floor_ns of clock reads";

const PEAK_RSS: &str = "Peak resident set size during the run, measured as peak_rss_method says; includes the CPU profiler's own memory (rss_profiler_overhead_mb)";

const PEAK_RSS_METHOD: &str = "How peak_rss_mb was measured. vmhwm_clear_refs: VmHWM of /proc/self/status after resetting it at profiling start via /proc/self/clear_refs, the peak of this run alone (Linux). vmhwm_shared: as before, but another profiled run in this process had already reset it, so the value is the process peak since that reset (an upper bound including that run). ru_maxrss_process: getrusage ru_maxrss, the peak over the whole process lifetime (may include earlier runs)";

const PROFILER_START: &str = "Time to start profiling (reset the RSS mark, install the SIGPROF handler once per process, read the blocklisted libraries' ranges from /proc/self/maps, map the sample buffer, arm the run thread's timer); part of wall_time_total but of no phase";

const CONCURRENT_RUNS: &str = "Runs with open log sinks in this process when profiling started or ended (the larger count, this run included); above 1, the process-wide CPU profile and RSS include other runs' work";

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn mb(kib: Option<u64>) -> Value {
    kib.map_or(Value::Null, |k| round3(k as f64 / 1024.0).into())
}

impl Serialize for ProfilingJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("metrics", &Metrics(&self.0))?;
        map.serialize_entry("definitions", &Definitions(&self.0))?;
        map.end()
    }
}

struct Metrics<'a>(&'a [Entry]);

impl Serialize for Metrics<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|e| (&e.key, &e.value)))
    }
}

struct Definitions<'a>(&'a [Entry]);

#[derive(serde::Serialize)]
struct Definition<'a> {
    unit: &'a str,
    description: &'a str,
}

impl Serialize for Definitions<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|e| (&e.key, Definition { unit: e.unit, description: &e.description })))
    }
}
