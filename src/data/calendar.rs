//! Gaps against the expected trading calendar.
//!
//! `fx_weekdays` is deliberately simple: starting at the first kept bar and stepping by the
//! timeframe up to the last kept bar, every slot whose UTC day is Monday..Friday is expected;
//! Saturday and Sunday slots are not. No holidays, no session hours, no DST: real FX data (which
//! closes Friday ~22:00 UTC and reopens Sunday ~22:00 UTC) therefore shows one short gap per
//! weekend, and its Sunday bars are present but not expected (they are not counted). A gap is a
//! run of consecutive missing expected slots; weekend slots do not interrupt a run.

use super::Gaps;
use crate::market::Timeframe;
use crate::timefmt::{day_of, weekday, NANOS_PER_DAY};

pub(crate) const FX_WEEKDAYS: &str = "fx_weekdays";

pub(crate) fn fx_weekday_gaps(time_ns: &[i64], tf: Timeframe) -> Gaps {
    let mut gaps = Gaps { calendar: FX_WEEKDAYS, expected_bars: 0, missing_bars: 0, gap_count: 0, largest_gap_bars: 0 };
    let (Some(&first), Some(&last)) = (time_ns.first(), time_ns.last()) else { return gaps };
    let step = tf.nanos();
    // Every timeframe divides a day, so slots keep the same offset within each day.
    let phase = first.rem_euclid(NANOS_PER_DAY) % step;
    let (mut next_bar, mut run) = (0, 0);
    let mut slot = first;
    while slot <= last {
        let day = day_of(slot);
        let day_end = ((day + 1) * NANOS_PER_DAY).min(last + 1);
        if weekday(day) >= 5 {
            slot = day_end + phase;
            continue;
        }
        while slot < day_end {
            gaps.expected_bars += 1;
            while time_ns[next_bar] < slot {
                next_bar += 1;
            }
            if time_ns[next_bar] == slot {
                run = 0;
            } else {
                gaps.missing_bars += 1;
                gaps.gap_count += usize::from(run == 0);
                run += 1;
                gaps.largest_gap_bars = gaps.largest_gap_bars.max(run);
            }
            slot += step;
        }
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::parse_date;

    const H: i64 = 3_600_000_000_000;

    #[test]
    fn counts_missing_runs_and_skips_weekends() {
        // 2025-01-03 is a Friday: Fri 22:00, 23:00, then Mon 00:00 .. with Mon 02:00-03:00 missing.
        let fri = parse_date("2025-01-03").unwrap();
        let mon = parse_date("2025-01-06").unwrap();
        let times = [fri + 22 * H, fri + 23 * H, mon, mon + H, mon + 4 * H, mon + 6 * H];
        let g = fx_weekday_gaps(&times, Timeframe::H1);
        assert_eq!((g.expected_bars, g.missing_bars, g.gap_count, g.largest_gap_bars), (9, 3, 2, 2));
    }

    #[test]
    fn weekend_bars_are_present_but_not_expected() {
        let sun = parse_date("2025-01-05").unwrap();
        let times = [sun + 22 * H, sun + 23 * H, sun + 24 * H];
        let g = fx_weekday_gaps(&times, Timeframe::H1);
        assert_eq!((g.expected_bars, g.missing_bars, g.gap_count), (1, 0, 0));
    }
}
