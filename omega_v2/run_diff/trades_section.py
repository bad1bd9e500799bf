"""The first trade where two runs part (trades.json, sorted by exit time): its index and
both versions with the differing fields marked. When one list is a prefix of the other,
the first trade only the longer run has is shown against nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omega_v2.run_diff.text import table, value
from omega_v2.run_diff.values import ABSENT, changes, flatten, same


@dataclass(frozen=True)
class TradesSection:
    label = "trades"
    count_a: int
    count_b: int
    index: int | None  # first index where the lists differ, None when identical
    trade_a: dict[str, Any] | None  # the trades at `index` (None past the end of a list)
    trade_b: dict[str, Any] | None

    @property
    def identical(self) -> bool:
        return self.index is None

    @property
    def differing_fields(self) -> list[str]:
        """Dotted fields (`meta.signal.z`) that differ between the two trades at `index`."""
        if self.trade_a is None or self.trade_b is None:
            return []
        return [name for name, _, _ in changes(flatten(self.trade_a), flatten(self.trade_b))]

    def summary(self) -> str:
        counts = f"A has {self.count_a:,} trades, B has {self.count_b:,}"
        if self.index is None:
            return f"identical ({self.count_a:,} trades)"
        if self.trade_a is None or self.trade_b is None:
            return f"{counts}; first {self.index:,} identical"
        return f"first divergence at index {self.index:,} ({counts}; first {self.index:,} identical)"

    def details(self) -> list[str]:
        if self.index is None:
            return []
        flat_a, flat_b = flatten(self.trade_a or {}), flatten(self.trade_b or {})
        marked = set(self.differing_fields)
        rows = [("", "field", f"A[{self.index}]", f"B[{self.index}]")]
        for name in [*flat_a, *(k for k in flat_b if k not in flat_a)]:
            x, y = flat_a.get(name, ABSENT), flat_b.get(name, ABSENT)
            rows.append(("*" if name in marked else "", name, _text(x, self.trade_a), _text(y, self.trade_b)))
        return table(rows, (False, False, False, False))

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "count": {"a": self.count_a, "b": self.count_b},
            "first_divergence": None
            if self.index is None
            else {"index": self.index, "a": self.trade_a, "b": self.trade_b, "fields": self.differing_fields},
        }


def compare(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> TradesSection:
    index = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if not same(x, y)), None)
    if index is None and len(a) != len(b):
        index = min(len(a), len(b))
    return TradesSection(len(a), len(b), index, _at(a, index), _at(b, index))


def _at(trades: list[dict[str, Any]], index: int | None) -> dict[str, Any] | None:
    return trades[index] if index is not None and index < len(trades) else None


def _text(v: Any, trade: dict[str, Any] | None) -> str:
    if trade is None:
        return "(no trade)"
    return "(absent)" if v is ABSENT else value(v)
