"""Reliability: many sequential runs in one process without leaks, parallel
runs in threads without cross-talk, Ctrl-C and cancel tokens, picklable errors."""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import signal
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import omega_v2
from omega_v2 import CancelToken, ConfigError, DataError, OmegaError, OutputError, RunCancelled

WEEK = {"end_date": "2025-01-10"}
LONG = {"start_date": "2015-01-05", "end_date": "2024-12-31", "timeframes": {"primary": "M1"}}
# The promptness bound asserted for cancellation; the contract is < 0.5 s, the margin absorbs
# scheduler noise on a loaded CI machine.
CANCEL_BOUND_S = 1.0


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _run_files(var: Path, run_id: str) -> dict[str, Path]:
    """The three log files and meta.json of a run, by name."""
    paths = omega_v2.paths.run_paths(var, run_id)
    return {
        "text_log": paths.text_log,
        "json_log": paths.json_log,
        "python_log": paths.python_log,
        "meta": paths.run_dir / "meta.json",
    }


def _foreign_ids(text: str, own: str, pattern: re.Pattern[str]) -> set[str]:
    return set(pattern.findall(text)) - {own}


# --------------------------------------------------------------------------------------
# Many sequential runs


def test_200_sequential_runs_do_not_leak(
    make_config: Any, example_data_root: Path, omega_var_dir: Path, read_jsonl: Any, record_property: Any
) -> None:
    config = omega_v2.load_config(make_config(WEEK))  # validated once, like a notebook loop
    package_logger = logging.getLogger("omega_v2")

    def one(run_id: str) -> omega_v2.RunResult:
        return omega_v2.run(config, data_root=example_data_root, var_dir=omega_var_dir, run_id=run_id)

    for i in range(5):  # warm caches, thread-locals, allocator pools
        one(f"warm-{i}")
    rss0, fds0, handlers0 = _rss_kb(), _open_fds(), list(package_logger.handlers)
    results = [one(f"seq-{i:03d}") for i in range(200)]
    rss_growth_kb = _rss_kb() - rss0
    record_property("rss_growth_kb_200_runs", rss_growth_kb)
    print(f"\nRSS growth over 200 runs: {rss_growth_kb} kB; fds {fds0} -> {_open_fds()}")

    assert _open_fds() == fds0
    assert package_logger.handlers == handlers0
    assert rss_growth_kb < 50 * 1024

    pattern = re.compile(r"seq-\d{3}")
    first_trades = (results[0].run_dir / "trades.json").read_bytes()
    for i, result in enumerate(results):
        run_id = f"seq-{i:03d}"
        files = _run_files(omega_var_dir, run_id)
        assert result.run_id == run_id
        for rec in read_jsonl(files["json_log"]):
            assert rec["run_id"] == run_id
        for name, path in files.items():
            assert _foreign_ids(path.read_text(encoding="utf-8"), run_id, pattern) == set(), (run_id, name)
        for line in files["python_log"].read_text().splitlines():
            assert f"[run_id={run_id}]" in line
        assert (result.run_dir / "trades.json").read_bytes() == first_trades


def test_failing_runs_do_not_leak_handlers_or_files(
    make_config: Any, example_data_root: Path, omega_var_dir: Path, tmp_path: Path
) -> None:
    """Error paths (data, output, cancelled, engine config check) release what they opened."""
    token = CancelToken()
    token.cancel()
    week = make_config(WEEK)
    omega_v2.run(week, data_root=example_data_root, var_dir=omega_var_dir, run_id="exists")
    failures = [
        lambda i: omega_v2.run(week, data_root=tmp_path / "none", var_dir=omega_var_dir, run_id=f"f-data-{i}"),
        lambda i: omega_v2.run(week, data_root=example_data_root, var_dir=omega_var_dir, run_id="exists"),
        lambda i: omega_v2.run(
            week, data_root=example_data_root, var_dir=omega_var_dir, run_id=f"f-cancel-{i}", cancel_token=token
        ),
        lambda i: omega_v2.run(
            make_config({**WEEK, "account": {"account_currency": "GBP"}}),
            data_root=example_data_root,
            var_dir=omega_var_dir,
            run_id=f"f-ccy-{i}",
        ),
    ]
    package_logger = logging.getLogger("omega_v2")

    def round_(i: int) -> None:
        for fail in failures:
            with pytest.raises(OmegaError):
                fail(i)

    round_(0)
    fds0, handlers0 = _open_fds(), list(package_logger.handlers)
    for i in range(1, 11):
        round_(i)
    assert _open_fds() == fds0
    assert package_logger.handlers == handlers0
    backtests = omega_var_dir / "results" / "backtests"
    assert sorted(p.name for p in backtests.iterdir()) == ["exists"]  # no staging dirs left


# --------------------------------------------------------------------------------------
# Parallel runs in threads


