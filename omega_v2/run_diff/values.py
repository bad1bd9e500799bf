"""Plain-data helpers shared by the sections."""

from __future__ import annotations

from typing import Any


def is_number(value: Any) -> bool:
    """Ints and floats, not bools (JSON `true` is not a count)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Nested objects as dotted paths (`{"a": {"b": 1}}` -> `{"a.b": 1}`); lists and
    scalars are leaves, and an empty object is a leaf of its own."""
    if not isinstance(obj, dict) or (not obj and prefix):
        return {prefix: obj}
    out: dict[str, Any] = {}
    for key, item in obj.items():
        out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return out


class _Absent:
    """A key one side does not have (distinct from JSON null)."""

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()


def same(x: Any, y: Any) -> bool:
    """Equal as JSON values: `1`, `1.0` and `true` are three different values."""
    if type(x) is not type(y):
        return False
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(same(v, y[k]) for k, v in x.items())
    if isinstance(x, list):
        return len(x) == len(y) and all(map(same, x, y))
    return x == y


def changes(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """`(key, value in A, value in B)` for every key whose values differ, in A's key order
    then B's new keys; a key missing on one side has the value ABSENT there."""
    keys = [*a, *(k for k in b if k not in a)]
    pairs = ((k, a.get(k, ABSENT), b.get(k, ABSENT)) for k in keys)
    return [(k, x, y) for k, x, y in pairs if not same(x, y)]
