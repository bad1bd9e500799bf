//! Bollinger bands.

use super::rolling::rolling_moments;

/// Bollinger bands; every vector has the input's length.
#[derive(Clone, Debug, PartialEq)]
pub struct Bands {
    pub mid: Vec<f64>,
    pub upper: Vec<f64>,
    pub lower: Vec<f64>,
}

/// `mid = SMA(length)`, `upper/lower = mid ± std_factor * std`, with `std` the POPULATION standard
/// deviation (divide by `length`) of the same window. NaN where the SMA is NaN (see [`super::sma`]).
///
/// `length` must be >= 1 (callers validate; debug builds assert, release returns all NaN).
pub fn bollinger(values: &[f64], length: usize, std_factor: f64) -> Bands {
    debug_assert!(length >= 1, "bollinger length must be >= 1");
    let nan = || vec![f64::NAN; values.len()];
    let mut bands = Bands { mid: nan(), upper: nan(), lower: nan() };
    let inv_n = 1.0 / length as f64;
    rolling_moments(
        values.len(),
        length,
        |i| values[i],
        |t, m| {
            let width = std_factor * (m.m2 * inv_n).sqrt();
            bands.mid[t] = m.mean;
            bands.upper[t] = m.mean + width;
            bands.lower[t] = m.mean - width;
        },
    );
    bands
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::test_util::{assert_nan_prefix, assert_rel_close, naive_window, random_walk};

    #[test]
    fn textbook_population_std_of_2() {
        // [2,4,4,4,5,5,7,9]: mean 40/8 = 5; squared deviations 9,1,1,1,0,0,4,16 sum to 32;
        // population variance 32/8 = 4 -> std 2; factor 2 -> bands 5 ± 4 = 9 and 1.
        let b = bollinger(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], 8, 2.0);
        assert_nan_prefix(&b.mid, 7);
        assert_nan_prefix(&b.upper, 7);
        assert_nan_prefix(&b.lower, 7);
        assert_eq!((b.mid[7], b.upper[7], b.lower[7]), (5.0, 9.0, 1.0));
    }

    #[test]
    fn sliding_window_length_2() {
        // t=1: [1,3] mean 2, pop var ((-1)² + 1²)/2 = 1, std 1 -> 2 ± 1.5 = 3.5 / 0.5
        // t=2: [3,3] mean 3, std 0 -> bands collapse onto 3
        // t=3: [3,7] mean 5, pop var (4 + 4)/2 = 4, std 2 -> 5 ± 3 = 8 / 2
        let b = bollinger(&[1.0, 3.0, 3.0, 7.0], 2, 1.5);
        assert_eq!(b.mid[1..], [2.0, 3.0, 5.0]);
        assert_eq!(b.upper[1..], [3.5, 3.0, 8.0]);
        assert_eq!(b.lower[1..], [0.5, 3.0, 2.0]);
    }

    #[test]
    fn short_input_is_all_nan() {
        let b = bollinger(&[1.0, 2.0], 3, 2.0);
        assert!(b.mid.iter().chain(&b.upper).chain(&b.lower).all(|v| v.is_nan()));
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "length must be >= 1"))]
    fn length_0_is_all_nan_in_release() {
        assert!(bollinger(&[1.0, 2.0], 0, 2.0).mid.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn matches_naive_recomputation_on_100k_random_walk() {
        let values = random_walk(100_000, 2);
        for length in [2, 20, 377] {
            let b = bollinger(&values, length, 2.0);
            assert_nan_prefix(&b.upper, length - 1);
            assert_nan_prefix(&b.lower, length - 1);
            for t in (length - 1..values.len()).step_by(3) {
                let (mean, m2) = naive_window(&values[t + 1 - length..=t]);
                let std = (m2 / length as f64).sqrt();
                assert_rel_close(b.mid[t], mean, 1e-12);
                // Compare the band half-width, not the band (which is ~1.1 and would hide std errors).
                assert_rel_close(b.upper[t] - b.mid[t], 2.0 * std, 1e-9);
                assert_rel_close(b.mid[t] - b.lower[t], 2.0 * std, 1e-9);
            }
        }
    }
}