def test_parallel_dev_and_prod_runs_in_threads_stay_separate(
    make_config: Any, example_data_root: Path, omega_var_dir: Path, read_jsonl: Any, assert_same_artefacts: Any
) -> None:
    # a month of M1 (~28.8k bars) so the runs overlap for a while
    month_m1 = {"timeframes": {"primary": "M1"}, "rng_seed": 42}
    configs = {
        "par-dev-a": make_config(month_m1),
        "par-prod-a": make_config(month_m1, run_mode="prod"),
        "par-dev-b": make_config(month_m1),
        "par-prod-b": make_config(month_m1, run_mode="prod"),
    }
    barrier = threading.Barrier(len(configs))

    def one(run_id: str) -> omega_v2.RunResult:
        barrier.wait()
        return omega_v2.run(configs[run_id], data_root=example_data_root, var_dir=omega_var_dir, run_id=run_id)

    with ThreadPoolExecutor(len(configs)) as pool:
        results = dict(zip(configs, pool.map(one, configs), strict=True))

    pattern = re.compile(r"par-(?:dev|prod)-[ab]")
    for run_id, result in results.items():
        files = _run_files(omega_var_dir, run_id)
        records = read_jsonl(files["json_log"])
        assert all(rec["run_id"] == run_id for rec in records)
        for name, path in files.items():
            assert _foreign_ids(path.read_text(encoding="utf-8"), run_id, pattern) == set(), (run_id, name)
        levels = {rec["level"] for rec in records}
        python_log = files["python_log"].read_text()
        if "prod" in run_id:
            assert "INFO" not in levels
            assert " INFO " not in files["text_log"].read_text() and " INFO " not in python_log
        else:
            assert "INFO" in levels and any(rec["message"] == "close" for rec in records)
            assert f"INFO [run_id={run_id}] omega_v2.runner: run starting" in python_log
        assert result.meta["run_id"] == run_id
    # threads do not change results; dev == dev, prod == prod
    assert_same_artefacts(results["par-dev-a"], results["par-dev-b"])
    assert_same_artefacts(results["par-prod-a"], results["par-prod-b"])
    sequential = omega_v2.run(configs["par-dev-a"], data_root=example_data_root, var_dir=omega_var_dir)
    assert_same_artefacts(results["par-dev-a"], sequential)


# --------------------------------------------------------------------------------------
# Ctrl-C in a child process

CHILD = textwrap.dedent(
    """
    import json, sys, time
    import omega_v2
    data_root, var, long_json, week_json = sys.argv[1:5]
    try:
        omega_v2.run(json.loads(long_json), data_root=data_root, var_dir=var, run_id="cancel-me",
                     log_to_stdout=True)
        print("RESULT completed", flush=True)
    except BaseException as e:
        caught = time.time()
        jsonl = open(omega_v2.paths.run_paths(omega_v2.paths.var_dir(var), "cancel-me").json_log).read()
        print("RESULT", type(e).__name__, repr(caught), getattr(e, "code", None), getattr(e, "run_id", None),
              '"run.cancelled"' in jsonl, flush=True)
    r = omega_v2.run(json.loads(week_json), data_root=omega_v2.paths.EXAMPLE_DATA_ROOT, var_dir=var,
                     run_id="after-cancel")
    print("SECOND", r.metrics["total_trades"], flush=True)
    """
)


@pytest.fixture
def child(tmp_path: Path, long_dataset: Path, make_config: Any, spawn: Any) -> Any:
    """CHILD running a long run (to be cancelled) and then a week's run, in `tmp_path/var`."""
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    started = spawn(
        str(script),
        str(long_dataset),
        str(tmp_path / "var"),
        json.dumps(make_config(LONG)),
        json.dumps(make_config(WEEK)),
    )
    started.var = tmp_path / "var"
    return started


def _cancel_at(child: Any, marker: str) -> tuple[list[str], float]:
    """Sends SIGINT when the child's engine log shows `marker`; returns the RESULT fields and
    the latency from the signal to the child catching the exception (inf if not in time)."""
    assert child.wait_for(marker, timeout=120), f"never saw {marker!r}: {child.seen[-5:]}"
    sent = time.time()
    child.signal(signal.SIGINT)
    if not child.wait_for("RESULT", timeout=CANCEL_BOUND_S):
        return [], float("inf")
    fields = child.seen[-1].split()
    latency = float(fields[2]) - sent if fields[1] != "completed" else float("inf")
    print(f"\ncancel latency after {marker!r}: {latency * 1e3:.1f} ms")
    return fields, latency


