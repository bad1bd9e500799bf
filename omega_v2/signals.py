"""A signals frame (vectorised entries and exits, like vectorbt's `from_signals`) as the arrays
the engine's `signals` strategy reads.

Boolean columns `enter_long`, `enter_short`, `exit_long`, `exit_short` (a missing one is all
False); optional float columns `stop_loss`, `take_profit` (absolute levels, NaN = none) and
`size_lots` (NaN = the default sizing). Any other numeric column is recorded, at each entry, in
the trade's `meta.signal` (like a built-in strategy's indicator values). The frame is aligned to
the market's bars by timestamp in the engine (see `docs/strategies.md`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from omega_v2.config.suggest import TYPO_CUTOFF, closest
from omega_v2.frames import Columns, frame_error

FLAGS = ("enter_long", "enter_short", "exit_long", "exit_short")
LEVELS = ("stop_loss", "take_profit", "size_lots")


class Signals:
    """The columns of a signals frame, validated for names and dtypes (rows are the engine's)."""

    def __init__(self, frame: Any) -> None:
        columns = Columns(frame, "signals frame")
        self.time_ns = columns.time_ns
        self.flags = {name: columns.flags(name) for name in FLAGS if columns.has(name)}
        self.levels = {name: columns.floats(name) for name in LEVELS if columns.has(name)}
        known = (*FLAGS, *LEVELS)
        extra = [c for c in columns.names if c not in known]
        for name in extra:
            if closest(name, known, TYPO_CUTOFF):
                raise frame_error(
                    "signals frame",
                    f"column `{name}` looks like a misspelling of `{closest(name, known, TYPO_CUTOFF)}`",
                    column=name,
                )
        self.snapshot = {name: columns.floats(name) for name in extra}
        if not self.flags:
            raise frame_error("signals frame", f"has none of the signal columns {', '.join(FLAGS)}")
        size = self.levels.get("size_lots")
        if size is not None and np.any(size[~np.isnan(size)] <= 0):
            raise frame_error(
                "signals frame", "column `size_lots` must be > 0 where set (NaN = default)", column="size_lots"
            )

    def __len__(self) -> int:
        return len(self.time_ns)
