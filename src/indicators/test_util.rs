//! Test-only helpers: a deterministic price path and naive O(window) reference computations.

/// Uniform in [0, 1) and the raw bits of draw `*k` of the stream `seed`, advancing `k`.
fn draw(seed: u64, k: &mut u64) -> (f64, u64) {
    let bits = crate::rng::splitmix64_at(seed, *k);
    *k += 1;
    (crate::rng::unit_interval(bits), bits)
}

/// FX-like random walk from 1.1 with steps of 0.2..1.0 pip and random sign (never a zero step, so a
/// window's spread is never degenerate relative to the price level).
pub(crate) fn random_walk(n: usize, seed: u64) -> Vec<f64> {
    let mut k = 0;
    let mut price = 1.1;
    (0..n)
        .map(|_| {
            let step = (0.2 + 0.8 * draw(seed, &mut k).0) * 1e-4;
            price += if draw(seed, &mut k).1 & 1 == 0 { step } else { -step };
            price
        })
        .collect()
}

/// High/low/close bars around a random walk: ranges of 0..4 pips, so the previous close sometimes lies
/// outside the current range and the gap terms of the true range win.
pub(crate) fn random_bars(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (stream, mut k) = (seed ^ 0xA5A5, 0);
    let close = random_walk(n, seed);
    let high = close.iter().map(|c| c + draw(stream, &mut k).0 * 2e-4).collect();
    let low = close.iter().map(|c| c - draw(stream, &mut k).0 * 2e-4).collect();
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
