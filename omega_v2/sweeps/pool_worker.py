"""A worker of the local process pool that a sweep owns: what it holds, how it stops.

The sweep's process alone decides when its points stop (see `docs/sweeps.md`): a worker ignores
Ctrl-C (the terminal sends it to every process of the group) and is sent SIGTERM by the sweep,
which cancels its run like any run's SIGTERM; the tasks already queued for it then end without
starting. A worker whose sweep process died without that (SIGKILL, the OOM killer) sees its
parent change, cancels its run the same way and exits, so no worker outlives its sweep.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

from omega_v2.sweeps.tasks import Inputs, Task, cancelled, not_started, run_task

#: After a stop, how long running points get to end before their workers are killed.
STOP_GRACE_S = 10.0
#: How often a worker looks whether its sweep process is still there.
PARENT_POLL_S = 0.25

#: The inputs this worker received at its start.
_inputs = Inputs()
#: Set while no task runs, so a worker whose parent died exits as soon as its run is cancelled.
_idle = threading.Event()
#: Set once a run of this worker was cancelled: the sweep is stopping, and the tasks already
#: queued for this worker (the pool hands them over ahead) must not start.
_stopping = threading.Event()


def start(inputs: Inputs) -> None:
    """The pool's initializer: keeps the sweep's inputs for every task of this worker, resets
    the signal handlers a forked worker inherits from the sweep, watches the parent, and
    imports the runner now rather than inside the first run's timing."""
    global _inputs
    _inputs = inputs
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # each run turns it into its cancellation
    _idle.set()
    watch = threading.Thread(target=_stop_with_parent, args=(os.getppid(),), name="omega_v2-parent", daemon=True)
    watch.start()
    import omega_v2.runner  # noqa: F401


def run(task: Task) -> dict[str, Any]:
    """`run_task` with the inputs this worker got at its start."""
    if _stopping.is_set():
        return not_started(task)
    _idle.clear()
    try:
        outcome = run_task(task, _inputs)
        if cancelled(outcome):
            _stopping.set()
        return outcome
    finally:
        _idle.set()


def _stop_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    _stopping.set()
    # Idle, the default handler ends the worker here; in a run, the run is cancelled cleanly.
    os.kill(os.getpid(), signal.SIGTERM)
    _idle.wait(STOP_GRACE_S)
    os._exit(128 + signal.SIGTERM)
