"""Exception hierarchy of omega-v2 (see `docs/errors.md`).

Every error raised by the package is an :class:`OmegaError` carrying a stable
machine-readable ``code`` (a :class:`Code`, e.g. ``"config.invalid"``), the ``run_id`` when a
run exists, and a ``context`` of string pairs locating the problem (``field``, ``file``,
``row``). The codes come from the engine's one catalogue; each class has the kind of code it
carries and the exit code the CLI returns for it.

The Rust extension instantiates these classes with ``cls(message, run_id=..., code=...,
context=...)``; keep that signature stable.

Messages never contain config values other than the allowlisted fields, so they are safe to
log and to show to users.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from omega_v2 import _core

__all__ = [
    "Code",
    "ConfigError",
    "DataError",
    "ExecutionError",
    "OmegaError",
    "OutputError",
    "RunCancelled",
    "RunNotFound",
    "StrategyError",
]

#: Every error code of omega-v2 (members are strings: ``Code.CONFIG_INVALID == "config.invalid"``).
Code = enum.StrEnum(
    "Code", {code.upper().replace(".", "_"): code for code, _kind, _what in _core.error_catalogue()}, module=__name__
)


class OmegaError(Exception):
    """Base of all omega-v2 errors; its own kind marks internal failures."""

    kind = "internal"
    default_code = Code.INTERNAL
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        run_id: str | None = None,
        code: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = str(message)
        self.run_id = run_id
        self.code = str(code or self.default_code)
        # Stringified so the context is always JSON- and log-friendly, whoever built it.
        self.context: dict[str, str] = {str(k): str(v) for k, v in (context or {}).items()}

    def __str__(self) -> str:
        if self.run_id is None:
            return self.message
        return f"{self.message} (run_id={self.run_id})"

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.message!r}, code={self.code!r}, run_id={self.run_id!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Default exception pickling replays `args` only and would lose the keyword-only
        # attributes; sweeps send errors across processes: rebuild via the constructor.
        return (
            _rebuild,
            (type(self), self.message, self.run_id, self.code, self.context),
        )


def _rebuild(
    cls: type[OmegaError],
    message: str,
    run_id: str | None,
    code: str,
    context: dict[str, str],
) -> OmegaError:
    return cls(message, run_id=run_id, code=code, context=context)


class ConfigError(OmegaError, ValueError):
    """The config (or its file, or an environment setting it needs) is invalid."""

    kind = "config"
    default_code = Code.CONFIG_INVALID
    exit_code = 2


class DataError(OmegaError):
    """Input market data is missing or violates the data contract."""

    kind = "data"
    default_code = Code.DATA_INVALID
    exit_code = 3


class OutputError(OmegaError):
    """Artefacts or logs could not be written (disk, permissions, a used run_id)."""

    kind = "output"
    default_code = Code.OUTPUT_FAILED
    exit_code = 4


class ExecutionError(OmegaError):
    """The backtest failed while running."""

    kind = "execution"
    default_code = Code.EXECUTION_FAILED
    exit_code = 5


class StrategyError(ExecutionError):
    """A user strategy failed: it raised in ``init``/``on_bar`` or returned an invalid action."""

    kind = "strategy"
    default_code = Code.STRATEGY_FAILED


class RunNotFound(OmegaError, LookupError):  # noqa: N818 - reads as what happened
    """No completed run with the given run_id or directory exists."""

    kind = "not_found"
    default_code = Code.RUN_NOT_FOUND
    exit_code = 6


class RunCancelled(OmegaError, KeyboardInterrupt):  # noqa: N818 - a cancellation, not a bug
    """The run was cancelled (Ctrl-C, SIGTERM or the API's cancel token).

    It is a ``KeyboardInterrupt`` so generic Ctrl-C handling works, and an
    ``OmegaError`` so ``except OmegaError`` sees it too.
    """

    kind = "cancelled"
    default_code = Code.RUN_CANCELLED
    exit_code = 130


#: Each kind's class, for code that has only a code's kind.
CLASS_OF_KIND: dict[str, type[OmegaError]] = {
    cls.kind: cls
    for cls in (
        OmegaError,
        ConfigError,
        DataError,
        OutputError,
        ExecutionError,
        StrategyError,
        RunNotFound,
        RunCancelled,
    )
}
