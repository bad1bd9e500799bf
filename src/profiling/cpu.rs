//! CPU profile of the run with `pprof` (SIGPROF sampling of process CPU time, all threads).
//!
//! pprof keeps one profiler per process: while another profiled run holds it, `start` reports
//! why and the run goes on without a CPU profile. Everything that can fail inside pprof happens
//! in `start`/`finish` and degrades to a reason; `CpuProfile::write` is plain file output.

use std::io::Write;

use crate::error::Result;
use crate::output::StagingDir;

/// The rendered profile, ready to be written.
pub(crate) struct CpuProfile {
    pub samples: u64,
    flamegraph_svg: Vec<u8>,
    profile_pb_gz: Vec<u8>,
}

impl CpuProfile {
    pub(crate) fn write(&self, dir: &StagingDir) -> Result<()> {
        dir.write_file("profiling/flamegraph.svg", |w| w.write_all(&self.flamegraph_svg))?;
        dir.write_file("profiling/profile.pb.gz", |w| w.write_all(&self.profile_pb_gz))
    }
}

pub(crate) use imp::CpuProfiler;

#[cfg(all(unix, feature = "profiling"))]
mod imp {
    use std::io::Write;

    use pprof::protos::Message;

    use super::CpuProfile;

    /// Samples whose innermost frame is in these libraries are skipped: unwinding from inside
    /// them is not async-signal-safe (tikv/pprof-rs#36), and vdso has broken unwind info.
    const BLOCKLIST: &[&str] = &["libc", "libgcc", "pthread", "vdso"];

    pub(crate) struct CpuProfiler {
        guard: pprof::ProfilerGuard<'static>,
    }

    impl CpuProfiler {
        pub(crate) fn start(frequency_hz: i32) -> Result<Self, String> {
            let built = pprof::ProfilerGuardBuilder::default().frequency(frequency_hz).blocklist(BLOCKLIST).build();
            built.map(|guard| Self { guard }).map_err(|e| match e {
                pprof::Error::Running => {
                    "another profiled run in this process holds the CPU profiler (pprof allows one per process)".into()
                }
                e => format!("the CPU profiler could not start: {e}"),
            })
        }

        /// Stops sampling and renders the flamegraph and the gzipped pprof protobuf.
        pub(crate) fn finish(self) -> Result<CpuProfile, String> {
            let report = self.guard.report().build().map_err(|e| format!("building the CPU profile failed: {e}"))?;
            drop(self.guard);
            let samples = report.data.values().map(|&n| n.max(0) as u64).sum();
            Ok(CpuProfile { samples, flamegraph_svg: flamegraph(&report)?, profile_pb_gz: pprof_gz(&report)? })
        }
    }

    /// pprof renders nothing for an empty report, and an empty file is not an SVG.
    const NO_SAMPLES_SVG: &str = concat!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="900" height="40"><text x="10" y="25">"#,
        "no CPU samples: the run used too little CPU time for this sampling frequency, ",
        "or every sample fell into a blocklisted library (libc, libgcc, pthread, vdso)</text></svg>\n"
    );

    fn flamegraph(report: &pprof::Report) -> Result<Vec<u8>, String> {
        if report.data.is_empty() {
            return Ok(NO_SAMPLES_SVG.as_bytes().to_vec());
        }
        let mut svg = Vec::new();
        report.flamegraph(&mut svg).map_err(|e| format!("rendering the flamegraph failed: {e}"))?;
        Ok(svg)
    }

    fn pprof_gz(report: &pprof::Report) -> Result<Vec<u8>, String> {
        let profile = report.pprof().map_err(|e| format!("building the pprof profile failed: {e}"))?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&profile.encode_to_vec()).and_then(|()| gz.finish()).map_err(|e| format!("gzip failed: {e}"))
    }
}

#[cfg(not(all(unix, feature = "profiling")))]
mod imp {
    use super::CpuProfile;

    /// Uninhabited: without pprof a profiler can never be started.
    pub(crate) enum CpuProfiler {}

    impl CpuProfiler {
        pub(crate) fn start(_frequency_hz: i32) -> Result<Self, String> {
            Err(if cfg!(feature = "profiling") {
                "CPU profiling needs a Unix platform (pprof samples with SIGPROF)".into()
            } else {
                "not built with the profiling feature".into()
            })
        }

        pub(crate) fn finish(self) -> Result<CpuProfile, String> {
            match self {}
        }
    }
}
