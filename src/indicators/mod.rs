//! Technical indicators of the built-in strategies (docs/strategies.md), each computed once over a whole series in O(1) work per bar.
//!
//! Every function returns vectors of the input's length with `f64::NAN` where the value is undefined,
//! allocates nothing but its outputs, and is deterministic (same input, bit-identical output). Rolling
//! windows share one numerically stable mean/variance engine (Welford updates on deviations from a
//! window reference, recomputed exactly every window; see `rolling.rs`), so results do not drift over
//! millions of bars and prices ~1.1 with a pip-sized spread do not cancel catastrophically.
//! Parameters are validated by callers: a zero length is a debug assertion and all NaN in release.
//!
//! MRZ scenario 1 z-score is a composition, not a separate indicator:
//!
//! ```
//! use omega_v2::indicators::{ema, residual_zscore};
//! let close = [1.1000, 1.1002, 1.0999, 1.1004, 1.1001, 1.0997];
//! let (ema_length, window_length) = (3, 4);
//! let ema = ema(&close, ema_length);
//! let residual: Vec<f64> = close.iter().zip(&ema).map(|(c, e)| c - e).collect();
//! let z = residual_zscore(&residual, window_length);
//! assert!(z[..window_length - 1].iter().all(|v| v.is_nan()) && z[window_length - 1].is_finite());
//! ```
//!
//! Scenarios 2/3 use [`kalman`] (`z` is the Kalman-Z) and [`bollinger`]; stop losses use [`wilder_atr`].

mod atr;
mod bollinger;
mod ema;
mod kalman;
mod rolling;
mod sma;
mod zscore;

#[cfg(test)]
mod test_util;

pub use atr::{true_range, wilder_atr};
pub use bollinger::{bollinger, Bands};
pub use ema::ema;
pub use kalman::{kalman, Kalman};
pub use sma::sma;
pub use zscore::residual_zscore;

#[cfg(test)]
mod tests {
    use super::test_util::{random_bars, random_walk};
    use super::*;

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn all_outputs(values: &[f64], high: &[f64], low: &[f64]) -> Vec<Vec<u64>> {
        let b = bollinger(values, 20, 2.0);
        let k = kalman(values, 1.0, 0.1, 20);
        [ema(values, 20), sma(values, 20), wilder_atr(high, low, values, 14), residual_zscore(values, 20)]
            .iter()
            .chain([&b.mid, &b.upper, &b.lower, &k.mean, &k.z])
            .map(|v| bits(v))
            .collect()
    }

    #[test]
    fn outputs_are_bit_identical_across_calls() {
        let (high, low, close) = random_bars(10_000, 9);
        assert_eq!(all_outputs(&close, &high, &low), all_outputs(&close, &high, &low));
        assert_eq!(bits(&close), bits(&random_walk(10_000, 9)));
    }
}
