//! Test-only helpers: a deterministic price path and naive O(window) reference computations.

/// splitmix64: tiny, well-mixed, deterministic generator (no dependency needed for test data).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Uniform in [0, 1) from the top 53 bits.
fn unit(state: &mut u64) -> f64 {
    (splitmix64(state) >> 11) as f64 / (1u64 << 53) as f64
}

/// FX-like random walk from 1.1 with steps of 0.2..1.0 pip and random sign (never a zero step, so a
/// window's spread is never degenerate relative to the price level).
pub(crate) fn random_walk(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    let mut price = 1.1;
    (0..n)
        .map(|_| {
            let step = (0.2 + 0.8 * unit(&mut state)) * 1e-4;
            price += if splitmix64(&mut state) & 1 == 0 { step } else { -step };
            price
        })
        .collect()
}

/// High/low/close bars around a random walk: ranges of 0..4 pips, so the previous close sometimes lies
/// outside the current range and the gap terms of the true range win.
pub(crate) fn random_bars(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut state = seed ^ 0xA5A5;
    let close = random_walk(n, seed);
    let high = close.iter().map(|c| c + unit(&mut state) * 2e-4).collect();
    let low = close.iter().map(|c| c - unit(&mut state) * 2e-4).collect();
    (high, low, close)
}

/// Two-pass mean and sum of squared deviations of `w`.
pub(crate) fn naive_window(w: &[f64]) -> (f64, f64) {
    let mean = w.iter().sum::<f64>() / w.len() as f64;
    (mean, w.iter().map(|x| (x - mean) * (x - mean)).sum())
}

/// `|got - want| <= rel * max(|got|, |want|)`, with a readable failure message.
#[track_caller]
pub(crate) fn assert_rel_close(got: f64, want: f64, rel: f64) {
    let tol = rel * got.abs().max(want.abs());
    assert!((got - want).abs() <= tol, "got {got:e}, want {want:e} (rel tol {rel:e})");
}

/// NaN exactly at `0..first_defined`, finite from there on.
#[track_caller]
pub(crate) fn assert_nan_prefix(out: &[f64], first_defined: usize) {
    for (t, v) in out.iter().enumerate() {
        assert_eq!(v.is_nan(), t < first_defined, "index {t}: {v}");
    }
}
