//! Full runs through `run::execute` (data load, loop, metrics, artefacts) on seeded synthetic
//! data in a temporary directory: artefact formats, golden reproducibility, atomic output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use omega_v2::data::synth::{aggregate, generate_dataset, generate_m1, SynthSpec};
use omega_v2::data::{sha256_hex, Format};
use omega_v2::domain::Direction;
use omega_v2::error::{EngineError, ErrorCode, ErrorKind};
use omega_v2::market::{Bars, Timeframe};
use omega_v2::metrics::CATALOGUE;
use omega_v2::output::equity::HEADER;
use omega_v2::run::{execute, RunContext, RunInputs, Summary};
use omega_v2::timefmt::{format_iso, minute_of_day, parse_date, NANOS_PER_DAY};
use serde_json::{json, Value};

mod common;

const ARTEFACTS: [&str; 4] = ["trades.json", "equity.csv", "metrics.json", "meta.json"];
/// Artefacts that must be byte-identical between runs of one config (meta.json differs in
/// run_id and generated_at only).
const GOLDEN: [&str; 3] = ["trades.json", "equity.csv", "metrics.json"];

/// A temporary workspace: synthetic EURUSD M5 from 2024-12-30 to 2025-01-17 under `data/`,
/// runs under `var/`.
struct Workspace {
    dir: tempfile::TempDir,
    spec: SynthSpec,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let start = parse_date("2024-12-30").unwrap();
        let spec = SynthSpec::eurusd(start, parse_date("2025-01-17").unwrap() + NANOS_PER_DAY, 11);
        generate_dataset(&spec, &dir.path().join("data"), &[Timeframe::M5], Format::Parquet).unwrap();
        Self { dir, spec }
    }

    /// The M5 bars exactly as written to the data files.
    fn bars(&self) -> Bars {
        aggregate(&generate_m1(&self.spec), Timeframe::M5)
    }

    fn var(&self) -> PathBuf {
        self.dir.path().join("var")
    }

    fn results(&self) -> PathBuf {
        self.var().join("results").join("backtests")
    }

    fn run_dir(&self, run_id: &str) -> PathBuf {
        self.results().join(run_id)
    }

    fn context(&self, run_id: &str, config: &str) -> RunContext {
        RunContext {
            run_id: run_id.to_owned(),
            config_hash: sha256_hex(config.as_bytes()),
            config_source: "tests_rs/pipeline.rs".to_owned(),
            var_dir: self.var(),
            data_root: self.dir.path().join("data"),
            log_to_stdout: false,
            rust_log: None,
            profile: false,
            git: None,
        }
    }

    fn run(&self, run_id: &str, config: &Value) -> Result<Summary, EngineError> {
        let text = config.to_string();
        execute(&text, &self.context(run_id, &text), &RunInputs::default(), &|| false)
    }

    fn read(&self, run_id: &str, name: &str) -> String {
        std::fs::read_to_string(self.run_dir(run_id).join(name)).unwrap()
    }

    fn json(&self, run_id: &str, name: &str) -> Value {
        serde_json::from_str(&self.read(run_id, name)).unwrap()
    }

    /// Names in `results/backtests/` (staging directories included); empty if it does not exist.
    fn result_entries(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.results()) else { return Vec::new() };
        let mut names: Vec<String> = dir.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    fn snapshot(&self, run_id: &str) -> BTreeMap<PathBuf, Vec<u8>> {
        files_under(&self.run_dir(run_id))
    }
}

fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// The bundled example config (every field present) on the synthetic range: MRZ scenario 1,
/// M5, 2025-01-06 .. 2025-01-17, 300 warmup bars, costs on, seed 42.
fn config() -> Value {
    let mut c: Value = serde_json::from_str(common::EXAMPLE_CONFIG).unwrap();
    c["start_date"] = json!("2025-01-06");
    c["end_date"] = json!("2025-01-17");
    c["warmup_bars"] = json!(300);
    c["strategy_parameters"]["z_score_long"] = json!(-1.5);
    c["strategy_parameters"]["z_score_short"] = json!(1.5);
    c
}

