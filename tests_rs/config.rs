//! The run config as the engine reads it: Python fills every default, so every field is
//! required and unknown fields are rejected; errors name the field and never quote a value;
//! the engine re-checks the invariants it relies on; strategy parameters are their strategy's.

mod common;

use common::{config_json, merge, EXAMPLE_CONFIG};
use omega_v2::config::RunConfig;
use omega_v2::error::{EngineError, ErrorCode, ErrorKind};
use omega_v2::run;
use omega_v2::strategy;
use proptest::prelude::{any, prop_assert, prop_assert_eq, prop_oneof, proptest, Just, ProptestConfig};
use proptest::strategy::Strategy as _;
use serde_json::{json, Value as Json};

fn example() -> Json {
    serde_json::from_str(EXAMPLE_CONFIG).unwrap()
}

fn parse(c: &Json) -> Result<RunConfig, EngineError> {
    RunConfig::from_json(&c.to_string())
}

#[track_caller]
fn rejected(c: &Json) -> EngineError {
    parse(c).err().unwrap_or_else(|| panic!("accepted: {c}"))
}

/// Dotted paths of every key of the typed part of the config (the contents of
/// `strategy_parameters` and `metrics` belong to their owners).
fn key_paths(v: &Json, prefix: &str, out: &mut Vec<String>) {
    let Json::Object(map) = v else { return };
    for (key, value) in map {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if !matches!(path.as_str(), "strategy_parameters" | "metrics") {
            key_paths(value, &path, out);
        }
        out.push(path);
    }
}

fn remove(c: &mut Json, path: &str) {
    let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
    let parent = parent.split('.').filter(|k| !k.is_empty()).fold(c, |v, k| &mut v[k]);
    parent.as_object_mut().unwrap().remove(key).unwrap();
}

/// The error of text the engine must reject.
#[track_caller]
fn rejected_text(text: &str) -> EngineError {
    RunConfig::from_json(text).err().expect("rejected")
}

/// `Option` fields, which serde reads as `None` when the key is missing (Python always writes
/// them); not checked here.
const MISSING_MEANS_NULL: [&str; 3] = ["sessions", "costs.pip_buffer_factor", "trade_management.max_holding_minutes"];

#[test]
fn the_example_parses_and_passes_preflight() {
    let cfg = parse(&example()).unwrap();
    assert_eq!((cfg.strategy_name.as_str(), cfg.symbol.as_str()), ("mean_reversion_z_score", "EURUSD"));
    run::preflight(&cfg).unwrap();
}

#[test]
fn every_field_is_required() {
    let mut paths = Vec::new();
    key_paths(&example(), "", &mut paths);
    assert!(paths.len() > 30, "{paths:?}");
    for path in paths.iter().filter(|p| !MISSING_MEANS_NULL.contains(&p.as_str())) {
        let mut c = example();
        remove(&mut c, path);
        let err = rejected(&c);
        assert_eq!((err.kind(), err.code), (ErrorKind::Config, ErrorCode::ConfigInvalid), "{path}");
        let key = path.rsplit('.').next().unwrap();
        assert!(err.message.contains(&format!("missing field `{key}`")), "{path}: {err}");
        // The field named is the object that lacks the key (empty at the top level).
        let field = err.context.get("field").map(String::as_str).unwrap_or("-");
        assert!(path.starts_with(field), "{path}: {err}");
    }
}

#[test]
fn unknown_fields_are_rejected_at_every_level() {
    for (patch, field) in [
        (json!({"colour": "red"}), "colour"),
        (json!({"costs": {"colour": "red"}}), "costs.colour"),
        (json!({"trade_management": {"break_even": {"colour": "red"}}}), "trade_management.break_even.colour"),
        (json!({"sessions": [{"start": "08:00", "end": "09:00", "colour": "red"}]}), "sessions[0].colour"),
    ] {
        let mut c = example();
        merge(&mut c, patch);
        let err = rejected(&c);
        assert_eq!(err.code, ErrorCode::ConfigInvalid, "{field}");
        assert!(err.message.contains("unknown field `colour`"), "{err}");
        assert_eq!(err.context.get("field").map(String::as_str), Some(field), "{err}");
    }
}

