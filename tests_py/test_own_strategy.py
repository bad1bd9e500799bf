"""Bring your own strategy: per-bar Python strategies and signals frames on the Rust engine,
with the engine's own execution rules, determinism and per-run observability."""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel, ConfigDict, Field

import omega_v2 as om
from omega_v2 import indicators as ind

PARAMS = {"fast": 10, "slow": 30}


class Probe(om.Strategy):
    """Keeps the run's bars (to build inputs from exactly what the engine trades)."""

    seen: om.Bars | None = None

    def init(self, bars: om.Bars, params: Any) -> None:
        type(self).seen = bars


class Crossover(om.Strategy):
    """The built-in sma_crossover, re-expressed: SMAs of the mid close from the engine's own
    indicators, market orders at the close, snapshot values like the built-in's."""

    def init(self, bars: om.Bars, params: Any) -> None:
        mid = (bars.bid_close + bars.ask_close) * 0.5
        self.fast, self.slow = ind.sma(mid, params["fast"]), ind.sma(mid, params["slow"])
        self.first_signal_index = params["slow"]

    def on_bar(self, t: int, position: str | None) -> Any:
        f0, s0, f1, s1 = self.fast[t - 1], self.slow[t - 1], self.fast[t], self.slow[t]
        snapshot = {"sma_fast": f1, "sma_slow": s1}
        if f0 < s0 and f1 > s1 and position != "long":
            return (om.Reverse if position == "short" else om.Enter)("long", snapshot=snapshot)
        if f0 > s0 and f1 < s1 and position != "short":
            return (om.Reverse if position == "long" else om.Enter)("short", snapshot=snapshot)
        return None


@pytest.fixture
def config(make_config: Any) -> dict[str, Any]:
    return {**make_config(strategy_name="sma_crossover"), "strategy_parameters": dict(PARAMS)}


@pytest.fixture
def builtin(config: dict[str, Any], omega_run: Any, example_data_root: Path) -> om.RunResult:
    result = omega_run(config, data_root=example_data_root, run_id="builtin")
    assert result.metrics["total_trades"] > 10
    return result


def run_bars(config: dict[str, Any], omega_run: Any, root: Path) -> om.Bars:
    omega_run({**config, "strategy_name": "python"}, strategy=Probe, data_root=root)
    assert Probe.seen is not None
    return Probe.seen


def crossover_signals(bars: om.Bars) -> pd.DataFrame:
    """The built-in's crosses as a signals frame over the run's bars, with its snapshot values."""
    mid = (bars.bid_close + bars.ask_close) * 0.5
    fast, slow = ind.sma(mid, PARAMS["fast"]), ind.sma(mid, PARAMS["slow"])
    up = np.zeros(len(mid), bool)
    down = np.zeros(len(mid), bool)
    t = np.arange(PARAMS["slow"], len(mid))
    up[t] = (fast[t - 1] < slow[t - 1]) & (fast[t] > slow[t])
    down[t] = (fast[t - 1] > slow[t - 1]) & (fast[t] < slow[t])
    frame = pd.DataFrame({"enter_long": up, "enter_short": down, "sma_fast": fast, "sma_slow": slow}, index=bars.index)
    return frame


def assert_same_results(a: om.RunResult, b: om.RunResult) -> None:
    for name in ("trades.json", "equity.csv", "metrics.json"):
        assert (a.run_dir / name).read_bytes() == (b.run_dir / name).read_bytes(), name


# --------------------------------------------------------------------------------------
# The built-in strategy three ways


def test_a_python_strategy_reproduces_the_builtin_byte_for_byte(
    config: dict, builtin: om.RunResult, omega_run: Any, example_data_root: Path
) -> None:
    python = omega_run({**config, "strategy_name": "python"}, strategy=Crossover, data_root=example_data_root)
    assert_same_results(builtin, python)
    identity = python.meta["inputs"]["strategy"]
    source = inspect.getsource(Crossover).encode("utf-8")
    assert identity == {"class": f"{__name__}.Crossover", "sha256": hashlib.sha256(source).hexdigest(), "of": "source"}


