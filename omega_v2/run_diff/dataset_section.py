"""Data manifest differences (meta.json `dataset`): manifest hash, data files of every
timeframe and spec files added, removed or changed, bars and span, governance counters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omega_v2.run_diff.artefacts import RunArtefacts
from omega_v2.run_diff.text import number, short, value
from omega_v2.run_diff.values import ABSENT, changes, flatten

# Scalars of `dataset` that say which bars were run; compared by value.
SCALARS = ("symbol", "timeframe", "bars", "warmup_bars_used", "start_time", "end_time")


@dataclass(frozen=True)
class FileDiff:
    kind: str  # "data" or "spec"
    name: str
    a: dict[str, Any] | None  # the file's entry (sha256, bytes, path); None when absent
    b: dict[str, Any] | None

    @property
    def change(self) -> str:
        if self.a is None or self.b is None:
            return "added" if self.a is None else "removed"
        return "changed" if self.a.get("sha256") != self.b.get("sha256") else "moved"

    def text(self) -> str:
        def entry(e: dict[str, Any]) -> str:
            size = f", {number(e['bytes'], 0)} bytes" if "bytes" in e else ""
            return f"sha256 {short(e.get('sha256'))}{size}"

        head = f"  {self.kind} file {self.name} {self.change}"
        if self.a is None or self.b is None:
            return f"{head}: {entry(self.a or self.b or {})}"
        if self.change == "moved":
            return f"{head} (same sha256): {self.a.get('path')} -> {self.b.get('path')}"
        return f"{head}: {entry(self.a)} -> {entry(self.b)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "change": self.change, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class DatasetSection:
    label: ClassVar[str] = "data"
    manifest_a: str | None
    manifest_b: str | None
    files: tuple[FileDiff, ...]
    scalars: tuple[tuple[str, Any, Any], ...]  # (name, A, B) of SCALARS that differ
    governance: tuple[tuple[str, Any, Any], ...]  # (dotted counter, A, B) that differ
    file_count: int  # data files of A, for the summary
    span_a: tuple[Any, Any, Any]  # bars, start_time, end_time

    @property
    def identical(self) -> bool:
        return self.manifest_a == self.manifest_b and not (self.files or self.scalars or self.governance)

    def summary(self) -> str:
        if self.identical:
            bars, start, end = self.span_a
            files = f"{self.file_count} data files"
            return f"identical (manifest {short(self.manifest_a)}, {files}, {number(bars, 0)} bars {start} .. {end})"
        if self.manifest_a == self.manifest_b:
            return f"same manifest {short(self.manifest_a)}; {', '.join(self._what_differs())} differ"
        return f"manifest {short(self.manifest_a)} -> {short(self.manifest_b)}"

    def _what_differs(self) -> list[str]:
        moved = sum(f.change == "moved" for f in self.files)
        parts = [f"{moved} file location(s) (same sha256)"] if moved else []
        if len(self.files) > moved:
            parts.append("files")
        return parts + [what for what, differ in (("bars", self.scalars), ("governance", self.governance)) if differ]

    def details(self) -> list[str]:
        lines = [f.text() for f in self.files]
        lines += [f"  {name} {_text(x)} -> {_text(y)}" for name, x, y in self.scalars]
        lines += [f"  governance {name} {_text(x)} -> {_text(y)}" for name, x, y in self.governance]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "manifest_sha256": {"a": self.manifest_a, "b": self.manifest_b},
            "files": [f.to_dict() for f in self.files],
            "dataset": _pairs(self.scalars),
            "governance": _pairs(self.governance),
        }


def compare(a: RunArtefacts, b: RunArtefacts) -> DatasetSection:
    da, db = a.meta.get("dataset") or {}, b.meta.get("dataset") or {}
    files = _file_diffs("data", _data_files(da), _data_files(db))
    files += _file_diffs("spec", _spec_files(da), _spec_files(db))
    return DatasetSection(
        manifest_a=da.get("manifest_sha256"),
        manifest_b=db.get("manifest_sha256"),
        files=tuple(files),
        scalars=tuple(changes({k: da.get(k, ABSENT) for k in SCALARS}, {k: db.get(k, ABSENT) for k in SCALARS})),
        governance=tuple(changes(_governance(da), _governance(db))),
        file_count=len(_data_files(da)),
        span_a=(da.get("bars"), da.get("start_time"), da.get("end_time")),
    )


def _data_files(dataset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Data files of the primary and every additional timeframe, by file name."""
    entries = list(dataset.get("files") or [])
    for extra in dataset.get("additional_timeframes") or []:
        entries += extra.get("files") or []
    return {e["name"]: {k: v for k, v in e.items() if k != "name"} for e in entries if isinstance(e, dict)}


def _spec_files(dataset: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: {"sha256": e.get("sha256")} for e in dataset.get("specs") or [] if isinstance(e, dict)}


def _file_diffs(kind: str, a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> list[FileDiff]:
    """A file whose sha256 and size match on both sides is unchanged wherever it lives,
    but a move is still reported: it explains a different data root."""
    names = [*a, *(n for n in b if n not in a)]
    return [FileDiff(kind, n, a.get(n), b.get(n)) for n in names if a.get(n) != b.get(n)]


def _governance(dataset: dict[str, Any]) -> dict[str, Any]:
    """Governance counters of the primary timeframe, then of each additional one (`H1.gaps...`)."""
    out = flatten(dataset.get("governance") or {})
    for extra in dataset.get("additional_timeframes") or []:
        out.update(flatten(extra.get("governance") or {}, str(extra.get("timeframe"))))
        out[f"{extra.get('timeframe')}.bars"] = extra.get("bars")
    return out


def _text(v: Any) -> str:
    if v is ABSENT:
        return "(absent)"
    return number(v, 0) if isinstance(v, int) and not isinstance(v, bool) else value(v)


def _pairs(rows: tuple[tuple[str, Any, Any], ...]) -> list[dict[str, Any]]:
    """`{"name", "a", "b"}` per row; an absent value is JSON null."""
    return [{"name": n, "a": None if x is ABSENT else x, "b": None if y is ABSENT else y} for n, x, y in rows]
