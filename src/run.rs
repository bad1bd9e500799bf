//! One backtest run end to end: the single entry point behind the Python seam and the binary.
//! It opens the run's log sinks, then runs the phases `data_load`, `strategy_init`,
//! `backtest_loop`, `metrics`, `write` under the root span, timing each with its own clock.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tracing::{error, info, info_span, warn};

use crate::config::{Params, RunConfig};
use crate::data::{self, DataSource, LoadRequest, LoadedData};
use crate::engine::{self, Counters, EngineOutput, EngineSetup, EntryGates, QuoteConversion};
use crate::error::{EngineError, Result};
use crate::execution::management::Manager;
use crate::execution::{CostModel, Sizer};
use crate::market::Timeframe;
use crate::metrics::{self, Metrics};
use crate::observability::{self, RunLogContext, RunLogGuard, RunLogOptions};
use crate::output::meta::{self, GitInfo, Meta};
use crate::output::{self, equity::write_equity, trades::write_trades, StagingDir};
use crate::profiling::{ProfilingInput, ProfilingSession};
use crate::specs::{self, MarketSpecs};
use crate::strategy::{self, Strategy, StrategyInput, StrategyVisitor};
use crate::timefmt::format_iso;

/// Everything about a run that is not the config: identity, paths, output policy.
#[derive(Debug, Clone, Deserialize)]
pub struct RunContext {
    pub run_id: String,
    /// sha256 of the canonical config JSON, computed once by the caller (SPEC 8.5).
    pub config_hash: String,
    /// `dict`, `example` or the config file path.
    pub config_source: String,
    /// Base of `logs/` and `results/backtests/`.
    pub var_dir: PathBuf,
    pub data_root: PathBuf,
    /// Mirror the human log to stdout.
    #[serde(default = "yes")]
    pub log_to_stdout: bool,
    /// `RUST_LOG` directives overriding the run mode's default level.
    #[serde(default)]
    pub rust_log: Option<String>,
    /// Forces profiling mode on (CLI `--profile`, API `profile=True`).
    #[serde(default)]
    pub profile: bool,
    #[serde(default)]
    pub git: Option<GitInfo>,
}

fn yes() -> bool {
    true
}

/// Wall time of each phase in ns, from the engine's own clocks (present in every mode).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseTimings {
    pub data_load_ns: u64,
    pub strategy_init_ns: u64,
    pub backtest_ns: u64,
    pub metrics_ns: u64,
    pub write_ns: u64,
    pub total_ns: u64,
}

/// What a run hands back across the seam: small, no per-bar data.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub run_id: String,
    pub status: &'static str,
    pub run_dir: PathBuf,
    pub log_file: PathBuf,
    pub jsonl_file: PathBuf,
    pub bars: usize,
    pub start_time: String,
    pub end_time: String,
    pub warmup_shortfall_bars: usize,
    pub counters: Counters,
    pub timings: PhaseTimings,
    /// Headline metrics as written (rounded); the full set is in metrics.json.
    pub metrics: serde_json::Map<String, serde_json::Value>,
}

pub fn results_dir(var_dir: &Path) -> PathBuf {
    var_dir.join("results").join("backtests")
}

pub fn logs_dir(var_dir: &Path) -> PathBuf {
    var_dir.join("logs")
}

/// A run_id is used as a file name: `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$` without `..`.
pub fn validate_run_id(run_id: &str) -> Result<()> {
    let b = run_id.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
        && !run_id.contains("..");
    if ok {
        Ok(())
    } else {
        Err(EngineError::config(
            "config.run_id",
            "run_id must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$ and must not contain `..`",
        )
        .with("field", "run_id"))
    }
}

