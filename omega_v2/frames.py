"""DataFrames in, contiguous numpy columns out: the one place that knows pandas, pyarrow and the
Arrow PyCapsule interface (polars and other Arrow frames, through pyarrow).

A frame is time-indexed either by a time-zone aware `DatetimeIndex` (pandas) or by a `UTC time`
column (any frame): time-zone aware timestamps, or int64 nanoseconds since the epoch (UTC).
Naive timestamps are rejected: the engine never guesses a time zone. Columns keep their memory
when they already are contiguous float64 / int64 (zero copy); other numeric dtypes are converted
once. Row-level checks (NaN, OHLC consistency, order, duplicates) are the engine's, identical
for files and frames.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from omega_v2.errors import Code, DataError

TIME_COLUMN = "UTC time"
#: Columns shown in a message before the rest are counted.
_LISTED = 8


def frame_error(frame: str, what: str, *, column: str | None = None) -> DataError:
    context = {"frame": frame, **({"column": column} if column else {})}
    return DataError(f"{frame}: {what}", code=Code.DATA_FRAME, context=context)


class Columns:
    """A frame's time axis and named columns as numpy arrays (read-only)."""

    def __init__(self, frame: Any, name: str) -> None:
        self.name = name
        if _is_pandas(frame):
            self._pandas(frame)
        elif hasattr(frame, "__arrow_c_stream__") or hasattr(frame, "__arrow_c_array__") or _is_arrow(frame):
            self._arrow(frame)
        else:
            raise frame_error(
                name,
                f"is a {type(frame).__name__}; pass a pandas DataFrame, a pyarrow Table or an Arrow-compatible "
                "frame (polars)",
            )

    @property
    def names(self) -> list[str]:
        return list(self._columns)

    def __len__(self) -> int:
        return len(self.time_ns)

    def has(self, column: str) -> bool:
        return column in self._columns

    def floats(self, column: str) -> np.ndarray:
        """`column` as contiguous float64 (a view when it already is one)."""
        values = self._require(column)
        if values.dtype.kind not in "fiu" or values.dtype == np.bool_:
            raise frame_error(self.name, f"column `{column}` has dtype {values.dtype}; expected numbers", column=column)
        return _readonly(np.ascontiguousarray(values, dtype=np.float64))

    def flags(self, column: str) -> np.ndarray:
        """A boolean `column` as contiguous uint8 0/1 (a view of the bools)."""
        values = self._require(column)
        if values.dtype != np.bool_:
            hint = " (missing values? fill them with False)" if values.dtype.kind in "fO" else ""
            raise frame_error(
                self.name, f"column `{column}` has dtype {values.dtype}; expected booleans{hint}", column=column
            )
        return _readonly(np.ascontiguousarray(values).view(np.uint8))

    def _require(self, column: str) -> np.ndarray:
        if column not in self._columns:
            raise frame_error(self.name, f"has no column `{column}` (columns: {_listed(self._columns)})", column=column)
        return self._columns[column]

    def _pandas(self, frame: Any) -> None:
        import pandas as pd

        if isinstance(frame.index, pd.DatetimeIndex):
            self.time_ns = _pandas_times(frame.index, self.name, "the index")
        elif TIME_COLUMN in frame.columns:
            self.time_ns = _pandas_times(frame[TIME_COLUMN], self.name, f"column `{TIME_COLUMN}`")
        else:
            raise frame_error(
                self.name, f"needs a time-zone aware DatetimeIndex or a `{TIME_COLUMN}` column", column=TIME_COLUMN
            )
        names = [str(c) for c in frame.columns]
        _check_unique(names, self.name)
        self._columns = {name: frame.iloc[:, i].to_numpy() for i, name in enumerate(names) if name != TIME_COLUMN}

    def _arrow(self, frame: Any) -> None:
        try:
            import pyarrow as pa
        except ImportError:
            raise frame_error(self.name, "Arrow frames (polars, pyarrow) need pyarrow: pip install pyarrow") from None
        table = frame if isinstance(frame, pa.Table) else pa.table(frame)
        _check_unique(table.column_names, self.name)
        if TIME_COLUMN not in table.column_names:
            raise frame_error(self.name, f"needs a `{TIME_COLUMN}` column of UTC timestamps", column=TIME_COLUMN)
        self.time_ns = _arrow_times(table.column(TIME_COLUMN), self.name)
        self._columns = {name: table.column(name).to_numpy() for name in table.column_names if name != TIME_COLUMN}