fn sma_config() -> Value {
    let mut c = config();
    c["strategy_name"] = json!("sma_crossover");
    c["strategy_parameters"] =
        json!({"fast": 10, "slow": 30, "allow_short": true, "sl_pips": null, "tp_pips": null, "size_lots": 1.0});
    c
}

#[track_caller]
fn assert_text_file(name: &str, text: &str) {
    assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{name}: one final newline");
    assert!(!text.contains('\r'), "{name}: \\n line ends only");
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// Keys of the `"metrics"` object of metrics.json in file order (serde_json's map is sorted, so
/// the order is read from the pretty-printed text).
fn metric_keys_in_file_order(text: &str) -> Vec<String> {
    let body = text.split("\"metrics\": {").nth(1).unwrap().split("\n  }").next().unwrap();
    body.lines().filter_map(|l| l.trim().strip_prefix('"')).map(|l| l.split('"').next().unwrap().to_owned()).collect()
}

#[test]
fn artefacts_have_the_documented_format() {
    let ws = Workspace::new();
    let summary = ws.run("spec6", &config()).unwrap();
    assert_eq!(summary.status, "success");
    assert_eq!(summary.paths.run_dir, ws.run_dir("spec6"));
    for name in ARTEFACTS {
        assert_text_file(name, &ws.read("spec6", name));
    }
    assert!(summary.paths.text_log.is_file() && summary.paths.json_log.is_file());

    // trades.json: sorted by exit time, all fields, ISO and ns times agreeing.
    let trades = ws.json("spec6", "trades.json");
    let trades = trades.as_array().unwrap();
    assert!(!trades.is_empty(), "the config should trade on the synthetic data");
    assert_eq!(trades.len() as u64, summary.counters.trades_emitted);
    let fields = [
        "entry_time",
        "entry_time_ns",
        "exit_time",
        "exit_time_ns",
        "direction",
        "symbol",
        "entry_price",
        "exit_price",
        "stop_loss",
        "take_profit",
        "size",
        "result",
        "fees",
        "r_multiple",
        "reason",
        "scenario_id",
        "meta",
    ];
    let mut last_exit = i64::MIN;
    for t in trades {
        let mut have = keys(t);
        have.sort_unstable();
        let mut want = fields.to_vec();
        want.sort_unstable();
        assert_eq!(have, want);
        let ns = |k: &str| t[k].as_i64().unwrap();
        assert_eq!(t["entry_time"], format_iso(ns("entry_time_ns")));
        assert_eq!(t["exit_time"], format_iso(ns("exit_time_ns")));
        assert!(t["entry_time"].as_str().unwrap().ends_with('Z'));
        assert!(ns("exit_time_ns") >= ns("entry_time_ns") && ns("exit_time_ns") >= last_exit);
        last_exit = ns("exit_time_ns");
        assert!(["long", "short"].contains(&t["direction"].as_str().unwrap()));
        assert!(
            ["stop_loss", "take_profit", "timeout", "end_of_data", "signal"].contains(&t["reason"].as_str().unwrap())
        );
        assert_eq!((t["symbol"].as_str(), t["scenario_id"].as_u64()), (Some("EURUSD"), Some(1)));
        assert!(t["meta"]["in_entry_candle"].is_boolean());
        assert!(["none", "initial", "break_even", "trailing"].contains(&t["meta"]["stop_loss_kind"].as_str().unwrap()));
        assert!(t["fees"].as_f64().unwrap() > 0.0, "costs are on");
    }

    // equity.csv: header and one row per traded bar, times increasing, flat at the end.
    let equity = ws.read("spec6", "equity.csv");
    let mut lines = equity.lines();
    assert_eq!(format!("{}\n", lines.next().unwrap()), HEADER);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), summary.bars);
    assert_eq!(rows.len() as u64, summary.counters.bars_processed);
    let mut prev = i64::MIN;
    for r in &rows {
        assert_eq!(r.len(), 6);
        let ns: i64 = r[1].parse().unwrap();
        assert!(ns > prev);
        prev = ns;
        assert_eq!(r[0], format_iso(ns));
        assert!(r[2..].iter().all(|x| x.parse::<f64>().unwrap().is_finite()));
    }
    assert_eq!(rows[0][0], summary.start_time);
    assert_eq!(rows.last().unwrap()[0], summary.end_time);
    let (last_equity, last_balance) = (rows.last().unwrap()[2], rows.last().unwrap()[3]);
    assert_eq!(last_equity, last_balance, "open positions are closed at the end");

    // metrics.json: catalogue order, a definition per key, consistent with the trades.
    let text = ws.read("spec6", "metrics.json");
    let catalogue: Vec<&str> = CATALOGUE.iter().map(|(k, _)| *k).collect();
    assert_eq!(metric_keys_in_file_order(&text), catalogue);
    let metrics: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(keys(&metrics), ["definitions", "metrics"]);
    for key in &catalogue {
        let d = &metrics["definitions"][key];
        for field in ["unit", "description", "domain", "source", "type"] {
            assert!(!d[field].as_str().unwrap_or("").is_empty(), "{key}.{field}");
        }
    }
    let m = &metrics["metrics"];
    assert_eq!(m["total_trades"].as_u64(), Some(trades.len() as u64));
    let net: f64 = trades.iter().map(|t| t["result"].as_f64().unwrap() - t["fees"].as_f64().unwrap()).sum();
    let final_balance: f64 = last_balance.parse().unwrap();
    assert!((m["profit_net"].as_f64().unwrap() - net).abs() <= 0.005 + 1e-9);
    assert!((final_balance - 10_000.0 - net).abs() < 1e-6);
    for money in ["profit_gross", "fees_total", "profit_net", "max_drawdown_abs", "avg_trade_pnl", "expectancy"] {
        let x = m[money].as_f64().unwrap();
        assert_eq!((x * 100.0).round() / 100.0, x, "{money} has 2 decimals");
    }
    for ratio in ["win_rate", "max_drawdown", "avg_r_multiple", "profit_factor", "trades_per_day"] {
        let x = m[ratio].as_f64().unwrap();
        assert_eq!((x * 1e6).round() / 1e6, x, "{ratio} has 6 decimals");
    }

    // meta.json: provenance.
    let meta = ws.json("spec6", "meta.json");
    assert_eq!(
        (meta["run_id"].as_str(), meta["status"].as_str(), meta["seed"].as_u64()),
        (Some("spec6"), Some("success"), Some(42))
    );
    assert_eq!(meta["generated_at"], format_iso(meta["generated_at_ns"].as_i64().unwrap()));
    assert_eq!(meta["engine"]["name"], "omega_v2");
    assert!(meta["engine"]["version"].is_string());
    assert_eq!(meta["config"]["hash"], ws.context("x", &config().to_string()).config_hash);
    assert_eq!(
        (meta["config"]["symbol"].as_str(), meta["config"]["strategy_name"].as_str()),
        (Some("EURUSD"), Some("mean_reversion_z_score"))
    );
    assert!(
        meta["config"].get("strategy_parameters").is_none() && meta["config"].get("rng_seed").is_none(),
        "allowlist only"
    );
    let d = &meta["dataset"];
    assert_eq!((d["symbol"].as_str(), d["timeframe"].as_str()), (Some("EURUSD"), Some("M5")));
    assert_eq!(d["start_time"], summary.start_time);
    assert_eq!(d["end_time"], format_iso(d["end_time_ns"].as_i64().unwrap()));
    assert_eq!(d["bars"].as_u64(), Some(summary.bars as u64));
    let manifest = d["manifest_sha256"].as_str().unwrap();
    assert!(manifest.len() == 64 && manifest.bytes().all(|b| b.is_ascii_hexdigit()));
    let files = d["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert!(files.iter().all(|f| f["sha256"].as_str().is_some_and(|h| h.len() == 64)));
    let mut gov = keys(&d["governance"]);
    gov.sort_unstable();
    assert_eq!(gov, ["alignment", "duplicates_dropped", "gaps", "warmup_shortfall"]);
    assert_eq!(d["governance"]["warmup_shortfall"]["shortfall_bars"], 0);
    assert_eq!(meta["account"], json!({"account_currency": "EUR", "initial_balance": 10000.0}));
}