/// Runs one backtest. `cancelled` is polled during the loop and between phases.
pub fn execute(config_json: &str, ctx: &RunContext, cancelled: &dyn Fn() -> bool) -> Result<Summary> {
    let started = Instant::now();
    validate_run_id(&ctx.run_id)?;
    let cfg = RunConfig::from_json(config_json)?;
    observability::init_global();
    let log_ctx = RunLogContext {
        run_id: ctx.run_id.clone(),
        strategy_name: cfg.strategy_name.clone(),
        symbol: cfg.symbol.clone(),
        timeframe: cfg.timeframes.primary.as_str().to_owned(),
    };
    let opts = RunLogOptions {
        log_dir: logs_dir(&ctx.var_dir),
        default_level: if cfg.is_prod() { tracing::Level::WARN } else { tracing::Level::INFO },
        rust_log: ctx.rust_log.clone(),
        to_stdout: ctx.log_to_stdout,
        phase_spans: !cfg.is_prod(),
    };
    ensure_unused(ctx)?;
    let guard = RunLogGuard::start(&log_ctx, &opts)?;
    if ctx.profile || cfg.observability.profiling_mode {
        guard.enable_profiling_spans();
    }
    let root = guard.root_span().clone();
    let _entered = root.enter();
    let allowlisted = observability::allowlisted(&serde_json::from_str(config_json).unwrap_or_default());
    // The config is logged only as its hash plus allowlisted fields (SPEC 8.5); symbol,
    // strategy and timeframe are already on every record.
    info!(config_hash = %ctx.config_hash, run_mode = cfg.run_mode_str(), data_mode = %cfg.data_mode,
        start_date = %cfg.start_date, end_date = %cfg.end_date, "run started");
    let phases = Phases { cfg: &cfg, ctx, allowlisted: &allowlisted, cancelled, started };
    // A panic is a bug, but the run must still be marked failed in its own logs.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| phases.run()))
        .unwrap_or_else(|payload| Err(EngineError::internal("internal.panic", panic_message(payload.as_ref()))));
    match &outcome {
        Ok(s) => info!(
            run_dir = %s.run_dir.display(), bars = s.bars, trades = s.counters.trades_emitted,
            total_ms = s.timings.total_ns as f64 / 1e6, "run finished"
        ),
        Err(e) => error!(code = e.code, kind = e.kind.python_class(), error = %e, "run failed"),
    }
    let flushed = guard.flush();
    outcome.and_then(|summary| flushed.map(|()| summary))
}

/// A run never writes into another run's files: an existing run dir or Rust log of this
/// run_id is an error before anything is opened. (The caller's own `.python.log` is not ours.)
fn ensure_unused(ctx: &RunContext) -> Result<()> {
    let logs = logs_dir(&ctx.var_dir);
    let candidates = [
        results_dir(&ctx.var_dir).join(&ctx.run_id),
        logs.join(format!("{}.log", ctx.run_id)),
        logs.join(format!("{}.jsonl", ctx.run_id)),
    ];
    match candidates.iter().find(|p| p.exists()) {
        Some(taken) => Err(EngineError::output(
            "output.exists",
            format!(
                "run_id `{}` is already used ({} exists); choose another run_id or remove that run",
                ctx.run_id,
                taken.display()
            ),
        )
        .with_file(taken)),
        None => Ok(()),
    }
}

struct Phases<'a> {
    cfg: &'a RunConfig,
    ctx: &'a RunContext,
    allowlisted: &'a serde_json::Map<String, serde_json::Value>,
    cancelled: &'a dyn Fn() -> bool,
    started: Instant,
}

/// The market side of a run, after `data_load`.
struct Market {
    loaded: LoadedData,
    specs: MarketSpecs,
    start_index: usize,
    news_blackouts: Vec<(i64, i64)>,
    /// `timeframes.additional`, loaded and validated from their own files for the same range.
    /// No implemented strategy reads them yet; they are part of the run's provenance.
    additional: Vec<(Timeframe, LoadedData)>,
    /// Over the data files and the specs files used (SPEC 3).
    manifest_sha256: String,
}

