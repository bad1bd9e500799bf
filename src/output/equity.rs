//! `equity.csv`: one row per primary bar (or per UTC day with `outputs.equity = "daily"`),
//! written with zmij/itoa (the file has a row per bar,
//! so formatting cost matters; zmij is serde_json's shortest round-trip float formatter, so
//! the CSV and the JSON artefacts print floats alike). Drawdown is the ratio to the high water,
//! as in the metrics.

use std::io::{self, Write};

use crate::metrics::drawdowns;
use crate::timefmt::{day_of, write_iso, NANOS_PER_DAY};

pub const HEADER: &str = "timestamp,timestamp_ns,equity,balance,drawdown,high_water\n";

/// Rows between two polls of `cancelled` (long files must stay interruptible).
const CANCEL_CHECK_ROWS: usize = 65_536;

/// Writes the rows `daily` selects (every bar, or the last bar of each UTC day), with high water
/// and drawdown over every bar either way; stops early with `ErrorKind::Interrupted` when
/// `cancelled` says so.
pub fn write_equity<W: Write>(
    w: &mut W,
    time_ns: &[i64],
    equity: &[f64],
    balance: &[f64],
    initial_balance: f64,
    daily: bool,
    cancelled: &dyn Fn() -> bool,
) -> io::Result<()> {
    w.write_all(HEADER.as_bytes())?;
    let mut floats = zmij::Buffer::new();
    let mut cells: [FloatCell; 4] = Default::default();
    let mut ints = itoa::Buffer::new();
    let mut stamp = DayCachedIso::default();
    for (i, (hwm, dd)) in drawdowns(equity, initial_balance).enumerate() {
        if i % CANCEL_CHECK_ROWS == CANCEL_CHECK_ROWS - 1 && cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "run cancelled"));
        }
        if daily && time_ns.get(i + 1).is_some_and(|&next| day_of(next) == day_of(time_ns[i])) {
            continue;
        }
        w.write_all(stamp.format(time_ns[i]))?;
        w.write_all(b",")?;
        w.write_all(ints.format(time_ns[i]).as_bytes())?;
        let ratio = if hwm > 0.0 { dd / hwm } else { 0.0 };
        for (cell, x) in cells.iter_mut().zip([equity[i], balance[i], ratio, hwm]) {
            w.write_all(b",")?;
            w.write_all(cell.format(x, &mut floats))?;
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// A float column's last value and its text. Rows repeat most values (the balance between
/// fills, the high water between new highs, all four while flat or after a stop-out), so a
/// value with the same bits as the row before is copied instead of formatted again.
#[derive(Default)]
struct FloatCell {
    bits: Option<u64>,
    text: Vec<u8>,
}

impl FloatCell {
    fn format(&mut self, x: f64, buf: &mut zmij::Buffer) -> &[u8] {
        if self.bits != Some(x.to_bits()) {
            self.bits = Some(x.to_bits());
            self.text.clear();
            self.text.extend_from_slice(buf.format(x).as_bytes());
        }
        &self.text
    }
}

/// ISO-8601 formatting that reuses the date part while the day does not change.
#[derive(Default)]
struct DayCachedIso {
    day: Option<i64>,
    text: Vec<u8>,
}

impl DayCachedIso {
    fn format(&mut self, ns: i64) -> &[u8] {
        let day = ns.div_euclid(NANOS_PER_DAY);
        let rem = ns.rem_euclid(NANOS_PER_DAY);
        if self.day != Some(day) || rem % 1_000_000_000 != 0 {
            let mut text = String::with_capacity(32);
            write_iso(&mut text, ns);
            self.text = text.into_bytes();
            self.day = (rem % 1_000_000_000 == 0).then_some(day);
            return &self.text;
        }
        // "YYYY-MM-DDTHH:MM:SSZ": rewrite the time digits in place.
        let secs = rem / 1_000_000_000;
        let digits = [secs / 3600, secs / 60 % 60, secs % 60];
        for (k, v) in digits.iter().enumerate() {
            self.text[11 + 3 * k] = b'0' + (v / 10) as u8;
            self.text[12 + 3 * k] = b'0' + (v % 10) as u8;
        }
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::format_iso;

    #[test]
    fn cached_timestamps_match_the_plain_formatter() {
        let mut c = DayCachedIso::default();
        let base = 1_735_689_600_000_000_000i64; // 2025-01-01
        for ns in [
            base,
            base + 60_000_000_000,
            base + 86_340_000_000_000,
            base + NANOS_PER_DAY,
            base + NANOS_PER_DAY + 1,
            base + 3 * NANOS_PER_DAY + 3_723_000_000_000,
        ] {
            assert_eq!(c.format(ns), format_iso(ns).as_bytes());
        }
    }

    #[test]
    fn a_cell_formats_anew_whenever_the_bits_change() {
        let (mut cell, mut buf) = (FloatCell::default(), zmij::Buffer::new());
        for x in [0.0, 0.0, -0.0, 1.5, 1.5, 0.1 + 0.2, f64::MIN_POSITIVE, 0.0] {
            assert_eq!(cell.format(x, &mut buf), zmij::Buffer::new().format(x).as_bytes(), "{x:?}");
        }
    }

    #[test]
    fn rows_with_drawdown_and_high_water() {
        let mut out = Vec::new();
        let t = [0, 60_000_000_000, 120_000_000_000];
        write_equity(&mut out, &t, &[100.0, 110.0, 99.0], &[100.0, 100.0, 99.0], 100.0, false, &|| false).unwrap();
        let text = String::from_utf8(out).unwrap();
        // bar 2: hwm 110, dd 11 -> 0.1
        assert_eq!(
            text,
            "timestamp,timestamp_ns,equity,balance,drawdown,high_water\n\
             1970-01-01T00:00:00Z,0,100.0,100.0,0.0,100.0\n\
             1970-01-01T00:01:00Z,60000000000,110.0,100.0,0.0,110.0\n\
             1970-01-01T00:02:00Z,120000000000,99.0,99.0,0.1,110.0\n"
        );
    }

    #[test]
    fn daily_rows_are_each_days_last_bar_with_the_high_water_of_every_bar() {
        let (day, hour) = (NANOS_PER_DAY, 3_600_000_000_000);
        // day 0: 100, 120 (high water), 90; day 1: 95, 110 -> rows of bars 2 and 4
        let t = [0, hour, 2 * hour, day, day + hour];
        let mut out = Vec::new();
        write_equity(&mut out, &t, &[100.0, 120.0, 90.0, 95.0, 110.0], &[100.0; 5], 100.0, true, &|| false).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "timestamp,timestamp_ns,equity,balance,drawdown,high_water\n\
             1970-01-01T02:00:00Z,7200000000000,90.0,100.0,0.25,120.0\n\
             1970-01-02T01:00:00Z,90000000000000,110.0,100.0,0.08333333333333333,120.0\n"
        );
    }
}
