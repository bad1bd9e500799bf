//! Costs beyond the spread (which is implicit in bid/ask): adverse slippage with a seeded,
//! counter-based jitter, and fees booked once per side.

use crate::config::Costs;
use crate::domain::Direction;
use crate::rng::{self, splitmix64_at};
use crate::specs::{ExecutionCosts, FeeModel, SymbolSpec};

/// Cost parameters of one run, with the config multipliers already applied.
#[derive(Debug, Clone)]
pub struct CostModel {
    slippage_fixed: f64,
    slippage_jitter: f64,
    fee_model: FeeModel,
    fee_rate: f64,
    min_fee: f64,
    contract_size: f64,
    seed: u64,
}

impl CostModel {
    pub fn new(costs: &Costs, exec: &ExecutionCosts, spec: &SymbolSpec, seed: u64) -> Self {
        let (slip, fee) = if costs.enabled { (costs.slippage_multiplier, costs.fee_multiplier) } else { (0.0, 0.0) };
        let fee_rate = match exec.fee_model {
            FeeModel::PerLot => exec.fee_per_lot,
            FeeModel::PerMillion => exec.fee_per_million / 1e6,
            FeeModel::Percent => exec.fee_percent / 100.0,
        };
        Self {
            slippage_fixed: exec.slippage_fixed_pips * spec.pip_size * slip,
            slippage_jitter: exec.slippage_jitter_pips * spec.pip_size * slip,
            fee_model: exec.fee_model,
            fee_rate: fee_rate * fee,
            min_fee: exec.min_fee * fee,
            contract_size: spec.contract_size,
            seed,
        }
    }

    /// Slippage in price units for fill number `k` of the run (entries and exits count).
    pub fn slippage(&self, k: u64) -> f64 {
        if self.slippage_jitter == 0.0 {
            return self.slippage_fixed;
        }
        self.slippage_fixed + self.slippage_jitter * unit_interval(self.seed, k)
    }

    /// Entry fill after adverse slippage: a long buys higher, a short sells lower.
    pub fn entry_fill(&self, d: Direction, price: f64, k: u64) -> f64 {
        price + d.sign() * self.slippage(k)
    }

    /// Exit fill after adverse slippage: a long's exit sells lower, a short's buys higher.
    pub fn exit_fill(&self, d: Direction, price: f64, k: u64) -> f64 {
        price - d.sign() * self.slippage(k)
    }

    /// Fee of one side in account currency. `quote_to_account` converts notional.
    pub fn fee(&self, lots: f64, price: f64, quote_to_account: f64) -> f64 {
        if self.fee_rate == 0.0 && self.min_fee == 0.0 {
            return 0.0;
        }
        let fee = match self.fee_model {
            FeeModel::PerLot => lots * self.fee_rate,
            FeeModel::PerMillion | FeeModel::Percent => {
                lots * self.contract_size * price * quote_to_account * self.fee_rate
            }
        };
        fee.max(self.min_fee)
    }
}

