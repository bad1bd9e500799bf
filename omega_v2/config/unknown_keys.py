"""Config keys no model knows. A close misspelling of a known key is an error (it would
silently change the run: `strategy_parmeters` would run the default parameters); any other
unknown key is a warning, kept for forward compatibility (an error in strict mode)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel

from omega_v2.config.suggest import SUGGESTION_CUTOFF, TYPO_CUTOFF, closest
from omega_v2.config.types import Section


@dataclass(frozen=True)
class UnknownKey:
    path: str
    #: The closest known key at the same level (dotted), if any.
    suggestion: str | None
    #: Close enough to be a misspelling of `suggestion`.
    typo: bool

    def message(self) -> str:
        if self.typo:
            return f"unknown config key `{self.path}` looks like a misspelling of `{self.suggestion}`"
        if self.suggestion:
            return f"unknown config key `{self.path}`; did you mean `{self.suggestion}`? It is ignored"
        return f"unknown config key `{self.path}`; it is ignored"


def unknown_keys(raw: Mapping[Any, Any], model: type[BaseModel], prefix: str = "") -> list[UnknownKey]:
    """Every key of `raw` no model knows, depth first. `metrics` (free-form) and
    `strategy_parameters` (unknown names are errors there) are not walked."""
    found: list[UnknownKey] = []
    for key, value in raw.items():
        path = f"{prefix}{key}"
        info = model.model_fields.get(key)
        if info is None:
            found.append(_unknown(str(key), list(model.model_fields), prefix))
            continue
        section = _section_model(info.annotation)
        if section is None:
            continue
        if isinstance(value, Mapping):
            found += unknown_keys(value, section, f"{path}.")
        elif isinstance(value, list):  # e.g. sessions
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    found += unknown_keys(item, section, f"{path}.{index}.")
    return found


def _unknown(key: str, known: list[str], prefix: str) -> UnknownKey:
    typo = closest(key, known, TYPO_CUTOFF)
    match = typo or closest(key, known, SUGGESTION_CUTOFF)
    return UnknownKey(f"{prefix}{key}", f"{prefix}{match}" if match else None, typo is not None)


def _section_model(annotation: Any) -> type[Section] | None:
    """The section model inside a field annotation (through Optional/list), if any."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation
    for arg in get_args(annotation):
        if (model := _section_model(arg)) is not None:
            return model
    return None
