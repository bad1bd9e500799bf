"""Where the equity curves part (equity.csv): the first timestamp whose `equity` differs,
with both values, and the largest absolute difference.

A run writes one row per bar (`outputs.equity = "bar"`), one per UTC day (`"daily"`) or no
file (`"none"`). The granularity comes from config.json when the run has one, else it is
inferred (as many rows as bars: per bar; one row per date: daily). Curves of the same
granularity are compared row by row, a timestamp only one curve has being a difference;
curves of different granularity only on the timestamps both hold.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from omega_v2.run_diff.artefacts import RunArtefacts, UnreadableRunError
from omega_v2.run_diff.values import same

COLUMNS = ("timestamp", "timestamp_ns", "equity", "balance", "drawdown", "high_water")
MODE_TEXT = {"bar": "per bar", "daily": "daily", "none": "no equity.csv", "unknown": "unrecognised granularity"}

# timestamp_ns -> (timestamp, equity, the row's other columns as written)
Curve = dict[int, tuple[str, float, tuple[str, ...]]]


@dataclass(frozen=True)
class Granularity:
    mode: str  # "bar", "daily", "none" or "unknown"
    source: str  # "config.json" or "inferred"
    rows: int

    def text(self) -> str:
        how = "" if self.source == "config.json" else ", inferred"
        rows = "" if self.mode == "none" else f", {self.rows:,} rows"
        return f"{MODE_TEXT[self.mode]}{rows}{how}"

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "source": self.source, "rows": self.rows}


@dataclass(frozen=True)
class Point:
    timestamp: str
    timestamp_ns: int
    a: float | None  # None: that curve has no row at this timestamp
    b: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "timestamp_ns": self.timestamp_ns, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class EquitySection:
    label = "equity"
    a: Granularity
    b: Granularity
    byte_identical: bool
    compared_rows: int  # timestamps both curves hold
    first_divergence: Point | None
    max_abs_diff: float | None
    max_abs_diff_at: Point | None
    other_column: str | None  # first other column that differs while equity never does

    @property
    def identical(self) -> bool:
        return self.byte_identical

    def summary(self) -> str:
        grid = self.a.text() if self.a == self.b else f"A {self.a.text()}; B {self.b.text()}"
        if self.identical:
            return f"identical ({grid})" if self.a.mode != "none" else f"none in either run ({grid})"
        if self.a.mode == "none" or self.b.mode == "none":
            return f"not comparable: {grid}"
        if self.first_divergence is None:
            what = f"the {self.other_column} column differs" if self.other_column else "the files differ in form only"
            return f"equity identical on {self.compared_rows:,} common rows; {what} ({grid})"
        return f"curves part at {self.first_divergence.timestamp} ({grid})"

    def details(self) -> list[str]:
        lines = []
        if self.a.mode != self.b.mode and "none" not in (self.a.mode, self.b.mode):
            lines.append(f"  granularities differ: compared on the {self.compared_rows:,} timestamps both curves hold")
        if self.first_divergence is not None:
            p = self.first_divergence
            lines.append(f"  first difference {p.timestamp}: A {_value(p.a)}, B {_value(p.b)}")
        if self.max_abs_diff_at is not None:
            p = self.max_abs_diff_at
            lines.append(f"  max |B-A| {self.max_abs_diff:.6g} at {p.timestamp}: A {_value(p.a)}, B {_value(p.b)}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "compared_rows": self.compared_rows,
            "first_divergence": self.first_divergence and self.first_divergence.to_dict(),
            "max_abs_diff": self.max_abs_diff,
            "max_abs_diff_at": self.max_abs_diff_at and self.max_abs_diff_at.to_dict(),
            "other_column": self.other_column,
        }


def compare(a: RunArtefacts, b: RunArtefacts) -> EquitySection:
    curve_a, curve_b = _curve(a), _curve(b)
    grid_a, grid_b = _granularity(a, curve_a), _granularity(b, curve_b)
    if a.equity_csv == b.equity_csv or curve_a is None or curve_b is None:
        return EquitySection(grid_a, grid_b, a.equity_csv == b.equity_csv, 0, None, None, None, None)
    common = sorted(curve_a.keys() & curve_b.keys())
    # On one grid a row only one curve has is where they part; across grids it is expected.
    walk = sorted(curve_a.keys() | curve_b.keys()) if grid_a.mode == grid_b.mode else common
    first = next((_point(ns, curve_a, curve_b) for ns in walk if _equity_differs(ns, curve_a, curve_b)), None)
    widest = max(common, key=lambda ns: abs(curve_b[ns][1] - curve_a[ns][1]), default=None)
    max_diff = None if widest is None else abs(curve_b[widest][1] - curve_a[widest][1])
    other = None
    if first is None:
        other = next((_other_column(curve_a[ns], curve_b[ns]) for ns in common if curve_a[ns] != curve_b[ns]), None)
    at_max = None if widest is None or max_diff == 0 else _point(widest, curve_a, curve_b)
    return EquitySection(grid_a, grid_b, False, len(common), first, max_diff, at_max, other)


def _curve(run: RunArtefacts) -> Curve | None:
    """The parsed equity.csv, or None when the run wrote none."""
    if run.equity_csv is None:
        return None
    path = run.run_dir / "equity.csv"
    try:
        reader = csv.reader(io.StringIO(run.equity_csv.decode("utf-8")))
        header = next(reader, [])
        if tuple(header[: len(COLUMNS)]) != COLUMNS:
            raise UnreadableRunError(f"{path}: header must start with {','.join(COLUMNS)}")
        curve: Curve = {}
        for line, row in enumerate(reader, start=2):
            try:
                curve[int(row[1])] = (row[0], float(row[2]), tuple(row[3:]))
            except (IndexError, ValueError):
                raise UnreadableRunError(f"{path} row {line}: expected {len(COLUMNS)} columns with numbers") from None
        return curve
    except UnicodeDecodeError:
        raise UnreadableRunError(f"{path} is not UTF-8 text") from None


def _granularity(run: RunArtefacts, curve: Curve | None) -> Granularity:
    rows = 0 if curve is None else len(curve)
    configured = ((run.config or {}).get("outputs") or {}).get("equity")
    if configured in MODE_TEXT:
        return Granularity(configured, "config.json", rows)
    if curve is None:
        return Granularity("none", "inferred", 0)
    if rows == (run.meta.get("dataset") or {}).get("bars"):
        return Granularity("bar", "inferred", rows)
    dates = {timestamp[:10] for timestamp, _, _ in curve.values()}
    return Granularity("daily" if len(dates) == rows else "unknown", "inferred", rows)


def _equity_differs(ns: int, a: Curve, b: Curve) -> bool:
    return ns not in a or ns not in b or not same(a[ns][1], b[ns][1])


def _point(ns: int, a: Curve, b: Curve) -> Point:
    timestamp = (a.get(ns) or b[ns])[0]
    return Point(timestamp, ns, a[ns][1] if ns in a else None, b[ns][1] if ns in b else None)


def _other_column(row_a: tuple[str, float, tuple[str, ...]], row_b: tuple[str, float, tuple[str, ...]]) -> str:
    for name, x, y in zip(COLUMNS[3:], row_a[2], row_b[2], strict=False):
        if x != y:
            return name
    return "timestamp"


def _value(v: float | None) -> str:
    return "(no row)" if v is None else repr(v)
