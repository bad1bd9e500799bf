"""`python -m omega_v2` in subprocesses: run, validate, logs; and the Rust
binary on a config written by `validate --write-normalized`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import omega_v2

WEEK = {"end_date": "2025-01-10"}
RUN_ID_IN_OUTPUT = re.compile(r"^run (\S+): EURUSD M5 ", re.MULTILINE)


@pytest.fixture
def cli(run_python: Any, tmp_path: Path) -> Any:
    """`cli(*args)` -> CompletedProcess of `python -m omega_v2 ...` with cwd = tmp_path."""

    def _cli(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        kwargs.setdefault("cwd", tmp_path)
        return run_python(None, *args, module="omega_v2", **kwargs)

    return _cli


@pytest.fixture
def week_config_file(tmp_path: Path, make_config: Any) -> Path:
    path = tmp_path / "week.json"
    path.write_text(json.dumps(make_config(WEEK)), encoding="utf-8")
    return path


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Non-zero exit, one paragraph on stderr naming what is wrong, no traceback."""
    assert proc.returncode != 0
    message = proc.stderr.strip()
    assert message.startswith("error: "), message
    assert "Traceback" not in proc.stderr and "\n\n" not in message
    for needle in needles:
        assert needle in message


# --------------------------------------------------------------------------------------
# run


def test_run_without_arguments_runs_the_bundled_example(cli: Any, tmp_path: Path) -> None:
    proc = cli("run", "--var-dir", "v")
    assert proc.returncode == 0, proc.stderr
    run_id = RUN_ID_IN_OUTPUT.search(proc.stdout).group(1)
    run_dir = tmp_path / "v" / "results" / "backtests" / run_id
    assert f"artefacts: {Path('v') / 'results' / 'backtests' / run_id}" in proc.stdout
    metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    assert f"trades {metrics['total_trades']} " in proc.stdout
    assert f"profit_net {metrics['profit_net']} " in proc.stdout
    assert f"{run_id}.python.log" in proc.stdout
    # stdout mirrors the engine's text log line by line
    mirrored = [line for line in proc.stdout.splitlines() if f"[run_id={run_id} " in line]
    assert mirrored == (tmp_path / "v" / "logs" / f"{run_id}.log").read_text().splitlines()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v"]  # nothing else in the cwd
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["config"]["source"] == "example" and meta["dataset"]["bars"] == 5760


#: Modules a run's process has no use for (other commands, profiling mode only, notebook rendering).
NOT_ON_THE_RUN_PATH = ("omega_v2.bench", "omega_v2.run_diff", "omega_v2.replays", "omega_v2.clean", "cProfile", "html")


