"""Pure arithmetic of the report: the median sample, ratios, throughput, importtime parsing."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

MB = 2**20


def median(values: Sequence[float]) -> float:
    """The median of a non-empty sequence (mean of the two middle values for an even count)."""
    if not values:
        raise ValueError("median of no values")
    return statistics.median(values)


def median_sample(samples: Sequence[T], key: Callable[[T], float]) -> T:
    """The sample whose key is the median, so that every figure reported from it belongs to one
    real run (phases add up, RSS and trades match the wall time). For an even count, the lower of
    the two middle samples."""
    if not samples:
        raise ValueError("median of no samples")
    ordered = sorted(samples, key=key)
    return ordered[(len(ordered) - 1) // 2]


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def per_second(amount: float, seconds: float) -> float | None:
    """Throughput (bars/s, MB/s); None for a zero duration."""
    return ratio(amount, seconds)


def mb(nbytes: int) -> float:
    """Bytes in MB of 2**20 bytes."""
    return nbytes / MB


def rounded(value: Any, digits: int = 6) -> Any:
    """Floats rounded (recursively in dicts and lists) so the report stays readable."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


class ImportRecord(NamedTuple):
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def parse_importtime(stderr: str) -> list[ImportRecord]:
    """Records of `python -X importtime` output (`import time: self | cumulative | name`, nesting
    shown by two spaces of indentation per level before the name); other lines are ignored."""
    records = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name = parts[2].rstrip()
        stripped = name.lstrip(" ")
        # One space follows the bar; each nesting level adds two more.
        depth = (len(name) - len(stripped) - 1) // 2
        records.append(ImportRecord(stripped, int(parts[0]), int(parts[1]), depth))
    return records
