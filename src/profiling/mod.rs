//! Profiling mode (`observability.profiling_mode`, CLI `--profile`, API `profile=True`):
//! writes `profiling/profiling.json`, `profiling/flamegraph.svg` and `profiling/profile.pb.gz`
//! into the run directory (see `docs/observability.md`).
//!
//! A [`ProfilingSession`] spans the run: [`ProfilingSession::start`] right after the run's log
//! sinks open, [`ProfilingSession::finish`] after the artefacts are written and before the run
//! directory is committed. Profiling never fails a run on its own: when the CPU profiler is
//! unavailable (not built, another profiled run holds it) the session records why and still
//! writes `profiling.json`; only I/O errors on the run directory are errors.
//!
//! The CPU profile samples the run's own thread and the engine threads that call
//! [`crate::sampling::sample_this_thread`] (data decoding, artefact writing, log sinks), each by
//! its own timer and weighted by its CPU time (`crate::sampling`). A worker of another run in
//! the process that starts while this run is profiled is sampled too (`concurrent_runs` above 1
//! says so).

mod cpu;
mod report;
mod rss;
#[cfg(cpu_sampler)]
mod symbols;

use std::time::Instant;

use tracing::{info, warn};

use crate::engine::{BarTimeSummary, Counters};
use crate::error::Result;
use crate::output::{self, StagingDir};
use crate::timing::PhaseTimings;
use cpu::{CpuProfile, CpuProfiler};
use report::{CpuSummary, Observed, ProfilingJson};
use rss::RssWindow;

/// What the run measured itself, reported in `profiling.json`.
pub struct ProfilingInput<'a> {
    pub timings: &'a PhaseTimings,
    pub counters: &'a Counters,
    /// The loop's timed bars; `None` when none was timed.
    pub bar_times: Option<BarTimeSummary>,
}

/// Memory window and CPU profiler of one profiled run.
pub struct ProfilingSession {
    rss: RssWindow,
    profiler_overhead_kib: Option<u64>,
    cpu: std::result::Result<CpuProfiler, String>,
    frequency_hz: i32,
    runs_at_start: usize,
    start_ns: u64,
}

impl ProfilingSession {
    /// Resets the peak-RSS mark and starts the CPU profiler at `frequency_hz` samples per CPU
    /// second. Never fails: an unavailable profiler is recorded and reported by `finish`.
    pub fn start(frequency_hz: i32) -> ProfilingSession {
        let clock = Instant::now();
        let runs_at_start = crate::observability::active_runs();
        let rss = RssWindow::open();
        let cpu = CpuProfiler::start(frequency_hz);
        let profiler_overhead_kib =
            rss.start_kib().zip(rss::current_kib()).map(|(before, after)| after.saturating_sub(before));
        let start_ns = clock.elapsed().as_nanos() as u64;
        ProfilingSession { rss, profiler_overhead_kib, cpu, frequency_hz, runs_at_start, start_ns }
    }

    /// Stops the measurements and writes the profiling artefacts into `dir/profiling/`.
    pub fn finish(self, dir: &StagingDir, input: &ProfilingInput) -> Result<()> {
        // Memory first, before rendering the profile allocates.
        let rss = self.rss.close(self.profiler_overhead_kib);
        let concurrent_runs = self.runs_at_start.max(crate::observability::active_runs());
        let profile = self.cpu.and_then(CpuProfiler::finish);
        match &profile {
            Ok(p) => p.write(dir)?,
            Err(reason) => warn!(component = "profiling", reason = %reason, "no CPU profile for this run"),
        }
        let cpu = CpuSummary {
            stats: profile.as_ref().ok().map(|p: &CpuProfile| p.stats),
            frequency_hz: self.frequency_hz,
            unavailable: profile.err(),
        };
        let json =
            ProfilingJson::build(input, &Observed { rss: &rss, cpu: &cpu, concurrent_runs, start_ns: self.start_ns });
        output::write_json(dir, "profiling/profiling.json", &json)?;
        info!(
            component = "profiling",
            cpu_samples = cpu.stats.map(|s| s.samples),
            peak_rss_kib = rss.peak_kib,
            peak_rss_method = rss.method.as_str(),
            concurrent_runs,
            "profiling artefacts written"
        );
        Ok(())
    }
}
