"""Parameter sweeps and walk-forward analysis: many runs of one base config, on a local process
pool or a Dask cluster, resumable, with each run's artefacts and logs brought home
(see `docs/sweeps.md`).

* `grid`: expanding a grid over a base config; `identity`: keys of points and sweeps;
* `tasks`: one point's run on a worker; `executors`: where tasks run, inputs shipped once;
* `transfer`: a run's files from a worker into a var dir or an fsspec store, atomically;
* `store`: the store of finished points; `summary`: the ranked summary;
* `orchestrate`: the sweep call (reuse, run, record); `walkforward`: train/test windows on it.
"""

from omega_v2.sweeps.grid import expand_grid
from omega_v2.sweeps.orchestrate import sweep
from omega_v2.sweeps.summary import SweepResult
from omega_v2.sweeps.walkforward import WalkForwardResult, walk_forward

__all__ = ["SweepResult", "WalkForwardResult", "expand_grid", "sweep", "walk_forward"]