#[test]
fn wrong_values_name_the_field_and_never_quote_the_value() {
    for (patch, field) in [
        (json!({"rng_seed": "sk-live-1234"}), "rng_seed"),
        (json!({"account": {"account_currency": {"token": "sk-live-1234"}}}), "account.account_currency"),
        (json!({"run_mode": "sk-live-1234"}), "run_mode"),
        (json!({"timeframes": {"primary": "sk-live-1234"}}), "timeframes.primary"),
        (json!({"sessions": [{"start": "sk-live-1234", "end": "09:00"}]}), "sessions[0].start"),
        (json!({"sessions": [{"start": "24:00", "end": "09:00"}]}), "sessions[0].start"),
        (json!({"news_filter": {"min_impact": "sk-live-1234"}}), "news_filter.min_impact"),
        (json!({"warmup_bars": -1}), "warmup_bars"),
    ] {
        let mut c = example();
        merge(&mut c, patch.clone());
        let err = rejected(&c);
        assert_eq!(err.code, ErrorCode::ConfigInvalid, "{patch}");
        assert_eq!(err.context.get("field").map(String::as_str), Some(field), "{patch}: {err}");
        assert!(!err.to_string().contains("sk-live") && !err.to_string().contains("24:00"), "{err}");
        assert!(err.message.contains("validate CONFIG --write-normalized"), "says how to fix it: {err}");
    }
}

#[test]
fn the_engine_rechecks_its_invariants() {
    for (patch, field) in [
        (json!({"schema_version": "3"}), "schema_version"),
        (json!({"data_mode": "tick"}), "data_mode"),
        (json!({"execution_variant": "v1_parity"}), "execution_variant"),
        (json!({"start_date": "2025-02-01"}), "start_date"),
        (json!({"end_date": "2025-13-01"}), "end_date"),
        (json!({"account": {"initial_balance": 0.0}}), "account.initial_balance"),
        (json!({"account": {"risk_per_trade": -1.0}}), "account.risk_per_trade"),
        (json!({"costs": {"spread_multiplier": -0.5}}), "costs"),
        (json!({"costs": {"pip_buffer_factor": -0.5}}), "costs.pip_buffer_factor"),
        (json!({"timeframes": {"additional": ["M5"]}}), "timeframes.additional"),
    ] {
        let mut c = example();
        merge(&mut c, patch.clone());
        let err = rejected(&c);
        assert_eq!(err.code, ErrorCode::ConfigInvalid, "{patch}");
        assert_eq!(err.context.get("field").map(String::as_str), Some(field), "{patch}: {err}");
    }
    // The test conventions are a valid config too.
    parse(&config_json(json!({}))).unwrap();
}

#[test]
fn text_that_is_not_json_gives_its_line_and_column() {
    let err = rejected_text("{\n  \"symbol\": \"EURUSD\",\n  oops");
    assert_eq!((err.kind(), err.code), (ErrorKind::Config, ErrorCode::ConfigJsonInvalid));
    assert!(err.message.contains("line 3 column 3"), "{err}");
}

#[test]
fn preflight_finds_what_needs_no_market_data() {
    for (patch, code) in [
        (json!({"symbol": "XXXYYY"}), ErrorCode::ConfigUnknownSymbol),
        (json!({"account": {"account_currency": "GBP"}}), ErrorCode::ConfigAccountCurrency),
        (json!({"strategy_name": "nope"}), ErrorCode::ConfigUnknownStrategy),
        (json!({"strategy_parameters": {"window_length": 1}}), ErrorCode::ConfigStrategyParameter),
    ] {
        let mut c = example();
        merge(&mut c, patch.clone());
        let err = run::preflight(&parse(&c).unwrap()).err().unwrap_or_else(|| panic!("{patch} passed"));
        assert_eq!((err.kind(), err.code), (ErrorKind::Config, code), "{patch}: {err}");
    }
}

