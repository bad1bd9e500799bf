//! CPU profile of the run: our own sampler (`crate::sampling`: per-thread hrtimers, samples
//! weighted by thread CPU time) and its rendering as `flamegraph.svg` (inferno, through
//! `pprof::flamegraph`) and `profile.pb.gz` (`pprof::protos`, gzipped).
//!
//! One session per process at a time: while another profiled run holds the sampler, `start`
//! reports why and the run goes on without a CPU profile. Everything that can fail happens in
//! `start`/`finish` and degrades to a reason; `CpuProfile::write` is plain file output.

use std::io::Write;

use crate::error::Result;
use crate::output::StagingDir;

/// The rendered profile, ready to be written.
pub(crate) struct CpuProfile {
    pub stats: CpuStats,
    flamegraph_svg: Vec<u8>,
    profile_pb_gz: Vec<u8>,
}

/// The profile's totals, as `profiling.json` reports them.
#[derive(Clone, Copy, Default)]
pub(crate) struct CpuStats {
    /// Samples in the profile.
    pub samples: u64,
    /// CPU nanoseconds they carry.
    pub cpu_ns: u64,
    /// Samples lost to a full buffer.
    pub dropped: u64,
    /// Samples kept without callers because the thread was inside a blocklisted library.
    pub leaf_only: u64,
}

impl CpuProfile {
    pub(crate) fn write(&self, dir: &StagingDir) -> Result<()> {
        dir.write_file("profiling/flamegraph.svg", |w| w.write_all(&self.flamegraph_svg))?;
        dir.write_file("profiling/profile.pb.gz", |w| w.write_all(&self.profile_pb_gz))
    }
}

pub(crate) use imp::CpuProfiler;

#[cfg(cpu_sampler)]
mod imp {
    use std::collections::HashMap;
    use std::io::Write;
    use std::time::{Instant, SystemTime};

    use pprof::protos::{self, Message};

    use super::super::symbols::{Frame, Resolver};
    use super::{CpuProfile, CpuStats};
    use crate::sampling::{Recorded, Sampler};

    pub(crate) struct CpuProfiler {
        sampler: Sampler,
        frequency_hz: i32,
        started: SystemTime,
        clock: Instant,
    }

    impl CpuProfiler {
        pub(crate) fn start(frequency_hz: i32) -> Result<Self, String> {
            let sampler = Sampler::start(frequency_hz, "run thread".into())?;
            Ok(Self { sampler, frequency_hz, started: SystemTime::now(), clock: Instant::now() })
        }

        /// Stops sampling and renders the flamegraph and the gzipped pprof protobuf.
        pub(crate) fn finish(self) -> Result<CpuProfile, String> {
            let duration_ns = self.clock.elapsed().as_nanos() as i64;
            let recorded = self.sampler.stop();
            let profile = Aggregated::new(recorded);
            let stats = profile.stats;
            let flamegraph_svg = profile.flamegraph()?;
            let meta = Meta { frequency_hz: self.frequency_hz, started: self.started, duration_ns };
            let profile_pb_gz = gzip(&profile.pprof(&meta).encode_to_vec())?;
            Ok(CpuProfile { stats, flamegraph_svg, profile_pb_gz })
        }
    }

    struct Aggregated {
        /// (thread label, stack innermost first) -> (samples, CPU ns)
        stacks: HashMap<(String, Vec<usize>), (u64, u64)>,
        /// Address -> its inline chain, innermost first (never empty).
        symbols: HashMap<usize, Vec<Frame>>,
        stats: CpuStats,
    }

    impl Aggregated {
        fn new(recorded: Recorded) -> Self {
            let Recorded { samples, dropped, leaf_only, labels } = recorded;
            let label = |tid: i32| {
                labels.iter().find(|(t, _)| *t == tid).map_or_else(|| format!("thread {tid}"), |(_, l)| l.clone())
            };
            let mut stacks: HashMap<(String, Vec<usize>), (u64, u64)> = HashMap::new();
            let mut stats = CpuStats { dropped, leaf_only, ..CpuStats::default() };
            for (tid, cpu_ns, ips) in samples {
                stats.samples += 1;
                stats.cpu_ns += cpu_ns;
                let entry = stacks.entry((label(tid), ips)).or_default();
                entry.0 += 1;
                entry.1 += cpu_ns;
            }
            let resolver = Resolver::new();
            let mut symbols = HashMap::new();
            for (_, ips) in stacks.keys() {
                for &ip in ips {
                    symbols.entry(ip).or_insert_with(|| resolver.resolve(ip));
                }
            }
            Aggregated { stacks, symbols, stats }
        }

