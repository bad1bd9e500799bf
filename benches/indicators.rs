//! Indicator throughput on one year of M1 bars (~377k points). Criterion reports time per
//! call and elements/s; ns/point = time / POINTS.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use omega_v2::indicators::{bollinger, ema, kalman, residual_zscore, sma, wilder_atr};
use omega_v2::rng::{splitmix64_at, unit_interval};

const POINTS: usize = 377_000;

/// Deterministic FX-like bars (splitmix64 random walk around 1.1, ranges of up to 2 pips each side).
fn bars(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut k = 0;
    let mut next = move || {
        k += 1;
        unit_interval(splitmix64_at(0x5EED, k - 1))
    };
    let (mut high, mut low, mut close) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let mut price = 1.1;
    for _ in 0..n {
        price += (next() - 0.5) * 2e-4;
        high.push(price + next() * 2e-4);
        low.push(price - next() * 2e-4);
        close.push(price);
    }
    (high, low, close)
}

fn indicators(c: &mut Criterion) {
    let (high, low, close) = bars(POINTS);
    let residual: Vec<f64> = close.iter().zip(ema(&close, 20)).map(|(c, e)| c - e).collect();
    let mut group = c.benchmark_group("indicators_377k");
    group.throughput(Throughput::Elements(POINTS as u64));
    group.bench_function("ema_20", |b| b.iter(|| ema(black_box(&close), 20)));
    group.bench_function("sma_20", |b| b.iter(|| sma(black_box(&close), 20)));
    group.bench_function("wilder_atr_14", |b| b.iter(|| wilder_atr(black_box(&high), &low, &close, 14)));
    group.bench_function("bollinger_20", |b| b.iter(|| bollinger(black_box(&close), 20, 2.0)));
    group.bench_function("residual_zscore_20", |b| b.iter(|| residual_zscore(black_box(&residual), 20)));
    group.bench_function("kalman_20", |b| b.iter(|| kalman(black_box(&close), 1.0, 0.1, 20)));
    group.finish();
}

criterion_group!(benches, indicators);
criterion_main!(benches);
