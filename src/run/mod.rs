//! One backtest run end to end: the single entry point behind the Python seam and the binary.
//! It checks everything that can be checked before data is read ([`preflight`]), opens the
//! run's log sinks, then runs the phases `data_load`, `strategy_init`, `backtest_loop`,
//! `metrics`, `write` under the root span, timing each with its own clock.

mod artefacts;
mod context;
mod explain;
mod hooks;
mod inputs;
mod market;
mod summary;

pub use context::RunContext;
pub use explain::explain;
pub use hooks::{Phase, RunHooks};
pub use inputs::{MarketFrames, RunInputs};
pub use market::RunMarket;
pub use summary::{Headline, Summary};

use std::time::Instant;

use tracing::{error, info, info_span, warn};

use crate::config::RunConfig;
use crate::engine::{self, DetailSpans, EngineOutput, EngineSetup, LoopProfiling, QuoteConversion};
use crate::error::{EngineError, ErrorCode, Result};
use crate::layout::RunPaths;
use crate::metrics::{self, Metrics};
use crate::news::NewsCalendar;
use crate::observability::{self, RunLogContext, RunLogGuard, RunLogOptions, TraceExport};
use crate::output::StagingDir;
use crate::profiling::{ProfilingInput, ProfilingSession};
use crate::specs::{self, MarketSpecs};
use crate::strategy::{self, Strategy, StrategyVisitor};
use crate::timefmt::format_iso;
use crate::timing::{elapsed_ns, timed, PhaseTimings};
use artefacts::RunRecord;

/// What a run reads before its market data: the symbol's specs and costs, the news calendar.
pub struct Preflight {
    pub specs: MarketSpecs,
    /// With `news_filter.enabled` only.
    pub news: Option<NewsCalendar>,
}

/// Every check of a config that needs no market data: the symbol's specs and costs files, the
/// account currency conversion, the strategy's parameters and the news calendar. Validating a
/// config runs exactly this, so a config that validates never fails a run with a config error.
pub fn preflight(cfg: &RunConfig) -> Result<Preflight> {
    let specs = specs::resolve(&cfg.symbol)?;
    QuoteConversion::for_account(&cfg.account.account_currency, &cfg.symbol, &specs.symbol)?;
    strategy::check_parameters(&cfg.strategy_name, &cfg.strategy_parameters)?;
    let news = news_calendar(cfg, &specs)?;
    Ok(Preflight { specs, news })
}

fn news_calendar(cfg: &RunConfig, specs: &MarketSpecs) -> Result<Option<NewsCalendar>> {
    if !cfg.news_filter.enabled {
        return Ok(None);
    }
    let mut currencies = cfg.news_filter.currencies.clone();
    if currencies.is_empty() {
        currencies = vec![specs.symbol.base_currency.clone(), specs.symbol.quote_currency.clone()];
    }
    crate::news::blackouts_from_env(&cfg.news_filter, &currencies).map(Some)
}

/// Runs one backtest; `hooks` are polled for cancellation during the loop and between phases
/// and told the progress (a closure `|| false` is the hooks of a run nobody cancels).
pub fn execute(config_json: &str, ctx: &RunContext, inputs: &RunInputs, hooks: &dyn RunHooks) -> Result<Summary> {
    let started = Instant::now();
    let paths = RunPaths::new(&ctx.var_dir, &ctx.run_id)?;
    let parsed = RunConfig::parse(config_json)?;
    let cfg = &parsed.config;
    let pre = preflight(cfg)?;
    observability::init_global();
    let log_ctx = RunLogContext {
        run_id: ctx.run_id.clone(),
        strategy_name: cfg.strategy_name.clone(),
        symbol: cfg.symbol.clone(),
        timeframe: cfg.timeframes.primary.as_str().to_owned(),
    };
    let opts = RunLogOptions {
        text_log: paths.text_log.clone(),
        json_log: paths.json_log.clone(),
        default_level: if cfg.is_prod() { tracing::Level::WARN } else { tracing::Level::INFO },
        rust_log: ctx.rust_log.clone(),
        to_stdout: ctx.log_to_stdout,
        phase_spans: !cfg.is_prod(),
        trace_export: TraceExport::from_env()?,
    };
    // Before any file is touched; opening the logs then claims the run_id (created exclusively).
    crate::output::ensure_absent(&paths.run_dir)?;
    let guard = RunLogGuard::start(&log_ctx, &opts)?;
    let profiling = ctx.profile || cfg.observability.profiling_mode;
    let loop_profiling = loop_profiling(profiling, &guard);
    let root = guard.root_span().clone();
    let _entered = root.enter();
    // The config is logged only as its hash plus allowlisted fields; symbol, strategy and
    // timeframe are already on every record.
    info!(config_hash = %ctx.config_hash, run_mode = cfg.run_mode_str(), data_mode = %cfg.data_mode,
        start_date = %cfg.start_date, end_date = %cfg.end_date, "run started");
    let allowlisted = observability::allowlisted(&parsed.value);
    let cancelled = || hooks.cancelled();
    let phases = Phases {
        config_json,
        cfg,
        ctx,
        paths: &paths,
        allowlisted: &allowlisted,
        inputs,
        guard: &guard,
        hooks,
        cancelled: &cancelled,
        started,
        profiling,
        loop_profiling,
    };
    // A panic is a bug, but the run must still be marked failed in its own logs.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| phases.run(pre)))
        .unwrap_or_else(|payload| Err(EngineError::new(ErrorCode::InternalPanic, panic_message(payload.as_ref()))));
    if let Err(e) = &outcome {
        error!(code = e.code.as_str(), kind = e.kind().as_str(), error = %e, "run failed");
        // The error being returned says what failed; a log that cannot take this line adds nothing.
        let _ = guard.flush();
    }
    outcome
}

