//! What profiling mode adds to the loop, so that it measures the run rather than itself:
//!
//! * **Bar times**: one bar in [`BAR_SAMPLE_EVERY`] is timed with the monotonic clock; the
//!   durations become percentiles in `profiling.json`. Timing every bar would cost as much as
//!   a bar of a built-in strategy (15-40 ns). Two back-to-back clock reads already measure
//!   ~15-20 ns, so that floor is measured before the loop and reported next to the percentiles.
//! * **Detail spans**: TRACE spans `bar` (with `index`) and, inside them, `fill` and `exit` (with
//!   `bar`). A span costs ~250-300 ns in the tracing registry, several times a bar, so they
//!   exist only when asked for: every bar when the run's log filter enables TRACE for
//!   `omega_v2::engine` (`RUST_LOG=omega_v2::engine=trace`), or one bar in
//!   [`DETAIL_SAMPLE_EVERY`] when the run exports an OpenTelemetry trace.
//!
//! Outside profiling mode the loop checks one flag per bar and nothing else.

use std::time::Instant;

pub use crate::observability::otel::DETAIL_SAMPLE_EVERY;

/// The target of the detail spans, whichever module opens them (what `RUST_LOG` names).
pub const SPAN_TARGET: &str = "omega_v2::engine";

/// One bar in this many is timed (the first traded bar, then every 16th).
pub const BAR_SAMPLE_EVERY: usize = 16;

/// Which bars get detail spans.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DetailSpans {
    #[default]
    None,
    /// Every bar: the run's log filter writes TRACE for the engine.
    Every,
    /// One bar in [`DETAIL_SAMPLE_EVERY`], marked as sampled: the run exports a trace.
    Sampled,
}

/// The loop's profiling switches; [`LoopProfiling::OFF`] outside profiling mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopProfiling {
    pub bar_times: bool,
    pub spans: DetailSpans,
}

impl LoopProfiling {
    pub const OFF: LoopProfiling = LoopProfiling { bar_times: false, spans: DetailSpans::None };

    pub fn is_off(&self) -> bool {
        *self == Self::OFF
    }

    /// The span of traded bar `t` (`offset` bars after the first traded bar), entered, if any.
    #[inline(always)]
    pub(super) fn bar_span(&self, offset: usize, t: usize) -> Option<tracing::span::EnteredSpan> {
        match self.spans {
            DetailSpans::None => None,
            _ if offset.is_multiple_of(DETAIL_SAMPLE_EVERY as usize) => {
                // The `sampled` field has no value: it marks the callsite for the trace export
                // (`observability::otel`) and never becomes an attribute or a log field.
                Some(
                    tracing::trace_span!(target: SPAN_TARGET, "bar", index = t, sampled = tracing::field::Empty)
                        .entered(),
                )
            }
            DetailSpans::Every => Some(tracing::trace_span!(target: SPAN_TARGET, "bar", index = t).entered()),
            DetailSpans::Sampled => None,
        }
    }

    /// The clock of traded bar `offset`, when it is one of the timed bars.
    #[inline(always)]
    pub(super) fn bar_clock(&self, offset: usize) -> Option<Instant> {
        (self.bar_times && offset.is_multiple_of(BAR_SAMPLE_EVERY)).then(Instant::now)
    }
}

/// Durations of the timed bars in ns (saturated at `u32::MAX`, ~4.3 s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BarTimes {
    samples: Vec<u32>,
    clock_floor_ns: u32,
}

/// Empty intervals measured for the clock's floor.
const FLOOR_READS: usize = 64;

/// Percentiles (nearest rank) and mean of the timed bars, in ns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BarTimeSummary {
    pub samples: usize,
    pub p50_ns: u32,
    pub p90_ns: u32,
    pub p99_ns: u32,
    pub p999_ns: u32,
    pub max_ns: u32,
    pub mean_ns: f64,
    /// Median of back-to-back clock reads before the loop: what an empty bar would measure.
    pub clock_floor_ns: u32,
}

impl BarTimes {
    /// Room for every timed bar of a loop over `rows` bars, so that recording never allocates,
    /// and the clock's floor.
    pub fn for_rows(rows: usize) -> Self {
        let mut empty: Vec<u32> = (0..FLOOR_READS).map(|_| nanos(Instant::now())).collect();
        empty.sort_unstable();
        Self { samples: Vec::with_capacity(rows.div_ceil(BAR_SAMPLE_EVERY)), clock_floor_ns: empty[FLOOR_READS / 2] }
    }

    #[inline(always)]
    pub(super) fn record(&mut self, clock: Instant) {
        self.samples.push(nanos(clock));
    }

    /// `None` when no bar was timed.
    pub fn summary(&self) -> Option<BarTimeSummary> {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let n = sorted.len();
        let rank = |p: f64| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        let &max_ns = sorted.last()?;
        Some(BarTimeSummary {
            samples: n,
            p50_ns: rank(0.50),
            p90_ns: rank(0.90),
            p99_ns: rank(0.99),
            p999_ns: rank(0.999),
            max_ns,
            mean_ns: sorted.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64,
            clock_floor_ns: self.clock_floor_ns,
        })
    }
}

#[inline(always)]
fn nanos(since: Instant) -> u32 {
    u32::try_from(since.elapsed().as_nanos()).unwrap_or(u32::MAX)
}

#[cfg(test)]
impl BarTimes {
    pub(crate) fn from_samples(samples: Vec<u32>) -> Self {
        Self { samples, clock_floor_ns: 17 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_1_to_1000() {
        // Samples 1..=1000 ns shuffled: the p-th percentile by nearest rank is ceil(p * 1000).
        let samples = (1..=1000u32).map(|i| (i * 7919) % 1000 + 1).collect();
        let s = BarTimes::from_samples(samples).summary().unwrap();
        assert_eq!((s.samples, s.p50_ns, s.p90_ns, s.p99_ns, s.p999_ns, s.max_ns), (1000, 500, 900, 990, 999, 1000));
        assert_eq!((s.mean_ns, s.clock_floor_ns), (500.5, 17));
    }

    #[test]
    fn one_sample_is_every_percentile_and_none_is_no_summary() {
        let s = BarTimes::from_samples(vec![42]).summary().unwrap();
        assert_eq!((s.p50_ns, s.p999_ns, s.max_ns, s.mean_ns), (42, 42, 42, 42.0));
        assert_eq!(BarTimes::for_rows(10).summary(), None);
    }

    #[test]
    fn timed_bars_are_the_first_and_every_16th() {
        let on = LoopProfiling { bar_times: true, spans: DetailSpans::None };
        let timed: Vec<usize> = (0..40).filter(|&o| on.bar_clock(o).is_some()).collect();
        assert_eq!(timed, [0, 16, 32]);
        assert!((0..40).all(|o| LoopProfiling::OFF.bar_clock(o).is_none()));
        let times = BarTimes::for_rows(33);
        assert!(times.samples.capacity() >= 3);
        // A clock read takes some ns, never a millisecond.
        assert!(times.clock_floor_ns < 1_000_000, "{}", times.clock_floor_ns);
    }
}
