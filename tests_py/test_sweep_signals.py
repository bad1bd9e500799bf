"""Signals sent to a real sweep process on the local pool: SIGTERM to the sweep's process alone
(what `kill`, systemd and Docker send), Ctrl-C to its whole process group (what a terminal
sends), and SIGKILL to the sweep's process alone (no handler can run). In every case the
finished points stay recorded, the running points' runs are cancelled cleanly (no staging
directory, logs ending with the cancellation) and no worker outlives the sweep."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import omega_v2 as om

# The last four points sleep 2-3.5 ms a bar (a minute a run): two are running when the signal
# comes and two are queued for the workers, which must never start them. Each slow point writes
# its worker's pid once it started.
STUBBORN = """
import os, time
import omega_v2 as om

class Stubborn(om.Strategy):
    def init(self, bars, params):
        self.wait = params["wait"]
        if self.wait > 1e-3:
            open(os.path.join({pids!r}, str(os.getpid())), "w").close()

    def on_bar(self, t, position):
        time.sleep(self.wait)
"""
WAITS = [0, 1e-9, 0.002, 0.003, 0.0025, 0.0035]


class SweepProcess:
    """A child interpreter running a 6-point sweep on two pool workers, in its own session."""

    def __init__(self, tmp_path: Path, config: dict[str, Any], function: str = "sweep", windows: str = "") -> None:
        """`function`: `sweep`, or `walk_forward` with `windows` (its train/test/step arguments)."""
        self.config, self.var, self.pids = config, tmp_path / "var", tmp_path / "pids"
        self.pids.mkdir()
        self.module = tmp_path / "stubborn.py"
        self.module.write_text(STUBBORN.format(pids=str(self.pids)), encoding="utf-8")
        options = f"data_root={str(om.paths.EXAMPLE_DATA_ROOT)!r}, var_dir={str(self.var)!r}, progress=False"
        script = (
            f"import json, sys; sys.path.insert(0, {str(tmp_path)!r}); import omega_v2 as om, stubborn\n"
            "try:\n"
            f"    om.{function}({config!r}, {{'strategy_parameters.wait': {WAITS!r}}}, strategy=stubborn.Stubborn,\n"
            f"             max_workers=2, sweep_id='sig', {windows}{options})\n"
            "except om.RunCancelled as e:\n"
            "    print(json.dumps({'message': str(e), 'code': e.code, 'context': e.context}), flush=True)\n"
            "    sys.exit(3)\n"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        self.index = self.var / "sweeps" / ("sig" if function == "sweep" else "sig-train") / "points.jsonl"

    def wait_until_slow_points_run(self) -> list[int]:
        """Waits until the two fast points are recorded and both slow ones started; their pids."""
        deadline = time.monotonic() + 90
        while not (self.index.exists() and self.index.read_bytes().count(b"\n") >= 2 and len(self.workers()) == 2):
            assert self.proc.poll() is None, self.proc.communicate()
            assert time.monotonic() < deadline, "the sweep stalled before its slow points started"
            time.sleep(0.05)
        return self.workers()

    def strategy(self, monkeypatch: pytest.MonkeyPatch) -> type:
        """The child's strategy class, loaded here from the same file (so the same identity)."""
        spec = importlib.util.spec_from_file_location("stubborn", self.module)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, "stubborn", module)
        spec.loader.exec_module(module)
        return module.Stubborn

    def workers(self) -> list[int]:
        return sorted(int(p.name) for p in self.pids.iterdir())

    def recorded(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.index.read_text(encoding="utf-8").splitlines()]

    def kill_all(self) -> None:
        for pid in [self.proc.pid, *self.workers()]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture
def sweep_process(tmp_path: Path, make_config: Any) -> Iterator[SweepProcess]:
    config = {**make_config(strategy_name="python", end_date="2025-01-17"), "strategy_parameters": {"wait": 0}}
    child = SweepProcess(tmp_path, config)
    yield child
    child.kill_all()


