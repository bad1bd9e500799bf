"""Shared builders for the end-to-end tests: config dicts derived from the bundled example,
tiny CSV datasets written by hand, a long synthetic dataset, and readers for logs/artefacts.

Everything here is exposed as fixtures (no helper imports between test files). The pytest
plugin of the package (`omega_var_dir`, `omega_run`, `assert_same_artefacts`) is loaded
through its `pytest11` entry point.
"""

from __future__ import annotations

import copy
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import omega_v2
from omega_v2 import _core
from omega_v2.paths import EXAMPLE_DATA_ROOT
from omega_v2.synth import generate

REPO = Path(__file__).resolve().parent.parent
RUST_BINARY = REPO / "target" / "release" / "omega_v2"
CSV_HEADER = "UTC time,Open,High,Low,Close,Volume"

# A bar as written to a CSV file: (timestamp text, open, high, low, close, volume).
Bar = tuple[str, float, float, float, float, float]


# Settings a caller's shell may hold that change how runs log, where they write and what they read.
_ENVIRONMENT = (
    "RUST_LOG",
    "OMEGA_PY_LOG",
    _core.VAR_DIR_ENV,
    *_core.DATA_ROOT_ENVS,
    _core.SYMBOL_SPECS_ENV,
    _core.EXECUTION_COSTS_ENV,
    _core.NEWS_CALENDAR_ENV,
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the documented defaults, whatever the caller's shell sets."""
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith(("OTEL_", "OMEGA_OTEL_"))]:  # trace export
        monkeypatch.delenv(name)


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: nested dicts are merged key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


@pytest.fixture(scope="session")
def example_dict() -> dict[str, Any]:
    """The bundled example config as a plain dict (a fresh copy is up to the caller)."""
    return json.loads(omega_v2.example_config_path().read_text(encoding="utf-8"))


# The suite's base: the example with its trade-dense original strategy settings (no sessions, z +-2,
# no cooldown), so that short test windows trade often; the example itself is tuned for a newcomer.
TRADE_DENSE = {
    "sessions": None,
    "strategy_parameters": {
        "window_length": 20,
        "atr_mult": 2.0,
        "z_score_long": -2.0,
        "z_score_short": 2.0,
        "cooldown_bars": 0,
    },
}


