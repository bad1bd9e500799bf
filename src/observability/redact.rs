//! Allowlist redaction of the run config for log records and error texts: only
//! the named scalar fields survive; everything else, including keys added to the config
//! later, is dropped by default.

use serde_json::{Map, Value};

/// Config paths (dotted) that may be logged, and the key they are logged under.
pub const ALLOWLIST: [(&str, &str); 7] = [
    ("symbol", "symbol"),
    ("timeframes.primary", "timeframe"),
    ("strategy_name", "strategy_name"),
    ("run_mode", "run_mode"),
    ("data_mode", "data_mode"),
    ("start_date", "start_date"),
    ("end_date", "end_date"),
];

/// The loggable part of `config`: the allowlisted fields that are present and scalar
/// (an object or array under an allowlisted name could hide anything, so it is dropped too).
pub fn allowlisted(config: &Value) -> Map<String, Value> {
    ALLOWLIST
        .iter()
        .filter_map(|(path, key)| {
            let value = path.split('.').try_fold(config, |v, k| v.get(k))?;
            let scalar = matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_));
            scalar.then(|| ((*key).to_owned(), value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_only_allowlisted_scalars() {
        let config = json!({
            "symbol": "EURUSD",
            "timeframes": {"primary": "M5", "additional": ["H1"]},
            "strategy_name": "mean_reversion_z_score",
            "run_mode": "dev",
            "data_mode": "candle",
            "start_date": "2025-01-01",
            "end_date": {"nested": "secret"},
            "rng_seed": 42,
        });
        let out = allowlisted(&config);
        assert_eq!(
            Value::Object(out),
            json!({"symbol": "EURUSD", "timeframe": "M5", "strategy_name": "mean_reversion_z_score",
                   "run_mode": "dev", "data_mode": "candle", "start_date": "2025-01-01"})
        );
        assert!(allowlisted(&json!(["symbol"])).is_empty());
    }
}
