"""`python -m omega_v2 diff RUN_A RUN_B`: why two runs differ, answered from what they left
in their run directories.

Sections: config (field by field from config.json, else hash and allowlisted fields),
data manifest, engine and git, engine counters, metrics with deltas, the first divergent
trade, and where the equity curves part. Config values beyond the allowlisted fields are
shown only on request (`--show-values`), the seed never.

API: ``diff_runs(run_a, run_b, *, var_dir=None, show_values=False) -> RunDiff`` with
``.identical``, ``.to_dict()`` and ``.render()``.
"""

from omega_v2.run_diff.artefacts import UnreadableRunError
from omega_v2.run_diff.command import add_parser, main
from omega_v2.run_diff.report import RunDiff, diff_runs

__all__ = ["RunDiff", "UnreadableRunError", "add_parser", "diff_runs", "main"]
