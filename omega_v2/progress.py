"""Progress on stderr: a tqdm bar on a terminal, plain lines elsewhere (never a raw `\\r` in a CI
log), nothing when quiet. Single runs show a bar only once they have taken longer than
`RUN_BAR_DELAY_S`; the engine reports how far it is through a counter polled here."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from typing import Any, TextIO

#: A single run shows a bar only after this long (short runs stay silent).
RUN_BAR_DELAY_S = 1.0
#: How often a bar polls the engine's counter.
POLL_S = 0.1
#: Non-terminal output prints a line at most every this many seconds (and at the end).
PLAIN_EVERY_S = 10.0


def interactive(stream: TextIO | None = None) -> bool:
    """Whether `stream` (stderr by default) is a terminal a bar can redraw."""
    stream = stream or sys.stderr
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class SweepProgress:
    """Counts finished points by status; a bar with an ETA on a terminal, else plain lines."""

    def __init__(self, total: int, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.total = total
        self.counts: Counter[str] = Counter()
        self._stream = stream or sys.stderr
        self._enabled = enabled and total > 0
        self._bar: Any = None
        self._last_line = 0.0
        if self._enabled and interactive(self._stream):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc="sweep", unit="run", file=self._stream, dynamic_ncols=True)

    def update(self, status: str) -> None:
        self.counts[status] += 1
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(self._counts_text(), refresh=False)
            self._bar.update(1)
            return
        done = sum(self.counts.values())
        now = time.monotonic()
        if done == self.total or now - self._last_line >= PLAIN_EVERY_S:
            self._last_line = now
            print(f"sweep: {done}/{self.total} points ({self._counts_text()})", file=self._stream, flush=True)

    def _counts_text(self) -> str:
        return ", ".join(f"{status} {n}" for status, n in sorted(self.counts.items()))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> SweepProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RunProgressBar:
    """Shows a single run's progress (bars done of bars to trade, by phase) from the engine's
    counter, on a terminal only and only once the run takes longer than `RUN_BAR_DELAY_S`."""

    def __init__(self, counter: Any, *, enabled: bool, stream: TextIO | None = None) -> None:
        self._counter = counter
        self._stream = stream or sys.stderr
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if enabled and interactive(self._stream):
            self._thread = threading.Thread(target=self._watch, name="omega_v2-progress", daemon=True)

    def __enter__(self) -> RunProgressBar:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        if self._stop.wait(RUN_BAR_DELAY_S):
            return
        from tqdm import tqdm

        with tqdm(total=0, unit="bar", unit_scale=True, file=self._stream, dynamic_ncols=True, leave=False) as bar:
            while not self._stop.wait(POLL_S):
                bar.set_description_str(self._counter.phase, refresh=False)
                bar.total = self._counter.total or None
                bar.n = self._counter.done
                bar.refresh()
