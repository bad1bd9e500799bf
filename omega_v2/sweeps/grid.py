"""Grids: every combination of the grid's values, each applied to a copy of the base config at
dotted paths (`strategy_parameters.fast`), and checked like a run would check it before any run
starts."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from omega_v2.config import LoadedConfig, load_config
from omega_v2.errors import Code, ConfigError

OUTPUT_EQUITY = ("bar", "daily", "none")


@dataclass(frozen=True)
class Point:
    """One run of a sweep: its parameters (the summary's columns), its config as given to the
    run (seed as configured, so the run hashes it as the client does) and that config loaded."""

    params: dict[str, Any]
    config: dict[str, Any]
    loaded: LoadedConfig


def expand_grid(
    base: Mapping[str, Any], grid: Mapping[str, Iterable[Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(grid point, config) per combination, in grid order (the last key varies fastest)."""
    values = grid_values(grid)
    expanded = []
    for combination in itertools.product(*values.values()):
        point = dict(zip(values, combination, strict=True))
        expanded.append((point, with_values(base, point)))
    return expanded


def grid_values(grid: Mapping[str, Iterable[Any]]) -> dict[str, list[Any]]:
    """The grid as lists; a key must be a dotted config path and hold at least one value."""
    if not isinstance(grid, Mapping):
        raise ConfigError(
            "the grid must be a mapping of dotted config paths to lists of values, "
            'e.g. {"strategy_parameters.fast": [10, 20]}',
            code=Code.CONFIG_INVALID,
            context={"field": "grid"},
        )
    values = {}
    for key, options in grid.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise ConfigError(
                "grid keys must be dotted config paths such as `strategy_parameters.fast`",
                code=Code.CONFIG_INVALID,
                context={"field": "grid"},
            )
        if isinstance(options, (str, bytes, Mapping)) or not isinstance(options, Iterable):
            raise ConfigError(
                f"grid parameter `{key}` must be a list of values (a single value: [value])",
                code=Code.CONFIG_INVALID,
                context={"field": key},
            )
        values[key] = list(options)
        if not values[key]:
            raise ConfigError(f"grid parameter `{key}` has no values", code=Code.CONFIG_INVALID, context={"field": key})
    return values


def with_values(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of `base` with each dotted path set to its value."""
    cfg = copy.deepcopy(dict(base))
    for dotted, value in values.items():
        *parents, leaf = dotted.split(".")
        node = cfg
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return cfg


def sweep_base(loaded: LoadedConfig, equity: str | None) -> dict[str, Any]:
    """The config every point starts from: the normalised base with its seed as configured (a
    prod seed drawn for the base would otherwise be shared by, and hashed into, every point),
    and `outputs.equity` overridden when asked."""
    base = dict(loaded.normalized)
    base["rng_seed"] = loaded.model.rng_seed
    if equity is not None:
        if equity not in OUTPUT_EQUITY:
            raise ConfigError(
                f"equity= must be one of {', '.join(OUTPUT_EQUITY)} (or None for the config's outputs.equity)",
                code=Code.CONFIG_INVALID,
                context={"field": "outputs.equity"},
            )
        base = with_values(base, {"outputs.equity": equity})
    return base


def checked(params: dict[str, Any], config: dict[str, Any]) -> Point:
    """A point validated as a run would validate it. Strict: the base is already normalised, so
    an unknown key can only be a grid key that names no config field, which would otherwise make
    every point the same run."""
    return Point(params, config, load_config(config, strict=True))
