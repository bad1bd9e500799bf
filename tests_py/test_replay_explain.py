"""Explain any run from its run_id: exact replay, the story of one trade, and the diff of two runs,
on real runs (dev and prod, files, Python strategies and signals)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import omega_v2 as om
from omega_v2.errors import Code, ConfigError, DataError
from omega_v2.run_diff import diff_runs

PRICES = [1.1000, 1.1010, 1.1020, 1.1030, 1.1025, 1.1015, 1.1005, 1.0995, 1.0990, 1.1000]


@pytest.fixture
def tiny(tmp_path: Path, minute_dataset: Any) -> dict[str, Any]:
    """Ten M1 bars, bid = ask, costs off, pip buffer 0, USD account: PnL = move x lots x 100,000."""
    tiny = minute_dataset(tmp_path / "data", PRICES, costs={"pip_buffer_factor": 0.0})
    tiny["config"]["strategy_parameters"] = {"size_lots": 1.0}
    return tiny


def signals(index: Any, **columns: Any) -> pd.DataFrame:
    """A signals frame with the given values at bar numbers: `enter_long={3: True}`."""
    frame = pd.DataFrame(index=index)
    for name, at in columns.items():
        if name in ("stop_loss", "take_profit", "size_lots"):
            frame[name] = [at.get(i, np.nan) for i in range(len(index))]
        else:
            frame[name] = [at.get(i, False) for i in range(len(index))]
    return frame


# --------------------------------------------------------------------------------------
# The story of a trade, derived by hand


def test_a_stop_loss_exit_through_a_gap(tiny: dict, omega_run: Any) -> None:
    sig = signals(tiny["index"], enter_long={3: True}, stop_loss={3: 1.1020})
    run = omega_run(tiny["config"], signals=sig, data_root=tiny["root"])
    s = run.explain(0, signals=sig).story
    # entry: the ask close of bar 3 (1.1030), no slippage; 100 USD risk over 10 pips x 100,000
    assert (s["entry"]["bar"]["index"], s["entry"]["side"], s["entry"]["fill"]) == (3, "ask", 1.1030)
    assert s["entry"]["sizing"]["mode"] == "risk" and s["entry"]["sizing"]["raw_lots"] == pytest.approx(1.0)
    assert s["entry"]["size"] == 1.0
    # bar 4's bid low 1.1023 stays above 1.1020; bar 5 opens at 1.1015, beyond the stop: gap rule
    x = s["exit"]
    assert (x["bar"]["index"], x["reason"], x["side"], x["level"]) == (5, "stop_loss", "bid", 1.1020)
    assert x["extreme"] == {"field": "low", "value": pytest.approx(1.1013)}
    assert x["gap"] is True and x["price_before_slippage"] == 1.1015 == x["fill"]
    assert s["pnl"]["result"] == pytest.approx((1.1015 - 1.1030) * 100_000)
    assert s["gates"]["sessions"] == "always open" and s["signal"]["bar"]["index"] == 3
    text = run.explain(0, signals=sig).render()
    assert "stop_loss: bid low 0.0011013" not in text and "the bar opened at 1.1015" in text


def test_a_take_profit_exit_at_its_level(tiny: dict, omega_run: Any) -> None:
    # long at bar 0 (1.1000), TP 1.1020: bar 1's high 1.1012 falls short, bar 2's 1.1022 reaches it;
    # bar 2 opened at 1.1020, not beyond the level, so the fill is the level
    sig = signals(tiny["index"], enter_long={0: True}, take_profit={0: 1.1020})
    run = omega_run(tiny["config"], signals=sig, data_root=tiny["root"])
    x = run.explain(0, signals=sig).story["exit"]
    assert (x["bar"]["index"], x["reason"], x["level"], x["gap"], x["fill"]) == (
        2,
        "take_profit",
        1.1020,
        False,
        1.1020,
    )
    assert x["extreme"] == {"field": "high", "value": pytest.approx(1.1022)}
    assert "bid high" in x["rule"] and ">= level 1.102 - buffer 0" in x["rule"]


def test_a_reversal_closes_at_the_signal_and_opens_the_other_way(tiny: dict, omega_run: Any) -> None:
    sig = signals(tiny["index"], enter_long={1: True}, enter_short={5: True})
    run = omega_run(tiny["config"], signals=sig, data_root=tiny["root"])
    first, second = run.explain(0).story, run.explain(1).story  # the run's own signals
    assert (first["exit"]["reason"], first["exit"]["bar"]["index"], first["exit"]["fill"]) == ("signal", 5, 1.1015)
    assert first["pnl"]["result"] == pytest.approx((1.1015 - 1.1010) * 100_000)
    assert (second["direction"], second["signal"]["bar"]["index"], second["entry"]["side"]) == ("short", 5, "bid")
    assert second["gates"]["bars_since_last_exit"] == 0  # entered in the bar the long closed
    assert (second["exit"]["reason"], second["exit"]["bar"]["index"]) == ("end_of_data", 9)
    with pytest.raises(om.ConfigError, match="has 2 trades"):
        run.explain(2, signals=sig)


def test_explain_from_the_cli_as_text_and_json(omega_var_dir: Path, run_python: Any) -> None:
    run = om.run(None, var_dir=omega_var_dir, run_id="cli-story", progress=False)
    assert run.metrics["total_trades"] > 3
    text = run_python(None, "explain", "cli-story", "--trade", "2", "--var-dir", str(omega_var_dir), module="omega_v2")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("trade 2 of run cli-story: ") and "\npnl     (" in text.stdout
    as_json = run_python(
        None, "explain", "cli-story", "--trade", "2", "--json", "--var-dir", str(omega_var_dir), module="omega_v2"
    )
    story = json.loads(as_json.stdout)
    assert story["trade"] == run.trades_list[2]
    assert story["story"]["pnl"]["net"] == pytest.approx(run.trades_list[2]["result"] - run.trades_list[2]["fees"])
    missing = run_python(
        None, "explain", "cli-story", "--trade", "99999", "--var-dir", str(omega_var_dir), module="omega_v2"
    )
    assert missing.returncode == 2 and missing.stderr.startswith("error: run cli-story has")


# --------------------------------------------------------------------------------------
# Replay


@pytest.mark.parametrize("mode", ["dev", "prod"])
def test_replay_reproduces_a_run_byte_for_byte(
    make_config: Any, omega_var_dir: Path, example_data_root: Path, mode: str
) -> None:
    config = make_config(run_mode=mode, rng_seed=None)  # prod draws its seed from the OS
    original = om.run(config, data_root=example_data_root, var_dir=omega_var_dir, run_id=f"orig-{mode}")
    assert original.metrics["total_trades"] > 0
    done = om.replay(f"orig-{mode}", var_dir=omega_var_dir, level="debug")
    assert done.identical and done.result.run_id == f"orig-{mode}-replay-1"
    assert done.result.meta["seed"] == original.meta["seed"]
    debug_lines = done.result.paths.json_log.read_text().count("\n")
    assert debug_lines > original.paths.json_log.read_text().count("\n")


def test_replay_refuses_changed_data_naming_the_file_and_both_hashes(
    make_config: Any, omega_var_dir: Path, example_data_root: Path, tmp_path: Path, run_python: Any
) -> None:
    data = tmp_path / "copy"
    shutil.copytree(example_data_root, data)
    om.run(make_config(), data_root=data, var_dir=omega_var_dir, run_id="before-change")
    bid = data / "EURUSD" / "EURUSD_M5_BID.parquet"
    recorded = json.loads((omega_var_dir / "results/backtests/before-change/meta.json").read_text())
    recorded_sha = next(f["sha256"] for f in recorded["dataset"]["files"] if f["name"] == bid.name)
    bid.write_bytes(bid.read_bytes() + b"\0")
    proc = run_python(None, "replay", "before-change", "--var-dir", str(omega_var_dir), module="omega_v2")
    assert proc.returncode == 3
    assert str(bid) in proc.stderr and recorded_sha in proc.stderr and "nothing was run" in proc.stderr
    assert not list((omega_var_dir / "results/backtests").glob("before-change-replay-*"))
    assert not list((omega_var_dir / "logs").glob("before-change-replay-*"))


def test_replay_of_a_python_strategy_needs_the_same_class(tiny: dict, omega_run: Any, omega_var_dir: Path) -> None:
    class Buy(om.Strategy):
        def on_bar(self, t: int, position: str | None) -> Any:
            return om.Enter("long") if t == 2 else None

    class Other(om.Strategy):
        pass

    cfg = {**tiny["config"], "strategy_name": "python", "strategy_parameters": {}}
    omega_run(cfg, strategy=Buy, data_root=tiny["root"], run_id="own")
    with pytest.raises(om.ConfigError, match="pass it as strategy="):
        om.replay("own", var_dir=omega_var_dir)
    with pytest.raises(om.DataError, match="is not the one the run traded"):
        om.replay("own", var_dir=omega_var_dir, strategy=Other)
    assert om.replay("own", var_dir=omega_var_dir, strategy=Buy).identical


# --------------------------------------------------------------------------------------
# Diff of real runs


def test_a_run_on_a_relative_data_root_replays_from_any_directory(
    make_config: Any, omega_var_dir: Path, example_data_root: Path, tmp_path: Path, run_python: Any
) -> None:
    shutil.copytree(example_data_root, tmp_path / "project" / "data")
    config = tmp_path / "project" / "config.json"
    config.write_text(json.dumps(make_config()))
    var = ["--var-dir", str(omega_var_dir)]
    made = run_python(None, "run", "config.json", "--data-root", "data", "--run-id", "rel", *var, module="omega_v2",
                      cwd=tmp_path / "project")  # fmt: skip
    assert made.returncode == 0, made.stderr
    meta = json.loads((omega_var_dir / "results/backtests/rel/meta.json").read_text())
    assert meta["dataset"]["files"][0]["path"] == str(tmp_path / "project/data/EURUSD/EURUSD_M5_BID.parquet")
    for command in (["replay", "rel"], ["explain", "rel", "--trade", "0"]):
        proc = run_python(None, *command, *var, module="omega_v2", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    ("damaged", "content", "needle"),
    [
        ("config.json", "{not json", "config.json is not valid JSON"),
        ("meta.json", "[]", "meta.json must hold a JSON object"),
        ("meta.json", '{"run_id": "x"}', "meta.json is not what omega-v2 wrote: `dataset.files` is missing"),
        ("trades.json", "{}", "trades.json must hold a JSON array"),
    ],
)
def test_a_damaged_run_directory_is_refused_naming_the_file(
    make_config: Any, omega_var_dir: Path, example_data_root: Path, run_python: Any, damaged: str, content: str,
    needle: str,
) -> None:  # fmt: skip
    om.run(make_config(), data_root=example_data_root, var_dir=omega_var_dir, run_id="damaged")
    (omega_var_dir / "results/backtests/damaged" / damaged).write_text(content)
    with pytest.raises(om.RunNotFound, match=needle) as info:
        om.explain("damaged", 0, var_dir=omega_var_dir)
    assert info.value.code == Code.RUN_UNREADABLE
    if damaged != "trades.json":  # replay reads only what it reruns; trades are compared afterwards
        with pytest.raises(om.RunNotFound, match=needle):
            om.replay("damaged", var_dir=omega_var_dir)
    else:
        proc = run_python(None, "replay", "damaged", "--var-dir", str(omega_var_dir), module="omega_v2")
        assert proc.returncode == 1 and "DIFFERS in trades.json" in proc.stdout and needle in proc.stdout
        assert "Traceback" not in proc.stderr
    proc = run_python(None, "explain", "damaged", "--trade", "0", "--var-dir", str(omega_var_dir), module="omega_v2")
    assert proc.returncode == 6 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


@pytest.mark.parametrize("mode", ["dev", "prod"])
@pytest.mark.parametrize("edit", ["account.risk_per_trade", "rng_seed"])
def test_an_edited_config_json_is_refused_before_anything_runs(
    make_config: Any, omega_var_dir: Path, example_data_root: Path, run_python: Any, mode: str, edit: str
) -> None:
    """config.json must be the config whose hash and seed meta.json recorded (a prod run's drawn
    seed included), else the replay would be another run under the original's name."""
    om.run(make_config(run_mode=mode, rng_seed=None), data_root=example_data_root, var_dir=omega_var_dir, run_id="ed")
    path = omega_var_dir / "results/backtests/ed/config.json"
    config = json.loads(path.read_text())
    if edit == "rng_seed":
        config["rng_seed"] += 1
    else:
        config["account"]["risk_per_trade"] *= 2
    path.write_text(json.dumps(config))
    for call in (lambda: om.replay("ed", var_dir=omega_var_dir), lambda: om.explain("ed", 0, var_dir=omega_var_dir)):
        with pytest.raises(om.RunNotFound, match="is not the config run ed ran") as info:
            call()
        assert info.value.code == Code.RUN_UNREADABLE and info.value.context["file"] == str(path)
    proc = run_python(None, "replay", "ed", "--var-dir", str(omega_var_dir), module="omega_v2")
    assert proc.returncode == 6 and "the file was edited" in proc.stderr, proc.stderr
    assert str(config["rng_seed"]) not in proc.stderr.replace(str(omega_var_dir), "")  # nor does a seed
    assert not list((omega_var_dir / "logs").glob("ed-replay-*"))


