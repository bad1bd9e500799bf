"""A hand-computed `sma_crossover` run through the whole pipeline.

Data: 10 EURUSD M1 bars on Monday 2025-01-06 00:00..00:09, bid == ask, O=H=L=C, closes
`price = 1 + (x - 10) / 16` for x = [10,10,10,11,12,11,9,8,9,11] (dyadic, exact in binary):

    bar  x   price    fast SMA(2) (x)   slow SMA(3) (x)   fast - slow
    0    10  1.0      -                 -
    1    10  1.0      10                -
    2    10  1.0      10                10                0        <- equal: not below
    3    11  1.0625   10.5              31/3 = 10.333     +1/6     no cross (bar 2 was equal)
    4    12  1.125    11.5              11                +1/2
    5    11  1.0625   11.5              34/3 = 11.333     +1/6
    6     9  0.9375   10                32/3 = 10.667     -2/3     CROSS DOWN: short @ bid 0.9375
    7     8  0.875     8.5              28/3 =  9.333     -5/6
    8     9  0.9375    8.5              26/3 =  8.667     -1/6
    9    11  1.0625   10                28/3 =  9.333     +2/3     CROSS UP: close short @ ask
                                                                   1.0625, open long @ 1.0625
The first possible signal bar is 3 (both SMAs exist on t-1 = 2 and t); the rule is strict on
both bars, so bar 3 (fast == slow on bar 2) is not a cross.

Size 0.01 lots x 100,000 = 1,000 units; account USD = quote currency, so PnL is in USD 1:1.
- short 0.9375 -> 1.0625: (0.9375 - 1.0625) * 1000 = -125.0, reason `signal`.
- long 1.0625 opened on bar 9, the last bar: closed at end of data at the bid close 1.0625 in
  the same bar: result 0.0, reason `end_of_data`, meta.in_entry_candle true.
Equity (marked at the exit side's close): bars 0-5 10000 (flat); bar 6 short opened at
0.9375, ask 0.9375 -> 10000; bar 7 ask 0.875 -> +62.5 -> 10062.5 (new high water); bar 8
ask 0.9375 -> 10000; bar 9 short realised -125, long flat -> 9875 (balance 9875).
Drawdown (ratio to high water): bar 8 62.5/10062.5, bar 9 187.5/10062.5; max_drawdown_abs
187.5; duration from the high-water bar 7 until the end without recovery: bars 8, 9 -> 2.
Metrics: 2 trades, 0 wins, 1 loss (a 0.0 result is neither), win_rate 0, profit_factor 0
(no winning PnL), avg_trade_pnl = expectancy = -125/2 = -62.5, one active day -> 2 trades
per day; no stop losses -> no R samples (avg_r_multiple 0, trade-R scores "n/a"); one day
of equity -> daily scores "n/a".
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import omega_v2

XS = [10, 10, 10, 11, 12, 11, 9, 8, 9, 11]
PRICES = [1 + (x - 10) / 16 for x in XS]
T0_NS = 1_736_121_600_000_000_000  # 2025-01-06T00:00:00Z
MINUTE_NS = 60_000_000_000
INITIAL = 10_000.0
EQUITY = [INITIAL] * 7 + [10_062.5, 10_000.0, 9_875.0]
BALANCE = [INITIAL] * 9 + [9_875.0]

TRADE_KEYS = {
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
}


def iso(bar: int) -> str:
    return f"2025-01-06T00:{bar:02d}:00Z"


def ns(bar: int) -> int:
    return T0_NS + bar * MINUTE_NS


GOLDEN_CONFIG = {
    "schema_version": "2",
    "strategy_name": "sma_crossover",
    "symbol": "EURUSD",
    "start_date": "2025-01-06",
    "end_date": "2025-01-06",
    "timeframes": {"primary": "M1"},
    "warmup_bars": 0,
    "account": {"initial_balance": INITIAL, "account_currency": "USD"},
    "costs": {"enabled": False},
    "strategy_parameters": {"fast": 2, "slow": 3, "size_lots": 0.01},
}


@pytest.fixture(scope="module")
def golden_data(tmp_path_factory: pytest.TempPathFactory, write_csv_dataset: Any) -> Path:
    root = tmp_path_factory.mktemp("golden") / "data"
    bars = [(f"2025-01-06 00:{i:02d}:00+00:00", p, p, p, p, 1.0) for i, p in enumerate(PRICES)]
    write_csv_dataset(root, bars)  # ask == bid
    return root


@pytest.fixture(scope="module")
def golden(golden_data: Path) -> omega_v2.RunResult:
    var = golden_data.parent / "var"
    return omega_v2.run(GOLDEN_CONFIG, data_root=golden_data, var_dir=var, run_id="golden-sma")


def test_hand_derivation_is_consistent() -> None:
    """Re-derives the crosses of the table above with exact rationals (no engine involved)."""
    x = [Fraction(v) for v in XS]
    fast = {t: (x[t - 1] + x[t]) / 2 for t in range(1, 10)}
    slow = {t: (x[t - 2] + x[t - 1] + x[t]) / 3 for t in range(2, 10)}
    ups = [t for t in range(3, 10) if fast[t - 1] < slow[t - 1] and fast[t] > slow[t]]
    downs = [t for t in range(3, 10) if fast[t - 1] > slow[t - 1] and fast[t] < slow[t]]
    assert (ups, downs) == ([9], [6])
    assert fast[2] == slow[2]  # why bar 3 is not a cross
    assert all(Fraction(p) == 1 + (v - 10) / Fraction(16) for p, v in zip(PRICES, x, strict=True))  # exact floats
    # equity: short from bar 6 (entry 0.9375) marked at the ask close, 1000 units
    marks = [INITIAL + float((Fraction(PRICES[6]) - Fraction(PRICES[t])) * 1000) for t in (6, 7, 8)]
    assert marks == EQUITY[6:9]
    assert INITIAL + float((Fraction(PRICES[6]) - Fraction(PRICES[9])) * 1000) == EQUITY[9]


def test_trades(golden: omega_v2.RunResult) -> None:
    text = (golden.run_dir / "trades.json").read_text(encoding="utf-8")
    assert text.endswith("\n")
    trades = json.loads(text)
    assert len(trades) == 2
    assert all(set(t) == TRADE_KEYS for t in trades)
    short, long_ = trades  # both exit in bar 9: the short is closed first
    assert [t["exit_time_ns"] for t in trades] == sorted(t["exit_time_ns"] for t in trades)

    assert short["direction"] == "short"
    assert (short["entry_time"], short["entry_time_ns"]) == (iso(6), ns(6))
    assert (short["exit_time"], short["exit_time_ns"]) == (iso(9), ns(9))
    assert (short["entry_price"], short["exit_price"]) == (0.9375, 1.0625)
    assert short["result"] == -125.0
    assert short["reason"] == "signal"
    assert short["meta"]["in_entry_candle"] is False

    assert long_["direction"] == "long"
    assert (long_["entry_time"], long_["entry_time_ns"]) == (iso(9), ns(9))
    assert (long_["exit_time"], long_["exit_time_ns"]) == (iso(9), ns(9))
    assert (long_["entry_price"], long_["exit_price"]) == (1.0625, 1.0625)
    assert long_["result"] == 0.0
    assert long_["reason"] == "end_of_data"
    assert long_["meta"]["in_entry_candle"] is True

    for t in trades:
        assert t["symbol"] == "EURUSD"
        assert t["size"] == 0.01
        assert t["fees"] == 0.0  # costs off
        assert t["stop_loss"] is None and t["take_profit"] is None  # no sl_pips/tp_pips
        assert t["r_multiple"] is None  # no initial risk without a stop
        assert isinstance(t["scenario_id"], int)
        assert "stop_loss_kind" in t["meta"]


def test_trade_snapshot_holds_the_smas_of_the_signal_bar(golden: omega_v2.RunResult) -> None:
    short, long_ = golden.trades_list
    # bar 6: fast (1.0625 + 0.9375)/2, slow (1.125 + 1.0625 + 0.9375)/3
    assert short["meta"]["signal"]["sma_fast"] == pytest.approx(1.0, abs=1e-12)
    assert short["meta"]["signal"]["sma_slow"] == pytest.approx(3.125 / 3, abs=1e-12)
    # bar 9: fast (0.9375 + 1.0625)/2, slow (0.875 + 0.9375 + 1.0625)/3
    assert long_["meta"]["signal"]["sma_fast"] == pytest.approx(1.0, abs=1e-12)
    assert long_["meta"]["signal"]["sma_slow"] == pytest.approx(2.875 / 3, abs=1e-12)


def test_equity_csv_rows(golden: omega_v2.RunResult) -> None:
    """Every row, all six columns, as text (shortest round-trip floats, like Python's repr)."""
    expected = ["timestamp,timestamp_ns,equity,balance,drawdown,high_water"]
    high_water = INITIAL
    for bar, (equity, balance) in enumerate(zip(EQUITY, BALANCE, strict=True)):
        high_water = max(high_water, equity)
        drawdown = (high_water - equity) / high_water
        expected.append(f"{iso(bar)},{ns(bar)},{equity!r},{balance!r},{drawdown!r},{high_water!r}")
    assert (golden.run_dir / "equity.csv").read_text(encoding="utf-8") == "\n".join(expected) + "\n"


def test_metrics(golden: omega_v2.RunResult) -> None:
    doc = json.loads((golden.run_dir / "metrics.json").read_text(encoding="utf-8"))
    assert doc["metrics"] == {
        "total_trades": 2,
        "wins": 0,
        "losses": 1,
        "win_rate": 0.0,
        "profit_gross": -125.0,
        "fees_total": 0.0,
        "profit_net": -125.0,
        "max_drawdown": round(187.5 / 10_062.5, 6),
        "max_drawdown_abs": 187.5,
        "max_drawdown_duration_bars": 2,
        "avg_r_multiple": 0.0,
        "profit_factor": 0.0,
        "avg_trade_pnl": -62.5,
        "expectancy": -62.5,
        "active_days": 1,
        "trades_per_day": 2.0,
        "sharpe_trade_r": "n/a",
        "sortino_trade_r": "n/a",
        "sharpe_equity_daily": "n/a",
        "sortino_equity_daily": "n/a",
    }
    assert set(doc["definitions"]) == set(doc["metrics"])


def test_meta(golden: omega_v2.RunResult) -> None:
    meta = golden.meta
    assert meta["run_id"] == "golden-sma"
    assert meta["status"] == "success"
    assert meta["seed"] == 42  # dev default
    d = meta["dataset"]
    assert (d["symbol"], d["timeframe"], d["bars"]) == ("EURUSD", "M1", 10)
    assert (d["start_time"], d["start_time_ns"]) == (iso(0), ns(0))
    assert (d["end_time"], d["end_time_ns"]) == (iso(9), ns(9))
    assert [f["name"] for f in d["files"]] == ["EURUSD_M1_BID.csv", "EURUSD_M1_ASK.csv"]
    alignment = d["governance"]["alignment"]
    assert (alignment["bid_rows"], alignment["ask_rows"], alignment["aligned_rows"]) == (10, 10, 10)
    assert d["governance"]["warmup_shortfall"]["shortfall_bars"] == 0
    assert meta["account"] == {"account_currency": "USD", "initial_balance": INITIAL}


def test_golden_is_reproducible(
    golden: omega_v2.RunResult, golden_data: Path, omega_run: Any, assert_same_artefacts: Any
) -> None:
    assert_same_artefacts(golden, omega_run(GOLDEN_CONFIG, data_root=golden_data))
