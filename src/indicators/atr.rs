//! True range and Wilder's average true range.

/// `TR[0] = high - low`; `TR[t] = max(high - low, |high - close[t-1]|, |low - close[t-1]|)`.
///
/// # Panics
/// If the three slices differ in length (a caller bug, never a data condition).
pub fn true_range(high: &[f64], low: &[f64], close: &[f64]) -> Vec<f64> {
    check_lengths(high, low, close);
    (0..close.len()).map(|t| tr_at(high, low, close, t)).collect()
}

/// Wilder ATR: NaN before index `length - 1`; `ATR[length-1]` = mean of `TR[0..length]`; then
/// `ATR[t] = (ATR[t-1] * (length - 1) + TR[t]) / length`. All NaN if the input is shorter than `length`.
///
/// `length` must be >= 1 (callers validate; debug builds assert, release returns all NaN).
/// Inputs are expected finite; a NaN bar makes every later value NaN.
///
/// # Panics
/// If the three slices differ in length (a caller bug, never a data condition).
pub fn wilder_atr(high: &[f64], low: &[f64], close: &[f64], length: usize) -> Vec<f64> {
    debug_assert!(length >= 1, "atr length must be >= 1");
    check_lengths(high, low, close);
    let len = close.len();
    let mut out = vec![f64::NAN; len];
    if length == 0 || len < length {
        return out;
    }
    let n = length as f64;
    let mut atr = (0..length).map(|t| tr_at(high, low, close, t)).sum::<f64>() / n;
    out[length - 1] = atr;
    for (t, slot) in out.iter_mut().enumerate().skip(length) {
        atr = (atr * (n - 1.0) + tr_at(high, low, close, t)) / n;
        *slot = atr;
    }
    out
}

fn check_lengths(high: &[f64], low: &[f64], close: &[f64]) {
    assert!(high.len() == close.len() && low.len() == close.len(), "high/low/close lengths differ");
}

/// True range of bar `t`, computed in place so the ATR needs no TR buffer.
fn tr_at(high: &[f64], low: &[f64], close: &[f64], t: usize) -> f64 {
    let range = high[t] - low[t];
    match t.checked_sub(1).map(|p| close[p]) {
        Some(prev) => range.max((high[t] - prev).abs()).max((low[t] - prev).abs()),
        None => range,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::test_util::{assert_nan_prefix, assert_rel_close, random_bars};

    // bar  high  low  close | high-low  |high-prevC|  |low-prevC|  -> TR
    //  0    10    8    9    |   2           -            -          2
    //  1    15   13   14    |   2         6 (gap up)     4          6   |high - prev close| wins
    //  2    14   11   12    |   3           0            3          3
    //  3     8    7    7.5  |   1           4          5 (gap dn)   5   |low - prev close| wins
    //  4     9    7    8    |   2          1.5          0.5         2
    //  5     8.5  8    8.25 |   0.5        0.5           0          0.5
    const HIGH: [f64; 6] = [10.0, 15.0, 14.0, 8.0, 9.0, 8.5];
    const LOW: [f64; 6] = [8.0, 13.0, 11.0, 7.0, 7.0, 8.0];
    const CLOSE: [f64; 6] = [9.0, 14.0, 12.0, 7.5, 8.0, 8.25];

    #[test]
    fn true_range_hand_example_with_gaps() {
        assert_eq!(true_range(&HIGH, &LOW, &CLOSE), [2.0, 6.0, 3.0, 5.0, 2.0, 0.5]);
    }

    #[test]
    fn wilder_atr_hand_example_length_3() {
        // ATR[2] = (2 + 6 + 3) / 3              = 11/3
        // ATR[3] = (11/3 * 2 + 5) / 3  = (22/3 + 15/3) / 3   = 37/9
        // ATR[4] = (37/9 * 2 + 2) / 3  = (74/9 + 18/9) / 3   = 92/27
        // ATR[5] = (92/27 * 2 + 0.5) / 3 = (184/27 + 13.5/27) / 3 = 197.5/81 = 395/162
        let atr = wilder_atr(&HIGH, &LOW, &CLOSE, 3);
        assert_nan_prefix(&atr, 2);
        for (got, want) in atr[2..].iter().zip([11.0 / 3.0, 37.0 / 9.0, 92.0 / 27.0, 395.0 / 162.0]) {
            assert_rel_close(*got, want, 1e-14);
        }
    }

    #[test]
    fn length_1_is_true_range_and_short_input_is_all_nan() {
        assert_eq!(wilder_atr(&HIGH, &LOW, &CLOSE, 1), true_range(&HIGH, &LOW, &CLOSE));
        // length 6 = input length: only the seed exists, (2+6+3+5+2+0.5)/6 = 18.5/6.
        assert_rel_close(wilder_atr(&HIGH, &LOW, &CLOSE, 6)[5], 18.5 / 6.0, 1e-15);
        assert!(wilder_atr(&HIGH, &LOW, &CLOSE, 7).iter().all(|v| v.is_nan()));
        assert!(true_range(&[], &[], &[]).is_empty());
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "length must be >= 1"))]
    fn length_0_is_all_nan_in_release() {
        assert!(wilder_atr(&HIGH, &LOW, &CLOSE, 0).iter().all(|v| v.is_nan()));
    }

    #[test]
    #[should_panic(expected = "lengths differ")]
    fn mismatched_lengths_panic() {
        true_range(&HIGH, &LOW[..5], &CLOSE);
    }

    #[test]
    fn wilder_smoothing_invariants_on_100k_bars() {
        // Independent check of the recursion: Wilder's ATR is the seed mean followed by an EMA with
        // alpha = 1/length, i.e. a convex combination of past TRs, so it stays within their range.
        let (high, low, close) = random_bars(100_000, 5);
        let tr = true_range(&high, &low, &close);
        assert!(tr.iter().skip(1).zip(&high[1..]).zip(&low[1..]).any(|((t, h), l)| *t > h - l));
        for length in [1, 14, 200] {
            let atr = wilder_atr(&high, &low, &close, length);
            assert_nan_prefix(&atr, length - 1);
            assert_rel_close(atr[length - 1], tr[..length].iter().sum::<f64>() / length as f64, 1e-14);
            let alpha = 1.0 / length as f64;
            let (mut lo, mut hi, mut expected) = (f64::MAX, f64::MIN, atr[length - 1]);
            for t in 0..tr.len() {
                (lo, hi) = (lo.min(tr[t]), hi.max(tr[t]));
                if t >= length {
                    expected += alpha * (tr[t] - expected);
                    assert_rel_close(atr[t], expected, 1e-9);
                }
                if t + 1 >= length {
                    assert!(lo * (1.0 - 1e-12) <= atr[t] && atr[t] <= hi * (1.0 + 1e-12), "t={t}");
                }
            }
        }
    }
}
