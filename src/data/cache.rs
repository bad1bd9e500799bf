//! Loaded data kept for the next runs that ask for the same: the points of a sweep read the same
//! files for the same span, so a worker loads them once and each later point starts from a copy.
//!
//! An entry is keyed by everything a load from files depends on (data root, symbol, timeframe,
//! span, warmup, pip size); in-memory frames are read in place and never kept. Runs share the
//! kept bars; one that rescales its spreads does so on its own copy. The files are read and
//! hashed once: a run served from the cache records the digests of the bytes it trades, even if
//! a file changed since (a cache lives for one sweep; see `docs/sweeps.md`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use super::{load_cancellable, DataSource, LoadRequest, LoadedData};
use crate::error::Result;
use crate::market::Timeframe;

/// Loads kept: a run's primary timeframe and its additional ones; the oldest goes first.
pub const CAPACITY: usize = 4;

/// Where a run's bars came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Loaded,
    Reused,
}

/// The last [`CAPACITY`] loads from files, shared by the runs (and threads) that hold it.
#[derive(Default)]
pub struct LoadCache {
    entries: Mutex<Vec<(Key, Arc<LoadedData>)>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Key {
    root: PathBuf,
    symbol: String,
    timeframe: Timeframe,
    start_ns: i64,
    end_ns: i64,
    warmup_bars: usize,
    pip_size_bits: u64,
}

impl Key {
    /// None for frames, and for a root that does not resolve (the load reports it).
    fn of(req: &LoadRequest) -> Option<Key> {
        let DataSource::Files { root } = req.source else { return None };
        Some(Key {
            // Resolved: a relative root names other files once the working directory changes.
            root: std::fs::canonicalize(root).ok()?,
            symbol: req.symbol.to_owned(),
            timeframe: req.timeframe,
            start_ns: req.start_ns,
            end_ns: req.end_ns,
            warmup_bars: req.warmup_bars,
            pip_size_bits: req.pip_size.to_bits(),
        })
    }
}

impl LoadCache {
    pub fn new() -> LoadCache {
        LoadCache::default()
    }

    /// The kept load of `req`, or [`load_cancellable`] (kept when it succeeds).
    pub fn load(&self, req: &LoadRequest, cancelled: &dyn Fn() -> bool) -> Result<(Arc<LoadedData>, Served)> {
        let Some(key) = Key::of(req) else { return Ok((Arc::new(load_cancellable(req, cancelled)?), Served::Loaded)) };
        if let Some(kept) = self.entries().iter().find(|(k, _)| *k == key) {
            return Ok((Arc::clone(&kept.1), Served::Reused));
        }
        // Loaded without the lock: runs on other threads keep using the cache meanwhile.
        let loaded = Arc::new(load_cancellable(req, cancelled)?);
        let mut entries = self.entries();
        if !entries.iter().any(|(k, _)| *k == key) {
            if entries.len() == CAPACITY {
                entries.remove(0);
            }
            entries.push((key, Arc::clone(&loaded)));
        }
        Ok((loaded, Served::Loaded))
    }

    /// Loads kept now.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<(Key, Arc<LoadedData>)>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
