//! Exponential moving average.

/// EMA with `alpha = 2 / (length + 1)`, seeded with the first value: `ema[0] = values[0]`,
/// `ema[t] = ema[t-1] + alpha * (values[t] - ema[t-1])`. Defined from index 0.
///
/// `length` must be >= 1 (callers validate; debug builds assert, release returns all NaN).
/// Inputs are expected finite (bars are validated on load); a NaN input makes every later value NaN.
pub fn ema(values: &[f64], length: usize) -> Vec<f64> {
    debug_assert!(length >= 1, "ema length must be >= 1");
    if length == 0 {
        return vec![f64::NAN; values.len()];
    }
    let alpha = 2.0 / (length as f64 + 1.0);
    let mut prev = match values.first() {
        Some(&first) => first,
        None => return Vec::new(),
    };
    values
        .iter()
        .map(|&v| {
            prev += alpha * (v - prev);
            prev
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_example_length_3() {
        // alpha = 2 / (3 + 1) = 0.5
        // ema[0] = 1
        // ema[1] = 1    + 0.5 * (2 - 1)    = 1.5
        // ema[2] = 1.5  + 0.5 * (3 - 1.5)  = 2.25
        // ema[3] = 2.25 + 0.5 * (4 - 2.25) = 3.125   (all exact in binary)
        assert_eq!(ema(&[1.0, 2.0, 3.0, 4.0], 3), [1.0, 1.5, 2.25, 3.125]);
    }

    #[test]
    fn hand_example_length_4() {
        // alpha = 2 / 5 = 0.4
        // ema[0] = 10
        // ema[1] = 10 + 0.4 * (20 - 10) = 14
        // ema[2] = 14 + 0.4 * (4 - 14)  = 10
        let out = ema(&[10.0, 20.0, 4.0], 4);
        assert_eq!(out[0], 10.0);
        assert!((out[1] - 14.0).abs() < 1e-12 && (out[2] - 10.0).abs() < 1e-12, "{out:?}");
    }

    #[test]
    fn length_1_is_identity_and_short_input_is_defined() {
        // alpha = 1: each value replaces the previous one exactly.
        assert_eq!(ema(&[3.0, -1.0, 7.5], 1), [3.0, -1.0, 7.5]);
        // Seeded at index 0, so an input shorter than `length` is still fully defined.
        assert_eq!(ema(&[2.0, 2.0], 50), [2.0, 2.0]);
        assert!(ema(&[], 3).is_empty());
    }

    #[test]
    #[cfg_attr(debug_assertions, should_panic(expected = "length must be >= 1"))]
    fn length_0_is_all_nan_in_release() {
        assert!(ema(&[1.0, 2.0], 0).iter().all(|v| v.is_nan()));
    }
}
