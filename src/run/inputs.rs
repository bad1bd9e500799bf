//! What a run reads besides its config and data files: an in-memory market, a signals frame's
//! columns and the caller's own strategy, and their record in `meta.json` (`output::meta`).

use crate::data::{LoadCache, SideArrays};
use crate::output::meta::{InputsRecord, SignalsRecord};
use crate::strategy::{Extras, SignalColumns, UserStrategy};

/// An in-memory market's bid and ask columns, read instead of the data files (its digests are
/// in the data manifest like files).
#[derive(Debug, Clone, Copy)]
pub struct MarketFrames<'a> {
    pub bid: SideArrays<'a>,
    pub ask: SideArrays<'a>,
}

#[derive(Default)]
pub struct RunInputs<'a> {
    pub market: Option<MarketFrames<'a>>,
    pub signals: Option<&'a SignalColumns<'a>>,
    pub user: Option<&'a (dyn UserStrategy + Sync)>,
    /// What the caller's strategy is (e.g. its class and a hash of its source).
    pub user_identity: Option<serde_json::Map<String, serde_json::Value>>,
    /// Data loaded by earlier runs, reused when this run reads the same files for the same span.
    pub data_cache: Option<&'a LoadCache>,
}

impl<'a> RunInputs<'a> {
    pub fn extras(&self) -> Extras<'a> {
        Extras { signals: self.signals, user: self.user }
    }

    /// `meta.json.inputs`, when the run had any.
    pub fn record(&self) -> Option<InputsRecord<'_>> {
        let signals = self.signals.map(|s| SignalsRecord { sha256: s.sha256(), rows: s.rows() });
        (signals.is_some() || self.user_identity.is_some())
            .then_some(InputsRecord { signals, strategy: self.user_identity.as_ref() })
    }
}