def test_diff_of_runs_that_differ_in_one_data_file(
    make_config: Any, omega_var_dir: Path, example_data_root: Path, tmp_path: Path
) -> None:
    data = tmp_path / "copy"
    shutil.copytree(example_data_root, data)
    a = om.run(make_config(), data_root=data, var_dir=omega_var_dir, run_id="data-a")
    ask = pd.read_parquet(data / "EURUSD" / "EURUSD_M5_ASK.parquet")
    ask.iloc[-1000:, ask.columns.get_indexer(["Open", "High", "Low", "Close"])] += 0.0003  # a wider spread late on
    ask.to_parquet(data / "EURUSD" / "EURUSD_M5_ASK.parquet")
    b = om.run(make_config(), data_root=data, var_dir=omega_var_dir, run_id="data-b")
    diff = diff_runs(a.run_dir, b.run_dir).to_dict()
    assert not diff_runs(a.run_dir, b.run_dir).identical
    changed = [f["name"] for f in diff["data"]["files"] if f["change"] == "changed"]
    assert changed == ["EURUSD_M5_ASK.parquet"]
    assert diff["config"]["fields"] == []


def test_the_news_calendar_is_part_of_the_record_and_checked_before_a_replay(
    make_config: Any, omega_var_dir: Path, example_data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    calendar = tmp_path / "calendar.csv"
    calendar.write_text("UTC time,currency,impact\n2025-01-08 13:30:00+00:00,USD,high\n", encoding="utf-8")
    monkeypatch.setenv(om._core.NEWS_CALENDAR_ENV, str(calendar))
    config = make_config({"news_filter": {"enabled": True}})
    first = om.run(config, data_root=example_data_root, var_dir=omega_var_dir, run_id="news")
    recorded = first.meta["dataset"]["news_calendar"]
    assert recorded == {"name": str(calendar), "sha256": hashlib.sha256(calendar.read_bytes()).hexdigest()}
    assert om.replay("news", var_dir=omega_var_dir).identical
    calendar.write_text("UTC time,currency,impact\n2025-01-09 13:30:00+00:00,USD,high\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"news calendar .* changed since the run") as info:
        om.replay("news", var_dir=omega_var_dir)
    assert info.value.code == Code.DATA_CHANGED
    other = om.run(config, data_root=example_data_root, var_dir=omega_var_dir, run_id="news-other")
    assert other.meta["dataset"]["manifest_sha256"] != first.meta["dataset"]["manifest_sha256"]
    monkeypatch.delenv(om._core.NEWS_CALENDAR_ENV)
    with pytest.raises(ConfigError, match="read the news calendar") as info:
        om.replay("news", var_dir=omega_var_dir)
    assert info.value.code == Code.CONFIG_ENVIRONMENT