        /// Folded stacks (thread label at the root) weighted by CPU microseconds.
        fn flamegraph(&self) -> Result<Vec<u8>, String> {
            if self.stacks.is_empty() {
                return Ok(NO_SAMPLES_SVG.as_bytes().to_vec());
            }
            let mut lines = Vec::with_capacity(self.stacks.len());
            for ((label, ips), &(_, cpu_ns)) in &self.stacks {
                let mut line = label.replace(';', ":");
                if ips.len() == 1 {
                    // The interrupted function alone: in a blocklisted library, or not unwound.
                    line.push_str(";[callers not unwound]");
                }
                for ip in ips.iter().rev() {
                    for frame in self.symbols[ip].iter().rev() {
                        line.push(';');
                        line.push_str(&frame.name.replace(';', ":"));
                    }
                }
                lines.push(format!("{line} {}", cpu_ns.div_ceil(1000)));
            }
            lines.sort_unstable();
            let mut options = pprof::flamegraph::Options::default();
            options.title = "CPU time of the run".into();
            options.count_name = "us".into();
            let mut svg = Vec::new();
            pprof::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut svg)
                .map_err(|e| format!("rendering the flamegraph failed: {e}"))?;
            Ok(svg)
        }

        fn pprof(&self, meta: &Meta) -> protos::Profile {
            let mut strings = Strings::default();
            let mut functions: HashMap<(String, String), u64> = HashMap::new();
            let mut function_table = Vec::new();
            let mut locations: HashMap<usize, u64> = HashMap::new();
            let mut location_table = Vec::new();
            let mut samples = Vec::with_capacity(self.stacks.len());
            let thread_key = strings.get("thread");
            let mut sorted: Vec<_> = self.stacks.iter().collect();
            sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
            for ((label, ips), &(count, cpu_ns)) in sorted {
                let mut location_id = Vec::with_capacity(ips.len());
                for &ip in ips {
                    let next = location_table.len() as u64 + 1;
                    let id = *locations.entry(ip).or_insert(next);
                    if id == next {
                        let line = self.symbols[&ip]
                            .iter()
                            .map(|f| {
                                let next = function_table.len() as u64 + 1;
                                let function_id = *functions.entry((f.name.clone(), f.file.clone())).or_insert(next);
                                if function_id == next {
                                    function_table.push(protos::Function {
                                        id: function_id,
                                        name: strings.get(&f.name),
                                        system_name: strings.get(&f.name),
                                        filename: strings.get(&f.file),
                                        ..Default::default()
                                    });
                                }
                                protos::Line { function_id, line: f.line.into() }
                            })
                            .collect();
                        location_table.push(protos::Location {
                            id,
                            address: ip.saturating_sub(1) as u64,
                            line,
                            ..Default::default()
                        });
                    }
                    location_id.push(id);
                }
                samples.push(protos::Sample {
                    location_id,
                    value: vec![count as i64, cpu_ns as i64],
                    label: vec![protos::Label { key: thread_key, str: strings.get(label), ..Default::default() }],
                });
            }
            let samples_type = protos::ValueType { ty: strings.get("samples"), unit: strings.get("count") };
            let cpu_type = protos::ValueType { ty: strings.get("cpu"), unit: strings.get("nanoseconds") };
            let default_sample_type = cpu_type.ty;
            protos::Profile {
                sample_type: vec![samples_type, cpu_type.clone()],
                sample: samples,
                location: location_table,
                function: function_table,
                time_nanos: meta.started.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64),
                duration_nanos: meta.duration_ns,
                period_type: Some(cpu_type),
                period: 1_000_000_000 / i64::from(meta.frequency_hz.max(1)),
                default_sample_type,
                string_table: strings.table,
                ..Default::default()
            }
        }
    }

    struct Meta {
        frequency_hz: i32,
        started: SystemTime,
        duration_ns: i64,
    }

    /// The pprof string table; index 0 is the empty string.
    struct Strings {
        table: Vec<String>,
        index: HashMap<String, i64>,
    }

    impl Default for Strings {
        fn default() -> Self {
            Strings { table: vec![String::new()], index: HashMap::from([(String::new(), 0)]) }
        }
    }

    impl Strings {
        fn get(&mut self, s: &str) -> i64 {
            if let Some(&i) = self.index.get(s) {
                return i;
            }
            let i = self.table.len() as i64;
            self.table.push(s.to_owned());
            self.index.insert(s.to_owned(), i);
            i
        }
    }

    /// inferno renders nothing for no samples, and an empty file is not an SVG.
    const NO_SAMPLES_SVG: &str = concat!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="900" height="40"><text x="10" y="25">"#,
        "no CPU samples: the sampled threads used too little CPU time for this sampling frequency",
        "</text></svg>\n"
    );

    fn gzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).and_then(|()| gz.finish()).map_err(|e| format!("gzip failed: {e}"))
    }
}

#[cfg(not(cpu_sampler))]
mod imp {
    use super::CpuProfile;

    /// Uninhabited: without the sampler a profiler can never be started.
    pub(crate) enum CpuProfiler {}

    impl CpuProfiler {
        pub(crate) fn start(_frequency_hz: i32) -> Result<Self, String> {
            Err(if cfg!(feature = "profiling") {
                "CPU profiling needs Linux on x86_64 or aarch64 (per-thread POSIX timers and SIGPROF)".into()
            } else {
                "not built with the profiling feature".into()
            })
        }

        pub(crate) fn finish(self) -> Result<CpuProfile, String> {
            match self {}
        }
    }
}