/// meta.json without the fields that legitimately differ between runs of one config.
fn stable_meta(mut meta: Value) -> Value {
    let obj = meta.as_object_mut().unwrap();
    for key in ["run_id", "generated_at", "generated_at_ns"] {
        obj.remove(key).expect(key);
    }
    meta
}

#[test]
fn reruns_are_byte_identical_whatever_the_run_id_mode_or_profiling() {
    let ws = Workspace::new();
    for (id, cfg) in [("mrz", config()), ("sma", sma_config())] {
        let a = format!("{id}-a");
        let summary = ws.run(&a, &cfg).unwrap();
        // Identical artefacts prove nothing unless the run traded.
        assert!(summary.counters.trades_emitted > 0, "{id} did not trade");
        ws.run(&format!("{id}-b"), &cfg).unwrap();
        // Logging and profiling never change results.
        let mut prod = cfg.clone();
        prod["run_mode"] = json!("prod");
        ws.run(&format!("{id}-prod"), &prod).unwrap();
        let text = cfg.to_string();
        let profiled = RunContext { profile: true, ..ws.context(&format!("{id}-profiled"), &text) };
        execute(&text, &profiled, &RunInputs::default(), &|| false).unwrap();
        for other in ["b", "prod", "profiled"] {
            let b = format!("{id}-{other}");
            for name in GOLDEN {
                assert!(ws.read(&a, name) == ws.read(&b, name), "{name} of {a} and {b} differ");
            }
        }
        assert_eq!(stable_meta(ws.json(&a, "meta.json")), stable_meta(ws.json(&format!("{id}-b"), "meta.json")));
    }
}

