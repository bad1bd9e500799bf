"""SIGTERM and repeated Ctrl-C sent to a real child process in the middle of its run, through the
CLI (`python -m omega_v2 run`) and through the API on the main thread: the run is cancelled like
a Ctrl-C, its logs say so and are on disk, nothing stays in results/, and the CLI prints one
line and exits 128 + the signal number."""

from __future__ import annotations

import json
import random
import signal
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import omega_v2
from omega_v2 import CancelToken, RunCancelled

# Engine log lines (on stdout) that mark a phase: loading, the strategy/loop, writing.
PHASE_MARKERS = {"load": "run started", "loop": "data loaded", "write": "metrics computed"}


def cli_run(spawn: Any, config: Path, data: Path, var: Path, run_id: str) -> Any:
    args = ["-m", "omega_v2", "run", str(config), "--data-root", str(data), "--var-dir", str(var)]
    return spawn(*args, "--run-id", run_id)


def assert_cancelled_cleanly(
    var: Path, run_id: str, signame: str, read_jsonl: Any, others: tuple[str, ...] = ()
) -> None:
    """The run left no run or staging directory (`others` are other runs' directories), and both
    logs end with its cancellation by `signame`."""
    backtests = var / "results" / "backtests"
    left = sorted(p.name for p in backtests.iterdir()) if backtests.exists() else []
    assert left == sorted(others), "no run directory, no staging directory"
    records = read_jsonl(var / "logs" / f"{run_id}.jsonl")
    assert records[0]["message"] == "run started"
    assert records[-1]["message"] == "run failed" and records[-1]["fields"]["code"] == "run.cancelled"
    python_log = (var / "logs" / f"{run_id}.python.log").read_text(encoding="utf-8")
    failed = [line for line in python_log.splitlines() if "run failed" in line]
    assert len(failed) == 1 and "code=run.cancelled" in failed[0] and signame in failed[0], python_log


@pytest.mark.parametrize(
    ("signum", "phase", "exit_code"),
    [
        (signal.SIGTERM, "load", 143),
        (signal.SIGTERM, "loop", 143),
        (signal.SIGTERM, "write", 143),
        (signal.SIGINT, "write", 130),
    ],
    ids=["SIGTERM-load", "SIGTERM-loop", "SIGTERM-write", "SIGINT-write"],
)
def test_a_signal_cancels_a_cli_run(
    spawn: Any,
    crash_config: Path,
    crash_dataset: Path,
    tmp_path: Path,
    read_jsonl: Any,
    signum: signal.Signals,
    phase: str,
    exit_code: int,
) -> None:
    var, run_id = tmp_path / "var", f"sig-{phase}"
    child = cli_run(spawn, crash_config, crash_dataset, var, run_id)
    assert child.wait_for(PHASE_MARKERS[phase]), child.seen[-3:]
    child.signal(signum)
    code, stderr = child.finish()
    assert code == exit_code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: run cancelled by ") and signum.name in lines[0] and run_id in lines[0]
    assert_cancelled_cleanly(var, run_id, signum.name, read_jsonl)


def test_a_second_ctrl_c_during_the_write_phase_is_absorbed(
    spawn: Any, crash_config: Path, crash_dataset: Path, tmp_path: Path, read_jsonl: Any
) -> None:
    delays = random.Random(13).sample(range(50, 151), 4)
    for trial, delay_ms in enumerate(sorted(delays)):
        var, run_id = tmp_path / f"var{trial}", f"twice-{trial}"
        child = cli_run(spawn, crash_config, crash_dataset, var, run_id)
        assert child.wait_for(PHASE_MARKERS["write"]), child.seen[-3:]
        child.signal(signal.SIGINT)
        time.sleep(delay_ms / 1e3)
        child.signal(signal.SIGINT)
        code, stderr = child.finish()
        assert (code, len(stderr.strip().splitlines())) == (130, 1), f"second Ctrl-C after {delay_ms} ms: {stderr}"
        assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
        assert_cancelled_cleanly(var, run_id, "SIGINT", read_jsonl)


