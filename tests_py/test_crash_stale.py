"""SIGKILL of real `python -m omega_v2 run` children: what a killed run leaves (logs up to its
last phase, a staging directory naming its owner), its removal at the next run's start and by
`python -m omega_v2 clean`, which never touches a live run's directory and tells killed runs
from failed ones; and a soak of 20 runs killed at random moments."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import omega_v2
from omega_v2 import _core
from omega_v2.cli import main as cli_main

RUN_FILES = (*_core.RESULT_ARTEFACTS, "meta.json", "config.json")


def start_run(spawn: Any, config: Path, data: Path, var: Path, run_id: str) -> Any:
    args = ["-m", "omega_v2", "run", str(config), "--data-root", str(data), "--var-dir", str(var)]
    return spawn(*args, "--run-id", run_id)


def staged_run_id(staging: Path) -> str:
    """`soak-07` of `.soak-07.partial-1234`."""
    return staging.name[1:].split(".partial-")[0]


def half_written(var: Path, run_id: str, pid: int, timeout: float = 30) -> bool:
    """Waits until the run's staging directory holds the first megabyte of its `equity.csv` (the
    largest artefact, written last to finish): the run is then in the middle of its write phase."""
    equity = var / "results" / "backtests" / f".{run_id}.partial-{pid}" / "equity.csv"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if equity.is_file() and equity.stat().st_size > 1_000_000:
            return True
        time.sleep(0.001)
    return False


def clean(var: Path, *flags: str, capsys: Any) -> str:
    """Runs `clean` through the CLI in this process; returns its stdout."""
    assert cli_main(["clean", "--var-dir", str(var), *flags]) == 0
    return capsys.readouterr().out


def clean_json(var: Path, *flags: str, capsys: Any) -> dict[str, Any]:
    report = json.loads(clean(var, "--json", *flags, capsys=capsys))
    report["by_run"] = {r["run_id"]: r for r in report["runs"]}
    return report


def staging_dirs(var: Path) -> list[Path]:
    backtests = var / "results" / "backtests"
    return sorted(p for p in backtests.iterdir() if p.name.startswith(".")) if backtests.exists() else []


def test_a_killed_run_leaves_its_story_and_a_staging_dir_that_clean_removes_but_never_a_live_one(
    spawn: Any, crash_config: Path, crash_dataset: Path, tmp_path: Path, read_jsonl: Any, capsys: Any
) -> None:
    var = tmp_path / "var"
    killed = start_run(spawn, crash_config, crash_dataset, var, "killed")
    assert killed.wait_for("metrics computed"), killed.seen[-3:]
    assert half_written(var, "killed", killed.proc.pid), "the write phase ended before the test saw it"
    killed.kill()  # SIGKILL: nothing in the process runs any more

    # Its logs hold every record up to the last phase boundary (flushed there), not 0 bytes.
    messages = [r["message"] for r in read_jsonl(var / "logs" / "killed.jsonl")]
    assert messages[0] == "run started" and "data loaded" in messages and "backtest loop finished" in messages
    assert "run failed" not in messages and "run finished" not in messages
    [left] = staging_dirs(var)
    assert left.name == f".killed.partial-{killed.proc.pid}"
    assert json.loads((left / ".owner").read_text())["pid"] == killed.proc.pid

    dry = clean_json(var, "--dry-run", capsys=capsys)
    assert [(s["run_id"], s["state"], s["removed"]) for s in dry["staging"]] == [("killed", "stale", False)]
    assert dry["by_run"]["killed"]["state"] == "interrupted" and left.is_dir()
    swept = clean_json(var, capsys=capsys)
    assert [(s["run_id"], s["state"], s["removed"]) for s in swept["staging"]] == [("killed", "stale", True)]
    assert swept["staging"][0]["bytes"] > 1e6 and not left.exists()

    live = start_run(spawn, crash_config, crash_dataset, var, "live")
    assert live.wait_for("data loaded"), live.seen[-3:]  # its staging dir exists from before loading
    during = clean_json(var, capsys=capsys)
    assert [(s["run_id"], s["state"], s["removed"]) for s in during["staging"]] == [("live", "live", False)]
    assert during["by_run"]["live"]["state"] == "in_progress"
    assert [p.name for p in staging_dirs(var)] == [f".live.partial-{live.proc.pid}"]
    assert live.finish()[0] == 0, "the live run was never disturbed"
    assert all((var / "results" / "backtests" / "live" / name).is_file() for name in RUN_FILES)

    text = clean(var, capsys=capsys)
    assert "interrupted: run killed has no run directory and no failure record" in text
    assert "1 complete, 0 failed, 1 interrupted, 0 in progress" in text


def test_clean_tells_failed_runs_from_killed_ones(tmp_path: Path, make_config: Any, capsys: Any) -> None:
    var = tmp_path / "var"
    try:
        omega_v2.run(make_config(), data_root=tmp_path / "no-data", var_dir=var, run_id="no-data")
    except omega_v2.DataError:
        pass
    (var / "logs" / "gone.python.log").write_text("")  # a run killed right after it started
    (var / "logs" / "linked.log").symlink_to(tmp_path / "elsewhere")  # fails before any Rust log
    try:
        omega_v2.run(make_config(), data_root=tmp_path / "no-data", var_dir=var, run_id="linked")
    except omega_v2.OutputError:
        pass
    report = clean_json(var, capsys=capsys)["by_run"]
    assert (report["no-data"]["state"], report["no-data"]["code"]) == ("failed", "data.missing_file")
    assert (report["linked"]["state"], report["linked"]["code"]) == ("failed", "output.unsafe_path")
    assert not (var / "logs" / "linked.jsonl").exists(), "only the Python log recorded this failure"
    assert (report["gone"]["state"], report["gone"]["code"]) == ("interrupted", None)
    text = clean(var, capsys=capsys)
    assert "failed: run no-data (code=data.missing_file)" in text and "interrupted: run gone" in text


def test_clean_quotes_what_it_reads_from_logs_bounded(tmp_path: Path, capsys: Any) -> None:
    logs = tmp_path / "var" / "logs"
    logs.mkdir(parents=True)
    record = {"message": "run failed", "fields": {"code": "x" * 10_000}, "run_id": "tampered"}
    (logs / "tampered.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    text = clean(tmp_path / "var", capsys=capsys)
    assert f"failed: run tampered (code={'x' * 64}... (10000 characters))" in text
    assert len(text) < 1000


def test_soak_twenty_runs_killed_at_random_moments(
    spawn: Any, crash_config: Path, crash_dataset: Path, tmp_path: Path, capsys: Any
) -> None:
    var, rng = tmp_path / "var", random.Random(20240607)
    # The kills spread over two whole runs side by side, start-up included.
    started = time.monotonic()
    wholes = [start_run(spawn, crash_config, crash_dataset, var, run_id) for run_id in ("whole-a", "whole-b")]
    assert [child.finish()[0] for child in wholes] == [0, 0]
    whole = time.monotonic() - started
    killed, staged = [f"soak-{i:02d}" for i in range(20)], set()
    for pair in zip(killed[::2], killed[1::2], strict=True):
        # Two at a time: each run's start sweeps the var dir while the other one is alive.
        children = [start_run(spawn, crash_config, crash_dataset, var, run_id) for run_id in pair]
        begun = time.monotonic()
        for when, child in sorted(zip([rng.uniform(0, whole) for _ in pair], children, strict=True)):
            time.sleep(max(0.0, when - (time.monotonic() - begun)))
            child.kill()
        # killed runs whose staging directory was left (a later run's start removes them)
        staged.update(map(staged_run_id, staging_dirs(var)))
    assert len(staged) >= 3, "some kills must land while a run writes its staging directory"

    dry, left = clean_json(var, "--dry-run", capsys=capsys), staging_dirs(var)
    assert [Path(s["path"]).name for s in dry["staging"]] == [p.name for p in left]
    # A kill between creating the directory and writing its owner record leaves no record: such a
    # young directory is "unknown" (its host cannot be known) until the grace period has passed.
    unrecorded = [p for p in left if not (p / ".owner").is_file()]
    unrecorded_ids = set(map(staged_run_id, unrecorded))
    expected = ["unknown" if p in unrecorded else "stale" for p in left]
    assert [s["state"] for s in dry["staging"]] == expected and all(p.is_dir() for p in left)

    assert start_run(spawn, crash_config, crash_dataset, var, "after").finish()[0] == 0
    assert staging_dirs(var) == unrecorded, "the next run's start removed the dead runs' staging directories"

    report = clean_json(var, capsys=capsys)
    backtests = var / "results" / "backtests"
    for run_dir in (p for p in backtests.iterdir() if p not in unrecorded):  # only complete runs
        assert report["by_run"][run_dir.name]["state"] == "complete"
        assert all((run_dir / name).is_file() for name in RUN_FILES), run_dir
        assert json.loads((run_dir / "meta.json").read_text())["status"] == "success"
    interrupted = [r for r in killed if report["by_run"].get(r, {}).get("state") == "interrupted"]
    for run_id in killed:
        state = report["by_run"].get(run_id, {"state": None})["state"]
        # killed before its first file: nothing of it anywhere; a SIGKILL never records a failure;
        # a directory without an owner record may still be another host's starting run
        allowed = ("in_progress",) if run_id in unrecorded_ids else (None, "interrupted", "complete")
        assert state in allowed, (run_id, state)
        assert (state == "complete") == (backtests / run_id).is_dir()
    assert set(interrupted) >= staged - unrecorded_ids
    assert {report["by_run"][r]["state"] for r in ("whole-a", "whole-b", "after")} == {"complete"}
    text = clean(var, capsys=capsys)
    assert all(f"interrupted: run {run_id} " in text for run_id in interrupted)
    with capsys.disabled():
        outcomes = [report["by_run"].get(r, {"state": "nothing"})["state"] for r in killed]
        spread = {state: outcomes.count(state) for state in sorted(set(outcomes))}
        print(f"\nsoak over {whole:.2f} s runs: {spread}, {len(staged)} left a staging directory")
