//! Trading-domain types shared by strategies and the execution model: direction, the order a
//! strategy asks for, how it is sized, and what a strategy decides at a bar's close.

use std::borrow::Cow;

/// Trade direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Long,
    Short,
}

impl Direction {
    /// +1 for long, -1 for short: `pnl = (exit - entry) * sign * size`.
    pub fn sign(self) -> f64 {
        match self {
            Direction::Long => 1.0,
            Direction::Short => -1.0,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Long => "long",
            Direction::Short => "short",
        }
    }
}

/// How an entry order is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Fills in the signal bar at `entry_price` (the close of the entry side).
    Market,
    /// Placed at the bar close; fills from the next bar at `entry_price` or better.
    Limit,
    /// Placed at the bar close; fills from the next bar once price trades through `entry_price`.
    Stop,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Market => "market",
            OrderKind::Limit => "limit",
            OrderKind::Stop => "stop",
        }
    }
}

/// Position size of an entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sizing {
    /// `account.risk_per_trade` at risk between the fill and the stop loss.
    Risk,
    /// A fixed number of lots.
    Lots(f64),
}

/// Values a strategy saw at the signal bar (indicators), copied into the trade's `meta`.
/// Built-in strategies name them with static strings; user strategies with their own.
pub type Snapshot = Vec<(Cow<'static, str>, f64)>;

/// An entry request. Prices are used exactly as computed (no tick rounding).
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub direction: Direction,
    pub kind: OrderKind,
    pub entry_price: f64,
    pub stop_loss: Option<f64>,
    pub take_profit: Option<f64>,
    pub sizing: Sizing,
    pub scenario_id: u8,
    pub snapshot: Snapshot,
}

/// What a strategy wants at the close of a bar.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Hold,
    /// Close the open position at this bar's close (exit reason `signal`).
    Exit,
    /// Open a position if the engine's entry gates allow it.
    Enter(Signal),
    /// Close the open position, then enter if the gates allow it.
    Reverse(Signal),
}
