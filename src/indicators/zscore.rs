//! Rolling z-score of residuals (not de-meaned: `z = r / s`).

use super::rolling::rolling_moments;

/// `z[t] = r[t] / s[t]`, with `s[t]` the SAMPLE standard deviation (divide by `window - 1`) of the last
/// `window` residuals, t included.
///
/// NaN before index `window - 1`, for every window containing a non-finite residual, and where
/// `s[t] = 0`. Zero is decided without an epsilon: a window whose values are all equal is detected
/// exactly and gives NaN, so a flat window never turns rounding noise into a huge z; any other window
/// has a true `s > 0` and keeps its (possibly large) z, unless rounding clamps its sum of squares to 0
/// (then NaN too). `window = 1` is all NaN (no sample std of one
/// value). `window` must be >= 1 (callers validate; debug builds assert, release returns all NaN).
pub fn residual_zscore(residuals: &[f64], window: usize) -> Vec<f64> {
    zscore_by(residuals.len(), window, |t| residuals[t])
}

/// [`residual_zscore`] over residuals given by index, so derived residuals (Kalman) need no buffer.
pub(crate) fn zscore_by(len: usize, window: usize, residual: impl Fn(usize) -> f64) -> Vec<f64> {
    debug_assert!(window >= 1, "z-score window must be >= 1");
    let mut out = vec![f64::NAN; len];
    if window < 2 {
        return out;
    }
    let inv_dof = 1.0 / (window - 1) as f64;
    // m2 is 0 only for a flat window (or a clamped rounding residue): NaN there, like undefined windows.
    rolling_moments(len, window, &residual, |t, m| out[t] = if m.m2 > 0.0 { m.m2 } else { f64::NAN });
    // Separate branch-free pass so the sqrt and division pipeline instead of stalling the rolling loop.
    // NaN sums of squares stay NaN.
    for (t, z) in out.iter_mut().enumerate().skip(window - 1) {
        *z = residual(t) / (*z * inv_dof).sqrt();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::ema;
    use crate::indicators::test_util::{assert_nan_prefix, assert_rel_close, naive_window, random_walk};

    #[test]
    fn hand_example_window_3() {
        // t=2: [1,2,3] mean 2, squared deviations 1+0+1 = 2, sample var 2/2 = 1, s = 1 -> z = 3/1 = 3
        // t=3: [2,3,6] mean 11/3, deviations -5/3,-2/3,7/3, squares (25+4+49)/9 = 78/9,
        //      sample var 78/18 = 13/3, s = sqrt(13/3) ≈ 2.0817 -> z = 6/sqrt(13/3) ≈ 2.8823
        let z = residual_zscore(&[1.0, 2.0, 3.0, 6.0], 3);
        assert_nan_prefix(&z, 2);
        assert_eq!(z[2], 3.0);
        assert_rel_close(z[3], 6.0 / (13.0f64 / 3.0).sqrt(), 1e-14);
    }

    #[test]
    fn zero_std_is_nan() {
        // [5,5,5] and [5,5,5] have s = 0 -> NaN. t=4: [5,5,1] mean 11/3, deviations 4/3,4/3,-8/3,
        // squares (16+16+64)/9 = 96/9, sample var 48/9 = 16/3, s = 4/sqrt(3) -> z = 1/(4/sqrt 3) = sqrt(3)/4.
        let z = residual_zscore(&[5.0, 5.0, 5.0, 5.0, 1.0], 3);
        assert!(z[..4].iter().all(|v| v.is_nan()));
        assert_rel_close(z[4], 3f64.sqrt() / 4.0, 1e-14);
        // Flat after spread, with an unrepresentable value: still exactly NaN, not rounding noise.
        let z = residual_zscore(&[0.3, -0.7, 0.1, 0.1, 0.1, 0.1], 3);
        assert!(z[4].is_nan() && z[5].is_nan(), "{z:?}");
    }

    #[test]
    fn nan_in_window_is_nan() {
        // window 2: [1,NaN] and [NaN,2] undefined; t=3: [2,3] mean 2.5, sample var (0.25+0.25)/1 = 0.5,
        // s = sqrt(0.5) -> z = 3/sqrt(0.5) = 3*sqrt(2).
        let z = residual_zscore(&[1.0, f64::NAN, 2.0, 3.0], 2);
        assert!(z[..3].iter().all(|v| v.is_nan()));
        assert_rel_close(z[3], 3.0 * 2f64.sqrt(), 1e-14);
    }

    #[test]
    fn window_1_and_short_input_are_all_nan() {
        assert!(residual_zscore(&[1.0, 2.0, 3.0], 1).iter().all(|v| v.is_nan()));
        assert!(residual_zscore(&[1.0, 2.0], 3).iter().all(|v| v.is_nan()));
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "window must be >= 1"))]
    fn window_0_is_all_nan_in_release() {
        assert!(residual_zscore(&[1.0, 2.0], 0).iter().all(|v| v.is_nan()));
    }

    /// Naive O(window) sample-std z-score at index t.
    fn naive_z(r: &[f64], t: usize, window: usize) -> f64 {
        let (_, m2) = naive_window(&r[t + 1 - window..=t]);
        r[t] / (m2 / (window - 1) as f64).sqrt()
    }

    #[test]
    fn mrz_residuals_match_naive_recomputation_on_100k_random_walk() {
        // The scenario-1 composition: r = close - EMA(close), z = residual_zscore(r, window).
        let close = random_walk(100_000, 3);
        let r: Vec<f64> = close.iter().zip(ema(&close, 20)).map(|(c, e)| c - e).collect();
        for window in [2, 20, 500] {
            let z = residual_zscore(&r, window);
            assert_nan_prefix(&z, window - 1);
            for t in (window - 1..r.len()).step_by(3) {
                assert_rel_close(z[t], naive_z(&r, t, window), 1e-9);
            }
        }
    }

    #[test]
    fn raw_prices_match_naive_recomputation() {
        // Not de-meaned and ~1.1 over a pip-sized spread: z ~ 1e4, a stress test for cancellation.
        let close = random_walk(100_000, 4);
        let z = residual_zscore(&close, 20);
        assert_nan_prefix(&z, 19);
        for t in (19..close.len()).step_by(3) {
            assert_rel_close(z[t], naive_z(&close, t, 20), 1e-9);
        }
    }
}