def assert_cancelled_cleanly(child: SweepProcess, signame: str, read_jsonl: Any) -> None:
    """The two fast points are recorded with their run dirs; the two slow points that ran were
    cancelled by `signame`, left no staging directory and say so in both logs; the queued ones
    never started (no log of theirs)."""
    recorded = child.recorded()
    assert [line["status"] for line in recorded] == ["success", "success"]
    backtests = child.var / "results" / "backtests"
    assert sorted(p.name for p in backtests.iterdir()) == sorted(line["run_id"] for line in recorded)
    finished = {line["run_id"] for line in recorded}
    runs = [p.name.removesuffix(".jsonl") for p in (child.var / "logs").glob("*.jsonl")]
    runs = [run_id for run_id in runs if run_id not in finished]
    assert len(runs) == 2
    for run_id in runs:
        last = read_jsonl(child.var / "logs" / f"{run_id}.jsonl")[-1]
        assert last["message"] == "run failed" and last["fields"]["code"] == "run.cancelled", last
        python_log = (child.var / "logs" / f"{run_id}.python.log").read_text(encoding="utf-8")
        assert "code=run.cancelled" in python_log and signame in python_log, python_log


@pytest.mark.parametrize(
    ("signum", "group", "how"),
    [(signal.SIGTERM, False, "SIGTERM"), (signal.SIGINT, True, "Ctrl-C (SIGINT)")],
    ids=["SIGTERM-to-the-sweep", "ctrl-c-to-the-group"],
)
def test_a_signal_cancels_the_sweep_and_its_workers(
    sweep_process: SweepProcess,
    read_jsonl: Any,
    monkeypatch: pytest.MonkeyPatch,
    signum: signal.Signals,
    group: bool,
    how: str,
) -> None:
    workers = sweep_process.wait_until_slow_points_run()
    (os.killpg if group else os.kill)(sweep_process.proc.pid, signum)
    stdout, stderr = sweep_process.proc.communicate(timeout=60)
    assert sweep_process.proc.returncode == 3, stderr
    assert b"Traceback" not in stderr, stderr.decode()
    error = json.loads(stdout)
    assert error["code"] == "run.cancelled"
    assert error["context"] == {"sweep_id": "sig", "signal": signum.name}
    message = error["message"]
    assert f"sweep sig cancelled by {how}" in message and "2 of 6 point(s) are finished" in message, message
    assert "sweep_id='sig'" in message, message
    assert wait_gone(workers, 5) == [], "no worker outlives its sweep"
    assert_cancelled_cleanly(sweep_process, "SIGTERM", read_jsonl)  # the workers were sent SIGTERM

    resumed = om.sweep(
        sweep_process.config,
        {"strategy_parameters.wait": WAITS[:2]},
        data_root=om.paths.EXAMPLE_DATA_ROOT,
        var_dir=sweep_process.var,
        sweep_id="sig",
        strategy=sweep_process.strategy(monkeypatch),
        progress=False,
    )
    assert resumed.counts == {"success": 0, "reused": 2, "failed": 0}


def test_workers_whose_sweep_process_was_killed_cancel_their_runs_and_exit(
    sweep_process: SweepProcess, read_jsonl: Any
) -> None:
    workers = sweep_process.wait_until_slow_points_run()
    os.kill(sweep_process.proc.pid, signal.SIGKILL)
    sweep_process.proc.wait(timeout=30)
    assert wait_gone(workers, 15) == [], "a worker outlived its killed sweep"
    assert_cancelled_cleanly(sweep_process, "SIGTERM", read_jsonl)


def test_a_signal_cancels_a_walk_forward_naming_the_id_to_call_again(
    tmp_path: Path, make_config: Any, read_jsonl: Any
) -> None:
    """One window (7 train days, 7 test days): SIGTERM while its train sweep runs."""
    config = {
        **make_config(strategy_name="python", start_date="2025-01-06", end_date="2025-01-19"),
        "strategy_parameters": {"wait": 0},
    }
    child = SweepProcess(tmp_path, config, "walk_forward", "train='7D', test='7D', step='7D', ")
    try:
        workers = child.wait_until_slow_points_run()
        os.kill(child.proc.pid, signal.SIGTERM)
        stdout, stderr = child.proc.communicate(timeout=60)
    finally:
        child.kill_all()
    assert child.proc.returncode == 3, stderr
    error = json.loads(stdout)
    assert error["context"] == {"sweep_id": "sig", "signal": "SIGTERM"}
    assert error["message"].startswith("walk_forward sig cancelled by SIGTERM; 2 of 6 point(s) of sig-train "), error
    assert "call the same walk_forward again (sweep_id='sig', resume=True)" in error["message"], error
    assert wait_gone(workers, 5) == []
    assert_cancelled_cleanly(child, "SIGTERM", read_jsonl)
