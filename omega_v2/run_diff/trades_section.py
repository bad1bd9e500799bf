"""The first trade where two runs part (trades.json, sorted by exit time): its index and
both versions with the differing fields marked. When one list is a prefix of the other,
the first trade only the longer run has is shown against nothing."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from omega_v2.run_diff.artefacts import UnreadableRunError
from omega_v2.run_diff.text import table, value
from omega_v2.run_diff.values import ABSENT, changes, flatten, same


@dataclass(frozen=True)
class TradesSection:
    label: ClassVar[str] = "trades"
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


def compare(path_a: Path, path_b: Path) -> TradesSection:
    """Streams both files side by side: memory stays flat however many trades they hold."""
    count_a = count_b = 0
    index = trade_a = trade_b = None
    pairs = itertools.zip_longest(_trades(path_a), _trades(path_b), fillvalue=_END)
    for i, (x, y) in enumerate(pairs):
        count_a += x is not _END
        count_b += y is not _END
        if index is None and (x is _END or y is _END or not _same_trade(x, y)):
            index, trade_a, trade_b = i, _parsed(x), _parsed(y)
    return TradesSection(count_a, count_b, index, trade_a, trade_b)


@dataclass(frozen=True)
class _Trade:
    """One trade as written: its JSON text, parsed only when it has to be."""

    path: Path
    line: int
    text: bytes

    def parse(self) -> dict[str, Any]:
        try:
            trade = json.loads(self.text)
        except (UnicodeDecodeError, json.JSONDecodeError):
            trade = None
        if not isinstance(trade, dict):
            raise UnreadableRunError(f"{self.path} line {self.line}: expected one trade object per line")
        return trade


_END: Any = object()  # past the last trade of the shorter list


def _trades(path: Path) -> Iterator[_Trade | dict[str, Any]]:
    """The trades of trades.json in order. The engine writes `[`, one object per line, `]`;
    those lines are yielded unparsed. Any other layout is parsed whole."""
    try:
        with path.open("rb") as f:
            first, second = f.readline(), f.readline()
            head = second.strip().removesuffix(b",")
            if not (first.strip() == b"[" and head.startswith(b"{") and head.endswith(b"}")):
                f.seek(0)
                yield from _whole(path, f.read())
                return
            for line, raw in enumerate(itertools.chain([second], f), start=2):
                text = raw.strip()
                if text == b"]":
                    return
                yield _Trade(path, line, text.removesuffix(b","))
    except OSError as e:
        raise UnreadableRunError(f"cannot read {path}: {e.strerror or type(e).__name__}") from None
    raise UnreadableRunError(f"{path} ends before the closing `]`")


def _whole(path: Path, data: bytes) -> list[dict[str, Any]]:
    try:
        trades = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        trades = None
    if not isinstance(trades, list) or not all(isinstance(t, dict) for t in trades):
        raise UnreadableRunError(f"{path} must hold a JSON array of trade objects")
    return trades


def _same_trade(x: _Trade | dict[str, Any], y: _Trade | dict[str, Any]) -> bool:
    # Equal text is an equal trade; different text may still be the same values.
    if isinstance(x, _Trade) and isinstance(y, _Trade) and x.text == y.text:
        return True
    return same(_parsed(x), _parsed(y))


def _parsed(item: Any) -> dict[str, Any] | None:
    if item is _END:
        return None
    return item.parse() if isinstance(item, _Trade) else item


def _text(v: Any, trade: dict[str, Any] | None) -> str:
    if trade is None:
        return "(no trade)"
    return "(absent)" if v is ABSENT else value(v)