impl Phases<'_> {
    fn run(&self) -> Result<Summary> {
        let mut timings = PhaseTimings::default();
        let profiling =
            self.profiling().then(|| ProfilingSession::start(self.cfg.observability.profiling_frequency_hz));
        let market = timed(&mut timings.data_load_ns, || {
            let _s = info_span!("data_load", component = "data_load", phase = "init").entered();
            self.load_market()
        })?;
        self.check_cancelled()?;
        let (engine_out, init_ns, loop_ns) = self.run_strategy(&market)?;
        timings.strategy_init_ns = init_ns;
        timings.backtest_ns = loop_ns;
        self.check_cancelled()?;
        let bars = &market.loaded.bars;
        let times = &bars.time_ns[market.start_index..];
        let metrics = timed(&mut timings.metrics_ns, || {
            let _s = info_span!("metrics", component = "metrics", phase = "finalize").entered();
            let m = metrics::compute(&engine_out.trades, &engine_out.equity, times, self.cfg.account.initial_balance);
            log_metrics(&m);
            m
        });
        let dir = timed(&mut timings.write_ns, || {
            let _s = info_span!("write", component = "output", phase = "finalize").entered();
            self.write(&market, &engine_out, &metrics)
        })?;
        timings.total_ns = self.started.elapsed().as_nanos() as u64;
        if let Some(session) = profiling {
            session.finish(&dir, &ProfilingInput { timings: &timings, counters: &engine_out.counters })?;
        }
        self.check_cancelled()?;
        let run_dir = dir.commit()?;
        Ok(self.summary(&market, engine_out.counters, timings, &metrics, run_dir))
    }

    fn check_cancelled(&self) -> Result<()> {
        if (self.cancelled)() {
            return Err(EngineError::cancelled());
        }
        Ok(())
    }

    fn load_market(&self) -> Result<Market> {
        let cfg = self.cfg;
        let specs = specs::resolve(&cfg.symbol)?;
        let request = LoadRequest {
            source: DataSource::Files { root: &self.ctx.data_root },
            symbol: &cfg.symbol,
            timeframe: cfg.timeframes.primary,
            start_ns: cfg.start_ns()?,
            end_ns: cfg.end_ns()?,
            warmup_bars: cfg.warmup_bars,
            pip_size: specs.symbol.pip_size,
        };
        let mut loaded = data::load_cancellable(&request, self.cancelled)?;
        if cfg.costs.enabled {
            loaded.bars.scale_spread(cfg.costs.spread_multiplier);
        }
        let shortfall = &loaded.governance.warmup_shortfall;
        // A warmup shortfall starts the run later by that many bars, never silently.
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
            return Err(EngineError::data(
                "data.not_enough_bars",
                format!(
                    "no bars left to trade after {} warmup bars; extend the date range or lower warmup_bars",
                    cfg.warmup_bars
                ),
            ));
        }
        let news_blackouts = if cfg.news_filter.enabled {
            let mut currencies = cfg.news_filter.currencies.clone();
            if currencies.is_empty() {
                currencies = vec![specs.symbol.base_currency.clone(), specs.symbol.quote_currency.clone()];
            }
            crate::news::blackouts_from_env(&cfg.news_filter, &currencies)?
        } else {
            Vec::new()
        };
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
        let additional = cfg
            .timeframes
            .additional
            .iter()
            .map(|&tf| Ok((tf, data::load_cancellable(&LoadRequest { timeframe: tf, ..request }, self.cancelled)?)))
            .collect::<Result<Vec<_>>>()?;
        let manifest_sha256 = manifest(std::iter::once(&loaded).chain(additional.iter().map(|(_, d)| d)), &specs);
        Ok(Market { loaded, specs, start_index, news_blackouts, additional, manifest_sha256 })
    }

    /// Builds the strategy and runs the loop; returns the output and both phase durations.
    fn run_strategy(&self, market: &Market) -> Result<(EngineOutput, u64, u64)> {
        let cfg = self.cfg;
        let bars = &market.loaded.bars;
        let init_clock = Instant::now();
        let init_span = info_span!("strategy_init", component = "strategy", phase = "init").entered();
        let params = Params::new(&cfg.strategy_name, &cfg.strategy_parameters);
        let setup = self.engine_setup(market, &params)?;
        let input = StrategyInput { name: &cfg.strategy_name, params, bars, spec: &market.specs.symbol };
        let visitor = LoopVisitor { setup: &setup, cancelled: self.cancelled, init_clock, init_span: Some(init_span) };
        strategy::with_strategy(&input, visitor)?
    }

    fn engine_setup<'m>(&self, market: &'m Market, params: &Params) -> Result<EngineSetup<'m>> {
        let cfg = self.cfg;
        let spec = &market.specs.symbol;
        let conversion = if cfg.account.account_currency == spec.quote_currency {
            QuoteConversion::Unit
        } else if cfg.account.account_currency == spec.base_currency {
            QuoteConversion::InverseMid
        } else {
            return Err(EngineError::config(
                "config.account_currency",
                format!(
                    "`account.account_currency` must be the base ({}) or the quote ({}) currency of {}: PnL is converted with the symbol's own price",
                    spec.base_currency, spec.quote_currency, cfg.symbol
                ),
            )
            .with("field", "account.account_currency"));
        };
        let costs = CostModel::new(&cfg.costs, &market.specs.costs, spec, cfg.rng_seed);
        Ok(EngineSetup {
            bars: &market.loaded.bars,
            start_index: market.start_index,
            contract_size: spec.contract_size,
            costs,
            sizer: Sizer::new(spec, cfg.account.risk_per_trade),
            manager: Manager::new(&cfg.trade_management, spec.pip_size),
            pip_buffer: spec.pip_size * self.pip_buffer_factor(market),
            conversion,
            initial_balance: cfg.account.initial_balance,
            gates: EntryGates {
                sessions: cfg.sessions.iter().flatten().map(|s| (s.start, s.end)).collect(),
                news_blackouts: market.news_blackouts.clone(),
                cooldown_bars: params.usize("cooldown_bars", 0)?,
            },
            profiling: self.profiling(),
        })
    }

    fn pip_buffer_factor(&self, market: &Market) -> f64 {
        self.cfg.costs.pip_buffer_factor.unwrap_or(market.specs.costs.pip_buffer_factor)
    }

    fn profiling(&self) -> bool {
        self.ctx.profile || self.cfg.observability.profiling_mode
    }

    /// Writes the artefacts into the staging directory; the caller commits it.
    fn write(&self, market: &Market, out: &EngineOutput, metrics: &Metrics) -> Result<StagingDir> {
        let cfg = self.cfg;
        let bars = &market.loaded.bars;
        let times = &bars.time_ns[market.start_index..];
        let dir = StagingDir::create(&results_dir(&self.ctx.var_dir), &self.ctx.run_id)?;
        // The two large artefacts are formatted and synced on both cores at once. Only this
        // thread may poll `cancelled` (it can reach into Python); the writer of trades.json
        // sees the outcome through `stop`.
        let stop = AtomicBool::new(false);
        let poll = || {
            let cancelled = (self.cancelled)();
            if cancelled {
                stop.store(true, Ordering::Relaxed);
            }
            cancelled
        };
        let (symbol, trades) = (&cfg.symbol, &out.trades);
        let (trades_written, equity_written) = std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                dir.write_file("trades.json", |w| write_trades(w, trades, symbol, &|| stop.load(Ordering::Relaxed)))
            });
            let equity = dir.write_file("equity.csv", |w| {
                write_equity(w, times, &out.equity, &out.balance, cfg.account.initial_balance, &poll)
            });
            (worker.join(), equity)
        });
        // An interrupted write fails with an I/O error; cancellation is the cause to report.
        self.check_cancelled()?;
        trades_written.map_err(|_| EngineError::internal("internal.panic", "writing trades.json panicked"))??;
        equity_written?;
        output::write_json(&dir, "metrics.json", metrics)?;
        output::write_json(&dir, "meta.json", &self.meta(market, &out.counters))?;
        Ok(dir)
    }

    fn meta<'m>(&'m self, market: &'m Market, counters: &'m Counters) -> Meta<'m> {
        let cfg = self.cfg;
        let loaded = &market.loaded;
        let times = &loaded.bars.time_ns;
        let (first, last) = (times[market.start_index], times[times.len() - 1]);
        let now_ns =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64);
        Meta {
            run_id: &self.ctx.run_id,
            status: "success",
            generated_at: format_iso(now_ns),
            generated_at_ns: now_ns,
            engine: meta::Engine::CURRENT,
            git: self.ctx.git.as_ref(),
            config: meta::ConfigRef {
                hash: &self.ctx.config_hash,
                source: &self.ctx.config_source,
                allowlisted: self.allowlisted,
            },
            dataset: meta::Dataset {
                symbol: &cfg.symbol,
                timeframe: cfg.timeframes.primary.as_str(),
                start_time: format_iso(first),
                start_time_ns: first,
                end_time: format_iso(last),
                end_time_ns: last,
                bars: times.len() - market.start_index,
                warmup_bars_used: market.start_index,
                manifest_sha256: &market.manifest_sha256,
                files: &loaded.files,
                specs: market
                    .specs
                    .sources
                    .iter()
                    .map(|s| meta::SpecFile { name: &s.name, sha256: &s.sha256 })
                    .collect(),
                governance: &loaded.governance,
                additional_timeframes: market
                    .additional
                    .iter()
                    .map(|(tf, d)| meta::AdditionalTimeframe {
                        timeframe: tf.as_str(),
                        bars: d.bars.len(),
                        files: &d.files,
                        governance: &d.governance,
                    })
                    .collect(),
            },
            account: meta::Account {
                account_currency: &cfg.account.account_currency,
                initial_balance: cfg.account.initial_balance,
            },
            seed: cfg.rng_seed,
            execution: meta::Execution {
                execution_variant: "v2",
                pip_buffer_factor: self.pip_buffer_factor(market),
                costs_enabled: cfg.costs.enabled,
            },
            counters,
        }
    }

    fn summary(
        &self,
        market: &Market,
        counters: Counters,
        timings: PhaseTimings,
        metrics: &Metrics,
        run_dir: PathBuf,
    ) -> Summary {
        let times = &market.loaded.bars.time_ns;
        let logs = logs_dir(&self.ctx.var_dir);
        let headline =
            ["total_trades", "win_rate", "profit_net", "max_drawdown", "profit_factor", "sharpe_equity_daily"];
        let metrics = headline
            .iter()
            .filter_map(|k| metrics.get(k).map(|v| (k.to_string(), serde_json::to_value(v).unwrap_or_default())))
            .collect();
        Summary {
            run_id: self.ctx.run_id.clone(),
            status: "success",
            run_dir,
            log_file: logs.join(format!("{}.log", self.ctx.run_id)),
            jsonl_file: logs.join(format!("{}.jsonl", self.ctx.run_id)),
            bars: times.len() - market.start_index,
            start_time: format_iso(times[market.start_index]),
            end_time: format_iso(times[times.len() - 1]),
            warmup_shortfall_bars: market.loaded.governance.warmup_shortfall.shortfall_bars,
            counters,
            timings,
            metrics,
        }
    }
}

