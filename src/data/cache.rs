//! Loaded data kept for the next runs that ask for the same: the points of a sweep read the same
//! files for the same span, so a worker loads them once and its later points share what it read.
//!
//! An entry is keyed by everything a load from files depends on (data root, symbol, timeframe,
//! span, warmup, pip size); in-memory frames are read in place and never kept. Runs share the
//! kept bars; one that rescales its spreads does so on its own copy. Before a kept load is
//! served, its files are looked at again (device, inode, size, modification and change times):
//! a file replaced or rewritten since is read again, so a run never trades bars its files no
//! longer hold. Files changed within a second before their load are not kept (git's "racily
//! clean" rule: their times could not show a rewrite in the same tick).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::{load_cancellable, DataSource, LoadRequest, LoadedData};
use crate::error::Result;
use crate::market::Timeframe;
use crate::timefmt::{now_ns, NANOS_PER_SEC};

/// Loads kept: a run's primary timeframe and its additional ones; the oldest goes first.
pub const CAPACITY: usize = 4;

/// A file changed less than this before its load began is not kept: file times are coarse
/// (a few ms), so a write in the same tick as the read could leave the times unchanged.
const SETTLED_NS: i64 = NANOS_PER_SEC;

/// Where a run's bars came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    Loaded,
    Reused,
}

/// The last [`CAPACITY`] loads from files, shared by the runs (and threads) that hold it.
#[derive(Default)]
pub struct LoadCache {
    entries: Mutex<Vec<Entry>>,
}

struct Entry {
    key: Key,
    data: Arc<LoadedData>,
    /// Of each file read, when it had been read.
    files: Vec<Identity>,
}

/// What changes when a file is replaced or written to.
#[derive(Debug, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl Identity {
    fn of(path: &Path) -> Option<Identity> {
        let m = std::fs::metadata(path).ok()?;
        let ns = |s: i64, n: i64| s.saturating_mul(NANOS_PER_SEC).saturating_add(n);
        Some(Identity {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }

    /// Of every file `data` was read from; None when one cannot be looked at.
    fn of_files(data: &LoadedData) -> Option<Vec<Identity>> {
        data.files.iter().map(|f| Identity::of(Path::new(&f.path))).collect()
    }
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
        if let Some(kept) = self.unchanged(&key) {
            return Ok((kept, Served::Reused));
        }
        let started = now_ns();
        // Loaded without the lock: runs on other threads keep using the cache meanwhile.
        let loaded = Arc::new(load_cancellable(req, cancelled)?);
        let settled = |ids: &Vec<Identity>| ids.iter().all(|i| i.ctime_ns < started - SETTLED_NS);
        if let Some(files) = Identity::of_files(&loaded).filter(settled) {
            let mut entries = self.entries();
            entries.retain(|e| e.key != key);
            if entries.len() == CAPACITY {
                entries.remove(0);
            }
            entries.push(Entry { key, data: Arc::clone(&loaded), files });
        }
        Ok((loaded, Served::Loaded))
    }

    /// The kept load of `key` if its files are still the ones it was read from.
    fn unchanged(&self, key: &Key) -> Option<Arc<LoadedData>> {
        let entries = self.entries();
        let kept = entries.iter().find(|e| e.key == *key)?;
        (Identity::of_files(&kept.data).as_ref() == Some(&kept.files)).then(|| Arc::clone(&kept.data))
    }

    /// Loads kept now.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
