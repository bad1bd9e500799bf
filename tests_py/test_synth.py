"""Synthetic data from Python: seeded, deterministic, loadable by the engine."""

import hashlib
from pathlib import Path

import pytest

import omega_v2
from omega_v2.synth import generate


def _digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", "2025-01-06", "2025-01-10", seed=3, timeframes=["M1", "M5"])
    b = generate(tmp_path / "b", "2025-01-06", "2025-01-10", seed=3, timeframes=["M1", "M5"])
    c = generate(tmp_path / "c", "2025-01-06", "2025-01-10", seed=4, timeframes=["M1", "M5"])
    assert [p.name for p in a] == [
        "EURUSD_M1_BID.parquet",
        "EURUSD_M1_ASK.parquet",
        "EURUSD_M5_BID.parquet",
        "EURUSD_M5_ASK.parquet",
    ]
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_generated_csv_runs_through_the_engine(tmp_path: Path) -> None:
    generate(tmp_path / "data", "2025-01-06", "2025-01-17", seed=5, timeframes=["M5"], format="csv")
    cfg = omega_v2.load_config(omega_v2.example_config_path()).normalized
    cfg.update(start_date="2025-01-13", end_date="2025-01-17", warmup_bars=200)
    result = omega_v2.run(cfg, data_root=tmp_path / "data", var_dir=tmp_path / "var")
    # 5 weekdays of M5 = 1440 bars; 200 warmup bars come from the week before
    assert result.meta["dataset"]["bars"] == 5 * 288
    assert result.meta["dataset"]["governance"]["warmup_shortfall"]["shortfall_bars"] == 0
    assert [f["name"] for f in result.meta["dataset"]["files"]] == ["EURUSD_M5_BID.csv", "EURUSD_M5_ASK.csv"]


def test_bad_arguments_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(omega_v2.ConfigError, match="timeframes"):
        generate(tmp_path, "2025-01-06", "2025-01-07", timeframes=["M7"])
    with pytest.raises(omega_v2.ConfigError, match="start_date"):
        generate(tmp_path, "2025-01-08", "2025-01-07")


def test_rust_records_outside_a_run_reach_python_logging(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A Rust warning emitted outside any run goes through pyo3-log to the `omega_v2` loggers,
    with structured fields rendered as k=v."""
    caplog.set_level("WARNING", logger="omega_v2")
    omega_v2._core.reset_log_cache()  # logging was reconfigured by caplog
    generate(tmp_path, "2025-01-11", "2025-01-12")  # a Saturday and a Sunday
    records = [r for r in caplog.records if r.name == "omega_v2.datasets"]
    assert len(records) == 1 and records[0].levelname == "WARNING"
    assert "no weekday" in records[0].getMessage() and "start_date=2025-01-11" in records[0].getMessage()
    # and it never lands in a run's log files
    assert not (tmp_path / "var").exists()


def test_prices_follow_the_symbols_scale_and_a_usd_account_trades_it(tmp_path: Path) -> None:
    import pandas as pd

    generate(tmp_path / "data", "2025-01-06", "2025-01-17", symbol="usdjpy", seed=5, timeframes=["M5"])
    bid = pd.read_parquet(tmp_path / "data" / "USDJPY" / "USDJPY_M5_BID.parquet")
    assert bid["Open"].iloc[0] == pytest.approx(150.0, abs=0.05)  # USDJPY starts at its reference price
    assert 120 < bid["Low"].min() and bid["High"].max() < 180
    # Prices are on the symbol's 0.001 tick (a tenth of its 0.01 pip).
    ticks = bid[["Open", "High", "Low", "Close"]].to_numpy() * 1000
    assert abs(ticks - ticks.round()).max() < 1e-6
    cfg = omega_v2.load_config(omega_v2.example_config_path()).normalized
    cfg.update(symbol="USDJPY", start_date="2025-01-13", end_date="2025-01-17", warmup_bars=200)
    cfg["account"]["account_currency"] = "USD"
    result = omega_v2.run(cfg, data_root=tmp_path / "data", var_dir=tmp_path / "var")
    assert result.meta["dataset"]["bars"] == 5 * 288


def test_only_symbols_with_specs(tmp_path: Path) -> None:
    with pytest.raises(omega_v2.ConfigError, match=r"`symbol` FOO has no spec .* \(known: AUDUSD, EURGBP") as info:
        generate(tmp_path, "2025-01-06", "2025-01-07", symbol="FOO")
    assert info.value.code == omega_v2.errors.Code.CONFIG_UNKNOWN_SYMBOL
    assert not tmp_path.joinpath("FOO").exists()