struct Phases<'a> {
    config_json: &'a str,
    cfg: &'a RunConfig,
    ctx: &'a RunContext,
    paths: &'a RunPaths,
    allowlisted: &'a serde_json::Map<String, serde_json::Value>,
    inputs: &'a RunInputs<'a>,
    guard: &'a RunLogGuard,
    hooks: &'a dyn RunHooks,
    cancelled: &'a dyn Fn() -> bool,
    started: Instant,
    profiling: bool,
    loop_profiling: LoopProfiling,
}

impl Phases<'_> {
    fn run(&self, pre: Preflight) -> Result<Summary> {
        let mut timings = PhaseTimings::default();
        // Created first: an unwritable results directory fails before any data is read.
        let dir = StagingDir::for_run(self.paths)?;
        let profiler = self.profiling.then(|| ProfilingSession::start(self.cfg.observability.profiling_frequency_hz));
        self.hooks.progress(Phase::Loading, 0, 0);
        let market = timed(&mut timings.data_load_ns, || {
            let _s = info_span!("data_load", component = "data_load", phase = "init").entered();
            market::load(self.cfg, pre, &self.ctx.data_root, self.inputs.market, self.inputs.data_cache, self.cancelled)
        })?;
        self.phase_done()?;
        let (out, init_ns, loop_ns) = self.run_strategy(&market)?;
        timings.strategy_init_ns = init_ns;
        timings.backtest_ns = loop_ns;
        self.phase_done()?;
        let times = &market.loaded.bars.time_ns[market.start_index..];
        let metrics = timed(&mut timings.metrics_ns, || {
            let _s = info_span!("metrics", component = "metrics", phase = "finalize").entered();
            let m = metrics::compute(&out.trades, &out.equity, times, self.cfg.account.initial_balance);
            log_metrics(&m);
            m
        });
        let bars = market.trading_bars() as u64;
        self.hooks.progress(Phase::Writing, bars, bars);
        timed(&mut timings.write_ns, || {
            let _s = info_span!("write", component = "output", phase = "finalize").entered();
            let record = RunRecord {
                config_json: self.config_json,
                cfg: self.cfg,
                ctx: self.ctx,
                allowlisted: self.allowlisted,
                inputs: self.inputs,
                market: &market,
                out: &out,
                metrics: &metrics,
            };
            artefacts::write(&dir, &record, self.cancelled)
        })?;
        timings.total_ns = elapsed_ns(self.started);
        if let Some(session) = profiler {
            let bar_times = out.bar_times.as_ref().and_then(engine::BarTimes::summary);
            session.finish(&dir, &ProfilingInput { timings: &timings, counters: &out.counters, bar_times })?;
        }
        self.phase_done()?;
        let summary = self.summary(&market, out, timings, &metrics);
        self.commit(dir, &summary)?;
        Ok(summary)
    }

    /// Between phases: a cancellation stops the run; the logs so far reach the disk, so a
    /// killed process still leaves its story up to here.
    fn phase_done(&self) -> Result<()> {
        self.guard.flush()?;
        if (self.cancelled)() {
            return Err(EngineError::cancelled());
        }
        Ok(())
    }

    /// The run directory appears only once everything it stands for is on disk: the
    /// artefacts, the run's own logs (flushed and synced, so a log volume that fails fails the
    /// run) and whatever the caller writes last.
    fn commit(&self, dir: StagingDir, s: &Summary) -> Result<()> {
        info!(
            run_dir = %s.paths.run_dir.display(), bars = s.bars, trades = s.counters.trades_emitted,
            total_ms = s.timings.total_ns as f64 / 1e6, "run finished"
        );
        self.guard.sync()?;
        self.hooks.before_commit(dir.path(), s)?;
        dir.commit().map(drop)
    }

    /// Builds the strategy and runs the loop; returns the output and both phase durations.
    fn run_strategy(&self, market: &RunMarket) -> Result<(EngineOutput, u64, u64)> {
        let init_clock = Instant::now();
        let init_span = info_span!("strategy_init", component = "strategy", phase = "init").entered();
        let setup = market.setup(self.cfg, self.loop_profiling)?;
        let input = market.strategy_input(self.cfg, self.inputs.extras());
        let visitor = LoopVisitor { setup: &setup, hooks: self.hooks, init_clock, init_span: Some(init_span) };
        strategy::with_strategy(&input, visitor)?
    }

    fn summary(&self, market: &RunMarket, out: EngineOutput, timings: PhaseTimings, metrics: &Metrics) -> Summary {
        let times = &market.loaded.bars.time_ns;
        Summary {
            run_id: self.ctx.run_id.clone(),
            status: "success",
            paths: self.paths.clone(),
            bars: market.trading_bars(),
            start_time: format_iso(times[market.start_index]),
            end_time: format_iso(times[times.len() - 1]),
            warmup_shortfall_bars: market.loaded.governance.warmup_shortfall.shortfall_bars,
            counters: out.counters,
            timings,
            metrics: Headline::of(metrics),
        }
    }
}