#[test]
fn an_existing_run_id_fails_and_leaves_the_first_run_untouched() {
    let ws = Workspace::new();
    ws.run("taken", &config()).unwrap();
    let before = ws.snapshot("taken");
    let err = ws.run("taken", &sma_config()).expect_err("the run_id is taken");
    assert_eq!((err.kind(), err.code), (ErrorKind::Output, ErrorCode::OutputExists));
    assert!(err.to_string().contains("taken"), "{err}");
    assert_eq!(ws.snapshot("taken"), before);
    assert_eq!(ws.result_entries(), ["taken"], "no staging directory left");
}

#[test]
fn an_existing_run_id_leaves_the_first_runs_logs_untouched() {
    // A run never writes into another run's files, so a rejected second run must not
    // re-create (truncate) var/logs/<run_id>.log and .jsonl of the first.
    let ws = Workspace::new();
    ws.run("logs-taken", &config()).unwrap();
    let logs = ws.var().join("logs");
    let read = |ext: &str| std::fs::read(logs.join(format!("logs-taken.{ext}"))).unwrap();
    let (text, jsonl) = (read("log"), read("jsonl"));
    assert!(ws.run("logs-taken", &config()).is_err());
    assert!(read("log") == text, "the first run's .log changed");
    assert!(read("jsonl") == jsonl, "the first run's .jsonl changed");
}