def test_a_run_imports_no_other_command_and_help_still_lists_every_command(run_python: Any, tmp_path: Path) -> None:
    code = (
        "import sys; from omega_v2 import cli; code = cli.main(['run', '--quiet', '--var-dir', 'v']); "
        "print(code, ' '.join(sorted(sys.modules)))"
    )
    proc = run_python(code, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    exit_code, modules = proc.stdout.strip().splitlines()[-1].split(" ", 1)
    assert exit_code == "0" and "omega_v2.runner" in modules.split()
    assert [m for m in modules.split() if m.startswith(NOT_ON_THE_RUN_PATH)] == []
    helped = run_python(None, "--help", module="omega_v2")
    for command in ("run", "validate", "bench", "clean", "diff", "replay", "explain", "profile"):
        assert re.search(rf"^\s+{command}\s", helped.stdout, re.M), (command, helped.stdout)


@pytest.mark.parametrize(("config", "exit_code"), [("example", 0), ("missing.json", 2)])
def test_the_console_entry_runs_exit_handlers_flushes_and_keeps_the_exit_code(
    run_python: Any, tmp_path: Path, config: str, exit_code: int
) -> None:
    """`console()` skips the interpreter's teardown, not what a process owes before it ends."""
    path = str(omega_v2.example_config_path()) if config == "example" else str(tmp_path / config)
    code = (
        "import atexit, sys; from omega_v2 import cli; "
        "atexit.register(lambda: sys.stdout.write('exit handler ran\\n')); "
        f"sys.argv = ['omega_v2', 'validate', {path!r}]; cli.console()"
    )
    proc = run_python(code)
    assert proc.returncode == exit_code, proc.stderr
    assert proc.stdout.endswith("exit handler ran\n"), proc.stdout
    assert ("config ok: config_hash=" in proc.stdout) == (exit_code == 0)


def test_run_with_config_data_root_run_id_and_var_dir(
    cli: Any, tmp_path: Path, week_config_file: Path, example_data_root: Path
) -> None:
    var = tmp_path / "elsewhere"
    proc = cli(
        "run",
        str(week_config_file),
        "--data-root",
        str(example_data_root),
        "--run-id",
        "cli-run",
        "--var-dir",
        str(var),
        "--quiet",
    )
    assert proc.returncode == 0, proc.stderr
    assert "[run_id=" not in proc.stdout  # --quiet: no engine log on stdout
    result = omega_v2.load_run("cli-run", var_dir=var)
    assert result.meta["config"]["source"] == str(week_config_file)
    assert result.meta["config"]["hash"] == omega_v2.load_config(week_config_file).config_hash
    assert result.meta["dataset"]["end_time"] == "2025-01-10T23:55:00Z"
    assert "run cli-run: EURUSD M5 2025-01-06T00:00:00Z -> 2025-01-10T23:55:00Z (1440 bars)" in proc.stdout


def test_run_with_missing_data_exits_non_zero_naming_the_file(cli: Any, tmp_path: Path, week_config_file: Path) -> None:
    proc = cli("run", str(week_config_file), "--data-root", str(tmp_path / "nope"), "--var-dir", "v", "--quiet")
    assert_clean_failure(proc, str(tmp_path / "nope" / "EURUSD" / "EURUSD_M5_BID"), "run_id=")
    assert proc.returncode == 3
    backtests = tmp_path / "v" / "results" / "backtests"
    assert not backtests.exists() or list(backtests.iterdir()) == []


@pytest.mark.parametrize("command", ["run", "validate"])
def test_missing_config_file(cli: Any, tmp_path: Path, command: str) -> None:
    missing = tmp_path / "missing.json"
    proc = cli(command, str(missing))
    assert_clean_failure(proc, "config file not found", str(missing))
    assert proc.returncode == 2


def test_config_file_that_is_not_json(cli: Any, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": "2",\n  oops}\n')
    proc = cli("validate", str(broken))
    assert_clean_failure(proc, str(broken), "line 2")


# --------------------------------------------------------------------------------------
# validate


def test_validate_good_config_prints_the_hash(cli: Any, week_config_file: Path) -> None:
    proc = cli("validate", str(week_config_file))
    assert proc.returncode == 0, proc.stderr
    assert f"config_hash={omega_v2.load_config(week_config_file).config_hash}" in proc.stdout


def test_validate_bad_config_names_the_field(cli: Any, tmp_path: Path, make_config: Any) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(make_config({"strategy_parameters": {"window_length": "twenty"}})))
    proc = cli("validate", str(bad))
    assert_clean_failure(proc, "strategy_parameters.window_length")
    assert "twenty" not in proc.stderr
    assert proc.returncode == 2


def test_validate_warns_about_unknown_keys_and_strict_rejects_them(cli: Any, tmp_path: Path, make_config: Any) -> None:
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(make_config(notes_for_me="x", costs={"spread_mult": 1})))
    lenient = cli("validate", str(path))
    assert lenient.returncode == 0
    assert "unknown config key `notes_for_me`; it is ignored" in lenient.stderr
    # a loose match is suggested, not taken for a typo
    assert "unknown config key `costs.spread_mult`; did you mean `costs.spread_multiplier`?" in lenient.stderr
    strict = cli("validate", str(path), "--strict")
    assert_clean_failure(strict, "notes_for_me")


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("strategy_parmeters", "strategy_parameters"),
        ("warmup_barz", "warmup_bars"),
        ("account.risk_per_trades", "account.risk_per_trade"),
    ],
)
def test_a_misspelt_known_key_is_an_error_naming_both(
    cli: Any, tmp_path: Path, make_config: Any, typo: str, meant: str
) -> None:
    config = make_config()
    *parents, leaf = typo.split(".")
    node = config
    for part in parents:
        node = node[part]
    node[leaf] = 1
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(config))
    proc = cli("validate", str(path))
    assert_clean_failure(proc, f"`{typo}` looks like a misspelling of `{meant}`")
    assert proc.returncode == 2


def test_normalized_config_runs_in_the_rust_binary_with_identical_artefacts(
    cli: Any,
    tmp_path: Path,
    week_config_file: Path,
    example_data_root: Path,
    rust_binary: Path,
    omega_run: Any,
    assert_same_artefacts: Any,
) -> None:
    normalized = tmp_path / "normalized.json"
    proc = cli("validate", str(week_config_file), "--write-normalized", str(normalized))
    assert proc.returncode == 0, proc.stderr
    loaded = omega_v2.load_config(week_config_file)
    assert normalized.read_text(encoding="utf-8") == loaded.canonical_json + "\n"
    var = tmp_path / "binvar"
    command = [str(rust_binary), "run", str(normalized), "--data-root", str(example_data_root)]
    command += ["--var-dir", str(var), "--run-id", "bin-run", "--quiet"]
    binary = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert binary.returncode == 0, binary.stderr
    bin_dir = var / "results" / "backtests" / "bin-run"
    api = omega_run(week_config_file, data_root=example_data_root)
    # (if this fails only on trades.json snapshot digits, the binary and the extension were
    # built from different sources: rebuild both)
    assert_same_artefacts(api, bin_dir)
    assert json.loads((bin_dir / "meta.json").read_text())["config"]["hash"] == loaded.config_hash


