"""Engine counters of each run (meta.json `counters`): signals, fills, rejections and
blocks, which often say why trades differ before the trades do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omega_v2.run_diff.text import number, table
from omega_v2.run_diff.values import ABSENT, changes, is_number


@dataclass(frozen=True)
class CountersSection:
    label: ClassVar[str] = "counters"
    total: int
    differing: tuple[tuple[str, Any, Any], ...]  # (counter, A, B)

    @property
    def identical(self) -> bool:
        return not self.differing

    def summary(self) -> str:
        return (
            f"identical ({self.total} counters)" if self.identical else f"{len(self.differing)} of {self.total} differ"
        )

    def details(self) -> list[str]:
        rows = [(name, _text(x), _text(y), _delta(x, y)) for name, x, y in self.differing]
        return table(rows, (False, True, True, True)) if rows else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "differing": [
                {"name": n, "a": None if x is ABSENT else x, "b": None if y is ABSENT else y}
                for n, x, y in self.differing
            ],
        }


def compare(meta_a: dict[str, Any], meta_b: dict[str, Any]) -> CountersSection:
    a, b = meta_a.get("counters") or {}, meta_b.get("counters") or {}
    return CountersSection(total=len({*a, *b}), differing=tuple(changes(a, b)))


def _text(v: Any) -> str:
    return "(absent)" if v is ABSENT else number(v, 0)


def _delta(a: Any, b: Any) -> str:
    return f"{b - a:+,}" if is_number(a) and is_number(b) else ""
