//! Execution model (docs/execution.md; candle mode, `execution_variant = v2`): order triggers and
//! gap-aware fills, SL/TP exits on the correct side, costs, sizing and trade management.
//! Everything here is a pure function of bar data, positions and the seed, so results are
//! reproducible bit for bit.

pub mod costs;
pub mod fills;
pub mod management;
pub mod position;
pub mod sizing;

pub use costs::CostModel;
pub use position::{ExitReason, Position, StopLossKind, Trade};
pub use sizing::{SizeDecision, Sizer};