#[test]
fn every_strategy_parameter_is_required() {
    let example = example();
    let params = example["strategy_parameters"].as_object().unwrap();
    for key in params.keys() {
        let mut p = example["strategy_parameters"].clone();
        p.as_object_mut().unwrap().remove(key);
        let err = strategy::check_parameters("mean_reversion_z_score", &p).unwrap_err();
        assert_eq!(err.code, ErrorCode::ConfigStrategyParameter, "{key}");
        assert!(err.message.contains(&format!("missing field `{key}`")), "{key}: {err}");
    }
}

// ------------------------------------------------------------------------------------------
// Fuzzing

/// A JSON value of any type, strings carrying a marker that must never reach a message.
fn any_json() -> impl proptest::strategy::Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::from),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_filter("JSON numbers are finite", |x| x.is_finite()).prop_map(Json::from),
        (0u32..1000).prop_map(|n| Json::from(format!("zz-marker-{n}"))),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Json::from),
            proptest::collection::vec(inner, 0..3)
                .prop_map(|v| { Json::Object(v.into_iter().enumerate().map(|(i, x)| (format!("k{i}"), x)).collect()) }),
        ]
    })
}

/// Every path (typed part and strategy parameters) of the example, keys and array items.
fn all_paths() -> Vec<String> {
    let mut paths = Vec::new();
    key_paths(&example(), "", &mut paths);
    let params = example()["strategy_parameters"].as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    paths.extend(params.into_iter().map(|k| format!("strategy_parameters.{k}")));
    paths
}

fn set(c: &mut Json, path: &str, value: Json) {
    *path.split('.').fold(c, |v, k| &mut v[k]) = value;
}

/// Config paths of the allowlisted fields: the only values a message may quote.
const ALLOWLISTED: [&str; 7] =
    ["symbol", "strategy_name", "run_mode", "data_mode", "start_date", "end_date", "timeframes.primary"];

#[track_caller]
fn assert_clean(err: &EngineError, allowed: &[ErrorCode], path: &str) {
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(allowed.contains(&err.code), "unexpected code {}: {err}", err.code);
    let leaked = err.to_string().contains("zz-marker");
    assert!(!leaked || ALLOWLISTED.contains(&path), "a value of {path} leaked into the message: {err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_value_anywhere_is_accepted_or_a_clean_config_error(index in 0usize..1000, value in any_json()) {
        let paths = all_paths();
        let path = &paths[index % paths.len()];
        let mut c = example();
        set(&mut c, path, value);
        match parse(&c) {
            Err(err) => assert_clean(&err, &[ErrorCode::ConfigInvalid], path),
            Ok(cfg) => {
                // What parses is either runnable or rejected by the preflight with a config code.
                if let Err(err) = run::preflight(&cfg) {
                    let allowed = [
                        ErrorCode::ConfigStrategyParameter,
                        ErrorCode::ConfigUnknownStrategy,
                        ErrorCode::ConfigUnknownSymbol,
                        ErrorCode::ConfigAccountCurrency,
                        ErrorCode::ConfigEnvironment,
                    ];
                    assert_clean(&err, &allowed, path);
                }
            }
        }
    }

    #[test]
    fn truncated_text_is_a_json_error(cut in 0usize..10_000) {
        // ASCII, so every byte offset is a char boundary.
        let text = EXAMPLE_CONFIG.trim_end();
        prop_assert!(text.is_ascii());
        let err = rejected_text(&text[..cut % text.len()]);
        prop_assert_eq!(err.code, ErrorCode::ConfigJsonInvalid);
        prop_assert!(err.message.contains("line ") && err.message.contains(" column "), "{}", err);
    }
}
