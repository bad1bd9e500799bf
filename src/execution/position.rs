//! An open position and the closed trade it becomes.

use serde::Serialize;

use crate::domain::{Direction, OrderKind, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    StopLoss,
    TakeProfit,
    Timeout,
    EndOfData,
    Signal,
    /// Equity at a bar close fell to `account.stop_out_level`.
    StopOut,
}

impl ExitReason {
    /// The name written to trades.json and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::StopLoss => "stop_loss",
            ExitReason::TakeProfit => "take_profit",
            ExitReason::Timeout => "timeout",
            ExitReason::EndOfData => "end_of_data",
            ExitReason::Signal => "signal",
            ExitReason::StopOut => "stop_out",
        }
    }
}

impl Serialize for ExitReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Which rule set the stop loss in force when the position closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopLossKind {
    None,
    Initial,
    BreakEven,
    Trailing,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub direction: Direction,
    pub entry_index: usize,
    pub entry_time_ns: i64,
    pub entry_kind: OrderKind,
    /// Fill price after slippage.
    pub entry_price: f64,
    pub size: f64,
    pub stop_loss: Option<f64>,
    pub take_profit: Option<f64>,
    pub initial_stop_loss: Option<f64>,
    pub stop_loss_kind: StopLossKind,
    pub entry_fee: f64,
    /// Account-currency amount lost if the initial stop fills exactly; the unit of R.
    pub initial_risk: Option<f64>,
    pub scenario_id: u8,
    pub snapshot: Snapshot,
}

impl Position {
    /// Price distance between the entry fill and the initial stop (the "1R" distance).
    pub fn risk_distance(&self) -> Option<f64> {
        self.initial_stop_loss.map(|sl| (self.entry_price - sl).abs()).filter(|d| *d > 0.0)
    }

    /// Profit in price units if closed at `price` (positive = in favour).
    pub fn favourable_move(&self, price: f64) -> f64 {
        (price - self.entry_price) * self.direction.sign()
    }
}

/// A closed trade as written to `trades.json` (docs/artefacts.md).
#[derive(Debug, Clone, PartialEq)]
pub struct Trade {
    pub direction: Direction,
    pub entry_time_ns: i64,
    pub exit_time_ns: i64,
    pub entry_price: f64,
    pub exit_price: f64,
    pub stop_loss: Option<f64>,
    pub take_profit: Option<f64>,
    pub initial_stop_loss: Option<f64>,
    pub size: f64,
    /// PnL in account currency before explicit fees.
    pub result: f64,
    /// Entry plus exit fee, account currency.
    pub fees: f64,
    pub r_multiple: Option<f64>,
    pub reason: ExitReason,
    pub scenario_id: u8,
    pub in_entry_candle: bool,
    pub stop_loss_kind: StopLossKind,
    pub snapshot: Snapshot,
}

impl Trade {
    pub fn net(&self) -> f64 {
        self.result - self.fees
    }
}
