//! Shared fixed-window mean/variance engine behind `sma`, `bollinger` and `residual_zscore`.

/// Mean and sum of squared deviations (`m2`) of one full window; variance is `m2 / n` or `m2 / (n - 1)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Moments {
    pub mean: f64,
    pub m2: f64,
}

/// Rolling state kept relative to `shift` (the window mean at the last exact recomputation): the
/// deviations `x - shift` are exact for nearby prices (Sterbenz), so rounding scales with the spread,
/// not with the price level.
#[derive(Clone, Copy, Default)]
struct State {
    shift: f64,
    mean_dev: f64,
    m2: f64,
}

impl State {
    /// Corrected two-pass (mean, then deviations with a mean correction): no cancellation, and
    /// independent of any earlier state.
    fn exact(window: std::ops::Range<usize>, value: &impl Fn(usize) -> f64) -> Self {
        let n = window.len() as f64;
        let shift = window.clone().map(value).sum::<f64>() / n;
        let (sum, sum_sq) = window.map(|i| value(i) - shift).fold((0.0, 0.0), |(s, q), d| (s + d, q + d * d));
        let mean_dev = sum / n;
        State { shift, mean_dev, m2: (sum_sq - mean_dev * sum).max(0.0) }
    }

    /// Welford remove-`out`/add-`inp` step for a window of constant size `1 / inv_n`.
    fn slide(&mut self, out: f64, inp: f64, inv_n: f64) {
        let (out, inp) = (out - self.shift, inp - self.shift);
        let old_mean = self.mean_dev;
        let delta = inp - out;
        self.mean_dev += delta * inv_n;
        // Clamp: rounding may leave a tiny negative sum of squares when the true spread is ~0.
        self.m2 = (self.m2 + delta * (inp - self.mean_dev + out - old_mean)).max(0.0);
    }

    fn moments(&self) -> Moments {
        Moments { mean: self.shift + self.mean_dev, m2: self.m2 }
    }
}

/// Calls `emit(t, moments)` for every index `t >= window - 1` whose window `value(t+1-window..=t)` holds
/// only finite values; other indices are skipped (callers pre-fill NaN). `value` must be a pure function.
///
/// Stability: rolling Welford updates on deviations from a window reference, with an exact two-pass
/// recomputation every `window` bars, so rounding never accumulates over more than one window (no drift
/// over millions of bars) at an amortised O(1) cost per bar. A window whose values are all equal is
/// detected exactly (run length of equal neighbours) and reported as `mean = value, m2 = 0`, so a flat
/// window never shows a rounding residue as spread. The result is a deterministic function of the input.
pub(crate) fn rolling_moments(
    len: usize,
    window: usize,
    value: impl Fn(usize) -> f64,
    mut emit: impl FnMut(usize, Moments),
) {
    if window == 0 {
        return;
    }
    let inv_n = 1.0 / window as f64; // multiply, not divide: the FP divider is the per-bar bottleneck
    let mut non_finite = 0usize; // non-finite values inside the current window
    let mut run = 0usize; // length of the run of equal values ending at t
    let mut prev = f64::NAN;
    let mut steps = usize::MAX; // Welford steps since the last exact state; MAX forces a recomputation
    let mut state = State::default();
    for t in 0..len {
        let x = value(t);
        non_finite += usize::from(!x.is_finite());
        if t >= window {
            non_finite -= usize::from(!value(t - window).is_finite());
        }
        run = if x == prev { run + 1 } else { 1 };
        prev = x;
        if t + 1 < window {
            continue;
        }
        if non_finite > 0 {
            steps = usize::MAX;
            continue;
        }
        if run >= window {
            state = State { shift: x, mean_dev: 0.0, m2: 0.0 };
            steps = 0;
        } else if steps >= window {
            state = State::exact(t + 1 - window..t + 1, &value);
            steps = 0;
        } else {
            state.slide(value(t - window), x, inv_n);
            steps += 1;
        }
        emit(t, state.moments());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::test_util::{assert_rel_close, naive_window, random_walk};

    fn collect(values: &[f64], window: usize) -> Vec<Option<Moments>> {
        let mut out = vec![None; values.len()];
        rolling_moments(values.len(), window, |i| values[i], |t, m| out[t] = Some(m));
        out
    }

    #[test]
    fn hand_example_mean_and_m2() {
        // [1, 2, 4, 8], window 3:
        // t=2: mean 7/3, deviations -4/3, -1/3, 5/3 -> m2 = (16 + 1 + 25) / 9 = 42/9
        // t=3: mean 14/3, deviations -8/3, -2/3, 10/3 -> m2 = (64 + 4 + 100) / 9 = 168/9
        let out = collect(&[1.0, 2.0, 4.0, 8.0], 3);
        assert_eq!(out[..2], [None, None]);
        let (m2, m3) = (out[2].unwrap(), out[3].unwrap());
        assert_rel_close(m2.mean, 7.0 / 3.0, 1e-15);
        assert_rel_close(m2.m2, 42.0 / 9.0, 1e-15);
        assert_rel_close(m3.mean, 14.0 / 3.0, 1e-15);
        assert_rel_close(m3.m2, 168.0 / 9.0, 1e-15);
    }

    #[test]
    fn flat_window_is_exact_even_after_spread() {
        // 0.1 is not representable; a rolling update would leave a residue of the earlier spread.
        let values = [0.3, -0.7, 1e3, 0.1, 0.1, 0.1, 0.1];
        let out = collect(&values, 3);
        assert_eq!(out[5], Some(Moments { mean: 0.1, m2: 0.0 }));
        assert_eq!(out[6], Some(Moments { mean: 0.1, m2: 0.0 }));
    }

    #[test]
    fn non_finite_values_hide_exactly_their_windows() {
        let values = [1.0, 2.0, f64::NAN, 4.0, 5.0, f64::INFINITY, 7.0, 8.0, 9.0];
        let defined: Vec<bool> = collect(&values, 2).iter().map(Option::is_some).collect();
        assert_eq!(defined, [false, true, false, false, true, false, false, true, true]);
        // Recovery after the NaN left the window is exact: window [7, 8] -> mean 7.5, m2 0.5.
        assert_eq!(collect(&values, 2)[7], Some(Moments { mean: 7.5, m2: 0.5 }));
    }

    #[test]
    fn window_zero_or_longer_than_input_emits_nothing() {
        assert!(collect(&[1.0, 2.0], 0).iter().all(Option::is_none));
        assert!(collect(&[1.0, 2.0], 3).iter().all(Option::is_none));
    }

    #[test]
    fn no_drift_over_two_million_bars() {
        // Prices ~1.1 with pip-sized steps: the worst case for cancellation. Check the tail, where
        // a drifting accumulator would be furthest off, against an independent two-pass recomputation.
        let values = random_walk(2_000_000, 7);
        for window in [2, 20, 377] {
            let out = collect(&values, window);
            for t in (values.len() - 5_000..values.len()).step_by(7) {
                let got = out[t].unwrap();
                let (mean, m2) = naive_window(&values[t + 1 - window..=t]);
                assert_rel_close(got.mean, mean, 1e-13);
                assert_rel_close(got.m2, m2, 1e-9);
            }
        }
    }
}
