"""Where the equity curves part (equity.csv): the first timestamp whose `equity` differs,
with both values, and the largest absolute difference.

A run writes one row per bar (`outputs.equity = "bar"`), one per UTC day (`"daily"`) or no
file (`"none"`). The granularity comes from config.json when the run has one, else it is
inferred (as many rows as bars: per bar; one row per date: daily). Curves of the same
granularity are compared row by row, a timestamp only one curve has being a difference.
A daily row is the last bar of its day, with that bar's timestamp, so curves of different
granularity are compared on the timestamps both hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from omega_v2.run_diff.artefacts import RunArtefacts, UnreadableRunError

COLUMNS = ("timestamp", "timestamp_ns", "equity", "balance", "drawdown", "high_water")
MODE_TEXT = {"bar": "per bar", "daily": "daily", "none": "no equity.csv", "unknown": "unrecognised granularity"}


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
    label: ClassVar[str] = "equity"
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
            lines.append(f"  max |B-A| {_amount(self.max_abs_diff)} at {p.timestamp}: A {_value(p.a)}, B {_value(p.b)}")
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


def compare(a: RunArtefacts, b: RunArtefacts, *, byte_identical: bool) -> EquitySection:
    """`byte_identical` is known from the artefact comparison; then only the rows are counted."""
    grid_a, grid_b = _granularity(a), _granularity(b)
    if byte_identical or a.equity_csv is None or b.equity_csv is None:
        return EquitySection(grid_a, grid_b, byte_identical, 0, None, None, None, None)
    join = _Join(same_grid=grid_a.mode == grid_b.mode)
    join.run(_rows(a.equity_csv), _rows(b.equity_csv))
    other = join.other_column if join.first is None else None
    max_diff = join.max_diff if join.compared else None
    return EquitySection(grid_a, grid_b, False, join.compared, join.first, max_diff, join.at_max, other)


# One equity.csv row: (timestamp_ns, timestamp, equity, the other columns as written).
_Row = tuple[int, str, float, str]


class _Join:
    """Merge join of two curves on `timestamp_ns` (both ascending), in one pass and flat
    memory. On one grid a row only one curve has is where they part; across grids it is
    expected and skipped."""

    def __init__(self, *, same_grid: bool) -> None:
        self.same_grid = same_grid
        self.compared = 0
        self.first: Point | None = None
        self.max_diff = 0.0
        self.at_max: Point | None = None
        self.other_column: str | None = None

    def run(self, rows_a: Iterator[_Row], rows_b: Iterator[_Row]) -> None:
        x, y = next(rows_a, None), next(rows_b, None)
        while x is not None or y is not None:
            if y is None or (x is not None and x[0] < y[0]):
                self._only(Point(x[1], x[0], x[2], None))
                x = next(rows_a, None)
            elif x is None or y[0] < x[0]:
                self._only(Point(y[1], y[0], None, y[2]))
                y = next(rows_b, None)
            else:
                self._both(x, y)
                x, y = next(rows_a, None), next(rows_b, None)

    def _only(self, point: Point) -> None:
        if self.same_grid and self.first is None:
            self.first = point

    def _both(self, x: _Row, y: _Row) -> None:
        self.compared += 1
        diff = abs(y[2] - x[2])
        if diff > self.max_diff:
            self.max_diff, self.at_max = diff, Point(x[1], x[0], x[2], y[2])
        if self.first is None and x[2] != y[2]:
            self.first = Point(x[1], x[0], x[2], y[2])
        if self.other_column is None and (x[1], x[3]) != (y[1], y[3]):
            pairs = zip(COLUMNS[3:], x[3].split(","), y[3].split(","), strict=False)
            self.other_column = next((c for c, u, v in pairs if u != v), "timestamp")


def _rows(path: Path) -> Iterator[_Row]:
    """The rows of an equity.csv, checked: header, numbers, increasing timestamps. The file
    is plain numbers and ISO timestamps (no quoting), so lines are split, not CSV-parsed:
    millions of rows stay a matter of seconds."""
    try:
        with path.open(encoding="utf-8") as f:
            if tuple(f.readline().rstrip("\r\n").split(",")[: len(COLUMNS)]) != COLUMNS:
                raise UnreadableRunError(f"{path}: the header must start with {','.join(COLUMNS)}")
            previous = None
            for line, text in enumerate(f, start=2):
                try:
                    timestamp, ns, equity, rest = text.rstrip("\r\n").split(",", 3)
                    row = (int(ns), timestamp, float(equity), rest)
                except ValueError:
                    raise UnreadableRunError(
                        f"{path} row {line}: expected {len(COLUMNS)} columns with numbers"
                    ) from None
                if previous is not None and row[0] <= previous:
                    raise UnreadableRunError(f"{path} row {line}: timestamp_ns must increase from row to row")
                previous = row[0]
                yield row
    except UnicodeDecodeError:
        raise UnreadableRunError(f"{path} is not UTF-8 text") from None
    except OSError as e:
        raise UnreadableRunError(f"cannot read {path}: {e.strerror or type(e).__name__}") from None


def _granularity(run: RunArtefacts) -> Granularity:
    configured = ((run.config or {}).get("outputs") or {}).get("equity")
    if run.equity_csv is None:  # the file decides: a configured "bar" without equity.csv is still none
        return Granularity("none", "config.json" if configured == "none" else "inferred", 0)
    rows, dates = _count(run.equity_csv)
    if configured in ("bar", "daily"):
        return Granularity(configured, "config.json", rows)
    if rows == (run.meta.get("dataset") or {}).get("bars"):
        return Granularity("bar", "inferred", rows)
    return Granularity("daily" if dates == rows else "unknown", "inferred", rows)


def _count(path: Path) -> tuple[int, int]:
    """Data rows and distinct UTC dates of an equity.csv, from its raw lines (fast)."""
    try:
        with path.open("rb") as f:
            next(f, None)  # header
            rows, dates = 0, set()
            for line in f:
                rows += 1
                dates.add(line[:10])
            return rows, len(dates)
    except OSError as e:
        raise UnreadableRunError(f"cannot read {path}: {e.strerror or type(e).__name__}") from None


def _value(v: float | None) -> str:
    return "(no row)" if v is None else repr(v)


def _amount(v: float) -> str:
    """Money to the cent; a gap below a cent (float noise, rounding) with 3 significant digits."""
    return f"{v:,.2f}" if v >= 0.01 else f"{v:.3g}"