/// A uniform number in [0, 1) that depends only on `(seed, k)`: the seed mixed with a
/// splitmix64 draw of the counter. Counter-based, so fill k's jitter never depends on what
/// happened before.
pub fn unit_interval(seed: u64, k: u64) -> f64 {
    let counter = splitmix64_at(k.wrapping_add(0x6A09_E667_F3BC_C909), 0);
    rng::unit_interval(splitmix64_at(seed ^ counter, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::specs::FeeModel;

    pub(crate) fn eurusd() -> SymbolSpec {
        SymbolSpec {
            base_currency: "EUR".into(),
            quote_currency: "USD".into(),
            contract_size: 100_000.0,
            pip_size: 0.0001,
            tick_size: 0.00001,
            volume_min: 0.01,
            volume_step: 0.01,
            volume_max: 200.0,
            min_sl_distance_pips: 0.1,
        }
    }

    fn exec(model: FeeModel) -> ExecutionCosts {
        ExecutionCosts {
            fee_model: model,
            fee_per_lot: 2.5,
            fee_per_million: 30.0,
            fee_percent: 0.002,
            min_fee: 0.0,
            slippage_fixed_pips: 0.2,
            slippage_jitter_pips: 0.0,
            pip_buffer_factor: 0.5,
        }
    }

    fn costs(fee: f64, slip: f64) -> Costs {
        Costs {
            enabled: true,
            fee_multiplier: fee,
            slippage_multiplier: slip,
            spread_multiplier: 1.0,
            pip_buffer_factor: None,
        }
    }

    #[test]
    fn slippage_is_adverse_for_both_sides() {
        let m = CostModel::new(&costs(1.0, 1.0), &exec(FeeModel::PerLot), &eurusd(), 42);
        // 0.2 pips = 0.00002
        assert!((m.entry_fill(Direction::Long, 1.1, 0) - 1.10002).abs() < 1e-15);
        assert!((m.entry_fill(Direction::Short, 1.1, 0) - 1.09998).abs() < 1e-15);
        assert!((m.exit_fill(Direction::Long, 1.1, 0) - 1.09998).abs() < 1e-15);
        assert!((m.exit_fill(Direction::Short, 1.1, 0) - 1.10002).abs() < 1e-15);
        let doubled = CostModel::new(&costs(1.0, 2.0), &exec(FeeModel::PerLot), &eurusd(), 42);
        assert!((doubled.slippage(0) - 0.00004).abs() < 1e-15);
    }

    #[test]
    fn fee_models() {
        let spec = eurusd();
        let per_lot = CostModel::new(&costs(1.0, 1.0), &exec(FeeModel::PerLot), &spec, 1);
        assert!((per_lot.fee(2.0, 1.1, 1.0) - 5.0).abs() < 1e-12); // 2 lots * 2.5
        let per_million = CostModel::new(&costs(1.0, 1.0), &exec(FeeModel::PerMillion), &spec, 1);
        // 1 lot = 100,000 EUR = 110,000 USD notional; converted at 1/1.1 -> 100,000 EUR; 30 per million -> 3.0
        assert!((per_million.fee(1.0, 1.1, 1.0 / 1.1) - 3.0).abs() < 1e-9);
        let percent = CostModel::new(&costs(2.0, 1.0), &exec(FeeModel::Percent), &spec, 1);
        // 0.002 % of 110,000 = 2.2, times fee_multiplier 2 -> 4.4
        assert!((percent.fee(1.0, 1.1, 1.0) - 4.4).abs() < 1e-9);
        let mut with_min = exec(FeeModel::PerLot);
        with_min.min_fee = 1.0;
        let m = CostModel::new(&costs(1.0, 1.0), &with_min, &spec, 1);
        assert_eq!(m.fee(0.01, 1.1, 1.0), 1.0); // 0.025 raised to the minimum
    }

    #[test]
    fn disabled_costs_are_free() {
        let off = Costs { enabled: false, ..costs(1.0, 1.0) };
        let m = CostModel::new(&off, &exec(FeeModel::PerLot), &eurusd(), 1);
        assert_eq!(m.fee(3.0, 1.1, 1.0), 0.0);
        assert_eq!(m.entry_fill(Direction::Long, 1.1, 7), 1.1);
    }

    #[test]
    fn jitter_is_counter_based_and_seeded() {
        let mut e = exec(FeeModel::PerLot);
        e.slippage_jitter_pips = 0.3;
        let a = CostModel::new(&costs(1.0, 1.0), &e, &eurusd(), 42);
        let b = CostModel::new(&costs(1.0, 1.0), &e, &eurusd(), 42);
        let c = CostModel::new(&costs(1.0, 1.0), &e, &eurusd(), 43);
        let draws: Vec<f64> = (0..1000).map(|k| a.slippage(k)).collect();
        assert_eq!(draws, (0..1000).map(|k| b.slippage(k)).collect::<Vec<_>>());
        assert_ne!(draws, (0..1000).map(|k| c.slippage(k)).collect::<Vec<_>>());
        // within [0.2, 0.5) pips, and spread over the range
        assert!(draws.iter().all(|s| *s >= 0.00002 && *s < 0.00005));
        let mean = draws.iter().sum::<f64>() / 1000.0;
        assert!((mean - 0.000035).abs() < 0.000003, "mean {mean}");
        // order independence: draw 500 alone equals draw 500 in sequence
        assert_eq!(a.slippage(500), draws[500]);
    }
}
