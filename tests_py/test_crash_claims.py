"""Claiming a run_id: real processes and threads racing for the same run_id (exactly one wins, the
loser writes nothing anywhere), links planted where a run's logs go (refused, nothing created
outside the var dir), and run_ids whose files would collide with another run's (refused)."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path
from typing import Any

import pytest

import omega_v2
from omega_v2 import ConfigError, OutputError, _core

RACES = 20
WEEK = {"end_date": "2025-01-10"}


def _race(var: Path, config: dict[str, Any], data_root: Path, run_id: str) -> tuple[str, str, str]:
    """One contender: `("won", "", "")` or `("lost", code, message)`."""
    try:
        omega_v2.run(config, data_root=data_root, var_dir=var, run_id=run_id)
    except OutputError as e:
        return ("lost", e.code, str(e))
    return ("won", "", "")


def _race_process(barrier: Any, results: Any, var: Path, config: dict[str, Any], data_root: Path) -> None:
    """A racing process: runs race-0 .. race-19, each started together with the other process."""
    for i in range(RACES):
        barrier.wait(timeout=60)
        results.put((i, os.getpid(), *_race(var, config, data_root, f"race-{i}")))


def assert_one_winner_and_intact_files(
    var: Path, outcomes: dict[int, list[tuple[str, str, str]]], read_jsonl: Any
) -> None:
    """Per race: one winner, one loser refused with output.exists, and the winner's run dir and
    three logs hold exactly one run's records, none of the loser's."""
    for i in range(RACES):
        run_id = f"race-{i}"
        assert sorted(o[0] for o in outcomes[i]) == ["lost", "won"], (run_id, outcomes[i])
        [(_, code, message)] = [o for o in outcomes[i] if o[0] == "lost"]
        assert code == "output.exists" and run_id in message, message
        meta = omega_v2.load_run(var / "results" / "backtests" / run_id).meta
        assert (meta["run_id"], meta["status"]) == (run_id, "success")
        records = read_jsonl(var / "logs" / f"{run_id}.jsonl")
        messages = [r["message"] for r in records]
        assert {r["run_id"] for r in records} == {run_id}
        assert (messages[0], messages[-1]) == ("run started", "run finished")
        assert (messages.count("run started"), messages.count("run finished"), messages.count("run failed")) == (
            1,
            1,
            0,
        )
        text = (var / "logs" / f"{run_id}.log").read_text(encoding="utf-8")
        assert text.count("run started") == 1 and "run failed" not in text and text.count("\n") == len(records)
        python_log = (var / "logs" / f"{run_id}.python.log").read_text(encoding="utf-8")
        assert python_log.count("run starting") == python_log.count("run finished") == 1, python_log
        assert "run failed" not in python_log
    backtests = var / "results" / "backtests"
    assert sorted(p.name for p in backtests.iterdir()) == sorted(f"race-{i}" for i in range(RACES))


def test_processes_racing_for_a_run_id(tmp_path: Path, make_config: Any, example_data_root: Path, read_jsonl: Any):
    var, ctx = tmp_path / "var", multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    args = (barrier, results, var, make_config(WEEK), example_data_root)
    racers = [ctx.Process(target=_race_process, args=args) for _ in range(2)]
    for p in racers:
        p.start()
    outcomes: dict[int, list[tuple[str, str, str]]] = {i: [] for i in range(RACES)}
    pids: dict[int, set[int]] = {i: set() for i in range(RACES)}
    for _ in range(2 * RACES):
        i, pid, *outcome = results.get(timeout=120)
        outcomes[i].append(tuple(outcome))
        pids[i].add(pid)
    for p in racers:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert all(len(p) == 2 for p in pids.values()), "each race had two real processes"
    assert_one_winner_and_intact_files(var, outcomes, read_jsonl)


def test_threads_racing_for_a_run_id(tmp_path: Path, make_config: Any, example_data_root: Path, read_jsonl: Any):
    var, barrier = tmp_path / "var", threading.Barrier(2)
    outcomes: dict[int, list[tuple[str, str, str]]] = {i: [] for i in range(RACES)}
    lock = threading.Lock()

    def racer() -> None:
        for i in range(RACES):
            barrier.wait(timeout=60)
            outcome = _race(var, make_config(WEEK), example_data_root, f"race-{i}")
            with lock:
                outcomes[i].append(outcome)

    threads = [threading.Thread(target=racer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert_one_winner_and_intact_files(var, outcomes, read_jsonl)


@pytest.mark.parametrize("suffix", [".log", ".jsonl", ".python.log"])
@pytest.mark.parametrize("target", ["dangling", "existing"])
def test_a_link_planted_as_a_log_file_is_refused(tmp_path: Path, suffix: str, target: str) -> None:
    var, outside = tmp_path / "var", tmp_path / "outside"
    outside.mkdir()
    victim = outside / f"victim{suffix}"
    if target == "existing":
        victim.write_text("precious\n", encoding="utf-8")
    link = var / "logs" / f"planted{suffix}"
    link.parent.mkdir(parents=True)
    link.symlink_to(victim)
    with pytest.raises(OutputError) as info:
        omega_v2.run(None, var_dir=var, run_id="planted")
    assert (info.value.code, info.value.context["file"]) == ("output.unsafe_path", str(link))
    assert str(link) in str(info.value) and "symbolic link" in str(info.value)
    assert [p.name for p in outside.iterdir()] == ([victim.name] if target == "existing" else [])
    if target == "existing":
        assert victim.read_text(encoding="utf-8") == "precious\n"
    assert link.is_symlink() and os.readlink(link) == str(victim)
    backtests = var / "results" / "backtests"
    assert not backtests.exists() or list(backtests.iterdir()) == []


def test_a_run_id_ending_in_python_is_refused_before_any_file(tmp_path: Path, run_python: Any) -> None:
    """Run `x`'s Python log is `x.python.log`, which would be run `x.python`'s Rust log."""
    var = tmp_path / "var"
    with pytest.raises(ConfigError) as info:
        omega_v2.run(None, var_dir=var, run_id="x.python")
    assert info.value.code == "config.run_id" and "`.python`" in str(info.value)
    assert not var.exists(), "refused before any file is touched"
    first = omega_v2.run(None, var_dir=var, run_id="x")
    assert first.meta["status"] == "success"
    files = {p: p.read_bytes() for p in var.rglob("*") if p.is_file()}
    proc = run_python(None, "run", "--var-dir", str(var), "--run-id", "x.python", "--quiet", module="omega_v2")
    assert proc.returncode == ConfigError.exit_code and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert {p: p.read_bytes() for p in var.rglob("*") if p.is_file()} == files
    paths = [_core.RunPaths(var, run_id) for run_id in ("x", "x.py", "x.pythonic")]
    names = [f for p in paths for f in (p.text_log, p.json_log, p.python_log)]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("blocked", ["logs", "var"])
def test_a_file_where_the_log_directory_goes_is_an_io_error_not_a_taken_run_id(tmp_path: Path, blocked: str) -> None:
    var = tmp_path / "var"
    in_the_way = var / "logs" if blocked == "logs" else var
    in_the_way.parent.mkdir(parents=True, exist_ok=True)
    in_the_way.write_text("not a directory\n", encoding="utf-8")
    with pytest.raises(OutputError) as info:
        omega_v2.run(None, var_dir=var, run_id="blocked")
    assert info.value.code == "output.io" and info.value.run_id == "blocked"
    assert info.value.context["file"] == str(in_the_way)
    assert f"cannot create the log directory {var / 'logs'}: {in_the_way} is a file, not a directory" in str(info.value)
    assert in_the_way.read_text(encoding="utf-8") == "not a directory\n"
