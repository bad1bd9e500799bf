//! Loading one bid/ask pair: both sides read in parallel on two threads, the manifest digests
//! computed by whichever thread is free first, the warmup retry, and alignment.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;

use super::messages::Origin;
use super::side::{PriceBounds, SideData, Window};
use super::{align, calendar, csv, frame, manifest, parquet};
use super::{FileDigest, Governance, LoadRequest, LoadedData, Side, SideArrays, SideCounts};
use crate::error::{EngineError, ErrorCode, Result};
use crate::timefmt::NANOS_PER_DAY;

/// Where one side's rows come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SideInput<'a> {
    File(&'a Path),
    Frame(Side, SideArrays<'a>),
}

impl SideInput<'_> {
    fn origin(&self) -> Origin<'_> {
        match self {
            SideInput::File(path) => Origin::File(path),
            SideInput::Frame(side, _) => Origin::Frame(*side),
        }
    }

    fn read(&self, window: Window, prices: PriceBounds) -> Result<SideData> {
        match self {
            SideInput::File(path) if path.extension().is_some_and(|e| e == "parquet") => {
                parquet::read_side(path, window, prices)
            }
            SideInput::File(path) => csv::read_side(path, window, prices),
            SideInput::Frame(side, arrays) => frame::read_side(*side, arrays, window, prices),
        }
    }

    fn digest(&self, req: &LoadRequest) -> Result<FileDigest> {
        match self {
            SideInput::File(path) => manifest::file_digest(path),
            SideInput::Frame(side, arrays) => Ok(frame::digest(req.symbol, req.timeframe, *side, arrays)),
        }
    }
}

/// Loads, validates and aligns the pair `[bid, ask]` (see `data::load` for the windowing).
///
/// Errors are those of reading the sides one after the other: the bid side's error first, then
/// a cancellation, then the ask side's, then alignment, then the digests (bid first).
pub(crate) fn load_pair(req: &LoadRequest, inputs: [SideInput; 2], cancelled: &dyn Fn() -> bool) -> Result<LoadedData> {
    let check = || if cancelled() { Err(EngineError::cancelled()) } else { Ok(()) };
    let prices = PriceBounds::for_pip_size(req.pip_size)?;
    let [bid_origin, ask_origin] = [inputs[0].origin(), inputs[1].origin()];
    let mut lookback = initial_lookback(req);
    let mut keep_before = req.warmup_bars;
    let mut digests = None;
    loop {
        let window = Window {
            lower: req.start_ns.saturating_sub(lookback),
            start: req.start_ns,
            end: req.end_ns,
            step_ns: req.timeframe.nanos(),
            keep_before,
        };
        // Digests are computed in the first pass only; a retry reads the same inputs again.
        let pass = read_pair(req, &inputs, window, prices, digests.is_none());
        let [bid, ask] = pass.sides;
        let bid = bid?;
        check()?;
        let ask = ask?;
        check()?;
        digests = digests.or(pass.digests);
        let skipped = [bid.skipped, ask.skipped];
        let duplicates_dropped = SideCounts { bid: bid.duplicates, ask: ask.duplicates };
        let (bars, alignment, warmup) = align::align(bid, ask, req.start_ns, req.warmup_bars);
        if warmup.shortfall_bars > 0 {
            // Rows that might have filled the warmup were left out: read again without the row
            // cap and, if the time bound left rows out, with eight times the lookback.
            let capped = skipped.iter().any(|s| s.over_keep) && keep_before != usize::MAX;
            let bounded = skipped.iter().any(|s| s.before_lower) && lookback != i64::MAX;
            if capped || bounded {
                keep_before = usize::MAX;
                if bounded {
                    lookback = lookback.saturating_mul(8);
                }
                continue;
            }
        }
        let first_trading_index = warmup.available_bars;
        if first_trading_index == bars.len() {
            return Err(align::no_common_bars(bid_origin, ask_origin, req.start_ns, req.end_ns));
        }
        align::check_bid_not_above_ask(&bars, bid_origin, ask_origin)?;
        let gaps = calendar::fx_weekday_gaps(&bars.time_ns, req.timeframe);
        let governance = Governance { alignment, gaps, duplicates_dropped, warmup_shortfall: warmup };
        let [bid_digest, ask_digest] = digests.unwrap_or_else(|| [Err(skipped_digest()), Err(skipped_digest())]);
        return Ok(LoadedData { bars, first_trading_index, governance, files: vec![bid_digest?, ask_digest?] });
    }
}

/// What one parallel pass produced: each side's rows and, when asked for, both digests.
struct Pass {
    sides: [Result<SideData>; 2],
    digests: Option<[Result<FileDigest>; 2]>,
}

/// Reads bid (on a second thread) and ask (on this one) at the same time. Each thread then takes
/// the next digest not yet started, so a thread that is done early hashes the other side's input
/// too; once a side has failed no further digest is started (its error ends the load).
fn read_pair(req: &LoadRequest, inputs: &[SideInput; 2], window: Window, prices: PriceBounds, hash: bool) -> Pass {
    let next_digest = AtomicUsize::new(if hash { 0 } else { inputs.len() });
    let failed = AtomicBool::new(false);
    let digests: [OnceLock<Result<FileDigest>>; 2] = Default::default();
    let work = |i: usize| {
        // The bid side runs on its own thread; on the run's thread this is a no-op.
        let _sampled = crate::sampling::sample_this_thread();
        let read = inputs[i].read(window, prices);
        failed.fetch_or(read.is_err(), Ordering::Relaxed);
        while !failed.load(Ordering::Relaxed) {
            let j = next_digest.fetch_add(1, Ordering::Relaxed);
            let Some(input) = inputs.get(j) else { break };
            let _ = digests[j].set(input.digest(req));
        }
        read
    };
    let sides = std::thread::scope(|scope| {
        let bid = scope.spawn(|| work(0));
        let ask = work(1);
        let bid = bid.join().unwrap_or_else(|_| {
            Err(EngineError::new(ErrorCode::InternalPanic, "reading the bid side panicked; this is a bug"))
        });
        [bid, ask]
    });
    let digests = hash.then(|| digests.map(|d| d.into_inner().unwrap_or_else(|| Err(skipped_digest()))));
    Pass { sides, digests }
}

/// Unreachable when both sides were read: no side failed, so every digest was taken.
fn skipped_digest() -> EngineError {
    EngineError::new(ErrorCode::Internal, "a digest was skipped although both sides were read")
}

fn initial_lookback(req: &LoadRequest) -> i64 {
    if req.warmup_bars == 0 {
        return 0;
    }
    let bars = i64::try_from(req.warmup_bars).unwrap_or(i64::MAX);
    bars.saturating_mul(req.timeframe.nanos()).saturating_mul(3).saturating_add(7 * NANOS_PER_DAY)
}
