//! Simple moving average.

use super::rolling::rolling_moments;

/// Mean of the last `length` values (t included): NaN before index `length - 1`, and NaN for every
/// window that contains a non-finite value.
///
/// `length` must be >= 1 (callers validate; debug builds assert, release returns all NaN).
pub fn sma(values: &[f64], length: usize) -> Vec<f64> {
    debug_assert!(length >= 1, "sma length must be >= 1");
    let mut out = vec![f64::NAN; values.len()];
    rolling_moments(values.len(), length, |i| values[i], |t, m| out[t] = m.mean);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::test_util::{assert_nan_prefix, assert_rel_close, naive_window, random_walk};

    #[test]
    fn hand_example_length_3() {
        // t=2: (1 + 2 + 3) / 3 = 2;  t=3: (2 + 3 + 7) / 3 = 4;  t=4: (3 + 7 + 2) / 3 = 4
        let out = sma(&[1.0, 2.0, 3.0, 7.0, 2.0], 3);
        assert_nan_prefix(&out, 2);
        assert_eq!(out[2..], [2.0, 4.0, 4.0]);
    }

    #[test]
    fn length_1_is_identity_and_short_input_is_all_nan() {
        assert_eq!(sma(&[0.1, 0.7, 0.3], 1), [0.1, 0.7, 0.3]);
        assert!(sma(&[1.0, 2.0], 3).iter().all(|v| v.is_nan()));
        assert!(sma(&[], 3).is_empty());
    }

    #[test]
    fn nan_input_hides_only_its_windows() {
        // length 2: windows [1,NaN] and [NaN,3] are undefined; [3,5] -> 4 again.
        let out = sma(&[1.0, f64::NAN, 3.0, 5.0], 2);
        assert!(out[..3].iter().all(|v| v.is_nan()));
        assert_eq!(out[3], 4.0);
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "length must be >= 1"))]
    fn length_0_is_all_nan_in_release() {
        assert!(sma(&[1.0, 2.0], 0).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn matches_naive_recomputation_on_100k_random_walk() {
        let values = random_walk(100_000, 1);
        for length in [1, 2, 20, 50, 1_000] {
            let out = sma(&values, length);
            assert_nan_prefix(&out, length - 1);
            for t in (length - 1..values.len()).step_by(3) {
                assert_rel_close(out[t], naive_window(&values[t + 1 - length..=t]).0, 1e-12);
            }
        }
    }
}