API_CHILD = textwrap.dedent(
    """
    import json, signal, sys, time
    import omega_v2
    config, data_root, var, week, mode = sys.argv[1:6]
    custom_calls = []
    if mode == "custom":  # a caller's own SIGTERM handler must stay in charge
        signal.signal(signal.SIGTERM, lambda signum, frame: custom_calls.append(signum))
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    try:
        omega_v2.run(json.load(open(config)), data_root=data_root, var_dir=var, run_id="api", log_to_stdout=True)
        print("RESULT completed", flush=True)
    except omega_v2.RunCancelled as e:
        print("RESULT", type(e).__name__, e.code, e.context.get("signal"), e.run_id, flush=True)
    try:  # a Ctrl-C after the run returned is the caller's: Python's KeyboardInterrupt
        time.sleep(0.3)
    except KeyboardInterrupt:
        print("LATE SIGINT", flush=True)
    restored = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    print("AFTER", restored, len(custom_calls), flush=True)
    second = omega_v2.run(json.loads(week), data_root=omega_v2.paths.EXAMPLE_DATA_ROOT, var_dir=var, run_id="next")
    print("SECOND", second.meta["status"], flush=True)
    """
)


@pytest.fixture
def api_child(spawn: Any, crash_config: Path, crash_dataset: Path, tmp_path: Path, make_config: Any) -> Any:
    script = tmp_path / "api_child.py"
    script.write_text(API_CHILD, encoding="utf-8")
    week = json.dumps(make_config({"end_date": "2025-01-10"}))

    def _start(mode: str) -> Any:
        return spawn(str(script), str(crash_config), str(crash_dataset), str(tmp_path / "var"), week, mode)

    return _start


def _result(child: Any) -> list[str]:
    assert child.wait_for("RESULT"), child.seen[-3:]
    return child.seen[-1].split()


@pytest.mark.parametrize("twice", [False, True], ids=["SIGTERM", "Ctrl-C-twice"])
def test_the_api_raises_run_cancelled_and_restores_the_handlers(
    api_child: Any, tmp_path: Path, read_jsonl: Any, twice: bool
) -> None:
    child = api_child("default")
    assert child.wait_for(PHASE_MARKERS["write"] if twice else PHASE_MARKERS["loop"])
    if twice:
        child.signal(signal.SIGINT)
        time.sleep(0.08)
        child.signal(signal.SIGINT)
        expected = "SIGINT"
    else:
        child.signal(signal.SIGTERM)
        expected = "SIGTERM"
    assert _result(child) == ["RESULT", "RunCancelled", "run.cancelled", expected, "api"]
    assert child.wait_for("AFTER") and child.seen[-1] == "AFTER True 0"
    assert child.wait_for("SECOND") and child.seen[-1] == "SECOND success"
    code, stderr = child.finish()
    assert code == 0 and "Traceback" not in stderr, stderr
    assert_cancelled_cleanly(tmp_path / "var", "api", expected, read_jsonl, others=("next",))


def test_a_callers_own_sigterm_handler_is_left_in_charge(api_child: Any) -> None:
    """The run installs nothing over a handler that is not Python's default: SIGTERM reaches the
    caller's handler (which does not stop anything), and the run completes."""
    child = api_child("custom")
    assert child.wait_for(PHASE_MARKERS["loop"])
    child.signal(signal.SIGTERM)
    assert _result(child) == ["RESULT", "completed"]
    assert child.wait_for("AFTER") and child.seen[-1] == "AFTER True 1"
    assert child.finish()[0] == 0


