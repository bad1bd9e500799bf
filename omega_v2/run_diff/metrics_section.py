"""Metrics side by side (metrics.json): A, B, the delta B - A and the change relative to A.

Metrics are rounded when written (money 2 decimals, ratios 6), so the delta is rounded to
the finer precision of the two values: `-26.37 -> -26.4` gives `-0.03`, not float noise.
Non-numbers (`"n/a"` with too few samples) have no delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omega_v2.run_diff.text import decimals, number, table
from omega_v2.run_diff.values import ABSENT, is_number, same


@dataclass(frozen=True)
class MetricRow:
    name: str
    a: Any  # ABSENT when the run has no such metric
    b: Any

    @property
    def differs(self) -> bool:
        return not same(self.a, self.b)

    @property
    def places(self) -> int:
        return max(decimals(self.a), decimals(self.b))

    @property
    def delta(self) -> int | float | None:
        if not (is_number(self.a) and is_number(self.b)):
            return None
        diff = self.b - self.a
        return diff if isinstance(diff, int) else round(diff, self.places)

    @property
    def rel_change(self) -> float | None:
        """(B - A) / |A|; None when A is 0 or either value is not a number."""
        delta = self.delta
        return None if delta is None or self.a == 0 else delta / abs(self.a)

    def cells(self) -> tuple[str, str, str, str, str]:
        delta, rel = self.delta, self.rel_change
        shown_delta = "n/a" if delta is None else ("+" if delta > 0 else "") + number(delta, self.places)
        shown_rel = "n/a" if rel is None else f"{rel:+.2%}"
        return (self.name, _text(self.a, self.places), _text(self.b, self.places), shown_delta, shown_rel)

    def to_dict(self) -> dict[str, Any]:
        rel = self.rel_change
        return {
            "name": self.name,
            "a": None if self.a is ABSENT else self.a,
            "b": None if self.b is ABSENT else self.b,
            "delta": self.delta,
            "rel_change": None if rel is None else round(rel, 6),
            "differs": self.differs,
        }


@dataclass(frozen=True)
class MetricsSection:
    label: ClassVar[str] = "metrics"
    rows: tuple[MetricRow, ...]

    @property
    def differing(self) -> tuple[MetricRow, ...]:
        return tuple(r for r in self.rows if r.differs)

    @property
    def identical(self) -> bool:
        return not self.differing

    def summary(self) -> str:
        total = len(self.rows)
        return f"identical ({total} metrics)" if self.identical else f"{len(self.differing)} of {total} differ"

    def details(self, *, all_metrics: bool = False) -> list[str]:
        rows = self.rows if all_metrics else self.differing
        if not rows:
            return []
        return table([("metric", "A", "B", "B-A", "rel"), *(r.cells() for r in rows)], (False, True, True, True, True))

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "differing_count": len(self.differing),
            "metrics": [r.to_dict() for r in self.rows],
        }


def compare(a: dict[str, Any], b: dict[str, Any]) -> MetricsSection:
    names = [*a, *(k for k in b if k not in a)]
    return MetricsSection(tuple(MetricRow(n, a.get(n, ABSENT), b.get(n, ABSENT)) for n in names))


def _text(v: Any, places: int) -> str:
    if v is ABSENT:
        return "(absent)"
    return number(v, places) if is_number(v) else str(v)
