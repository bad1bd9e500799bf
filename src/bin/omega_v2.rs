//! `omega_v2` without Python: runs a normalised config file (as written by
//! `python -m omega_v2 validate CONFIG --write-normalized OUT`) and produces the same artefacts
//! and logs, so `cargo flamegraph --bin omega_v2 -- run CONFIG` and jeprof work; `synth`
//! writes seeded synthetic data for benchmarks.
//!
//! Usage:
//!   omega_v2 run CONFIG [--data-root DIR] [--var-dir DIR] [--run-id ID] [--profile] [--quiet]
//!   omega_v2 synth --root DIR --start YYYY-MM-DD --end YYYY-MM-DD [--symbol S] [--seed N]
//!                  [--timeframes M1,M5] [--format parquet|csv]

use std::path::Path;
use std::process::ExitCode;

use omega_v2::datasets::{self, SynthRequest};
use omega_v2::error::{EngineError, ErrorCode, Result};
use omega_v2::layout;
use omega_v2::run::{execute, RunContext, RunInputs};

#[cfg(feature = "jemalloc-profiling")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const USAGE: &str = "usage: omega_v2 run CONFIG [--data-root DIR] [--var-dir DIR] [--run-id ID] [--profile] [--quiet]\n       omega_v2 synth --root DIR --start YYYY-MM-DD --end YYYY-MM-DD [--symbol S] [--seed N] [--timeframes M1,M5] [--format parquet|csv]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("synth") => generate(&args[1..]),
        _ => Err(usage("expected a command: run or synth")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code);
            ExitCode::FAILURE
        }
    }
}

fn usage(what: &str) -> EngineError {
    EngineError::new(ErrorCode::ConfigUsage, format!("{what}\n{USAGE}"))
}

/// `--name value` options and bare positionals.
struct Args<'a> {
    positional: Vec<&'a str>,
    options: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> Args<'a> {
    fn parse(args: &'a [String], flags: &[&str]) -> Result<Self> {
        let mut parsed = Args { positional: Vec::new(), options: Vec::new() };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if let Some(name) = a.strip_prefix("--") {
                if flags.contains(&name) {
                    parsed.options.push((name, None));
                } else {
                    let value = it.next().ok_or_else(|| usage(&format!("--{name} needs a value")))?;
                    parsed.options.push((name, Some(value.as_str())));
                }
            } else {
                parsed.positional.push(a);
            }
        }
        Ok(parsed)
    }
    fn get(&self, name: &str) -> Option<&'a str> {
        self.options.iter().rev().find(|(n, _)| *n == name).and_then(|(_, v)| *v)
    }
    fn flag(&self, name: &str) -> bool {
        self.options.iter().any(|(n, _)| *n == name)
    }
    fn require(&self, name: &str) -> Result<&'a str> {
        self.get(name).ok_or_else(|| usage(&format!("--{name} is required")))
    }
}

fn run(raw: &[String]) -> Result<()> {
    let args = Args::parse(raw, &["profile", "quiet"])?;
    let [config_path] = args.positional[..] else { return Err(usage("run takes exactly one CONFIG file")) };
    let text = std::fs::read_to_string(config_path).map_err(|e| {
        EngineError::new(ErrorCode::ConfigFileUnreadable, format!("cannot read config file {config_path}: {e}"))
            .with("file", config_path)
    })?;
    // The normalised file holds the canonical JSON, so its hash is the config hash.
    let config_hash = omega_v2::data::sha256_hex(text.trim_end().as_bytes());
    let ctx = RunContext {
        run_id: args.get("run-id").map_or_else(|| layout::new_run_id(&config_hash), str::to_owned),
        config_hash,
        config_source: config_path.to_owned(),
        var_dir: layout::resolve_var_dir(args.get("var-dir").map(Path::new)),
        data_root: layout::resolve_data_root(args.get("data-root").map(Path::new), None),
        log_to_stdout: !args.flag("quiet"),
        rust_log: std::env::var("RUST_LOG").ok(),
        profile: args.flag("profile"),
        git: None,
    };
    let summary = execute(&text, &ctx, &RunInputs::default(), &|| false)?;
    println!("{}", serde_json::to_string_pretty(&summary).expect("summary serialises"));
    Ok(())
}

fn generate(raw: &[String]) -> Result<()> {
    let args = Args::parse(raw, &[])?;
    let timeframes: Vec<String> = args.get("timeframes").unwrap_or("M1").split(',').map(str::to_owned).collect();
    let request = SynthRequest {
        root: Path::new(args.require("root")?),
        symbol: args.get("symbol").unwrap_or("EURUSD"),
        start_date: args.require("start")?,
        end_date: args.require("end")?,
        seed: args.get("seed").unwrap_or("7").parse().map_err(|_| usage("--seed must be an integer"))?,
        timeframes: &timeframes,
        format: args.get("format").unwrap_or("parquet"),
    };
    for path in datasets::generate(&request)? {
        println!("{}", path.display());
    }
    Ok(())
}