@pytest.fixture(scope="session")
def make_config(example_dict: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    """`make_config(overrides=None, **top_level)` -> a new config dict derived from the example.

    Nested dicts in `overrides` are merged (`{"costs": {"enabled": False}}` keeps the other
    cost keys). A dict config is not the "example" source, so pass `data_root=example_data_root`
    when running it on the bundled dataset.
    """

    def _make(overrides: Mapping[str, Any] | None = None, **top_level: Any) -> dict[str, Any]:
        return _merge(_merge(_merge(example_dict, TRADE_DENSE), overrides or {}), top_level)

    return _make


@pytest.fixture(scope="session")
def example_data_root() -> Path:
    return EXAMPLE_DATA_ROOT


@pytest.fixture(scope="session")
def write_csv_dataset() -> Callable[..., dict[str, Path]]:
    """`write_csv_dataset(root, bid_bars, ask_bars=None, symbol="EURUSD", timeframe="M1")`.

    Writes `{root}/{SYMBOL}/{SYMBOL}_{TF}_BID.csv` and `_ASK.csv` (ask defaults to bid) with the
    data contract's header; prices are written with `repr`, i.e. exactly. Returns both paths.
    """

    def _write(
        root: Path,
        bid_bars: Iterable[Bar],
        ask_bars: Iterable[Bar] | None = None,
        symbol: str = "EURUSD",
        timeframe: str = "M1",
    ) -> dict[str, Path]:
        bid_bars = list(bid_bars)
        ask_bars = bid_bars if ask_bars is None else list(ask_bars)
        directory = Path(root) / symbol
        directory.mkdir(parents=True, exist_ok=True)
        paths = {}
        for side, bars in (("BID", bid_bars), ("ASK", ask_bars)):
            lines = [CSV_HEADER]
            lines += [",".join([ts, *(repr(float(v)) for v in values)]) for ts, *values in bars]
            path = directory / f"{symbol}_{timeframe}_{side}.csv"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            paths[side.lower()] = path
        return paths

    return _write


@pytest.fixture(scope="session")
def minute_dataset(write_csv_dataset: Any, make_config: Any) -> Callable[..., dict[str, Any]]:
    """`minute_dataset(root, closes, **overrides)`: M1 bars from Monday 2025-01-06 00:00 UTC at the
    given closes (open = close, high and low 2 pips around it, bid = ask) written as CSV under
    `root`, and a `signals` config over exactly those bars: no warmup, costs off, USD account, so
    PnL = price move x lots x 100,000. `overrides` are merged into the config. Returns
    `{"config", "root", "index"}` (`index`: the bars' open times)."""
    import pandas as pd

    def _make(root: Path, closes: list[float], **overrides: Any) -> dict[str, Any]:
        index = pd.date_range("2025-01-06 00:00", periods=len(closes), freq="min", tz="UTC", name="UTC time")
        stamps = index.strftime("%Y-%m-%d %H:%M:%S+00:00")
        write_csv_dataset(root, [(t, p, p + 0.0002, p - 0.0002, p, 1.0) for t, p in zip(stamps, closes, strict=True)])
        base = {
            "timeframes": {"primary": "M1", "additional": []},
            "costs": {"enabled": False},
            "account": {"account_currency": "USD"},
        }
        config = make_config(_merge(base, overrides), start_date="2025-01-06", end_date="2025-01-06", warmup_bars=0)
        config["strategy_name"] = "signals"
        return {"config": config, "root": Path(root), "index": index}

    return _make


@pytest.fixture(scope="session")
def rust_binary() -> Path:
    """The release binary `target/release/omega_v2`, or skip when it is not built."""
    if not RUST_BINARY.is_file():
        pytest.skip(f"Rust binary not built: {RUST_BINARY} (cargo build --release --bin omega_v2)")
    return RUST_BINARY


@pytest.fixture(scope="session")
def long_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten years of seeded synthetic EURUSD M1 bid/ask (parquet), generated once per session
    with the Rust binary (built first if missing). Returns the data root."""
    if not RUST_BINARY.is_file():
        if shutil.which("cargo") is None:
            pytest.skip("Rust binary missing and cargo not available")
        subprocess.run(["cargo", "build", "--release", "--bin", "omega_v2"], cwd=REPO, check=True)
    root = tmp_path_factory.mktemp("synth10y")
    command = [str(RUST_BINARY), "synth", "--root", str(root), "--timeframes", "M1"]
    command += ["--start", "2015-01-01", "--end", "2024-12-31"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return root


@pytest.fixture(scope="session")
def read_jsonl() -> Callable[[Path], list[dict[str, Any]]]:
    """Parses every line of a `.jsonl` file (each line must be a JSON object)."""

    def _read(path: Path) -> list[dict[str, Any]]:
        text = Path(path).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines()]

    return _read


@pytest.fixture(scope="session")
def files_under() -> Callable[[Path], dict[Path, bytes]]:
    """Every regular file below a directory, with its bytes."""

    def _files(root: Path) -> dict[Path, bytes]:
        root = Path(root)
        if not root.exists():
            return {}
        return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    return _files


@pytest.fixture(scope="session")
def run_python() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Runs `python -c CODE` (or `python -m ...` with `module=`) in a fresh interpreter of this
    venv and returns the completed process (text mode, output captured)."""

    def _run(
        code: str | None = None,
        *args: str,
        module: str | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", module] if module else [sys.executable, "-c", code or ""]
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [*cmd, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False
        )

    return _run


# --------------------------------------------------------------------------------------
# Crash and fault tests (test_crash_*.py)

#: A run on `crash_dataset` of about a second (loading and writing take most of it), so that a
#: signal sent when a log marker appears lands in the middle of the run.
# Three years of M1 whose account never stops out: a stopped-out curve repeats its last row, which
# the writer copies instead of formatting, and the write phase the signal tests aim at would
# shrink to a few dozen milliseconds.
CRASH_RUN = {
    "start_date": "2019-01-07",
    "end_date": "2021-12-31",
    "timeframes": {"primary": "M1"},
    "account": {"risk_per_trade": 1.0, "initial_balance": 10_000_000.0},
}


@pytest.fixture(scope="session")
def crash_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three years of seeded synthetic EURUSD M1 bid/ask (parquet), generated once per session."""
    root = tmp_path_factory.mktemp("crash3y")
    generate(root, "2019-01-01", "2021-12-31", timeframes=["M1"])
    return root


@pytest.fixture(scope="session")
def crash_run(make_config: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The config of a `CRASH_RUN` on `crash_dataset` (a fresh copy is up to the caller)."""
    return make_config(CRASH_RUN)


@pytest.fixture(scope="session")
def crash_config(crash_run: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The config file of a `CRASH_RUN` (a path, as the CLI takes it)."""
    path = tmp_path_factory.mktemp("crashcfg") / "crash.json"
    path.write_text(json.dumps(crash_run), encoding="utf-8")
    return path


def _default_ctrl_c() -> None:
    """A child starts with Ctrl-C at its default, as from a terminal: a suite started in the
    background (`cmd &` in a script) hands its children SIGINT ignored, and Python keeps it so."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Child:
    """A child interpreter (`python ARGS`) whose stdout lines a thread collects, so a test can
    wait for a log marker and then signal it."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_ctrl_c,
            env={**{k: v for k, v in os.environ.items() if k not in ("RUST_LOG", "OMEGA_PY_LOG")}, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # end of output

    def wait_for(self, marker: str, timeout: float = 60) -> bool:
        """Reads stdout until a line contains `marker`; False at the end of output or timeout."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                return False
            if line == "" and self.proc.poll() is not None:
                return False
            self.seen.append(line)
            if marker in line:
                return True
        return False

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Waits for the exit; returns the exit code and stderr."""
        assert self.proc.stderr is not None
        stderr = self.proc.stderr.read()
        return self.proc.wait(timeout=timeout), stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """`spawn(*args, env=None)` starts `python *args` as a :class:`Child`; every child still
    running at the end of the test is killed."""
    children: list[Child] = []

    def _spawn(*args: str, env: Mapping[str, str] | None = None) -> Child:
        children.append(Child(args, env))
        return children[-1]

    yield _spawn
    for c in children:
        c.kill()
