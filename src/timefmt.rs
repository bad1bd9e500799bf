//! UTC time conversions without a calendar crate: civil dates <-> days since the epoch
//! (H. Hinnant's algorithms), ISO-8601 formatting and the timestamp forms the data files use.
//! Hand-written because they sit on the CSV hot path and must be allocation-free.

pub const NANOS_PER_SEC: i64 = 1_000_000_000;
pub const NANOS_PER_MINUTE: i64 = 60 * NANOS_PER_SEC;
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SEC;

/// Now, in ns since the Unix epoch (UTC); 0 on a clock before 1970.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Day index (days since the epoch) of a UTC timestamp in ns.
pub fn day_of(ns: i64) -> i64 {
    ns.div_euclid(NANOS_PER_DAY)
}

/// Weekday of a day index: 0 = Monday ... 6 = Sunday.
pub fn weekday(day: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    ((day + 3).rem_euclid(7)) as u32
}

/// Minute of the UTC day (0..1440) of a timestamp in ns.
pub fn minute_of_day(ns: i64) -> u32 {
    (ns.rem_euclid(NANOS_PER_DAY) / NANOS_PER_MINUTE) as u32
}

/// `YYYY-MM-DDTHH:MM:SSZ`, with `.fffffffff` fractional seconds only when non-zero.
pub fn format_iso(ns: i64) -> String {
    let mut s = String::with_capacity(30);
    write_iso(&mut s, ns);
    s
}

/// Appends the ISO-8601 UTC form of `ns` to `out` (used by writers to avoid allocations).
pub fn write_iso(out: &mut String, ns: i64) {
    use std::fmt::Write;
    let day = day_of(ns);
    let rem = ns - day * NANOS_PER_DAY;
    let (y, m, d) = civil_from_days(day);
    let secs = rem / NANOS_PER_SEC;
    let frac = rem % NANOS_PER_SEC;
    let _ = write!(out, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('Z');
}

/// Parses `YYYY-MM-DD` into the ns timestamp of that day's midnight UTC.
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y = digits(&b[0..4])? as i64;
    let m = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    // i64 nanoseconds since the epoch cover 1677-09-21 .. 2262-04-11; stay inside whole years.
    if !(1678..=2261).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) * NANOS_PER_DAY)
}

/// Why a timestamp string was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampError {
    Malformed,
    /// Well-formed but without a UTC offset: the engine never guesses a time zone.
    MissingOffset,
}

/// Parses `YYYY-MM-DD HH:MM:SS[.fff][+HH:MM|-HH:MM|Z]` (space or `T`) into UTC ns.
pub fn parse_timestamp(s: &str) -> Result<i64, TimestampError> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || (b[10] != b' ' && b[10] != b'T') || b[13] != b':' || b[16] != b':' {
        return Err(TimestampError::Malformed);
    }
    let day = parse_date(std::str::from_utf8(&b[..10]).map_err(|_| TimestampError::Malformed)?)
        .ok_or(TimestampError::Malformed)?;
    let hh = digits(&b[11..13]).ok_or(TimestampError::Malformed)? as i64;
    let mm = digits(&b[14..16]).ok_or(TimestampError::Malformed)? as i64;
    let ss = digits(&b[17..19]).ok_or(TimestampError::Malformed)? as i64;
    if hh > 23 || mm > 59 || ss > 60 {
        return Err(TimestampError::Malformed);
    }
    let mut i = 19;
    let mut frac_ns = 0i64;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                frac_ns = frac_ns * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err(TimestampError::Malformed);
        }
        for _ in (i - start)..9 {
            frac_ns *= 10;
        }
    }
    let offset_secs = match &b[i..] {
        [] => return Err(TimestampError::MissingOffset),
        [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let h = digits(&[*h1, *h2]).ok_or(TimestampError::Malformed)? as i64;
            let m = digits(&[*m1, *m2]).ok_or(TimestampError::Malformed)? as i64;
            let secs = h * 3600 + m * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return Err(TimestampError::Malformed),
    };
    Ok(day + (hh * 3600 + mm * 60 + ss - offset_secs) * NANOS_PER_SEC + frac_ns)
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_and_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        for z in [-1000, 0, 59, 60, 11_016, 19_782, 40_000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        // 2025-01-01 was a Wednesday.
        assert_eq!(weekday(days_from_civil(2025, 1, 1)), 2);
    }

    #[test]
    fn parses_the_data_file_forms() {
        let base = parse_date("2025-01-01").unwrap();
        assert_eq!(base, 1_735_689_600 * NANOS_PER_SEC);
        assert_eq!(parse_timestamp("2025-01-01 00:00:00+00:00"), Ok(base));
        assert_eq!(parse_timestamp("2025-01-01T00:00:00Z"), Ok(base));
        assert_eq!(parse_timestamp("2025-01-01T02:30:00+02:30"), Ok(base));
        assert_eq!(parse_timestamp("2024-12-31T23:00:00-01:00"), Ok(base));
        assert_eq!(parse_timestamp("2025-01-01T00:00:00.5Z"), Ok(base + 500_000_000));
        assert_eq!(parse_timestamp("2025-01-01 00:00:00"), Err(TimestampError::MissingOffset));
        assert_eq!(parse_timestamp("2025-13-01 00:00:00Z"), Err(TimestampError::Malformed));
        assert_eq!(parse_timestamp("garbage"), Err(TimestampError::Malformed));
        assert_eq!(parse_date("2025-02-29"), None);
        // outside the i64-nanosecond range: rejected, never wrapped
        assert_eq!(parse_date("2263-01-01"), None);
        assert_eq!(parse_timestamp("9999-12-31T23:59:59Z"), Err(TimestampError::Malformed));
        assert_eq!(parse_date("2024-02-29"), Some(days_from_civil(2024, 2, 29) * NANOS_PER_DAY));
    }

    #[test]
    fn formats_iso() {
        assert_eq!(format_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso(1_735_689_600 * NANOS_PER_SEC + 61 * NANOS_PER_SEC), "2025-01-01T00:01:01Z");
        assert_eq!(format_iso(1_500_000), "1970-01-01T00:00:00.0015Z");
        assert_eq!(format_iso(-NANOS_PER_SEC), "1969-12-31T23:59:59Z");
    }
}