/// What profiling mode adds to this run's loop: bar times, and detail spans for every bar when
/// the run's log writes them (TRACE) or for a sample of bars when its trace is exported.
fn loop_profiling(profiling: bool, guard: &RunLogGuard) -> LoopProfiling {
    if !profiling {
        return LoopProfiling::OFF;
    }
    let spans = if guard.writes(engine::SPAN_TARGET, tracing::Level::TRACE) {
        DetailSpans::Every
    } else if guard.exports_trace() {
        guard.enable_detail_spans();
        DetailSpans::Sampled
    } else {
        DetailSpans::None
    };
    LoopProfiling { bar_times: true, spans }
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

/// Receives the concrete strategy type: finishes `strategy_init` and runs the loop.
struct LoopVisitor<'a> {
    setup: &'a EngineSetup<'a>,
    hooks: &'a dyn RunHooks,
    init_clock: Instant,
    init_span: Option<tracing::span::EnteredSpan>,
}

impl StrategyVisitor for LoopVisitor<'_> {
    type Output = Result<(EngineOutput, u64, u64)>;

    fn visit<S: Strategy>(mut self, strategy: S) -> Self::Output {
        let bars = self.setup.bars.len();
        if strategy.first_signal_index() >= bars {
            return Err(EngineError::new(
                ErrorCode::DataNotEnoughBars,
                format!("the strategy needs {} bars before its first signal but only {bars} bars were loaded; extend the date range", strategy.first_signal_index()),
            ));
        }
        drop(self.init_span.take());
        if self.hooks.cancelled() {
            return Err(EngineError::cancelled());
        }
        let init_ns = elapsed_ns(self.init_clock);
        let loop_clock = Instant::now();
        // Each of the loop's polls is also a progress report.
        let total = (self.setup.bars.len() - self.setup.start_index) as u64;
        let poll = |done: u64| {
            self.hooks.progress(Phase::Trading, done, total);
            self.hooks.cancelled()
        };
        let out = {
            let _s = info_span!("backtest_loop", component = "execution", phase = "loop").entered();
            engine::run(strategy, self.setup, &poll)?
        };
        let loop_ns = elapsed_ns(loop_clock);
        info!(
            component = "execution",
            bars = out.counters.bars_processed,
            trades = out.counters.trades_emitted,
            orders_filled = out.counters.orders_filled,
            rejected = out.counters.rejected_invalid_stop
                + out.counters.rejected_invalid_take_profit
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