def test_signals_reproduce_the_builtin_byte_for_byte(
    config: dict, builtin: om.RunResult, omega_run: Any, example_data_root: Path
) -> None:
    frame = crossover_signals(run_bars(config, omega_run, example_data_root))
    signals = omega_run(
        {**config, "strategy_name": "signals", "strategy_parameters": {}}, signals=frame, data_root=example_data_root
    )
    assert_same_results(builtin, signals)
    assert signals.meta["inputs"]["signals"]["rows"] == len(frame)


# --------------------------------------------------------------------------------------
# Signals semantics by hand


@pytest.fixture
def tiny(tmp_path: Path, minute_dataset: Any) -> dict[str, Any]:
    """Ten M1 bars, bid = ask (spread 0), costs off: PnL = price move x lots x 100,000 (USD)."""
    prices = [1.1000, 1.1010, 1.1020, 1.1030, 1.1025, 1.1015, 1.1005, 1.0995, 1.0990, 1.1000]
    tiny = minute_dataset(tmp_path / "data", prices)
    tiny["config"]["strategy_parameters"] = {"size_lots": 0.5}
    return {**tiny, "prices": prices}


def test_entries_exits_and_reversals_at_the_bar_close(tiny: dict, omega_run: Any) -> None:
    idx = tiny["index"]
    sig = pd.DataFrame(
        {
            "enter_long": [False, True, False, False, False, False, False, False, False, False],
            "exit_long": [False, False, False, True, False, False, False, False, False, False],
            "enter_short": [False, False, False, False, False, True, False, False, False, False],
            "exit_short": [False] * 10,
            "size_lots": [np.nan, 2.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        },
        index=idx,
    )
    sig.loc[idx[7], "enter_long"] = True  # holding short at bar 7: reverse to long
    result = omega_run(tiny["config"], signals=sig, data_root=tiny["root"])
    trades = result.trades_list
    p = tiny["prices"]
    # long bar 1 -> exit bar 3 (2 lots from the row), short bar 5 -> reversed at bar 7 (0.5 lots:
    # the parameter), long bar 7 -> end of data at bar 9 (0.5 lots)
    expected = [
        ("long", 1, 3, 2.0, "signal", (p[3] - p[1]) * 2.0 * 100_000),
        ("short", 5, 7, 0.5, "signal", (p[5] - p[7]) * 0.5 * 100_000),
        ("long", 7, 9, 0.5, "end_of_data", (p[9] - p[7]) * 0.5 * 100_000),
    ]
    assert len(trades) == len(expected)
    for trade, (direction, entry, exit_, size, reason, pnl) in zip(trades, expected, strict=True):
        assert trade["direction"] == direction
        assert trade["entry_time_ns"] == idx[entry].value and trade["exit_time_ns"] == idx[exit_].value
        assert (trade["entry_price"], trade["exit_price"]) == (p[entry], p[exit_])
        assert (trade["size"], trade["reason"]) == (size, reason)
        assert trade["result"] == pytest.approx(pnl, rel=1e-9)


def test_a_signal_stop_loss_sizes_by_risk_and_exits_like_any_stop(tiny: dict, omega_run: Any) -> None:
    idx = tiny["index"]
    # Long at bar 3's close 1.1030 with SL 1.1020: 10 pips x 100,000 = 100 USD of risk per lot,
    # and the account risks 100 USD -> 1.0 lot. Bar 4 (low 1.1023) keeps it; bar 5 opens at
    # 1.1015, already beyond the stop: the gap rule fills at that open, not at the level.
    sig = pd.DataFrame({"enter_long": idx == idx[3], "stop_loss": np.where(idx == idx[3], 1.1020, np.nan)}, index=idx)
    cfg = {**tiny["config"], "costs": {**tiny["config"]["costs"], "pip_buffer_factor": 0.0}}
    trade = omega_run(cfg, signals=sig, data_root=tiny["root"]).trades_list[0]
    assert (trade["size"], trade["reason"], trade["exit_price"]) == (1.0, "stop_loss", 1.1015)
    assert trade["exit_time_ns"] == idx[5].value
    assert trade["result"] == pytest.approx((1.1015 - 1.1030) * 1.0 * 100_000)


def test_a_take_profit_on_the_losing_side_is_rejected_like_a_wrong_stop(tiny: dict, omega_run: Any) -> None:
    idx, p = tiny["index"], tiny["prices"]
    # Long at bar 1's close 1.1010. A take profit of 1.1000 lies below the fill: it would fire on
    # the next bar and book a loss as a take profit, so the entry is rejected. At bar 5 (close
    # 1.1015) the take profit 1.1021 is valid but never reached (highs 1.1017 .. 1.1002 after).
    # Bar 1 again with 1.1021: bar 2 opens at 1.1020 and reaches 1.1022, so it fills at the level.
    tp = np.full(len(idx), np.nan)
    tp[[1, 5]] = [1.1000, 1.1021]
    sig = pd.DataFrame({"enter_long": np.isin(np.arange(len(idx)), [1, 5]), "take_profit": tp}, index=idx)
    cfg = {**tiny["config"], "costs": {**tiny["config"]["costs"], "pip_buffer_factor": 0.0}}
    rejected = omega_run(cfg, signals=sig, data_root=tiny["root"])
    assert rejected.meta["counters"]["rejected_invalid_take_profit"] == 1
    assert [(t["entry_time_ns"], t["reason"]) for t in rejected.trades_list] == [(idx[5].value, "end_of_data")]
    tp[1] = 1.1021
    filled = omega_run(cfg, signals=sig.assign(take_profit=tp), data_root=tiny["root"]).trades_list[0]
    assert (filled["reason"], filled["exit_price"], filled["exit_time_ns"]) == ("take_profit", 1.1021, idx[2].value)
    assert filled["result"] == pytest.approx((1.1021 - p[1]) * 0.5 * 100_000)


def _one(column: str, values: list[Any], index: Any) -> pd.DataFrame:
    return pd.DataFrame({column: values}, index=index)


BAD_SIGNALS = {
    "row-without-bar": (
        lambda i: _one("enter_long", [True], [i[0] + pd.Timedelta(seconds=30)]),
        "data.signals",
        "row 0",
    ),
    "unsorted": (lambda i: _one("enter_long", [True, True], [i[3], i[1]]), "data.signals", "row 1"),
    "nan-in-bools": (lambda i: _one("enter_long", [1.0, np.nan], i[:2]), "data.frame", "expected booleans"),
    "bad-size": (lambda i: _one("size_lots", [-1.0], i[:1]).assign(enter_long=True), "data.frame", "size_lots"),
    "typo": (lambda i: _one("enter_lng", [True], i[:1]), "data.frame", "misspelling of `enter_long`"),
    "text-column": (lambda i: _one("note", ["x"], i[:1]).assign(enter_long=True), "data.frame", "`note`"),
    "naive-index": (lambda i: _one("enter_long", [True], i[:1].tz_localize(None)), "data.frame", "naive"),
    "repeated-column": (
        lambda i: pd.concat([_one("enter_long", [True], i[:1])] * 2, axis=1),
        "data.frame",
        "more than one column named `enter_long`",
    ),
    "seconds-axis": (
        lambda i: pd.DataFrame({"UTC time": i[:2].asi8 // 10**9, "enter_long": [True, False]}),
        "data.frame",
        "looks like seconds",
    ),
}


@pytest.mark.parametrize(("build", "code", "needle"), BAD_SIGNALS.values(), ids=BAD_SIGNALS.keys())
def test_bad_signals_are_located_data_errors(tiny: dict, omega_run: Any, build: Any, code: str, needle: str) -> None:
    with pytest.raises(om.DataError) as info:
        omega_run(tiny["config"], signals=build(tiny["index"]), data_root=tiny["root"])
    assert info.value.code == code
    assert needle in str(info.value)


def test_signals_and_strategies_need_their_strategy_name(tiny: dict, omega_run: Any) -> None:
    with pytest.raises(om.ConfigError, match="needs a signals frame"):
        omega_run(tiny["config"], data_root=tiny["root"])
    with pytest.raises(om.ConfigError, match="signals= is only read by strategy_name `signals`"):
        omega_run(
            {**tiny["config"], "strategy_name": "python"},
            strategy=Crossover,
            signals=pd.DataFrame(),
            data_root=tiny["root"],
        )
    with pytest.raises(om.ConfigError, match=r"needs an omega_v2\.Strategy"):
        omega_run({**tiny["config"], "strategy_name": "python", "strategy_parameters": {}}, data_root=tiny["root"])


# --------------------------------------------------------------------------------------
# Python strategies: failures, parameters, logging, determinism


class Raises(om.Strategy):
    def on_bar(self, t: int, position: str | None) -> Any:
        if t == 4:
            raise ZeroDivisionError("my bug")
        return None


class Garbage(om.Strategy):
    def on_bar(self, t: int, position: str | None) -> Any:
        return "buy" if t == 2 else None


class BadInit(om.Strategy):
    def init(self, bars: om.Bars, params: Any) -> None:
        raise RuntimeError("no data for me")


def test_an_exception_in_on_bar_fails_the_run_naming_the_bar(tiny: dict, omega_run: Any, omega_var_dir: Path) -> None:
    cfg = {**tiny["config"], "strategy_name": "python", "strategy_parameters": {}}
    with pytest.raises(om.StrategyError) as info:
        omega_run(cfg, strategy=Raises, data_root=tiny["root"], run_id="raises")
    err = info.value
    assert isinstance(err, om.ExecutionError) and err.code == "strategy.failed" and err.run_id == "raises"
    assert "`Raises` raised in on_bar at bar 4 (2025-01-06T00:04:00Z)" in str(err) and "my bug" in str(err)
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert not (omega_var_dir / "results" / "backtests" / "raises").exists()
    failed = [json.loads(line) for line in (omega_var_dir / "logs" / "raises.jsonl").read_text().splitlines()]
    assert failed[-1]["message"] == "run failed" and failed[-1]["fields"]["code"] == "strategy.failed"


def test_an_invalid_return_and_a_failing_init_are_strategy_errors(tiny: dict, omega_run: Any) -> None:
    cfg = {**tiny["config"], "strategy_name": "python", "strategy_parameters": {}}
    with pytest.raises(om.StrategyError, match=r"at bar 2 .* returned 'buy'") as info:
        omega_run(cfg, strategy=Garbage, data_root=tiny["root"])
    assert info.value.code == "strategy.invalid_action"
    assert info.value.context["bar"] == "2" and info.value.context["time"] == "2025-01-06T00:02:00Z"
    with pytest.raises(om.StrategyError, match="raised in init") as info:
        omega_run(cfg, strategy=BadInit, data_root=tiny["root"])
    assert isinstance(info.value.__cause__, RuntimeError)


def test_orders_are_validated_where_they_are_made() -> None:
    with pytest.raises(ValueError, match="direction"):
        om.Enter("up")
    with pytest.raises(ValueError, match="need an entry_price"):
        om.Enter("long", kind="limit")
    with pytest.raises(ValueError, match="entry_price is for limit and stop"):
        om.Enter("long", entry_price=1.1)
    with pytest.raises(ValueError, match="size_lots"):
        om.Reverse("short", size_lots=0)
    order = om.Enter("short", stop_loss=float("nan"), take_profit=1.09, snapshot={"z": 2.5})
    assert (order.stop_loss, order.take_profit, order.snapshot) == (None, 1.09, {"z": 2.5})


class Limit(om.Strategy):
    """A long limit 10 pips below bar 1's close; it fills when the ask trades down to it."""

    def on_bar(self, t: int, position: str | None) -> Any:
        if t == 1 and position is None:
            return om.Enter("long", kind="limit", entry_price=1.1000, take_profit=1.1030, size_lots=1.0)
        return None


def test_limit_orders_of_a_python_strategy_follow_the_engine_rules(tiny: dict, omega_run: Any) -> None:
    cfg = {**tiny["config"], "strategy_name": "python", "strategy_parameters": {}}
    trade = omega_run(cfg, strategy=Limit, data_root=tiny["root"]).trades_list[0]
    # lows from bar 2: 1.1018, 1.1028, 1.1023, 1.1013, 1.1003, 1.0993 -> it triggers in bar 7,
    # which opened at 1.0995, already below the limit: filled at that better open
    idx = tiny["index"]
    assert (trade["entry_time_ns"], trade["entry_price"]) == (idx[7].value, 1.0995)
    assert trade["reason"] == "end_of_data"  # TP 1.1030 never reached afterwards


class WithParams(om.Strategy):
    class Params(BaseModel):
        threshold: float = Field(gt=0)

    def init(self, bars: om.Bars, params: Any) -> None:
        self.log.info("threshold is %s", params.threshold)


def test_a_params_model_validates_strategy_parameters_and_logging_reaches_the_run_log(
    tiny: dict, omega_run: Any, omega_var_dir: Path
) -> None:
    cfg = {**tiny["config"], "strategy_name": "python"}
    with pytest.raises(om.ConfigError, match=r"`strategy_parameters.threshold`") as info:
        omega_run({**cfg, "strategy_parameters": {"threshold": -1}}, strategy=WithParams, data_root=tiny["root"])
    assert "-1" not in str(info.value)
    omega_run(
        {**cfg, "strategy_parameters": {"threshold": 2.5}}, strategy=WithParams, data_root=tiny["root"], run_id="p"
    )
    log = (omega_var_dir / "logs" / "p.python.log").read_text()
    assert "[run_id=p] omega_v2.strategy.WithParams: threshold is 2.5" in log


class Lenient(om.Strategy):
    class Params(BaseModel):
        model_config = ConfigDict(extra="allow")
        threshold: float = 1.0

    def init(self, bars: om.Bars, params: Any) -> None:
        self.log.info("extra is %s", params.model_extra)


def test_a_parameter_params_does_not_declare_is_refused_unless_the_model_allows_extras(
    tiny: dict, omega_run: Any, omega_var_dir: Path
) -> None:
    cfg = {**tiny["config"], "strategy_name": "python"}
    with pytest.raises(
        om.ConfigError, match=r"no parameter `strategy_parameters.treshold`; did you mean `threshold`"
    ) as info:
        omega_run({**cfg, "strategy_parameters": {"treshold": 2.0}}, strategy=WithParams, data_root=tiny["root"])
    assert info.value.code == "config.strategy_parameter"
    omega_run(
        {**cfg, "strategy_parameters": {"treshold": 2.0}}, strategy=Lenient, data_root=tiny["root"], run_id="lenient"
    )
    assert "extra is {'treshold': 2.0}" in (omega_var_dir / "logs" / "lenient.python.log").read_text()


def test_python_strategy_runs_are_deterministic_in_a_fresh_process(
    config: dict, omega_run: Any, example_data_root: Path, run_python: Any, tmp_path: Path
) -> None:
    here = omega_run({**config, "strategy_name": "python"}, strategy=Crossover, data_root=example_data_root)
    assert here.metrics["total_trades"] > 10
    code = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import omega_v2
from test_own_strategy import Crossover
cfg = json.loads({json.dumps(json.dumps({**config, "strategy_name": "python"}))})
r = omega_v2.run(cfg, strategy=Crossover, data_root={str(example_data_root)!r}, var_dir={str(tmp_path / "fresh")!r})
print(r.run_dir)
"""
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    fresh = om.load_run(proc.stdout.strip().splitlines()[-1])
    assert_same_results(here, fresh)
