//! Counter-based randomness: draw `i` of a stream depends only on `(seed, i)` (splitmix64), so
//! results never depend on how many draws happened before or in which order.

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 output function: a bijective mix of 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `i`-th output (0-based) of a splitmix64 generator seeded with `seed`.
pub fn splitmix64_at(seed: u64, i: u64) -> u64 {
    mix(seed.wrapping_add(i.wrapping_add(1).wrapping_mul(GOLDEN_GAMMA)))
}

/// The top 53 bits of `bits` as a uniform number in [0, 1).
pub fn unit_interval(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_splitmix64_sequence() {
        // Reference values of splitmix64 seeded with 1234567 (Vigna's splitmix64.c).
        let expected = [6457827717110365317u64, 3203168211198807973, 9817491932198370423];
        for (i, want) in expected.iter().enumerate() {
            assert_eq!(splitmix64_at(1234567, i as u64), *want);
        }
        assert!((0..1000).map(|i| unit_interval(splitmix64_at(7, i))).all(|u| (0.0..1.0).contains(&u)));
    }
}
