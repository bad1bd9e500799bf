//! The `write` phase: every artefact of a run into its staging directory (the caller commits
//! it), and the provenance record `meta.json`.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{EquityOutput, RunConfig};
use crate::engine::{self, Counters, EngineOutput};
use crate::error::{EngineError, ErrorCode, Result};
use crate::metrics::Metrics;
use crate::output::meta::{self, Meta};
use crate::output::{self, equity::write_equity, trades::write_trades, StagingDir};
use crate::timefmt::{format_iso, now_ns};

use super::market::RunMarket;
use super::{RunContext, RunInputs};

/// What the artefacts are written from.
pub struct RunRecord<'a> {
    /// The normalised config exactly as the run received it (`config.json`, for replays).
    pub config_json: &'a str,
    pub cfg: &'a RunConfig,
    pub ctx: &'a RunContext,
    /// The allowlisted config fields (the only ones meta.json and logs may show).
    pub allowlisted: &'a serde_json::Map<String, serde_json::Value>,
    pub inputs: &'a RunInputs<'a>,
    pub market: &'a RunMarket,
    pub out: &'a EngineOutput,
    pub metrics: &'a Metrics,
}

/// Writes `trades.json`, `equity.csv` (unless `outputs.equity` is `none`), `metrics.json`,
/// `config.json` and `meta.json` into `dir`. Only this thread may poll `cancelled` (it can reach
/// into Python).
pub fn write(dir: &StagingDir, rec: &RunRecord, cancelled: &dyn Fn() -> bool) -> Result<()> {
    let (bars, out) = (&rec.market.loaded.bars, rec.out);
    let times = &bars.time_ns[rec.market.start_index..];
    // The two large artefacts are formatted and synced on both cores at once; the writer of
    // trades.json sees a cancellation through `stop`.
    let stop = AtomicBool::new(false);
    let poll = || {
        let cancelled = cancelled();
        if cancelled {
            stop.store(true, Ordering::Relaxed);
        }
        cancelled
    };
    let (symbol, trades) = (&rec.cfg.symbol, &out.trades);
    let initial_balance = rec.cfg.account.initial_balance;
    let rows = rec.cfg.outputs.equity;
    let (trades_written, equity_written) = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let _sampled = crate::sampling::sample_this_thread();
            dir.write_file("trades.json", |w| write_trades(w, trades, symbol, &|| stop.load(Ordering::Relaxed)))
        });
        let daily = rows == EquityOutput::Daily;
        let equity = match rows {
            EquityOutput::None => Ok(()),
            _ => dir.write_file("equity.csv", |w| {
                write_equity(w, times, &out.equity, &out.balance, initial_balance, daily, &poll)
            }),
        };
        (worker.join(), equity)
    });
    // An interrupted write fails with an I/O error; cancellation is the cause to report.
    if cancelled() {
        return Err(EngineError::cancelled());
    }
    trades_written.map_err(|_| EngineError::new(ErrorCode::InternalPanic, "writing trades.json panicked"))??;
    equity_written?;
    output::write_json(dir, "metrics.json", rec.metrics)?;
    // An artefact, never logged: the config holds values that only the allowlist may show.
    dir.write_file("config.json", |w| writeln!(w, "{}", rec.config_json.trim_end()))?;
    output::write_json(dir, "meta.json", &meta_of(rec, &out.counters))
}

fn meta_of<'m>(rec: &'m RunRecord, counters: &'m Counters) -> Meta<'m> {
    let (cfg, market) = (rec.cfg, rec.market);
    let loaded = &market.loaded;
    let times = &loaded.bars.time_ns;
    let (first, last) = (times[market.start_index], times[times.len() - 1]);
    let now_ns = now_ns();
    Meta {
        run_id: &rec.ctx.run_id,
        status: "success",
        generated_at: format_iso(now_ns),
        generated_at_ns: now_ns,
        engine: meta::Engine::CURRENT,
        git: rec.ctx.git.as_ref(),
        config: meta::ConfigRef {
            hash: &rec.ctx.config_hash,
            source: &rec.ctx.config_source,
            allowlisted: rec.allowlisted,
        },
        dataset: meta::Dataset {
            symbol: &cfg.symbol,
            timeframe: cfg.timeframes.primary.as_str(),
            start_time: format_iso(first),
            start_time_ns: first,
            end_time: format_iso(last),
            end_time_ns: last,
            bars: market.trading_bars(),
            warmup_bars_used: market.start_index,
            manifest_sha256: &market.manifest_sha256,
            files: &loaded.files,
            specs: market.specs.sources.iter().map(meta::SpecFile::of).collect(),
            news_calendar: market.news_calendar.as_ref().map(meta::SpecFile::of),
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
            pip_buffer_factor: engine::pip_buffer_factor(cfg, &market.specs),
            costs_enabled: cfg.costs.enabled,
        },
        counters,
        inputs: rec.inputs.record(),
        stop_out: rec.out.stop_out.map(|s| meta::StopOutRecord {
            time: format_iso(s.time_ns),
            time_ns: s.time_ns,
            equity: s.equity,
            stop_out_level: s.level,
        }),
    }
}
