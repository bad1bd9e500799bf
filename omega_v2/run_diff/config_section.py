"""Config differences, field by field (dotted paths) when both runs have a `config.json`,
else from what meta.json records: the config hash, the allowlisted fields, the account and
the resolved execution settings.

Values are shown only where they may be: the allowlisted fields always (they are the ones
logs may carry too), everything else only with `show_values` and both config.json files at
hand. The seed never: a changed seed is reported by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from omega_v2._core import LOG_ALLOWLIST
from omega_v2.run_diff.artefacts import RunArtefacts
from omega_v2.run_diff.text import short, value
from omega_v2.run_diff.values import ABSENT, changes, flatten, same

# Allowlisted fields by their config path, and by the name meta.json and logs give them.
ALLOWLISTED_PATHS = frozenset(path for path, _ in LOG_ALLOWLIST)
ALLOWLISTED_FIELDS = frozenset(name for _, name in LOG_ALLOWLIST)
# meta.json keeps the allowlisted fields under `config`, next to the hash and the source.
ALLOWLISTED_META_PATHS = frozenset(f"config.{f}" for f in ALLOWLISTED_FIELDS)
# Field names whose value is never shown, at any path and whatever the options.
NEVER_SHOWN = frozenset({"rng_seed", "seed"})
_SCALAR = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class FieldDiff:
    path: str
    a: Any  # ABSENT when only B has the field
    b: Any
    shown: bool

    @property
    def change(self) -> str:
        return "only_b" if self.a is ABSENT else "only_a" if self.b is ABSENT else "changed"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "change": self.change, "values_shown": self.shown}
        if self.shown:
            out.update({side: v for side, v in (("a", self.a), ("b", self.b)) if v is not ABSENT})
        return out

    def text(self) -> str:
        if self.change != "changed":
            where = "only in A" if self.change == "only_a" else "only in B"
            return f"{where}: {value(self.a if self.b is ABSENT else self.b)}" if self.shown else where
        return f"{value(self.a)} -> {value(self.b)}" if self.shown else "differs"


@dataclass(frozen=True)
class ConfigSection:
    label: ClassVar[str] = "config"
    hash_a: str | None
    hash_b: str | None
    source_a: Any
    source_b: Any
    without_config_json: tuple[str, ...]  # "A" and/or "B": run dirs lacking config.json
    fields: tuple[FieldDiff, ...]
    show_values: bool

    @property
    def field_level(self) -> bool:
        return not self.without_config_json

    @property
    def identical(self) -> bool:
        return self.hash_a == self.hash_b and not self.fields

    def summary(self) -> str:
        hashes = f"hash {short(self.hash_a)}"
        if self.hash_a != self.hash_b:
            hashes += f" -> {short(self.hash_b)}"
        if self.identical:
            return f"identical ({hashes})"
        count = len(self.fields)
        return f"{hashes}, {count} field{' differs' if count == 1 else 's differ'}" if count else hashes

    def details(self) -> list[str]:
        width = max((len(f.path) for f in self.fields), default=0)
        lines = [f"  {f.path:<{width}}  {f.text()}" for f in self.fields]
        if self.source_a != self.source_b:
            lines.append(f"  config source: {value(self.source_a)} -> {value(self.source_b)}")
        if not self.field_level:
            lacking = " and ".join(self.without_config_json)
            lines.append(f"  field-level diff needs config.json in both run dirs ({lacking} without one);")
            lines.append("  compared what meta.json records: hash, allowlisted fields, account, execution, seed")
        hidden = [f for f in self.fields if not f.shown and f.path.rsplit(".", 1)[-1] not in NEVER_SHOWN]
        if hidden and self.field_level and not self.show_values:
            lines.append("  values of non-allowlisted fields hidden; --show-values shows them (never the seed)")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "hash": {"a": self.hash_a, "b": self.hash_b},
            "source": {"a": self.source_a, "b": self.source_b},
            "field_level": self.field_level,
            "without_config_json": list(self.without_config_json),
            "fields": [f.to_dict() for f in self.fields],
        }


def compare(a: RunArtefacts, b: RunArtefacts, *, show_values: bool) -> ConfigSection:
    meta_a, meta_b = a.meta.get("config") or {}, b.meta.get("config") or {}
    missing = tuple(side for side, run in (("A", a), ("B", b)) if run.config is None)
    if missing:
        fields = _field_diffs(_meta_fields(a.meta), _meta_fields(b.meta), ALLOWLISTED_META_PATHS, show_values=False)
    else:
        fields = _field_diffs(flatten(a.config), flatten(b.config), ALLOWLISTED_PATHS, show_values=show_values)
    if not any(f.path.rsplit(".", 1)[-1] in NEVER_SHOWN for f in fields) and not same(
        a.meta.get("seed"), b.meta.get("seed")
    ):
        # config.json carries the seed as rng_seed; meta.json records the one the engine used.
        fields.append(FieldDiff("seed", a.meta.get("seed"), b.meta.get("seed"), shown=False))
    return ConfigSection(
        hash_a=meta_a.get("hash"),
        hash_b=meta_b.get("hash"),
        source_a=meta_a.get("source"),
        source_b=meta_b.get("source"),
        without_config_json=missing,
        fields=tuple(fields),
        show_values=show_values,
    )


def _meta_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """What meta.json says about the config, by meta.json path; the seed is compared apart."""
    config = {k: v for k, v in (meta.get("config") or {}).items() if k in ALLOWLISTED_FIELDS}
    return flatten({"config": config, "account": meta.get("account"), "execution": meta.get("execution")})


def _field_diffs(
    flat_a: dict[str, Any], flat_b: dict[str, Any], allowlisted: frozenset[str], *, show_values: bool
) -> list[FieldDiff]:
    return [
        FieldDiff(path, x, y, _shown(path, x, y, allowlisted, show_values)) for path, x, y in changes(flat_a, flat_b)
    ]


def _shown(path: str, a: Any, b: Any, allowlisted: frozenset[str], show_values: bool) -> bool:
    if path.rsplit(".", 1)[-1] in NEVER_SHOWN:
        return False
    if path in allowlisted:
        # An object or list under an allowlisted name could hide anything.
        return all(v is ABSENT or isinstance(v, _SCALAR) for v in (a, b))
    return show_values
