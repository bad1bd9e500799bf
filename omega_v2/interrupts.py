"""Ctrl-C (SIGINT) and SIGTERM during a run or a sweep: both cancel it the same way (see
`docs/crash-safety.md` and `docs/sweeps.md`).

For the run's duration, on the main thread, a handler replaces Python's default one for each
signal (only when the default is installed: a caller's own handler is left alone). The handler
never raises: it cancels the run's token, which the engine polls, so the run stops at its next
check, flushes its logs, removes its staging directory and raises `RunCancelled`. A second
signal while that cleanup runs is absorbed instead of interrupting it halfway.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any, Self

from omega_v2.errors import Code, OmegaError, RunCancelled

#: The signals that cancel a run, each with the handler Python installs by default.
_DEFAULTS: dict[signal.Signals, Any] = {
    signal.SIGINT: signal.default_int_handler,
    signal.SIGTERM: signal.SIG_DFL,
}


class _OnSignals:
    """Replaces the default handlers of SIGINT and SIGTERM with `_handle` for the block;
    `received` is the first signal that arrived (or None)."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> Self:
        # CPython runs signal handlers only on the main thread; elsewhere runs use the token.
        if threading.current_thread() is threading.main_thread():
            for signum, default in _DEFAULTS.items():
                if signal.getsignal(signum) in (default, _COMMAND.on_signal):
                    self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        first = self.received is None
        if first:
            self.received = signal.Signals(signum)
        self._handle(first)

    def _handle(self, first: bool) -> None:
        raise NotImplementedError

    def cancelled(self, what: str, outcome: str, *, run_id: str | None, context: dict[str, Any]) -> RunCancelled:
        """`cancelled_by` with the signal this block received."""
        return cancelled_by(self.received, what, outcome, run_id=run_id, context=context)


def cancelled_by(
    received: signal.Signals | None, what: str, outcome: str = "", *, run_id: str | None = None, context: dict[str, Any]
) -> RunCancelled:
    """A `RunCancelled`: `<what> cancelled by <the signal>; <outcome>` (without the signal when
    none was received, e.g. a caller's own handler raised KeyboardInterrupt), the signal's name
    in its context."""
    how = None if received is None else "Ctrl-C (SIGINT)" if received == signal.SIGINT else received.name
    message = " ".join(part for part in (what, "cancelled", how and f"by {how}") if part)
    return RunCancelled(
        f"{message}; {outcome}" if outcome else message,
        run_id=run_id,
        code=Code.RUN_CANCELLED,
        context={**context, **({"signal": received.name} if received else {})},
    )


class CancelOnSignals(_OnSignals):
    """`with CancelOnSignals(token) as signals:` turns SIGINT and SIGTERM into `token.cancel()`
    for the block."""

    def __init__(self, token: Any) -> None:
        super().__init__()
        self.token = token

    def _handle(self, first: bool) -> None:
        self.token.cancel()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if _COMMAND.on_signal in self._previous.values():
            _COMMAND.settle(self.received)
        super().__exit__(*exc)

    def explain(self, error: OmegaError) -> OmegaError:
        """`error`, or for a run this block cancelled, a `RunCancelled` naming the signal."""
        if self.received is None or not isinstance(error, RunCancelled):
            return error
        outcome = "no run directory was written, and its logs say how far it got"
        return self.cancelled("run", outcome, run_id=error.run_id, context=error.context)


class StopOnSignals(_OnSignals):
    """`with StopOnSignals() as signals:` for a block that waits on other processes (a sweep on
    its workers): the first SIGINT or SIGTERM raises KeyboardInterrupt in the main thread, to
    leave the wait; later ones are absorbed while the block stops the others."""

    def _handle(self, first: bool) -> None:
        if first:
            raise KeyboardInterrupt


class CommandSignals:
    """The command line's handler of SIGINT and SIGTERM for its whole process, so that no signal
    ends a command with a traceback or without a word:

    * while the command starts (imports, arguments), a signal is kept and the command reports
      it instead of starting (`work`);
    * while it works, a signal raises KeyboardInterrupt, which the command reports as its
      cancellation (a run or sweep puts its own handler in place for its duration);
    * once a run it made is over, a signal is kept and ignored: the command reports the run's
      result (a committed run is complete) or its failure.
    """

    STARTING, WORKING, SETTLED = "starting", "working", "settled"

    def __init__(self) -> None:
        self.state = self.STARTING
        self.received: signal.Signals | None = None

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in _DEFAULTS:
                signal.signal(signum, self.on_signal)

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.received = self.received or signal.Signals(signum)
        if self.state == self.WORKING:
            raise KeyboardInterrupt

    def work(self) -> None:
        """The command starts its work, unless a signal came first."""
        self.state = self.WORKING
        if self.received is not None:
            raise KeyboardInterrupt

    def settle(self, received: signal.Signals | None) -> None:
        """The command's run is over (committed or failed): what is left is its report. A signal
        the run received too late to cancel it is still told."""
        self.state = self.SETTLED
        self.received = self.received or received

    def cancelled(self, interrupt: KeyboardInterrupt) -> BaseException:
        """What to report for a KeyboardInterrupt that ended the command: a `RunCancelled`
        naming the signal when it was one of ours."""
        if isinstance(interrupt, RunCancelled) or self.received is None:
            return interrupt
        return cancelled_by(self.received, "", context={})


#: The command line's handler (installed only by the command line's entry points).
_COMMAND = CommandSignals()


def for_command() -> None:
    """Installs the command line's handler (see `CommandSignals`)."""
    _COMMAND.install()


def command() -> CommandSignals:
    return _COMMAND


def exit_code(error: BaseException) -> int:
    """The command-line exit code of a failure: 128 + the signal number for a run cancelled by
    a signal (130 Ctrl-C, 143 SIGTERM), else the error class's code (130 for a plain
    KeyboardInterrupt)."""
    name = getattr(error, "context", {}).get("signal") if isinstance(error, RunCancelled) else None
    if name in signal.Signals.__members__:
        return 128 + signal.Signals[name].value
    if isinstance(error, OmegaError):
        return error.exit_code
    return RunCancelled.exit_code


def ignore_further() -> None:
    """For a process that is about to exit after a failure: later SIGINT/SIGTERM cannot
    interrupt the report of the first one."""
    if threading.current_thread() is threading.main_thread():
        for signum in _DEFAULTS:
            signal.signal(signum, signal.SIG_IGN)
