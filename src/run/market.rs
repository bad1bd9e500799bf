//! The `data_load` phase: the market side of a run (bars, specs, warmup, news, additional
//! timeframes, manifest), everything the loop needs that is not the strategy.

use tracing::{info, warn};

use crate::config::RunConfig;
use crate::data::{self, DataSource, LoadCache, LoadRequest, LoadedData, Served};
use crate::engine::{EngineSetup, LoopProfiling};
use crate::error::{EngineError, ErrorCode, Result};
use crate::market::{Bars, Timeframe};
use crate::specs::{MarketSpecs, SpecSource};
use crate::strategy::{Extras, StrategyInput};

use std::path::Path;
use std::sync::Arc;

use super::{MarketFrames, Preflight};

pub struct RunMarket {
    /// Shared with a data cache's other runs (`data::LoadCache`); copied on a spread rescale.
    pub loaded: Arc<LoadedData>,
    pub specs: MarketSpecs,
    /// First bar that trades: the warmup bars found, so a shortfall starts the run later.
    pub start_index: usize,
    pub news_blackouts: Vec<(i64, i64)>,
    /// The news calendar read (`news_filter.enabled`), part of the manifest.
    pub news_calendar: Option<SpecSource>,
    /// `timeframes.additional`, loaded and validated from their own files for the same range.
    /// No implemented strategy reads them yet; they are part of the run's provenance.
    pub additional: Vec<(Timeframe, Arc<LoadedData>)>,
    /// Over the data files and the specs files used.
    pub manifest_sha256: String,
}

impl RunMarket {
    /// Bars that trade (after warmup).
    pub fn trading_bars(&self) -> usize {
        self.loaded.bars.len() - self.start_index
    }

    /// The engine setup of `cfg` on these bars.
    pub fn setup<'a>(&'a self, cfg: &RunConfig, profiling: LoopProfiling) -> Result<EngineSetup<'a>> {
        let bars = &self.loaded.bars;
        EngineSetup::new(cfg, &self.specs, bars, self.start_index, self.news_blackouts.clone(), profiling)
    }

    /// What `cfg`'s strategy is built from on these bars.
    pub fn strategy_input<'a>(&'a self, cfg: &'a RunConfig, extras: Extras<'a>) -> StrategyInput<'a> {
        StrategyInput {
            name: &cfg.strategy_name,
            params: &cfg.strategy_parameters,
            bars: &self.loaded.bars,
            start_index: self.start_index,
            spec: &self.specs.symbol,
            extras,
        }
    }
}

/// Loads and validates everything the run reads, from `frames` when given, else from the files
/// under `data_root`, polling `cancelled` between the steps.
pub fn load(
    cfg: &RunConfig,
    pre: Preflight,
    data_root: &Path,
    frames: Option<MarketFrames>,
    cache: Option<&LoadCache>,
    cancelled: &dyn Fn() -> bool,
) -> Result<RunMarket> {
    let Preflight { specs, news } = pre;
    let (news_blackouts, news_calendar) = news.map_or((Vec::new(), None), |n| (n.blackouts, Some(n.source)));
    let source = match frames {
        Some(MarketFrames { bid, ask }) => {
            if !cfg.timeframes.additional.is_empty() {
                return Err(one_timeframe_only());
            }
            DataSource::Frames { bid, ask }
        }
        None => DataSource::Files { root: data_root },
    };
    let request = LoadRequest {
        source,
        symbol: &cfg.symbol,
        timeframe: cfg.timeframes.primary,
        start_ns: cfg.start_ns()?,
        end_ns: cfg.end_ns()?,
        warmup_bars: cfg.warmup_bars,
        pip_size: specs.symbol.pip_size,
    };
    let mut loaded = load_one(&request, cache, cancelled)?;
    if cfg.costs.enabled && Bars::spread_scale_changes(cfg.costs.spread_multiplier) {
        Arc::make_mut(&mut loaded).bars.scale_spread(cfg.costs.spread_multiplier);
    }
    let start_index = start_index(&loaded, cfg.warmup_bars)?;
    log_loaded(&loaded, start_index);
    let additional = cfg
        .timeframes
        .additional
        .iter()
        .map(|&tf| Ok((tf, load_one(&LoadRequest { timeframe: tf, ..request }, cache, cancelled)?)))
        .collect::<Result<Vec<_>>>()?;
    let datasets = std::iter::once(&*loaded).chain(additional.iter().map(|(_, d)| &**d));
    let manifest_sha256 = manifest(datasets, specs.sources.iter().chain(&news_calendar));
    Ok(RunMarket { loaded, specs, start_index, news_blackouts, news_calendar, additional, manifest_sha256 })
}

/// One timeframe's bars, from `cache` when an earlier run of it loaded the same.
fn load_one(request: &LoadRequest, cache: Option<&LoadCache>, cancelled: &dyn Fn() -> bool) -> Result<Arc<LoadedData>> {
    let Some(cache) = cache else { return data::load_cancellable(request, cancelled).map(Arc::new) };
    let (loaded, served) = cache.load(request, cancelled)?;
    if served == Served::Reused {
        info!(
            timeframe = request.timeframe.as_str(),
            "data reused: an earlier run in this process read and hashed the same files for the same span"
        );
    }
    Ok(loaded)
}

fn one_timeframe_only() -> EngineError {
    EngineError::new(
        ErrorCode::ConfigDataMismatch,
        "timeframes.additional needs data files: an in-memory market holds one timeframe; \
         leave it empty when passing data=",
    )
    .with("field", "timeframes.additional")
}

/// A warmup shortfall starts the run later by that many bars, never silently.
fn start_index(loaded: &LoadedData, warmup_bars: usize) -> Result<usize> {
    let shortfall = &loaded.governance.warmup_shortfall;
    let start_index = loaded.first_trading_index + shortfall.shortfall_bars;
    if shortfall.shortfall_bars > 0 {
        warn!(
            requested = shortfall.requested_bars,
            available = shortfall.available_bars,
            shortfall = shortfall.shortfall_bars,
            "warmup shortfall: the run starts later by the missing bars"
        );
    }
    if start_index >= loaded.bars.len() {
        return Err(EngineError::new(
            ErrorCode::DataNotEnoughBars,
            format!(
                "no bars left to trade after {warmup_bars} warmup bars; extend the date range or lower warmup_bars"
            ),
        ));
    }
    Ok(start_index)
}

fn log_loaded(loaded: &LoadedData, start_index: usize) {
    let g = &loaded.governance;
    info!(
        rows = loaded.bars.len(),
        trading_bars = loaded.bars.len() - start_index,
        bid_rows = g.alignment.bid_rows,
        ask_rows = g.alignment.ask_rows,
        dropped_bid_only = g.alignment.dropped_bid_only,
        dropped_ask_only = g.alignment.dropped_ask_only,
        missing_bars = g.gaps.missing_bars,
        gap_count = g.gaps.gap_count,
        duplicates_dropped = g.duplicates_dropped.bid + g.duplicates_dropped.ask,
        "data loaded"
    );
}

/// Over the data files (or frames), the specs files and the news calendar read.
fn manifest<'a>(
    datasets: impl Iterator<Item = &'a LoadedData>,
    sources: impl Iterator<Item = &'a SpecSource>,
) -> String {
    let data_files = datasets.flat_map(|d| &d.files).map(|f| (f.name.clone(), f.sha256.clone()));
    let spec_files = sources.map(|s| (s.file_name().to_owned(), s.sha256.clone()));
    data::manifest_sha256(&data_files.chain(spec_files).collect::<Vec<_>>())
}
