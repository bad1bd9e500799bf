"""In-memory market data: `omega_v2.Market` from pandas, polars and pyarrow frames trades exactly
like the same bars read from files (byte-identical artefacts); bad frames fail like bad files,
located by frame and row; runs on a Market replay and explain only with that same Market."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import omega_v2 as om
from omega_v2.errors import Code, ConfigError, DataError

PRICES = ["Open", "High", "Low", "Close"]


@pytest.fixture(scope="module")
def frames(example_data_root: Path) -> dict[str, pd.DataFrame]:
    """The bundled EURUSD M5 bid and ask files as pandas frames (`UTC time` column)."""
    folder = example_data_root / "EURUSD"
    return {side: pd.read_parquet(folder / f"EURUSD_M5_{side.upper()}.parquet") for side in ("bid", "ask")}


@pytest.fixture(scope="module")
def files_run(make_config: Any, example_data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> om.RunResult:
    var = tmp_path_factory.mktemp("files") / "var"
    result = om.run(make_config(), data_root=example_data_root, var_dir=var, run_id="files")
    assert result.metrics["total_trades"] > 0
    return result


def _market(bid: Any, ask: Any) -> om.Market:
    return om.Market.from_frames(bid=bid, ask=ask, symbol="EURUSD", timeframe="M5")


def _indexed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("UTC time")


def _as_polars(frame: pd.DataFrame) -> Any:
    pl = pytest.importorskip("polars")
    return pl.from_pandas(frame)


def _as_arrow(frame: pd.DataFrame) -> Any:
    pa = pytest.importorskip("pyarrow")
    return pa.Table.from_pandas(frame, preserve_index=False)


def _int_ns(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["UTC time"] = out["UTC time"].astype("int64")
    return out


@pytest.mark.parametrize("convert", [lambda f: f, _indexed, _as_polars, _as_arrow, _int_ns])
def test_a_market_trades_like_the_same_files(
    convert: Any,
    frames: dict[str, pd.DataFrame],
    files_run: om.RunResult,
    make_config: Any,
    omega_run: Any,
    assert_same_artefacts: Any,
) -> None:
    market = _market(convert(frames["bid"]), convert(frames["ask"]))
    result = omega_run(make_config(), data=market)
    assert_same_artefacts(files_run, result)
    names = [f["name"] for f in result.meta["dataset"]["files"]]
    assert names == ["EURUSD_M5_BID.frame", "EURUSD_M5_ASK.frame"]
    # Each side's identity: 18 header bytes + row count + 40 bytes per row (time and OHLC).
    assert [f["bytes"] for f in result.meta["dataset"]["files"]] == [18 + 8 + 40 * len(frames["bid"])] * 2


def test_one_series_and_a_spread_make_the_ask(frames: dict[str, pd.DataFrame]) -> None:
    bid = frames["bid"]
    fixed = om.Market.from_frame(bid, symbol="eurusd", timeframe="m5", spread=0.0002)
    assert (fixed.symbol, fixed.timeframe) == ("EURUSD", "M5")
    np.testing.assert_array_equal(fixed.ask.close, bid["Close"].to_numpy() + 0.0002)
    np.testing.assert_array_equal(fixed.bid.time_ns, fixed.ask.time_ns)
    per_bar = bid.assign(spread=np.where(np.arange(len(bid)) % 2 == 0, 0.0001, 0.0003))
    varying = om.Market.from_frame(per_bar, symbol="EURUSD", timeframe="M5", spread="spread")
    assert varying.ask.high[0] == bid["High"].iloc[0] + 0.0001
    assert varying.ask.high[1] == bid["High"].iloc[1] + 0.0003
    with pytest.raises(DataError, match="`spread` must be a finite number >= 0"):
        om.Market.from_frame(bid, symbol="EURUSD", timeframe="M5", spread=-1.0)
    for scalar in (np.float32(0.0002), np.float64(0.0002), np.int64(0)):  # numpy numbers are numbers
        numpy_spread = om.Market.from_frame(bid, symbol="EURUSD", timeframe="M5", spread=scalar)
        np.testing.assert_array_equal(numpy_spread.ask.open, bid["Open"].to_numpy() + float(scalar))
    with pytest.raises(DataError, match="`spread` must be"):
        om.Market.from_frame(bid, symbol="EURUSD", timeframe="M5", spread=np.bool_(True))


def test_the_market_must_be_what_the_config_trades(
    frames: dict[str, pd.DataFrame], make_config: Any, omega_run: Any
) -> None:
    market = _market(frames["bid"], frames["ask"])
    with pytest.raises(ConfigError, match="holds EURUSD M5 but the config trades EURUSD M1") as info:
        omega_run(make_config({"timeframes": {"primary": "M1"}}), data=market)
    assert info.value.code == Code.CONFIG_DATA_MISMATCH
    assert info.value.context["field"] == "timeframes.primary"
    with pytest.raises(ConfigError, match=r"timeframes\.additional needs data files") as info:
        omega_run(make_config({"timeframes": {"additional": ["H1"]}}), data=market)
    assert info.value.code == Code.CONFIG_DATA_MISMATCH
    with pytest.raises(ConfigError, match=r"data= must be an omega_v2\.Market"):
        omega_run(make_config(), data=frames["bid"])


def test_naive_timestamps_and_missing_columns_are_refused(frames: dict[str, pd.DataFrame]) -> None:
    naive = frames["bid"].assign(**{"UTC time": frames["bid"]["UTC time"].dt.tz_localize(None)})
    with pytest.raises(DataError, match="naive timestamps; localize them") as info:
        _market(naive, frames["ask"])
    assert info.value.code == Code.DATA_FRAME
    with pytest.raises(DataError, match="has no column `Low`") as info:
        _market(frames["bid"].drop(columns=["Low"]), frames["ask"])
    assert info.value.context == {"frame": "bid frame", "column": "Low"}
    with pytest.raises(DataError, match="pass a pandas DataFrame"):
        _market({"Open": [1.0]}, frames["ask"])


def test_a_repeated_column_name_is_refused_naming_it(frames: dict[str, pd.DataFrame]) -> None:
    twice = pd.concat([frames["bid"], frames["bid"][["Close"]]], axis=1)
    with pytest.raises(DataError, match="more than one column named `Close`") as info:
        _market(twice, frames["ask"])
    assert info.value.code == Code.DATA_FRAME and info.value.context == {"frame": "bid frame", "column": "Close"}
    pa = pytest.importorskip("pyarrow")
    ask = _as_arrow(frames["ask"])
    ask_twice = pa.Table.from_arrays([*ask.columns, ask.column("Close")], names=[*ask.column_names, "Close"])
    with pytest.raises(DataError, match="more than one column named `Close`") as info:
        _market(frames["bid"], ask_twice)
    assert info.value.context["frame"] == "ask frame"


# A bar of 2025-01-06 00:00 UTC in each unit of plain integers: 1736121600 s.
_UNITS = {"s": ("seconds", 1), "ms": ("milliseconds", 10**3), "us": ("microseconds", 10**6)}


@pytest.mark.parametrize("unit", _UNITS)
@pytest.mark.parametrize("convert", [lambda f: f, _as_arrow], ids=["pandas", "arrow"])
def test_plain_integer_times_must_be_nanoseconds(frames: dict[str, pd.DataFrame], unit: str, convert: Any) -> None:
    name, per_second = _UNITS[unit]
    bid = frames["bid"].copy()
    bid["UTC time"] = np.arange(len(bid), dtype=np.int64) * 300 * per_second + 1_736_121_600 * per_second
    with pytest.raises(DataError, match=rf"row 0's {1_736_121_600 * per_second} looks like {name}") as info:
        _market(convert(bid), frames["ask"])
    assert info.value.code == Code.DATA_FRAME and info.value.context["column"] == "UTC time"
    assert f"unit='{unit}'" in str(info.value)
    bid["UTC time"] = bid["UTC time"] * (10**9 // per_second)  # the same times in ns are taken as given
    assert _market(convert(bid), frames["ask"]).bid.time_ns[0] == pd.Timestamp("2025-01-06", tz="UTC").value


def _bad_row(frames: dict[str, pd.DataFrame], side: str, row: int, **prices: float) -> dict[str, pd.DataFrame]:
    out = {k: v.copy() for k, v in frames.items()}
    for column, value in prices.items():
        out[side].loc[row, column] = value
    return out


def test_bad_rows_fail_like_bad_files_located_by_frame_and_row(
    frames: dict[str, pd.DataFrame], make_config: Any, omega_run: Any
) -> None:
    # Row 7000 is inside the run's window (2025-01-06 .. 2025-01-31 on M5 from 2024-12-02).
    bad = _bad_row(frames, "ask", 7000, Close=float("nan"))
    with pytest.raises(DataError) as info:
        omega_run(make_config(), data=_market(bad["bid"], bad["ask"]))
    assert info.value.code == Code.DATA_NON_FINITE
    assert "ask frame" in str(info.value) and info.value.context["row"] == "7000"
    bad = _bad_row(frames, "bid", 7000, High=1.0)  # below Open and Close
    with pytest.raises(DataError) as info:
        omega_run(make_config(), data=_market(bad["bid"], bad["ask"]))
    assert info.value.code == Code.DATA_OHLC_INCONSISTENT and info.value.context["row"] == "7000"
    lifted = frames["bid"].copy()
    lifted.loc[7000, PRICES] = lifted.loc[7000, PRICES] + 0.01  # bid a whole cent above the ask
    with pytest.raises(DataError) as info:
        omega_run(make_config(), data=_market(lifted, frames["ask"]))
    assert info.value.code == Code.DATA_BID_ABOVE_ASK


def test_a_market_run_replays_and_explains_only_with_its_market(
    frames: dict[str, pd.DataFrame], make_config: Any, omega_var_dir: Path
) -> None:
    market = _market(frames["bid"], frames["ask"])
    original = om.run(make_config(), data=market, var_dir=omega_var_dir, run_id="in-memory")
    again = om.replay("in-memory", data=_market(frames["bid"].copy(), frames["ask"].copy()), var_dir=omega_var_dir)
    assert again.identical and again.result.metrics["total_trades"] == original.metrics["total_trades"] > 0
    story = om.explain("in-memory", 0, data=market, var_dir=omega_var_dir)
    assert story.to_dict()["trade"] == original.trades_list[0]
    # the result om.run returned keeps its market; one loaded from disk needs it passed again
    assert original.explain(0).story == story.story
    with pytest.raises(ConfigError, match="traded in-memory data"):
        om.load_run("in-memory", var_dir=omega_var_dir).explain(0)
    with pytest.raises(ConfigError, match="traded in-memory data") as info:
        om.replay("in-memory", var_dir=omega_var_dir)
    assert info.value.code == Code.CONFIG_DATA_MISMATCH
    moved = frames["ask"].copy()
    moved.loc[100, "Close"] += 0.00001
    with pytest.raises(DataError, match="the ask side of the market given as data= is not the one") as info:
        om.replay("in-memory", data=_market(frames["bid"], moved), var_dir=omega_var_dir)
    assert info.value.code == Code.DATA_CHANGED
    assert not list(omega_var_dir.glob("results/backtests/in-memory-replay-2*")), "nothing ran"