@pytest.mark.parametrize("field", [("account", "initial_balance"), ("run_mode",)], ids=".".join)
def test_rust_binary_config_errors_quote_no_values(
    tmp_path: Path, week_config_file: Path, rust_binary: Path, field: tuple[str, ...]
) -> None:
    secret = "sk-SECRET-123"
    config = omega_v2.load_config(week_config_file).normalized
    target = config
    for key in field[:-1]:
        target = target[key]
    target[field[-1]] = secret
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(config))
    proc = subprocess.run(
        [str(rust_binary), "run", str(path), "--var-dir", str(tmp_path / "var"), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode != 0
    assert secret not in proc.stderr + proc.stdout  # the value is not quoted...
    assert field[-1] in proc.stderr  # ...the field is named (what, where)


# --------------------------------------------------------------------------------------
# logs


@pytest.fixture(scope="module")
def warned_run(tmp_path_factory: pytest.TempPathFactory, make_config: Any, example_data_root: Path) -> Any:
    """A dev run with WARN records from both sides: an unknown key (Python) and a warmup
    shortfall (Rust: 8000 bars requested, 7200 in the bundled data)."""
    var = tmp_path_factory.mktemp("cli-logs") / "var"
    config = make_config({**WEEK, "warmup_bars": 8000, "my_own_note": 1})
    return omega_v2.run(config, data_root=example_data_root, var_dir=var, run_id="logs-run")


def logs_cli(run_python: Any, run: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return run_python(None, "logs", run.run_id, "--var-dir", str(run.paths.var_dir), *args, module="omega_v2")


def test_logs_prints_a_merged_timeline(run_python: Any, warned_run: Any) -> None:
    proc = logs_cli(run_python, warned_run)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    sources = [line.split()[2] for line in lines]
    assert set(sources) == {"rust", "python"}
    assert [line.split()[0] for line in lines] == sorted(line.split()[0] for line in lines)
    rust_count = len(warned_run.paths.json_log.read_text().splitlines())
    python_count = len(warned_run.paths.python_log.read_text().splitlines())
    assert len(lines) == rust_count + python_count
    assert sources[0] == "python" and "run starting" in lines[0]  # the wrapper starts first
    assert "run finished" in lines[-1]


def test_logs_level_filter(run_python: Any, warned_run: Any) -> None:
    proc = logs_cli(run_python, warned_run, "--level", "WARN")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert {line.split()[1] for line in lines} <= {"WARN", "ERROR"}
    assert any("python" in line.split() and "my_own_note" in line for line in lines)
    assert any("rust" in line.split() and "warmup shortfall" in line for line in lines)
    bad = logs_cli(run_python, warned_run, "--level", "LOUD")
    assert_clean_failure(bad, "--level")


def test_logs_json_lines(run_python: Any, warned_run: Any) -> None:
    proc = logs_cli(run_python, warned_run, "--json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert records
    for rec in records:
        assert {"timestamp", "source", "level", "target", "message", "span", "component", "phase", "fields"} <= set(rec)
    assert {rec["source"] for rec in records} == {"rust", "python"}


def test_logs_phase_filter(run_python: Any, warned_run: Any) -> None:
    proc = logs_cli(run_python, warned_run, "--phase", "data_load", "--json")
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert {rec["message"] for rec in records} >= {"data loaded", "close"}
    for rec in records:
        assert "data_load" in (rec["span"], rec["phase"], rec["component"])


def test_logs_of_an_unknown_run(run_python: Any, tmp_path: Path) -> None:
    proc = run_python(None, "logs", "nope", "--var-dir", str(tmp_path), module="omega_v2")
    assert_clean_failure(proc, "nope")


def test_logs_into_a_closed_pipe_has_no_traceback(
    make_config: Any, example_data_root: Path, omega_var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUST_LOG", "debug")  # ~255 `trade closed` records: > 64 kB of output
    run = omega_v2.run(make_config(), data_root=example_data_root, var_dir=omega_var_dir, run_id="pipe")
    proc = subprocess.Popen(
        [sys.executable, "-m", "omega_v2", "logs", run.run_id, "--var-dir", str(omega_var_dir), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    stderr = proc.stderr.read()
    proc.wait(timeout=60)
    assert "Traceback" not in stderr
