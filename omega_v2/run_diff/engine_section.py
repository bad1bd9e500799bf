"""Which engine produced each run: engine name and version, git commit of the source
checkout (when it ran from one), and the run status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omega_v2.run_diff.text import short
from omega_v2.run_diff.values import same


@dataclass(frozen=True)
class EngineSection:
    label: ClassVar[str] = "engine"
    engine_a: dict[str, Any]
    engine_b: dict[str, Any]
    git_a: dict[str, Any] | None  # None: not run from a git checkout
    git_b: dict[str, Any] | None
    status_a: Any
    status_b: Any

    @property
    def identical(self) -> bool:
        return same(self.engine_a, self.engine_b) and same(self.git_a, self.git_b) and self.status_a == self.status_b

    def summary(self) -> str:
        if self.identical:
            return f"identical ({_engine(self.engine_a)}, {_git(self.git_a)})"
        return "differs"

    def details(self) -> list[str]:
        lines = []
        if not same(self.engine_a, self.engine_b):
            lines.append(f"  engine {_engine(self.engine_a)} -> {_engine(self.engine_b)}")
        if not same(self.git_a, self.git_b):
            lines.append(f"  {_git(self.git_a)} -> {_git(self.git_b)}")
        if any((g or {}).get("dirty") for g in (self.git_a, self.git_b)):
            lines.append("  a dirty checkout ran: its commit does not pin the code that ran")
        if self.status_a != self.status_b:
            lines.append(f"  status {self.status_a} -> {self.status_b}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "engine": {"a": self.engine_a, "b": self.engine_b},
            "git": {"a": self.git_a, "b": self.git_b},
            "status": {"a": self.status_a, "b": self.status_b},
        }


def compare(meta_a: dict[str, Any], meta_b: dict[str, Any]) -> EngineSection:
    return EngineSection(
        engine_a=meta_a.get("engine") or {},
        engine_b=meta_b.get("engine") or {},
        git_a=meta_a.get("git"),
        git_b=meta_b.get("git"),
        status_a=meta_a.get("status"),
        status_b=meta_b.get("status"),
    )


def _engine(engine: dict[str, Any]) -> str:
    return f"{engine.get('name', '?')} {engine.get('version', '?')}"


def _git(git: dict[str, Any] | None) -> str:
    if not git:
        return "git unknown"
    return f"git {short(git.get('commit'))}{' (dirty)' if git.get('dirty') else ''}"