fn manifest<'a>(datasets: impl Iterator<Item = &'a LoadedData>, specs: &MarketSpecs) -> String {
    let data_files = datasets.flat_map(|d| &d.files).map(|f| (f.name.clone(), f.sha256.clone()));
    let spec_files = specs.sources.iter().map(|s| (s.file_name().to_owned(), s.sha256.clone()));
    data::manifest_sha256(&data_files.chain(spec_files).collect::<Vec<_>>())
}

fn log_metrics(m: &Metrics) {
    let get = |k: &str| m.get(k).and_then(|v| v.rounded()).unwrap_or(f64::NAN);
    let trades = match m.get("total_trades") {
        Some(metrics::Value::Count(n)) => n,
        _ => 0,
    };
    info!(
        total_trades = trades,
        win_rate = get("win_rate"),
        profit_net = get("profit_net"),
        max_drawdown = get("max_drawdown"),
        profit_factor = get("profit_factor"),
        "metrics computed"
    );
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str));
    format!(
        "internal error (panic: {}); the run was aborted, please report it with the run's log files",
        what.unwrap_or("unknown")
    )
}

fn timed<T>(slot: &mut u64, f: impl FnOnce() -> T) -> T {
    let clock = Instant::now();
    let out = f();
    *slot = clock.elapsed().as_nanos() as u64;
    out
}