def _pandas_times(values: Any, frame: str, where: str) -> np.ndarray:
    import pandas as pd

    if not isinstance(values, pd.DatetimeIndex) and (
        isinstance(values.dtype, pd.DatetimeTZDtype) or values.dtype.kind == "M"
    ):
        values = pd.DatetimeIndex(values)
    if isinstance(values, pd.DatetimeIndex):
        if values.tz is None:
            raise frame_error(
                frame,
                f"{where} has naive timestamps; localize them (e.g. `.tz_localize('UTC')`): "
                "the engine never guesses a time zone",
                column=TIME_COLUMN,
            )
        return _readonly(np.ascontiguousarray(values.tz_convert("UTC").as_unit("ns").asi8))
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return _plain_ns(_readonly(np.ascontiguousarray(array, dtype=np.int64)), frame, where)
    raise frame_error(frame, f"{where} must hold UTC timestamps or int64 ns, not {array.dtype}", column=TIME_COLUMN)


def _arrow_times(column: Any, frame: str) -> np.ndarray:
    import pyarrow as pa

    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            raise frame_error(
                frame,
                f"column `{TIME_COLUMN}` has naive timestamps ({kind}); give them a time zone: the engine never "
                "guesses one",
                column=TIME_COLUMN,
            )
        column = column.cast(pa.timestamp("ns", tz="UTC"))
    elif not pa.types.is_integer(kind):
        raise frame_error(
            frame, f"column `{TIME_COLUMN}` must hold UTC timestamps or int64 ns, not {kind}", column=TIME_COLUMN
        )
    if column.null_count:
        raise frame_error(
            frame, f"column `{TIME_COLUMN}` has {column.null_count} missing timestamps", column=TIME_COLUMN
        )
    times = _readonly(np.ascontiguousarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64))
    return times if pa.types.is_timestamp(kind) else _plain_ns(times, frame, f"column `{TIME_COLUMN}`")


#: How to convert plain integers of a guessed unit (pandas' `unit=` names).
_UNIT_ARGS = {"seconds": "s", "milliseconds": "ms", "microseconds": "us"}


def _plain_ns(times: np.ndarray, frame: str, where: str) -> np.ndarray:
    """Plain integers are nanoseconds since the epoch, held to the range the engine holds
    files to: seconds, milliseconds or microseconds (pandas' default unit since 3.0) would
    otherwise put every bar in 1970."""
    from omega_v2 import _core

    low, high = _core.PLAUSIBLE_NS
    bad = np.flatnonzero((times < low) | (times > high))
    if not bad.size:
        return times
    row, value = int(bad[0]), int(times[bad[0]])
    unit = _core.implausible_ns_unit(value) or "an out-of-range value"
    fix = (
        f"convert them, e.g. `pd.to_datetime(values, unit='{_UNIT_ARGS[unit]}', utc=True)`"
        if unit in _UNIT_ARGS
        else "give timestamps or nanoseconds since the epoch"
    )
    raise frame_error(
        frame,
        f"{where} holds plain integers, read as nanoseconds since the epoch (years 1973-2099), and row {row}'s "
        f"{value} looks like {unit}; {fix}",
        column=TIME_COLUMN,
    )


def _check_unique(names: list[str], frame: str) -> None:
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise frame_error(
            frame,
            f"has more than one column named {', '.join(f'`{n}`' for n in repeated)}; every column needs its own name",
            column=repeated[0],
        )


def _is_pandas(frame: Any) -> bool:
    return type(frame).__module__.startswith("pandas") and hasattr(frame, "columns")


def _is_arrow(frame: Any) -> bool:
    return type(frame).__module__.startswith("pyarrow")


def _readonly(array: np.ndarray) -> np.ndarray:
    """A read-only view (the caller's own array keeps its flags)."""
    view = array.view()
    view.flags.writeable = False
    return view


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(str(n)[:64] for n in names[:_LISTED])
    return shown + (f" and {len(names) - _LISTED} more" if len(names) > _LISTED else "")
