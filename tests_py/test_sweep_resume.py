"""The store of finished points: a second call runs only what is missing (after more values, a
crash, a deleted run or changed data), failures come back as failures until retried on request,
the index survives a torn write, and one sweep runs in one process at a time."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import omega_v2 as om
from omega_v2.sweeps import sweep
from omega_v2.sweeps.store import SweepStore

LONG = "strategy_parameters.z_score_long"


@pytest.fixture
def base(make_config: Any) -> dict[str, Any]:
    return make_config(end_date="2025-01-17")


def _run(base: dict[str, Any], values: list[float], var: Path, **options: Any) -> om.sweeps.SweepResult:
    options.setdefault("data_root", om.paths.EXAMPLE_DATA_ROOT)
    return sweep(base, {LONG: values}, var_dir=var, progress=False, **options)


def _by_value(result: Any) -> pd.DataFrame:
    return result.summary.set_index(LONG)


def _run_dirs(var: Path) -> list[str]:
    """Completed run directories (a staging directory's name starts with a dot)."""
    return sorted(p.name for p in (var / "results" / "backtests").iterdir() if not p.name.startswith("."))


def test_more_values_run_only_the_new_points_and_reuse_the_recorded_metrics(base: dict[str, Any], tmp_path: Path):
    var = tmp_path / "var"
    first = _run(base, [-2.0, -2.5], var)
    assert first.counts == {"success": 2, "reused": 0, "failed": 0}
    second = _run(base, [-2.0, -2.5, -3.0], var)
    assert second.sweep_id == first.sweep_id
    rows, before = _by_value(second), _by_value(first)
    assert rows["status"].to_dict() == {-2.0: "reused", -2.5: "reused", -3.0: "success"}
    assert len(_run_dirs(var)) == 3
    for value in (-2.0, -2.5):
        assert rows.loc[value, "run_id"] == before.loc[value, "run_id"]
        recorded = json.loads((var / "results" / "backtests" / rows.loc[value, "run_id"] / "metrics.json").read_text())
        assert recorded["metrics"]["total_trades"] > 0
        for name, value_ in recorded["metrics"].items():
            assert rows.loc[value, name] == pytest.approx(value_), name

    again = _run(base, [-2.0, -2.5, -3.0], var, resume=False)
    assert again.counts["success"] == 3 and len(_run_dirs(var)) == 6


SLEEPY = """
import time
import omega_v2 as om

class Sleepy(om.Strategy):
    def init(self, bars, params):
        self.wait = params["wait"]

    def on_bar(self, t, position):
        time.sleep(self.wait)
"""


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["killed", "ctrl-c"])
def test_a_stopped_sweep_loses_only_the_point_in_flight(
    make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: signal.Signals
) -> None:
    """The sweep runs in a child process on one worker; its third point takes seconds (2 ms a
    bar) and the whole process group gets `stop` once the first two are recorded. The
    interrupted point is not recorded as failed."""
    (tmp_path / "sleepy.py").write_text(SLEEPY, encoding="utf-8")
    var = tmp_path / "var"
    config = {**make_config(strategy_name="python", end_date="2025-01-17"), "strategy_parameters": {"wait": 0}}
    options = f"data_root={str(om.paths.EXAMPLE_DATA_ROOT)!r}, var_dir={str(var)!r}, sweep_id='killed', progress=False"
    script = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import omega_v2 as om, sleepy\n"
        f"om.sweep({config!r}, {{'strategy_parameters.wait': [0, 1e-9, 0.002]}}, strategy=sleepy.Sleepy, "
        f"max_workers=1, {options})"
    )
    child = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    index = var / "sweeps" / "killed" / "points.jsonl"
    deadline = time.monotonic() + 60
    while not (index.exists() and index.read_bytes().count(b"\n") >= 2):
        assert child.poll() is None and time.monotonic() < deadline, "the sweep ended or stalled before two points"
        time.sleep(0.05)
    os.killpg(child.pid, stop)
    assert child.wait(timeout=60) != 0
    lines = [json.loads(line) for line in index.read_text(encoding="utf-8").splitlines()]
    assert [line["status"] for line in lines] == ["success", "success"]
    assert len(_run_dirs(var)) == 2
    # The killed run never got past its staging directory (the engine's, named after its process).
    assert all(".partial-" in p.name for p in (var / "results" / "backtests").glob(".*"))

    monkeypatch.syspath_prepend(str(tmp_path))
    import sleepy

    resumed = sweep(
        config,
        {"strategy_parameters.wait": [0, 1e-9, 2e-9]},
        strategy=sleepy.Sleepy,
        data_root=om.paths.EXAMPLE_DATA_ROOT,
        var_dir=var,
        sweep_id="killed",
        progress=False,
    )
    statuses = resumed.summary.set_index("strategy_parameters.wait")["status"].to_dict()
    assert statuses == {0: "reused", 1e-9: "reused", 2e-9: "success"}
    assert len(_run_dirs(var)) == 3