/// Receives the concrete strategy type: finishes `strategy_init` and runs the loop.
struct LoopVisitor<'a> {
    setup: &'a EngineSetup<'a>,
    cancelled: &'a dyn Fn() -> bool,
    init_clock: Instant,
    init_span: Option<tracing::span::EnteredSpan>,
}

impl StrategyVisitor for LoopVisitor<'_> {
    type Output = Result<(EngineOutput, u64, u64)>;

    fn visit<S: Strategy>(mut self, strategy: S) -> Self::Output {
        let bars = self.setup.bars.len();
        if strategy.first_signal_index() >= bars {
            return Err(EngineError::data(
                "data.not_enough_bars",
                format!("the strategy needs {} bars before its first signal but only {bars} bars were loaded; extend the date range", strategy.first_signal_index()),
            ));
        }
        drop(self.init_span.take());
        if (self.cancelled)() {
            return Err(EngineError::cancelled());
        }
        let init_ns = self.init_clock.elapsed().as_nanos() as u64;
        let loop_clock = Instant::now();
        let out = {
            let _s = info_span!("backtest_loop", component = "execution", phase = "loop").entered();
            engine::run(strategy, self.setup, self.cancelled)?
        };
        let loop_ns = loop_clock.elapsed().as_nanos() as u64;
        info!(
            component = "execution",
            bars = out.counters.bars_processed,
            trades = out.counters.trades_emitted,
            orders_filled = out.counters.orders_filled,
            rejected = out.counters.rejected_invalid_stop
                + out.counters.rejected_stop_too_close
                + out.counters.rejected_below_volume_min,
            bars_per_sec = out.counters.bars_processed as f64 / (loop_ns.max(1) as f64 / 1e9),
            "backtest loop finished"
        );
        if out.counters.sizes_clamped > 0 {
            warn!(component = "execution", count = out.counters.sizes_clamped, "position sizes clamped to volume_max");
        }
        Ok((out, init_ns, loop_ns))
    }
}
