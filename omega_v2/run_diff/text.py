"""Text helpers shared by the sections: short hashes, numbers, values, aligned tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from omega_v2.run_diff.values import is_number

SHORT_HASH = 12  # hex digits of a sha256 shown in text; JSON keeps the full hash


def short(digest: Any) -> str:
    return digest[:SHORT_HASH] if isinstance(digest, str) else "-"


def decimals(value: Any) -> int:
    """Decimal places of a number as written (`-26.37` -> 2); metrics are rounded on write,
    so this is the precision the run reported."""
    if not isinstance(value, float):
        return 0
    text = repr(value)
    if "e" in text or "E" in text:
        mantissa, exponent = text.lower().split("e")
        return max(0, decimals(float(mantissa)) - int(exponent))
    return len(text.partition(".")[2].rstrip("0"))


def number(value: Any, places: int) -> str:
    """A number with thousands separators and `places` decimals; anything else as text."""
    if not is_number(value):
        return value if isinstance(value, str) else "-"
    return f"{value:,}" if isinstance(value, int) and places == 0 else f"{value:,.{places}f}"


def value(v: Any) -> str:
    """A JSON value for display: strings bare, everything else as JSON (floats in full)."""
    return v if isinstance(v, str) else json.dumps(v)


def table(rows: Sequence[Sequence[str]], right: Sequence[bool], indent: str = "  ") -> list[str]:
    """Rows aligned in columns; `right[i]` right-aligns column i (numbers)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(right))]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(row, widths, right, strict=True)]
        lines.append(indent + "  ".join(cells).rstrip())
    return lines
