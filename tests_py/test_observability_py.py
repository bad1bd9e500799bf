"""Run logs seen from Python: record shape and context, phase spans,
separation of the Rust and Python streams, levels and modes, the log-level guardrail, and
allowlist-only redaction of the config (secrets, rng_seed)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import omega_v2
from omega_v2 import ConfigError, OmegaError

# The only config fields logs may show (the redaction contract), written out independently.
ALLOWLISTED_FIELDS = ("symbol", "timeframe", "strategy_name", "run_mode", "data_mode", "start_date", "end_date")
PHASES = ("data_load", "strategy_init", "backtest_loop", "metrics", "write")
CONTEXT = {"strategy_name": "mean_reversion_z_score", "symbol": "EURUSD", "timeframe": "M5"}
LEVELS = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"}
WEEK = {"end_date": "2025-01-10"}
SECRET = "sk-SECRET-123"
SEED = 918273645
PY_LINE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) \[run_id=(\S+)\] (\S+): "
)
# Python modules of the package that log; a Rust target would read `omega_v2.run`, `omega_v2.engine`...
PYTHON_LOGGERS = {"omega_v2.runner", "omega_v2.config", "omega_v2.logs", "omega_v2.sweeps", "omega_v2.cli"}


@pytest.fixture
def week_run(make_config: Any, example_data_root: Path, omega_var_dir: Path) -> Any:
    """`week_run(run_id, **overrides)`: the example config over one week (fast)."""

    def _run(run_id: str, overrides: dict[str, Any] | None = None, **kwargs: Any) -> omega_v2.RunResult:
        config = make_config({**WEEK, **(overrides or {})})
        return omega_v2.run(config, data_root=example_data_root, var_dir=omega_var_dir, run_id=run_id, **kwargs)

    return _run


@pytest.fixture(scope="module")
def dev_run(tmp_path_factory: pytest.TempPathFactory) -> omega_v2.RunResult:
    return omega_v2.run(None, var_dir=tmp_path_factory.mktemp("obs") / "var", run_id="obs-dev")


# --------------------------------------------------------------------------------------
# Record shape and context (8.2)


def test_every_jsonl_line_has_context_and_keys(dev_run: omega_v2.RunResult, read_jsonl: Any) -> None:
    records = read_jsonl(dev_run.paths.json_log)
    assert len(records) >= 10
    for rec in records:
        assert rec["run_id"] == dev_run.run_id
        for key, value in CONTEXT.items():
            assert rec[key] == value, key
        assert rec["level"] in LEVELS
        assert isinstance(rec["target"], str) and rec["target"].startswith("omega_v2")
        assert isinstance(rec["message"], str) and rec["message"]
        assert isinstance(rec["span"], str) and rec["span"]
        assert isinstance(rec["fields"], dict)
        assert rec["timestamp"].endswith("Z")
        datetime.fromisoformat(rec["timestamp"].replace("Z", "+00:00"))
    # dev at the default level: INFO and up only, no per-bar records
    assert {rec["level"] for rec in records} <= {"INFO", "WARN", "ERROR"}
    messages = [rec["message"] for rec in records]
    assert messages[0] == "run started" and messages[-1] == "run finished"


def test_structured_fields_are_not_interpolated(dev_run: omega_v2.RunResult, read_jsonl: Any) -> None:
    by_message = {rec["message"]: rec for rec in read_jsonl(dev_run.paths.json_log)}
    finished = by_message["run finished"]["fields"]
    assert finished["trades"] == dev_run.metrics["total_trades"]
    assert finished["bars"] == dev_run.meta["dataset"]["bars"]
    loaded = by_message["data loaded"]
    assert loaded["fields"]["trading_bars"] == dev_run.meta["dataset"]["bars"]
    assert loaded["component"] == "data_load" and loaded["phase"] == "init"


def test_phase_spans_have_close_records_with_duration(dev_run: omega_v2.RunResult, read_jsonl: Any) -> None:
    records = read_jsonl(dev_run.paths.json_log)
    closes = {rec["span"]: rec for rec in records if rec["message"] == "close"}
    assert set(closes) >= set(PHASES)
    for name in PHASES:
        rec = closes[name]
        assert rec["spans"] == ["backtest_run", name]
        ns = rec["fields"]["duration_ns"]
        assert isinstance(ns, int) and ns > 0
        assert rec["fields"]["duration_ms"] == pytest.approx(ns / 1e6)
    # phases close in pipeline order
    order = [rec["span"] for rec in records if rec["message"] == "close" and rec["span"] in PHASES]
    assert order == list(PHASES)


def test_text_log_lines_carry_the_context(dev_run: omega_v2.RunResult) -> None:
    lines = dev_run.paths.text_log.read_text(encoding="utf-8").splitlines()
    prefix = (
        f"[run_id={dev_run.run_id} strategy_name={CONTEXT['strategy_name']} "
        f"symbol={CONTEXT['symbol']} timeframe={CONTEXT['timeframe']}"
    )
    assert lines
    for line in lines:
        assert prefix in line, line
        assert "\x1b[" not in line  # no ANSI colours
    jsonl_count = len(dev_run.paths.json_log.read_text().splitlines())
    assert len(lines) == jsonl_count  # the same records in both sinks


def test_python_log_has_run_id_on_every_line_and_no_rust_records(dev_run: omega_v2.RunResult) -> None:
    text = dev_run.paths.python_log.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert any("run starting" in line for line in lines)
    assert any("run finished" in line for line in lines)
    for line in lines:
        m = PY_LINE.match(line)
        assert m, line
        assert m.group(2) == dev_run.run_id
        assert m.group(3) in PYTHON_LOGGERS, line
    assert "omega_v2::" not in text
    for rust_message in ("data loaded", "backtest loop finished", "metrics computed", ": close "):
        assert rust_message not in text


def test_rust_files_contain_no_python_records(dev_run: omega_v2.RunResult) -> None:
    for path in (dev_run.paths.text_log, dev_run.paths.json_log):
        text = path.read_text(encoding="utf-8")
        assert "omega_v2.runner" not in text
        assert "run starting" not in text  # the Python wrapper's message


# --------------------------------------------------------------------------------------
# Levels and modes (8.3)


def test_prod_run_writes_no_info_and_no_spans(week_run: Any, read_jsonl: Any) -> None:
    # a warmup shortfall (8000 requested, 7200 in the bundled data) gives one WARN record
    run = week_run("obs-prod", {"run_mode": "prod", "rng_seed": 42, "warmup_bars": 8000})
    records = read_jsonl(run.paths.json_log)
    assert records, "the WARN record of the shortfall is expected"
    assert {rec["level"] for rec in records} <= {"WARN", "ERROR"}
    assert not [rec for rec in records if rec["message"] == "close"]
    assert any("warmup shortfall" in rec["message"] for rec in records)
    text = run.paths.text_log.read_text(encoding="utf-8")
    assert " INFO " not in text and "close duration_ns" not in text
    assert " INFO " not in run.paths.python_log.read_text(encoding="utf-8")
    assert run.meta["dataset"]["governance"]["warmup_shortfall"]["shortfall_bars"] == 800


def test_rust_log_debug_gives_per_trade_records(
    week_run: Any, read_jsonl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUST_LOG", "debug")
    run = week_run("obs-debug")
    records = read_jsonl(run.paths.json_log)
    closed = [rec for rec in records if rec["message"] == "trade closed"]
    assert {rec["level"] for rec in closed} == {"DEBUG"}
    assert len(closed) == run.metrics["total_trades"] > 0
    assert {"direction", "entry_price", "exit_price", "result"} <= set(closed[0]["fields"])
    assert closed[0]["span"] == "backtest_loop"
    # DEBUG stays in the Rust files
    assert "trade closed" not in run.paths.python_log.read_text(encoding="utf-8")


def test_omega_py_log_overrides_the_python_level(week_run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    prod = {"run_mode": "prod", "rng_seed": 42}
    quiet = week_run("obs-py-prod", prod)
    assert " INFO " not in quiet.paths.python_log.read_text()
    monkeypatch.setenv("OMEGA_PY_LOG", "DEBUG")
    loud = week_run("obs-py-prod-debug", prod)
    assert " INFO [run_id=obs-py-prod-debug] omega_v2.runner: run starting" in loud.paths.python_log.read_text()
    monkeypatch.setenv("OMEGA_PY_LOG", "WARNING")
    dev = week_run("obs-py-dev-warning")
    assert " INFO " not in dev.paths.python_log.read_text()


@pytest.mark.parametrize("run_mode", ["dev", "prod"])
def test_log_level_never_changes_results(
    run_mode: str, week_run: Any, assert_same_artefacts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    overrides = {"run_mode": run_mode, "rng_seed": 42}
    runs = []
    for level in (None, "trace", "debug", "info", "warn", "error"):
        if level is None:
            monkeypatch.delenv("RUST_LOG", raising=False)
        else:
            monkeypatch.setenv("RUST_LOG", level)
        runs.append(week_run(f"guard-{run_mode}-{level}", overrides))
    for other in runs[1:]:
        assert_same_artefacts(runs[0], other)


@pytest.mark.parametrize("run_mode", ["dev", "prod"])
def test_failed_run_logs_why_with_a_traceback_only_in_dev(
    run_mode: str, make_config: Any, omega_var_dir: Path, tmp_path: Path, read_jsonl: Any
) -> None:
    run_id = f"fail-{run_mode}"
    with pytest.raises(omega_v2.DataError):
        omega_v2.run(
            make_config({**WEEK, "run_mode": run_mode, "rng_seed": 1}),
            data_root=tmp_path / "missing",
            var_dir=omega_var_dir,
            run_id=run_id,
        )
    files = omega_v2.paths.run_paths(omega_var_dir, run_id)
    failed = [r for r in read_jsonl(files.json_log) if r["message"] == "run failed"]
    assert [(r["level"], r["fields"]["code"]) for r in failed] == [("ERROR", "data.missing_file")]
    python_log = files.python_log.read_text(encoding="utf-8")
    assert f"ERROR [run_id={run_id}] omega_v2.runner: run failed code=data.missing_file" in python_log
    assert ("Traceback" in python_log) is (run_mode == "dev")


def test_profiling_mode_never_changes_results(week_run: Any, assert_same_artefacts: Any) -> None:
    plain = week_run("prof-off")
    assert_same_artefacts(plain, week_run("prof-on", profile=True))
    assert_same_artefacts(plain, week_run("prof-config", {"observability": {"profiling_mode": True}}))


def test_python_log_of_a_failed_dev_run_has_run_id_on_every_line(
    make_config: Any, omega_var_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(omega_v2.DataError):
        omega_v2.run(make_config(WEEK), data_root=tmp_path / "missing", var_dir=omega_var_dir, run_id="tb-dev")
    lines = omega_v2.paths.run_paths(omega_var_dir, "tb-dev").python_log.read_text().splitlines()
    assert any("run failed" in line for line in lines)
    assert all("run_id=tb-dev" in line for line in lines)


# --------------------------------------------------------------------------------------
# Redaction (8.5)


def test_config_reaches_logs_only_as_hash_and_allowlist(dev_run: omega_v2.RunResult, read_jsonl: Any) -> None:
    loaded = omega_v2.load_config(omega_v2.example_config_path())
    started = next(r for r in read_jsonl(dev_run.paths.json_log) if r["message"] == "run started")
    # symbol, strategy_name and timeframe are on every record; the rest of the allowlist here
    assert set(started["fields"]) == {"config_hash", "run_mode", "data_mode", "start_date", "end_date"}
    assert started["fields"]["config_hash"] == loaded.config_hash
    logged = {k: v for k, v in started["fields"].items() if k != "config_hash"}
    logged.update({k: started[k] for k in ("symbol", "strategy_name", "timeframe")})
    assert set(logged) <= set(ALLOWLISTED_FIELDS)
    assert logged == {k: v for k, v in omega_v2.config.allowlisted_fields(loaded.normalized).items() if k in logged}
    py_start = next(line for line in dev_run.paths.python_log.read_text().splitlines() if "run starting" in line)
    pairs = dict(p.split("=", 1) for p in py_start.split("run starting ", 1)[1].split())
    assert set(pairs) <= {"config_hash", *ALLOWLISTED_FIELDS}
    assert pairs["config_hash"] == loaded.config_hash


def _hits(var: Path, files_under: Any, needle: str) -> list[str]:
    return [str(p.relative_to(var)) for p, raw in files_under(var).items() if needle.lower().encode() in raw.lower()]


ACCEPTED_SECRETS = {
    "unknown-top-level-key": {"api_key": SECRET},
    "unknown-nested-key": {"costs": {"api_token": SECRET}, "account": {"password": SECRET}},
    # `metrics` is passed through to Rust unvalidated and hashed into config_hash
    "metrics-passthrough": {"metrics": {"api_key": SECRET, "nested": {"password": [SECRET]}}},
}


@pytest.mark.parametrize("overrides", ACCEPTED_SECRETS.values(), ids=ACCEPTED_SECRETS.keys())
def test_secrets_in_accepted_configs_reach_no_file(
    overrides: dict[str, Any],
    week_run: Any,
    omega_var_dir: Path,
    files_under: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    run = week_run("redact-ok", {**overrides, "rng_seed": SEED})
    assert run.meta["seed"] == SEED
    # config.json is the config as run (for replays), an artefact like the config file itself:
    # values the config holds may be there, and nowhere else.
    config_json = "results/backtests/redact-ok/config.json"
    assert set(_hits(omega_var_dir, files_under, SECRET)) <= {config_json}
    assert _hits(omega_var_dir, files_under, str(SEED)) == [config_json, "results/backtests/redact-ok/meta.json"]
    out, err = capfd.readouterr()
    for text in (caplog.text, out, err):
        assert SECRET.lower() not in text.lower() and str(SEED) not in text


REJECTED_SECRETS = {
    "account-currency": {"account": {"account_currency": SECRET}},
    "session-start": {"sessions": [{"start": SECRET, "end": "10:00"}]},
    "strategy-parameter": {"strategy_parameters": {"atr_mult": SECRET}},
    "start-date": {"start_date": SECRET},
    "run-mode": {"run_mode": SECRET},
    "timeframe": {"timeframes": {"primary": SECRET}},
    "news-currencies": {"news_filter": {"currencies": [SECRET]}},
    "schema-version": {"schema_version": SECRET},
    "initial-balance": {"account": {"initial_balance": SECRET}},
}


@pytest.mark.parametrize("overrides", REJECTED_SECRETS.values(), ids=REJECTED_SECRETS.keys())
def test_secrets_in_rejected_values_reach_no_message(
    overrides: dict[str, Any], week_run: Any, omega_var_dir: Path, files_under: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ConfigError) as info:
        week_run("redact-bad", {**overrides, "rng_seed": SEED})
    err = info.value
    texts = [str(err), repr(err), *map(str, err.args), json.dumps(err.context), caplog.text]
    for text in texts:
        assert SECRET.lower() not in text.lower()
        assert str(SEED) not in text
    assert err.context.get("field")  # the message locates the field instead
    assert _hits(omega_var_dir, files_under, SECRET) == []


def test_seed_drawn_in_prod_appears_only_in_meta_and_the_replay_config(
    week_run: Any, omega_var_dir: Path, files_under: Any, caplog: pytest.LogCaptureFixture
) -> None:
    prod_runs = [week_run(f"prod-seed-{i}", {"run_mode": "prod", "rng_seed": None}) for i in range(2)]
    seeds = [r.meta["seed"] for r in prod_runs]
    assert all(isinstance(s, int) for s in seeds) and seeds[0] != seeds[1]  # OS entropy, 63 bits
    for run, seed in zip(prod_runs, seeds, strict=True):
        hits = _hits(omega_var_dir, files_under, str(seed))
        run_dir = f"results/backtests/{run.run_id}"
        assert hits == [f"{run_dir}/config.json", f"{run_dir}/meta.json"]
        assert json.loads((run.run_dir / "config.json").read_text())["rng_seed"] == seed
        assert str(seed) not in caplog.text


def test_engine_errors_quote_no_config_values(week_run: Any, omega_var_dir: Path, files_under: Any) -> None:
    with pytest.raises(OmegaError) as info:
        week_run("redact-ccy", {"account": {"account_currency": "JPY"}})  # valid format, not EUR/USD
    assert info.value.context.get("field") == "account.account_currency"
    assert "JPY" not in str(info.value)
    assert _hits(omega_var_dir, files_under, "JPY") == []
