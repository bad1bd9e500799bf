//! Scalar Kalman filter (random-walk level) and its residual z-score.

use super::zscore::zscore_by;

/// Kalman level estimate and the z-score of the residual `values - mean`; both of the input's length.
#[derive(Clone, Debug, PartialEq)]
pub struct Kalman {
    pub mean: Vec<f64>,
    pub z: Vec<f64>,
}

/// Random-walk Kalman filter with measurement noise `r` and process noise `q`:
///
/// `x[0] = values[0]`, `P[0] = r`; for `t >= 1`: `P_pred = P[t-1] + q`, `K = P_pred / (P_pred + r)`,
/// `x[t] = x[t-1] + K * (values[t] - x[t-1])`, `P[t] = (1 - K) * P_pred`. `mean = x` (defined from 0).
///
/// Kalman-Z: `e[t] = values[t] - x[t]`, `z = residual_zscore(e, window)` (same NaN rules), computed
/// without materialising `e`.
///
/// Requires finite `r > 0` and `q >= 0` and `window >= 1` (callers validate; debug builds assert,
/// release returns all NaN). Inputs are expected finite; a NaN input makes every later mean NaN.
pub fn kalman(values: &[f64], r: f64, q: f64, window: usize) -> Kalman {
    let valid = r.is_finite() && r > 0.0 && q.is_finite() && q >= 0.0;
    debug_assert!(valid, "kalman needs finite r > 0 and q >= 0, got r={r} q={q}");
    if !valid {
        let nan = vec![f64::NAN; values.len()];
        return Kalman { mean: nan.clone(), z: nan };
    }
    let mean = filter(values, r, q);
    let z = zscore_by(values.len(), window, |t| values[t] - mean[t]);
    Kalman { mean, z }
}

fn filter(values: &[f64], r: f64, q: f64) -> Vec<f64> {
    let Some((&first, rest)) = values.split_first() else { return Vec::new() };
    let (mut x, mut p, mut gain) = (first, r, f64::NAN);
    // P does not depend on the data; once it repeats bit for bit, every later K is the same bits, so
    // skipping its update is exact and takes the division off the per-bar dependency chain.
    let mut steady = false;
    let step = |&v: &f64| {
        if !steady {
            let p_pred = p + q;
            gain = p_pred / (p_pred + r);
            let next = (1.0 - gain) * p_pred;
            steady = next == p;
            p = next;
        }
        x += gain * (v - x);
        x
    };
    // collect (not push) keeps x in a register: no possible reallocation call inside the loop.
    std::iter::once(first).chain(rest.iter().map(step)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::residual_zscore;
    use crate::indicators::test_util::{assert_nan_prefix, assert_rel_close, random_walk};

    #[test]
    fn hand_example_r1_q01() {
        // values [0, 2.1, 4.51], r = 1, q = 0.1
        // t=0: x = 0, P = r = 1
        // t=1: P_pred = 1 + 0.1 = 1.1; K = 1.1 / 2.1 = 11/21
        //      x = 0 + 11/21 * (2.1 - 0) = 1.1;  P = (10/21) * 1.1 = 11/21
        // t=2: P_pred = 11/21 + 0.1 = 13.1/21; K = (13.1/21) / (34.1/21) = 131/341
        //      x = 1.1 + 131/341 * (4.51 - 1.1) = 1.1 + 131/341 * 3.41 = 1.1 + 1.31 = 2.41
        // residuals e = [0, 2.1 - 1.1, 4.51 - 2.41] = [0, 1, 2.1]; window 3 at t=2:
        //      mean 3.1/3, m2 = sum e² - (sum e)²/3 = 5.41 - 9.61/3 = 6.62/3, sample var 3.31/3
        //      z = 2.1 / sqrt(3.31/3)
        let k = kalman(&[0.0, 2.1, 4.51], 1.0, 0.1, 3);
        assert_eq!(k.mean[0], 0.0);
        assert_rel_close(k.mean[1], 1.1, 1e-14);
        assert_rel_close(k.mean[2], 2.41, 1e-14);
        assert_nan_prefix(&k.z, 2);
        assert_rel_close(k.z[2], 2.1 / (3.31f64 / 3.0).sqrt(), 1e-12);
    }

    #[test]
    fn constant_input_has_flat_mean_and_undefined_z() {
        // x stays at the first value; residuals are all 0, so s = 0 and z is NaN everywhere.
        let k = kalman(&[1.1; 10], 1.0, 0.1, 3);
        assert_eq!(k.mean, [1.1; 10]);
        assert!(k.z.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn steady_state_shortcut_is_bit_identical_to_the_full_recursion() {
        // (r, q) pairs whose P reaches a fixed point quickly, slowly, and never (q = 0: P -> 0 like 1/t).
        let values = random_walk(20_000, 8);
        for (r, q) in [(1.0, 0.1), (1.0, 1e-5), (0.5, 2.0), (1.0, 0.0)] {
            let (mut x, mut p) = (values[0], r);
            let full: Vec<f64> = std::iter::once(x)
                .chain(values[1..].iter().map(|&v| {
                    let p_pred = p + q;
                    let k = p_pred / (p_pred + r);
                    x += k * (v - x);
                    p = (1.0 - k) * p_pred;
                    x
                }))
                .collect();
            let mean = kalman(&values, r, q, 20).mean;
            assert!(mean.iter().zip(&full).all(|(a, b)| a.to_bits() == b.to_bits()), "r={r} q={q}");
        }
    }

    #[test]
    fn empty_input() {
        let k = kalman(&[], 1.0, 0.1, 20);
        assert!(k.mean.is_empty() && k.z.is_empty());
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "kalman needs finite r > 0"))]
    fn invalid_noise_is_all_nan_in_release() {
        let k = kalman(&[1.0, 2.0], 0.0, 0.1, 2);
        assert!(k.mean.iter().chain(&k.z).all(|v| v.is_nan()));
    }

    #[test]
    fn z_equals_residual_zscore_of_materialised_residuals() {
        let values = random_walk(100_000, 6);
        let k = kalman(&values, 1.0, 0.1, 20);
        let e: Vec<f64> = values.iter().zip(&k.mean).map(|(v, x)| v - x).collect();
        assert_nan_prefix(&k.z, 19);
        let expected = residual_zscore(&e, 20);
        assert!(k.z.iter().zip(&expected).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}