def test_failures_come_back_as_failures_until_retried(
    base: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    var = tmp_path / "var"
    grid = {"warmup_bars": [500, 10**7]}
    first = sweep(base, grid, data_root=om.paths.EXAMPLE_DATA_ROOT, var_dir=var, progress=False)
    failed = first.summary.set_index("warmup_bars").loc[10**7]
    assert failed["status"] == "failed" and failed["error"].startswith("data.not_enough_bars")
    assert (var / "logs" / f"{failed['run_id']}.python.log").is_file()
    logs = sorted(os.listdir(var / "logs"))

    with caplog.at_level(logging.WARNING, logger="omega_v2.sweeps"):
        second = sweep(base, grid, data_root=om.paths.EXAMPLE_DATA_ROOT, var_dir=var, progress=False)
    again = second.summary.set_index("warmup_bars")
    assert again["status"].to_dict() == {500: "reused", 10**7: "failed"}
    assert again.loc[10**7, "run_id"] == failed["run_id"] and again.loc[10**7, "error"] == failed["error"]
    assert sorted(os.listdir(var / "logs")) == logs  # nothing ran
    assert "1 point(s) failed in an earlier call" in caplog.text and "retry_failed=True" in caplog.text

    retried = sweep(base, grid, data_root=om.paths.EXAMPLE_DATA_ROOT, var_dir=var, progress=False, retry_failed=True)
    row = retried.summary.set_index("warmup_bars").loc[10**7]
    assert row["status"] == "failed" and row["run_id"] != failed["run_id"]
    assert retried.summary.set_index("warmup_bars").loc[500, "status"] == "reused"


def test_changed_data_or_a_deleted_run_is_run_again(
    base: dict[str, Any], example_data_root: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data" / "EURUSD"
    data.mkdir(parents=True)
    for side in ("BID", "ASK"):
        (data / f"EURUSD_M5_{side}.parquet").write_bytes(
            (example_data_root / "EURUSD" / f"EURUSD_M5_{side}.parquet").read_bytes()
        )
    var = tmp_path / "var"
    first = _run(base, [-2.0, -2.5], var, data_root=data.parent)

    # The same bars written again by another writer: other bytes, so another manifest.
    bid = data / "EURUSD_M5_BID.parquet"
    pd.read_parquet(bid).to_parquet(bid, compression="zstd")
    changed = _run(base, [-2.0, -2.5], var, data_root=data.parent)
    assert set(changed.summary["status"]) == {"success"}
    for (_, a), (_, b) in zip(_by_value(first).iterrows(), _by_value(changed).iterrows(), strict=True):
        assert a["run_id"] != b["run_id"] and a["profit_net"] == b["profit_net"]

    gone = _by_value(changed).loc[-2.5, "run_id"]
    (var / "results" / "backtests" / gone / "meta.json").unlink()
    third = _by_value(_run(base, [-2.0, -2.5], var, data_root=data.parent))
    assert third["status"].to_dict() == {-2.0: "reused", -2.5: "success"}


def test_a_torn_last_line_is_skipped_and_a_damaged_line_is_an_error(base: dict[str, Any], tmp_path: Path) -> None:
    var = tmp_path / "var"
    first = _run(base, [-2.0], var)
    index = first.directory / "points.jsonl"
    with open(index, "ab") as f:
        f.write(b'{"key": "abc", "sta')  # a crash in the middle of a write
    second = _run(base, [-2.0, -2.5], var)
    assert _by_value(second)["status"].to_dict() == {-2.0: "reused", -2.5: "success"}
    lines = index.read_bytes().split(b"\n")
    assert len(lines) == 4 and lines[-1] == b"" and json.loads(lines[2])["params"] == {LONG: -2.5}

    lines[0] = b"not json"
    index.write_bytes(b"\n".join(lines))
    with pytest.raises(om.ConfigError, match=r"points\.jsonl line 1 is not JSON") as caught:
        _run(base, [-2.0], var)
    assert caught.value.context["row"] == "1"


def test_one_sweep_runs_in_one_process_at_a_time(base: dict[str, Any], tmp_path: Path) -> None:
    var = tmp_path / "var"
    holder = SweepStore(var, "busy")
    holder.open({})
    try:
        with pytest.raises(om.ConfigError, match="sweep busy is running in another process"):
            _run(base, [-2.0], var, sweep_id="busy")
    finally:
        holder.close()
    assert _run(base, [-2.0], var, sweep_id="busy").counts["success"] == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forked pool workers only")
def test_a_forked_worker_that_outlives_its_sweep_does_not_keep_the_store_locked(tmp_path: Path) -> None:
    var = tmp_path / "var"
    holder = SweepStore(var, "busy")
    holder.open({})
    hold, release = os.pipe()
    started, ready = os.pipe()
    child = os.fork()
    if child == 0:  # a pool worker still busy when its parent is gone
        os.write(ready, b"!")  # past fork: whatever happens to inherited fds has happened
        os.read(hold, 1)
        os._exit(0)
    os.read(started, 1)
    try:
        holder.close()
        again = SweepStore(var, "busy")
        again.open({})  # raised "running in another process" while the child shared the flock
        again.close()
    finally:
        os.write(release, b"!")
        os.waitpid(child, 0)
        for fd in (hold, release, started, ready):
            os.close(fd)


def test_sweep_ids(base: dict[str, Any], tmp_path: Path) -> None:
    var = tmp_path / "var"
    named = _run(base, [-2.0], var, sweep_id="my-sweep.v1")
    assert named.directory == var / "sweeps" / "my-sweep.v1"
    assert json.loads((named.directory / "sweep.json").read_text())["params"] == [LONG]
    with pytest.raises(om.ConfigError, match="sweep_id must be"):
        _run(base, [-2.0], var, sweep_id="../escape")
    default = _run(base, [-2.0], var).sweep_id
    assert default.startswith("sweep-") and default == _run(base, [-3.0, -2.0], var).sweep_id
    assert _run({**base, "warmup_bars": 400}, [-2.0], var).sweep_id != default
    assert (
        sweep(
            base,
            {"strategy_parameters.z_score_short": [2.0]},
            data_root=om.paths.EXAMPLE_DATA_ROOT,
            var_dir=var,
            progress=False,
        ).sweep_id
        != default
    )


def test_points_that_could_not_write_their_run_are_not_recorded_and_run_again(
    base: dict[str, Any], tmp_path: Path
) -> None:
    """A var dir whose logs/ is a file fails every run with output.io: the machine's fault, not
    the points', so none is recorded as failed and the next call, once fixed, runs them all."""
    var = tmp_path / "var"
    var.mkdir()
    (var / "logs").write_text("in the way\n", encoding="utf-8")
    first = _run(base, [-2.0, -2.5], var, sweep_id="blocked")
    assert first.counts == {"success": 0, "reused": 0, "failed": 2}
    assert all(error.startswith("output.io: ") for error in first.summary["error"])
    assert SweepStore(var, "blocked").entries() == {}
    (var / "logs").unlink()
    second = _run(base, [-2.0, -2.5], var, sweep_id="blocked")
    assert second.counts == {"success": 2, "reused": 0, "failed": 0}
    assert all(second.summary["total_trades"] > 0)
