//! Resident set size of one run, honest also in a long-lived process (notebooks, sweeps).
//!
//! Linux: writing `5` to `/proc/self/clear_refs` resets the process high-water mark (`VmHWM`) to
//! the current RSS, so `VmHWM` read at the end is the peak of this run only. The mark is
//! process-wide: it is reset only when no other profiled run is active, otherwise that run's
//! peak would be cut short. Elsewhere (or when the reset is refused) `getrusage` gives the
//! process-lifetime peak instead, and `peak_rss_method` says which one was used.

use std::sync::{Mutex, PoisonError};

/// How `peak_rss_mb` was measured (see the definition of `peak_rss_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PeakMethod {
    /// VmHWM after this run reset it: the peak of this run alone.
    VmHwmClearRefs,
    /// VmHWM reset by another profiled run still active: the peak since that reset.
    VmHwmShared,
    /// getrusage `ru_maxrss`: the peak over the process lifetime.
    RuMaxrssProcess,
}

impl PeakMethod {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PeakMethod::VmHwmClearRefs => "vmhwm_clear_refs",
            PeakMethod::VmHwmShared => "vmhwm_shared",
            PeakMethod::RuMaxrssProcess => "ru_maxrss_process",
        }
    }
}

/// Profiled runs alive in this process and whether the one that opened the current window
/// managed to reset the high-water mark.
struct Windows {
    open: usize,
    hwm_reset: bool,
}

static WINDOWS: Mutex<Windows> = Mutex::new(Windows { open: 0, hwm_reset: false });

fn windows() -> std::sync::MutexGuard<'static, Windows> {
    WINDOWS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Memory figures of one run in KiB; `None` where the platform has no current RSS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RssReport {
    pub start_kib: Option<u64>,
    pub peak_kib: Option<u64>,
    pub end_kib: Option<u64>,
    pub profiler_overhead_kib: Option<u64>,
    pub method: PeakMethod,
}

/// The measurement window of one profiled run; closing (or dropping) it lets the next lone
/// run reset the high-water mark again.
pub(crate) struct RssWindow {
    start_kib: Option<u64>,
    method: PeakMethod,
}

impl RssWindow {
    pub(crate) fn open() -> Self {
        let mut w = windows();
        if w.open == 0 {
            w.hwm_reset = reset_hwm();
        }
        w.open += 1;
        let method = match (w.hwm_reset, w.open) {
            (false, _) => PeakMethod::RuMaxrssProcess,
            (true, 1) => PeakMethod::VmHwmClearRefs,
            (true, _) => PeakMethod::VmHwmShared,
        };
        Self { start_kib: current_kib(), method }
    }

    pub(crate) fn start_kib(&self) -> Option<u64> {
        self.start_kib
    }

    /// Reads the current RSS and then the peak (so peak >= end); call before anything
    /// allocates for reporting.
    pub(crate) fn close(self, profiler_overhead_kib: Option<u64>) -> RssReport {
        let end_kib = current_kib();
        let peak_kib = match self.method {
            PeakMethod::VmHwmClearRefs | PeakMethod::VmHwmShared => status_kib("VmHWM:"),
            PeakMethod::RuMaxrssProcess => ru_maxrss_kib(),
        };
        RssReport { start_kib: self.start_kib, peak_kib, end_kib, profiler_overhead_kib, method: self.method }
    }
}

impl Drop for RssWindow {
    fn drop(&mut self) {
        windows().open -= 1;
    }
}

/// Current resident set size (`VmRSS`), Linux only.
pub(crate) fn current_kib() -> Option<u64> {
    status_kib("VmRSS:")
}

fn reset_hwm() -> bool {
    // Linux >= 4.0, own process, no privileges; useless unless VmHWM can be read back later.
    std::fs::write("/proc/self/clear_refs", "5").is_ok() && status_kib("VmHWM:").is_some()
}

/// A `kB` line of `/proc/self/status`.
fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

fn ru_maxrss_kib() -> Option<u64> {
    // SAFETY: getrusage only writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let maxrss = u64::try_from(usage.ru_maxrss).ok()?;
    // Bytes on macOS, KiB on Linux and the BSDs.
    Some(if cfg!(target_os = "macos") { maxrss / 1024 } else { maxrss })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse_as_kib() {
        if cfg!(target_os = "linux") {
            let (rss, hwm) = (current_kib().unwrap(), status_kib("VmHWM:").unwrap());
            assert!(rss > 0 && hwm >= rss, "VmRSS {rss} KiB, VmHWM {hwm} KiB");
        }
        assert!(ru_maxrss_kib().unwrap() > 0);
    }
}