def test_a_run_on_another_thread_installs_no_handler(
    crash_dataset: Path, crash_run: dict[str, Any], omega_var_dir: Path
) -> None:
    """Python runs signal handlers only on the main thread: a run elsewhere leaves them alone
    and is cancelled through its token."""
    token, outcome = CancelToken(), {}
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))

    def run() -> None:
        try:
            omega_v2.run(crash_run, data_root=crash_dataset, var_dir=omega_var_dir, cancel_token=token)
        except RunCancelled as e:
            outcome["error"] = e

    worker = threading.Thread(target=run)
    worker.start()
    during = []
    for _ in range(10):
        time.sleep(0.02)
        during.append((signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)))
    token.cancel()
    worker.join(timeout=60)
    assert set(during) == {before}
    assert outcome["error"].code == "run.cancelled" and "signal" not in outcome["error"].context


# A signal at a chosen moment of the command line's own work, outside the run: injected by the
# child itself at that point of the same sequence `python -m omega_v2` follows, so the moment is
# exact rather than a race with a timer.
CLI_WITH_SIGNAL = """
import os, signal, sys
from omega_v2 import interrupts
interrupts.for_command()  # what omega_v2/__main__.py does first
signum = signal.Signals[{signame!r}]
if {moment!r} == "imports":
    os.kill(os.getpid(), signum)
from omega_v2 import cli, runner
if {moment!r} == "config":
    loading = runner.load_config
    def load_config(*args, **kwargs):
        os.kill(os.getpid(), signum)
        return loading(*args, **kwargs)
    runner.load_config = load_config
if {moment!r} == "in-run-after-commit":
    class Bar(runner.RunProgressBar):
        def __exit__(self, *exc):
            os.kill(os.getpid(), signum)  # the engine has returned: committed, the run's handler still on
            return super().__exit__(*exc)
    runner.RunProgressBar = Bar
if {moment!r} == "committed":
    class Committed(runner.RunResult):
        def __init__(self, *args, **kwargs):
            os.kill(os.getpid(), signum)  # the run's own handler is gone: its directory is committed
            super().__init__(*args, **kwargs)
    runner.RunResult = Committed
sys.argv = ["omega_v2", "run", "--var-dir", {var!r}, "--run-id", "moment", "--quiet"]
cli.console()
"""


BOTH_SIGNALS = pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])


def cli_with_signal(tmp_path: Path, run_python: Any, signame: str, moment: str) -> tuple[Path, Any]:
    """The var dir and the finished `CLI_WITH_SIGNAL` child, `signame` sent at `moment`."""
    var = tmp_path / "var"
    return var, run_python(CLI_WITH_SIGNAL.format(signame=signame, moment=moment, var=str(var)))


@BOTH_SIGNALS
@pytest.mark.parametrize("moment", ["imports", "config"])
def test_a_signal_before_the_run_ends_the_command_with_one_line(tmp_path: Path, run_python: Any, moment: str,
                                                                signame: str) -> None:  # fmt: skip
    var, proc = cli_with_signal(tmp_path, run_python, signame, moment)
    signum = signal.Signals[signame]
    assert proc.returncode == 128 + signum.value, proc.stderr
    how = "Ctrl-C (SIGINT)" if signum == signal.SIGINT else "SIGTERM"
    assert proc.stderr == f"error: cancelled by {how}\n"
    assert not (var / "results").exists() and not (var / "logs").exists(), "nothing was started"


@pytest.mark.parametrize("moment", ["in-run-after-commit", "committed"])
@BOTH_SIGNALS
def test_a_signal_once_the_run_is_committed_leaves_its_result_standing(
    tmp_path: Path, run_python: Any, signame: str, moment: str
) -> None:
    var, proc = cli_with_signal(tmp_path, run_python, signame, moment)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == f"note: {signame} came too late to cancel the run; its result stands\n"
    assert "run moment: EURUSD" in proc.stdout and "artefacts: " in proc.stdout, proc.stdout
    meta = json.loads((var / "results" / "backtests" / "moment" / "meta.json").read_text(encoding="utf-8"))
    assert meta["status"] == "success" and meta["counters"]["trades_emitted"] > 0