#[test]
fn a_warmup_shortfall_starts_the_run_later_and_says_so() {
    // The data starts on 2024-12-30; asking for 300 warmup bars before it finds none, so the run
    // trades from the 301st bar and meta.json records the shortfall (never silently).
    let ws = Workspace::new();
    let mut cfg = config();
    cfg["start_date"] = json!("2024-12-30");
    let summary = ws.run("short", &cfg).unwrap();
    assert_eq!(summary.warmup_shortfall_bars, 300);
    let meta = ws.json("short", "meta.json");
    let d = &meta["dataset"];
    assert_eq!(
        d["governance"]["warmup_shortfall"],
        json!({"requested_bars": 300, "available_bars": 0, "shortfall_bars": 300})
    );
    assert_eq!(d["warmup_bars_used"], 300);
    // 2024-12-30 00:00 plus 300 M5 bars = 25 hours later
    let first = parse_date("2024-12-30").unwrap() + 300 * 5 * 60 * 1_000_000_000;
    assert_eq!((d["start_time_ns"].as_i64(), summary.start_time.as_str()), (Some(first), format_iso(first).as_str()));
    let rows = ws.read("short", "equity.csv").lines().count() - 1;
    assert_eq!((rows, d["bars"].as_u64()), (summary.bars, Some(summary.bars as u64)));
}

/// (direction, entry bar index, entry price) of every trade of a finished run.
fn entries(ws: &Workspace, run_id: &str, bars: &Bars) -> Vec<(Direction, usize, f64)> {
    let trades = ws.json(run_id, "trades.json");
    let entry = |t: &Value| {
        let d: Direction = serde_json::from_value(t["direction"].clone()).unwrap();
        let i = bars.time_ns.binary_search(&t["entry_time_ns"].as_i64().unwrap()).unwrap();
        (d, i, t["entry_price"].as_f64().unwrap())
    };
    trades.as_array().unwrap().iter().map(entry).collect()
}

#[test]
fn cost_multipliers_and_switches_act_as_specified() {
    // Every multiplier has an effect; costs.enabled = false means no fees, no slippage and
    // bid/ask exactly as in the files (the spread multiplier is ignored then).
    let ws = Workspace::new();
    let bars = ws.bars();
    let with_costs = |f: &dyn Fn(&mut Value)| {
        let mut c = config();
        f(&mut c["costs"]);
        c
    };
    let file_close = |d: Direction, i: usize| if d == Direction::Long { bars.ask.close[i] } else { bars.bid.close[i] };

    ws.run("off", &with_costs(&|c| *c = json!({"enabled": false, "fee_multiplier": 1.0, "slippage_multiplier": 1.0, "spread_multiplier": 3.0, "pip_buffer_factor": null}))).unwrap();
    let off = entries(&ws, "off", &bars);
    assert!(!off.is_empty());
    assert!(off.iter().all(|&(d, i, price)| price == file_close(d, i)), "files' prices, no slippage");
    assert!(ws.json("off", "trades.json").as_array().unwrap().iter().all(|t| t["fees"] == 0.0));

    // No fees and no slippage, spread x1: fills exactly at the files' closes again, but fees 0.
    ws.run(
        "noslip",
        &with_costs(&|c| {
            c["fee_multiplier"] = json!(0.0);
            c["slippage_multiplier"] = json!(0.0);
        }),
    )
    .unwrap();
    assert_eq!(entries(&ws, "noslip", &bars), off, "the same trades as with costs disabled");

    // Spread x2 around the mid: a long buys mid + spread (full), a short sells mid - spread.
    ws.run(
        "wide",
        &with_costs(&|c| {
            c["fee_multiplier"] = json!(0.0);
            c["slippage_multiplier"] = json!(0.0);
            c["spread_multiplier"] = json!(2.0);
        }),
    )
    .unwrap();
    let wide = entries(&ws, "wide", &bars);
    assert!(!wide.is_empty());
    for (d, i, price) in wide {
        let (a, b) = (bars.ask.close[i], bars.bid.close[i]);
        let half = (a - b) * 0.5 * 2.0;
        let expected = if d == Direction::Long { (a + b) * 0.5 + half } else { (a + b) * 0.5 - half };
        assert!((price - expected).abs() < 1e-12, "{d:?} at bar {i}: {price} vs {expected}");
    }

    // Fees x2 double every trade's fees relative to x1 on identical trades (no slippage).
    ws.run("fee1", &with_costs(&|c| c["slippage_multiplier"] = json!(0.0))).unwrap();
    ws.run(
        "fee2",
        &with_costs(&|c| {
            c["slippage_multiplier"] = json!(0.0);
            c["fee_multiplier"] = json!(2.0);
        }),
    )
    .unwrap();
    let fees = |id: &str| {
        ws.json(id, "trades.json").as_array().unwrap().iter().map(|t| t["fees"].as_f64().unwrap()).collect::<Vec<_>>()
    };
    let (f1, f2) = (fees("fee1"), fees("fee2"));
    assert_eq!(f1.len(), f2.len());
    assert!(f1.iter().zip(&f2).all(|(a, b)| a > &0.0 && (b - 2.0 * a).abs() < 1e-9), "{f1:?} {f2:?}");

    // The pip buffer factor override reaches the run (meta.json records it).
    ws.run("buffer0", &with_costs(&|c| c["pip_buffer_factor"] = json!(0.0))).unwrap();
    assert_eq!(ws.json("buffer0", "meta.json")["execution"]["pip_buffer_factor"], 0.0);
    assert_eq!(ws.json("off", "meta.json")["execution"]["pip_buffer_factor"], 0.5);
}

