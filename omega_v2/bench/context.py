"""The state one bench invocation shares between its sections: options, work directory, the
seeded datasets and the measured omega-v2 runs, each made once on first use. A section that
needs another's runs (peers, loading and write compare against the e2e runs) asks for them here
and gets the same measurement, or triggers it when that section was not selected."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omega_v2.bench import omega_runs, workload
from omega_v2.bench.measure import progress
from omega_v2.bench.stats import median_sample


@dataclass(frozen=True)
class Options:
    days: int | None
    repeat: int
    seed: int
    work: Path


class Bench:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.spans = workload.spans(options.days)
        self.var_dir = options.work / "var"
        self.tag = time.strftime("bench-%Y%m%dT%H%M%S")
        self._datasets: dict[tuple[str, str], workload.Dataset] = {}
        self._runs: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self._shared: dict[str, dict[str, Any]] = {}

    def dataset(self, span_key: str, fmt: str) -> workload.Dataset:
        key = (span_key, fmt)
        if key not in self._datasets:
            span = self.spans[span_key]
            progress(f"generating {span.label} {fmt} data ({span.data_first} .. {span.last}, seed {self.options.seed})")
            root = self.options.work / "data" / f"{span.label}-{fmt}"
            self._datasets[key] = workload.make_dataset(root, span, fmt, self.options.seed)
        return self._datasets[key]

    def datasets(self) -> dict[str, Any]:
        """Every dataset generated so far, for the report."""
        return {f"{self.spans[s].label}-{fmt}": d.describe() for (s, fmt), d in self._datasets.items()}

    def omega(self, strategy: str, span_key: str, fmt: str, mode: str) -> dict[str, Any]:
        """The median (by wall time) of `repeat` fresh runs of one strategy, span, format and mode."""
        key = (strategy, span_key, fmt, mode)
        if key not in self._runs:
            self._runs[key] = self._measure_omega(*key)
        return self._runs[key]

    def _measure_omega(self, strategy: str, span_key: str, fmt: str, mode: str) -> dict[str, Any]:
        span = self.spans[span_key]
        data = self.dataset(span_key, fmt)
        run_mode, profile = workload.MODES[mode]
        config = workload.write_config(
            self.options.work / "configs" / f"{strategy}-{span.label}-{run_mode}.json",
            workload.config(strategy, span, run_mode),
        )
        name = f"{strategy} {span.label} {fmt} {mode}"

        def once(i: int) -> dict[str, Any]:
            run_id = f"{self.tag}-{strategy}-{span.label}-{fmt}-{mode}-{i}"
            return omega_runs.run_once(config, data.root, self.var_dir, run_id, profile)

        best = self.repeated(name, once)
        return {
            "strategy": strategy,
            "strategy_name": workload.STRATEGIES[strategy][0],
            "span": span.label,
            "format": fmt,
            "mode": mode,
            **best,
        }

    def shared(self, key: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """`measure()` made once per bench, for every section that compares with it."""
        if key not in self._shared:
            self._shared[key] = measure()
        return self._shared[key]

    def repeated(self, name: str, once: Callable[[int], dict[str, Any]], key: str = "wall_s") -> dict[str, Any]:
        """Runs `once(i)` `repeat` times; the median sample by `key`, with every sample's `key`
        under `<key>_samples` and the count under `repeats`."""
        samples = []
        for i in range(self.options.repeat):
            sample = once(i)
            progress(f"{name} [{i + 1}/{self.options.repeat}]: {key} {sample[key]:.4f}")
            samples.append(sample)
        best = median_sample(samples, key=lambda s: s[key])
        return {**best, f"{key}_samples": [s[key] for s in samples], "repeats": len(samples)}
