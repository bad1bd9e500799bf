"""Exception hierarchy of omega-v2 (SPEC 7).

Every error raised by the package is an :class:`OmegaError` carrying a stable
machine-readable ``code`` (e.g. ``"config.invalid"``), the ``run_id`` when a run exists,
and a ``context`` of string pairs locating the problem (``field``, ``file``, ``row``).

The Rust extension instantiates these classes by name with
``cls(message, run_id=..., code=..., context=...)``; keep that signature stable.

Messages never contain config values other than the allowlisted fields (SPEC 8.5), so
they are safe to log and to show to users.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ConfigError",
    "DataError",
    "ExecutionError",
    "OmegaError",
    "OutputError",
    "RunCancelled",
]


class OmegaError(Exception):
    """Base of all omega-v2 errors; its own default code marks internal failures."""

    default_code = "internal"

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
        self.code = code or self.default_code
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

    default_code = "config.invalid"


class DataError(OmegaError):
    """Input market data is missing or violates the data contract (SPEC 3)."""

    default_code = "data.invalid"


class ExecutionError(OmegaError):
    """The backtest failed while running."""

    default_code = "execution.failed"


class OutputError(OmegaError):
    """Artefacts or logs could not be written (disk, permissions)."""

    default_code = "output.failed"


class RunCancelled(OmegaError, KeyboardInterrupt):  # noqa: N818 - the name is SPEC 7's
    """The run was cancelled (Ctrl-C or the API's cancel token).

    It is a ``KeyboardInterrupt`` so generic Ctrl-C handling works, and an
    ``OmegaError`` so ``except OmegaError`` sees it too.
    """

    default_code = "run.cancelled"
