"""Sweeps on a real Dask cluster that shares no disk with the client: two worker processes, each
in its own working directory with its own default var dir, and data that only the client ever
had (it loads a Market from files, then deletes them). Every run and its three logs must arrive
complete in the client's var dir, byte-identical to the same points run locally, and the inputs
must reach each worker once, not once per run."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import omega_v2 as om
from omega_v2.sweeps import tasks

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")

# The workers cannot import this test module: its classes (plugin, strategy, market) travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

GRID = {"strategy_parameters.z_score_long": [-2.0, -2.5], "strategy_parameters.z_score_short": [2.0, 2.5]}
DETERMINISTIC = ("trades.json", "equity.csv", "metrics.json")
RUN_FILES = {"config.json", "equity.csv", "meta.json", "metrics.json", "trades.json"}
LOG_SUFFIXES = (".log", ".jsonl", ".python.log")


class OwnDirectory(distributed.WorkerPlugin):
    """Each worker works in its own directory, with defaults that point there, never at the client."""

    def setup(self, worker: Any) -> None:
        os.chdir(worker.local_directory)
        os.environ["OMEGA_VAR_DIR"] = os.path.join(worker.local_directory, "default-var")
        os.environ["OMEGA_DATA_ROOT"] = os.path.join(worker.local_directory, "no-data-here")


class CountingMarket(om.Market):
    """A Market that appends its process id to a file each time it is unpickled."""

    def __init__(self, market: om.Market, tally: Path) -> None:
        super().__init__(market.bid, market.ask, market.symbol, market.timeframe)
        self.tally = str(tally)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        with open(self.tally, "a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\n")


class Crossover(om.Strategy):
    """Mid-close SMA crossover, market orders at the close."""

    def init(self, bars: om.Bars, params: Any) -> None:
        mid = (bars.bid_close + bars.ask_close) * 0.5
        self.fast, self.slow = (np.convolve(mid, np.ones(n) / n)[: len(mid)] for n in (params["fast"], 30))
        self.first_signal_index = 30

    def on_bar(self, t: int, position: str | None) -> Any:
        up = self.fast[t - 1] < self.slow[t - 1] and self.fast[t] > self.slow[t]
        down = self.fast[t - 1] > self.slow[t - 1] and self.fast[t] < self.slow[t]
        if up and position != "long":
            return (om.Reverse if position == "short" else om.Enter)("long")
        if down and position != "short":
            return (om.Reverse if position == "long" else om.Enter)("short")
        return None


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("cluster")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        local_directory=str(root / "workers"),
        dashboard_address=None,
    )
    with cluster, distributed.Client(cluster) as c:
        c.register_plugin(OwnDirectory())
        yield c


@pytest.fixture(scope="module")
def worker_dirs(client: Any) -> list[Path]:
    dirs = [Path(d) for d in client.run(lambda dask_worker: dask_worker.local_directory).values()]
    assert len(dirs) == 2 and len(set(dirs)) == 2
    return dirs


@pytest.fixture(scope="module")
def market(example_data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> om.Market:
    """Loaded on the client from a copy of the bundled files, which is then deleted: no worker
    can have read them."""
    copy = tmp_path_factory.mktemp("client-data") / "EURUSD"
    shutil.copytree(example_data_root / "EURUSD", copy)
    frames = {side: pd.read_parquet(copy / f"EURUSD_M5_{side.upper()}.parquet") for side in ("bid", "ask")}
    shutil.rmtree(copy.parent)
    return om.Market.from_frames(bid=frames["bid"], ask=frames["ask"], symbol="EURUSD", timeframe="M5")


def _point_config(base: dict[str, Any], row: Any, params: dict[str, Any]) -> dict[str, Any]:
    config = om.load_config(base).normalized
    for dotted in params:
        section, key = dotted.split(".")
        config[section][key] = row[dotted]
    return config


def _assert_complete_runs(var: Path, run_ids: list[str]) -> None:
    runs = var / "results" / "backtests"
    assert sorted(p.name for p in runs.iterdir()) == sorted(run_ids)  # no staging directory left
    for run_id in run_ids:
        assert {p.name for p in (runs / run_id).iterdir()} == RUN_FILES
    logs = sorted(p.name for p in (var / "logs").iterdir())
    assert logs == sorted(f"{run_id}{suffix}" for run_id in run_ids for suffix in LOG_SUFFIXES)
    for run_id in run_ids:
        text = (var / "logs" / f"{run_id}.jsonl").read_text(encoding="utf-8").splitlines()
        assert '"run finished"' in text[-1]  # the whole log arrived, up to the engine's last record


def test_a_cluster_without_shared_disk_brings_every_run_home(
    client: Any, worker_dirs: list[Path], market: om.Market, make_config: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    base = make_config()
    result = om.sweep(base, GRID, executor=client, data=market, var_dir=tmp_path / "client-var", progress=False)
    table = result.summary
    assert list(table["status"]) == ["success"] * 4
    var = tmp_path / "client-var"
    _assert_complete_runs(var, list(table["run_id"]))

    for _, row in table.iterrows():
        run_dir = var / "results" / "backtests" / row["run_id"]
        assert row["run_dir"] == str(run_dir)
        # The run was made in a scratch directory of one of the workers, not here.
        python_log = (var / "logs" / f"{row['run_id']}.python.log").read_text(encoding="utf-8")
        made_in = Path(re.search(r"run finished run_dir=(\S+)", python_log).group(1))
        assert any(made_in.is_relative_to(d) for d in worker_dirs), made_in
        assert not made_in.exists()
        # The same point run here, on the same market: the same bytes.
        local = om.run(_point_config(base, row, GRID), data=market, var_dir=tmp_path / "local")
        assert local.metrics["total_trades"] > 0
        for name in DETERMINISTIC:
            assert (run_dir / name).read_bytes() == (local.run_dir / name).read_bytes(), name
        assert om.load_run(run_dir).meta["dataset"]["files"][0]["name"].endswith(".frame")

    # Nothing stays behind on the workers, and nothing went to their default var dirs.
    for d in worker_dirs:
        assert not list(d.glob("omega_sweep_*")) and not (d / "default-var").exists()


def test_workers_read_the_data_once_and_let_go_of_it_when_the_sweep_ends(client: Any, tmp_path: Path) -> None:
    result = om.sweep(None, GRID, executor=client, var_dir=tmp_path / "var", progress=False)
    runs = [om.load_run(run_id, var_dir=tmp_path / "var") for run_id in result.summary["run_id"]]
    assert [r.meta["status"] for r in runs] == ["success"] * 4
    reused = sum("data reused" in Path(r.paths.text_log).read_text(encoding="utf-8") for r in runs)
    assert 2 <= reused <= 3  # each of the two workers read the files for its first point only
    assert list(client.run(lambda: tasks._data_cache is None).values()) == [True, True]


def test_inputs_reach_each_worker_once(client: Any, market: om.Market, make_config: Any, tmp_path: Path) -> None:
    tally = tmp_path / "unpickled"
    counting = CountingMarket(market, tally)
    grid = {"strategy_parameters.z_score_long": [-1.5, -2.0, -2.5, -3.0, -3.5, -4.0]}
    result = om.sweep(make_config(), grid, executor=client, data=counting, var_dir=tmp_path / "var", progress=False)
    assert result.counts["success"] == 6
    worker_pids = {str(pid) for pid in client.run(os.getpid).values()}
    unpickled = tally.read_text(encoding="utf-8").split()
    ran_on = {worker.rsplit(":", 1)[1] for worker in result.summary["worker"]}
    # One copy per worker, never one per run: each worker that ran points unpickled the market
    # exactly once (a worker the scheduler gave no point may not have unpickled it at all).
    assert len(unpickled) == len(set(unpickled)) and ran_on <= set(unpickled) <= worker_pids, (unpickled, ran_on)


def test_a_python_strategy_and_a_signals_frame_travel_to_the_workers(
    client: Any, market: om.Market, make_config: Any, tmp_path: Path
) -> None:
    python = {**make_config(strategy_name="python"), "strategy_parameters": {"fast": 10}}
    grid = {"strategy_parameters.fast": [5, 10]}
    result = om.sweep(python, grid, executor=client, data=market, strategy=Crossover, var_dir=tmp_path / "var")
    assert list(result.summary["status"]) == ["success", "success"]
    for _, row in result.summary.iterrows():
        local = om.run(
            {**python, "strategy_parameters": {"fast": row["strategy_parameters.fast"]}},
            data=market,
            strategy=Crossover,
            var_dir=tmp_path / "local",
        )
        assert local.metrics["total_trades"] > 0
        assert (Path(row["run_dir"]) / "trades.json").read_bytes() == (local.run_dir / "trades.json").read_bytes()

    index = pd.DatetimeIndex(market.bid.time_ns.astype("datetime64[ns]"), tz="UTC")
    every = np.arange(len(index))
    frame = pd.DataFrame({"enter_long": every % 97 == 0, "exit_long": every % 97 == 40}, index=index)
    signals = {**make_config(strategy_name="signals"), "strategy_parameters": {}}
    grid = {"account.risk_per_trade": [50.0, 100.0]}
    result = om.sweep(signals, grid, executor=client, data=market, signals=frame, var_dir=tmp_path / "var-signals")
    assert list(result.summary["status"]) == ["success", "success"]
    trades = result.summary.set_index("account.risk_per_trade")["total_trades"]
    assert trades[50.0] == trades[100.0] > 0  # same entries, sized differently
    sized = {**signals, "account": {**signals["account"], "risk_per_trade": 50.0}}
    local = om.run(sized, data=market, signals=frame, var_dir=tmp_path / "local-signals")
    row = result.summary.set_index("account.risk_per_trade").loc[50.0]
    assert (Path(row["run_dir"]) / "trades.json").read_bytes() == (local.run_dir / "trades.json").read_bytes()
