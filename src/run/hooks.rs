//! What a run's caller can watch and veto: cancellation (polled), progress (reported), and the
//! last step before the run directory is committed. A plain `Fn() -> bool` is the hooks of a
//! caller that only cancels.

use std::path::Path;

use crate::error::Result;
use crate::run::Summary;

/// Where a run is; reported with the bars done so far and the bars to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Loading,
    Trading,
    Writing,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Loading => "loading",
            Phase::Trading => "trading",
            Phase::Writing => "writing",
        }
    }
}

pub trait RunHooks {
    /// Whether the run should stop (polled between phases and every few thousand bars).
    fn cancelled(&self) -> bool;

    /// Progress: `done` of `total` bars in `phase` (cheap; called every few thousand bars).
    fn progress(&self, _phase: Phase, _done: u64, _total: u64) {}

    /// Runs after every artefact and the run's own logs are written and synced into `staging`,
    /// before the directory is committed (`summary` is what the run will return); an error
    /// aborts the run and nothing is committed.
    fn before_commit(&self, _staging: &Path, _summary: &Summary) -> Result<()> {
        Ok(())
    }
}

impl<F: Fn() -> bool> RunHooks for F {
    fn cancelled(&self) -> bool {
        self()
    }
}
