"""Stop-out end to end: a level the trade-dense base run crosses stops the run at the first bar
close whose equity is at or below it, read off the unstopped run's own equity curve (the two
runs are identical up to that bar); artefacts stay complete, meta.json and a WARN record it."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest


def _equity(run: Any) -> list[dict[str, str]]:
    with (run.run_dir / "equity.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def runs(make_config: Any, example_data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import omega_v2 as om

    var = tmp_path_factory.mktemp("stop-out") / "var"
    free = om.run(make_config(), data_root=example_data_root, var_dir=var, run_id="free")
    rows = _equity(free)
    lowest = min(float(r["equity"]) for r in rows)
    assert lowest < 10_000.0 - 100.0, "the base run must lose at some point for this test to mean anything"
    level = (10_000.0 + lowest) / 2  # crossed half-way down to the base run's low
    stopped = om.run(
        make_config({"account": {"stop_out_level": level}}),
        data_root=example_data_root,
        var_dir=var,
        run_id="stopped",
    )
    first = next(i for i, r in enumerate(rows) if float(r["equity"]) <= level)
    return {"free": free, "stopped": stopped, "rows": rows, "level": level, "first": first}


def test_the_run_stops_at_the_first_close_at_or_below_the_level(runs: dict[str, Any]) -> None:
    row = runs["rows"][runs["first"]]
    record = runs["stopped"].meta["stop_out"]
    assert (record["time"], record["time_ns"]) == (row["timestamp"], int(row["timestamp_ns"]))
    assert record["stop_out_level"] == runs["level"]
    assert record["equity"] == float(row["equity"]) <= runs["level"]


def test_trades_are_the_unstopped_runs_until_then_plus_the_stop_out_exit(runs: dict[str, Any]) -> None:
    stop_ns = runs["stopped"].meta["stop_out"]["time_ns"]
    before = [t for t in runs["free"].trades_list if t["exit_time_ns"] < stop_ns]
    trades = runs["stopped"].trades_list
    assert trades[: len(before)] == before
    rest = trades[len(before) :]
    assert len(rest) <= 1, "at most the position open at the stop-out bar is closed there"
    if rest:
        assert (rest[0]["reason"], rest[0]["exit_time_ns"]) == ("stop_out", stop_ns)
    assert runs["stopped"].metrics["total_trades"] == len(trades)


def test_equity_stays_flat_after_the_stop_out_and_every_artefact_is_there(runs: dict[str, Any]) -> None:
    stopped = runs["stopped"]
    rows = _equity(stopped)
    assert len(rows) == len(runs["rows"]), "one row per bar, also after the stop-out"
    after = rows[runs["first"] :]
    final = float(after[0]["balance"])
    assert all(float(r["equity"]) == float(r["balance"]) == final for r in after)
    assert final == pytest.approx(10_000.0 + sum(t["result"] - t["fees"] for t in stopped.trades_list), abs=0.01)
    assert {p.name for p in stopped.run_dir.iterdir()} >= {"trades.json", "equity.csv", "metrics.json", "meta.json"}


def test_the_stop_out_is_a_warning_in_the_engine_log(runs: dict[str, Any]) -> None:
    stopped = runs["stopped"]
    records = [json.loads(line) for line in stopped.paths.json_log.read_text(encoding="utf-8").splitlines()]
    warns = [r for r in records if r.get("level") == "WARN" and "stopped out" in r.get("message", "")]
    assert len(warns) == 1
    assert warns[0]["fields"]["time"] == stopped.meta["stop_out"]["time"]
    free = runs["free"].paths.json_log.read_text(encoding="utf-8")
    assert "stopped out" not in free