def test_ctrl_c_cancels_the_run_promptly_and_the_next_run_works(child: Any, read_jsonl: Any) -> None:
    fields, latency = _cancel_at(child, "data loaded")  # strategy_init / loop
    assert fields, "no RunCancelled within the bound"
    _, kind, _, code, run_id, flushed = fields
    assert (kind, code, run_id) == ("RunCancelled", "run.cancelled", "cancel-me")
    assert latency < CANCEL_BOUND_S
    assert flushed == "True", "the Rust log must be on disk when the exception arrives"
    assert child.wait_for("SECOND", timeout=60), child.finish()[1]
    assert child.finish()[0] == 0

    results = child.var / "results" / "backtests"
    assert sorted(p.name for p in results.iterdir()) == ["after-cancel"]  # no run dir, no staging
    records = read_jsonl(child.var / "logs" / "cancel-me.jsonl")
    failed = [r for r in records if r["message"] == "run failed"]
    assert len(failed) == 1 and failed[0]["level"] == "ERROR"
    assert failed[0]["fields"]["code"] == "run.cancelled"
    assert "run failed" in (child.var / "logs" / "cancel-me.log").read_text()
    assert "code=run.cancelled" in (child.var / "logs" / "cancel-me.python.log").read_text()


def test_ctrl_c_during_data_load_is_prompt(child: Any) -> None:
    fields, latency = _cancel_at(child, "run started")
    assert fields and fields[1] == "RunCancelled"
    assert latency < CANCEL_BOUND_S


def test_ctrl_c_during_write_is_prompt(child: Any) -> None:
    fields, latency = _cancel_at(child, "metrics computed")
    assert fields and fields[1] == "RunCancelled"
    assert latency < CANCEL_BOUND_S


# --------------------------------------------------------------------------------------
# Cancel tokens (runs on non-main threads) and errors


def test_cancel_token_cancels_a_run_on_another_thread(
    long_dataset: Path, make_config: Any, example_data_root: Path, omega_var_dir: Path, read_jsonl: Any
) -> None:
    token = CancelToken()
    assert token.cancelled is False
    jsonl = omega_var_dir / "logs" / "token-run.jsonl"

    def long_run() -> omega_v2.RunResult:
        return omega_v2.run(
            make_config(LONG), data_root=long_dataset, var_dir=omega_var_dir, run_id="token-run", cancel_token=token
        )

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(long_run)
        deadline = time.monotonic() + 60
        while not jsonl.exists() and time.monotonic() < deadline and not future.done():
            time.sleep(0.01)
        time.sleep(0.3)
        assert not future.done(), "the long run ended before it could be cancelled"
        token.cancel()
        cancelled_at = time.monotonic()
        with pytest.raises(RunCancelled) as info:
            future.result(timeout=60)
        print(f"\ntoken cancel latency: {(time.monotonic() - cancelled_at) * 1e3:.1f} ms")
    assert token.cancelled is True
    assert (info.value.code, info.value.run_id) == ("run.cancelled", "token-run")
    assert isinstance(info.value, KeyboardInterrupt) and isinstance(info.value, OmegaError)
    assert not (omega_var_dir / "results" / "backtests" / "token-run").exists()
    assert [r["fields"]["code"] for r in read_jsonl(jsonl) if r["message"] == "run failed"] == ["run.cancelled"]
    # the next run on a thread works
    with ThreadPoolExecutor(1) as pool:
        after = pool.submit(
            omega_v2.run, make_config(WEEK), data_root=example_data_root, var_dir=omega_var_dir, run_id="after-token"
        ).result(timeout=60)
    assert after.meta["status"] == "success"


def test_a_cancelled_token_stops_the_run_before_any_artefact(
    make_config: Any, example_data_root: Path, omega_var_dir: Path
) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(RunCancelled):
        omega_v2.run(
            make_config(WEEK), data_root=example_data_root, var_dir=omega_var_dir, run_id="pre", cancel_token=token
        )
    backtests = omega_var_dir / "results" / "backtests"
    assert not backtests.exists() or list(backtests.iterdir()) == []


def test_errors_from_real_runs_carry_run_id_code_context_and_pickle(
    make_config: Any, example_data_root: Path, omega_var_dir: Path, tmp_path: Path
) -> None:
    caught: list[OmegaError] = []
    token = CancelToken()
    token.cancel()
    attempts = [
        lambda: omega_v2.run(None, var_dir=omega_var_dir, run_id="bad/id"),
        lambda: omega_v2.run(make_config(WEEK), data_root=tmp_path / "none", var_dir=omega_var_dir, run_id="e-data"),
        lambda: omega_v2.run(None, var_dir=omega_var_dir, run_id="e-out"),
        lambda: omega_v2.run(None, var_dir=omega_var_dir, run_id="e-out"),
        lambda: omega_v2.run(None, var_dir=omega_var_dir, run_id="e-cancel", cancel_token=token),
    ]
    for attempt in attempts:
        try:
            attempt()
        except OmegaError as e:
            caught.append(e)
    assert [type(e) for e in caught] == [ConfigError, DataError, OutputError, RunCancelled]
    assert [e.run_id for e in caught[1:]] == ["e-data", "e-out", "e-cancel"]
    assert caught[0].context == {"field": "run_id"}
    assert "file" in caught[1].context and "file" in caught[2].context
    for err in caught:
        again = pickle.loads(pickle.dumps(err))
        assert type(again) is type(err)
        assert (again.message, again.run_id, again.code, again.context) == (
            err.message,
            err.run_id,
            err.code,
            err.context,
        )
        assert str(again) == str(err)