#[test]
fn sessions_from_the_config_gate_entries() {
    let ws = Workspace::new();
    let mut cfg = config();
    cfg["sessions"] = json!([{"start": "22:00", "end": "02:00"}]);
    ws.run("night", &cfg).unwrap();
    let trades = ws.json("night", "trades.json");
    let trades = trades.as_array().unwrap();
    assert!(!trades.is_empty());
    for t in trades {
        let minute = minute_of_day(t["entry_time_ns"].as_i64().unwrap());
        assert!(!(120..1320).contains(&minute), "entry at minute {minute} is outside 22:00-02:00");
    }
    assert!(ws.json("night", "meta.json")["counters"]["blocked_session"].as_u64().unwrap() > 0);
}

#[test]
fn an_account_currency_outside_the_pair_is_a_config_error() {
    let ws = Workspace::new();
    let mut cfg = config();
    cfg["account"]["account_currency"] = json!("GBP");
    let err = ws.run("gbp", &cfg).expect_err("GBP is neither EUR nor USD");
    assert_eq!((err.kind(), err.code), (ErrorKind::Config, ErrorCode::ConfigAccountCurrency));
    assert!(ws.result_entries().is_empty());
}

#[test]
fn a_data_error_leaves_no_run_directory() {
    let ws = Workspace::new();
    let text = config().to_string();
    let ctx = RunContext { data_root: ws.dir.path().join("no-data-here"), ..ws.context("nodata", &text) };
    let err = execute(&text, &ctx, &RunInputs::default(), &|| false).expect_err("missing data");
    assert_eq!((err.kind(), err.code), (ErrorKind::Data, ErrorCode::DataMissingFile));
    assert!(err.to_string().contains("EURUSD_M5_BID"), "the expected path is named: {err}");
    assert!(!ws.run_dir("nodata").exists());
    assert!(ws.result_entries().is_empty(), "no staging directory: {:?}", ws.result_entries());
    // The run's log says why.
    let log = std::fs::read_to_string(ws.var().join("logs").join("nodata.log")).unwrap();
    assert!(log.contains("data.missing_file"), "{log}");
}

#[test]
fn a_cancelled_run_leaves_no_run_directory() {
    let ws = Workspace::new();
    let text = config().to_string();
    let err = execute(&text, &ws.context("cancelled", &text), &RunInputs::default(), &|| true).expect_err("cancelled");
    assert_eq!((err.kind(), err.code), (ErrorKind::Cancelled, ErrorCode::RunCancelled));
    assert!(ws.result_entries().is_empty(), "{:?}", ws.result_entries());
}
