"""`load_config`: a dict or a JSON file -> a validated, normalised, hashed :class:`LoadedConfig`.

Design rules:

* **One owner per rule.** pydantic models (this package) own every field's type, default and
  bound; the engine owns what needs its data files (symbol specs, execution costs, the news
  calendar), the account currency conversion and its own invariants. `load_config` runs both
  (the engine's part without reading market data), so a config that loads never fails a run
  with a `ConfigError`.
* **Unknown keys**: a close misspelling of a known key is an error naming both; any other
  unknown key is a warning naming the dotted path (logged on `omega_v2.config` and returned in
  `LoadedConfig.warnings`), an error with `strict=True`. Unknown values never reach the engine,
  the hash or a message.
* **Redaction**: models set `hide_input_in_errors=True` and messages are built from locations
  and rules only, so config values (secrets included) never appear in an error or a log. A
  credential field must be typed `pydantic.SecretStr`: its JSON dump is `"**********"`.
* **Seed and hash**: `rng_seed` defaults to 42 in dev; in prod a null seed is resolved to OS
  entropy (`OmegaConfig.effective_seed`) and `normalized` carries it. `config_hash` is the
  sha256 of the canonical JSON of the config as given with defaults applied and the seed still
  null, so two loads of one prod config have the same hash whatever seed was drawn.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from omega_v2 import _core
from omega_v2.config.canonical import canonical_json, config_hash
from omega_v2.config.model import OmegaConfig
from omega_v2.config.translate import bounded_join, config_error
from omega_v2.config.unknown_keys import UnknownKey, unknown_keys
from omega_v2.errors import Code, ConfigError

_log = logging.getLogger("omega_v2.config")
_PACKAGE_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config with everything the runner needs.

    `normalized` and `canonical_json` contain the seed actually used, so they are kept
    out of the repr.
    """

    model: OmegaConfig
    normalized: dict[str, Any] = field(repr=False)
    canonical_json: str = field(repr=False)
    config_hash: str
    warnings: tuple[str, ...]
    source: str


def example_config_path() -> Path:
    """Path of the bundled example config (`omega_v2/examples/example_config.json`)."""
    return _PACKAGE_DIR / "examples" / "example_config.json"


def load_config(
    path_or_dict: Mapping[str, Any] | str | os.PathLike[str] | LoadedConfig,
    *,
    strict: bool = False,
) -> LoadedConfig:
    """Validate and normalise a config: a dict, a JSON file path or a LoadedConfig.

    Raises ConfigError for any invalid input, never echoing config values.
    """
    if isinstance(path_or_dict, LoadedConfig):
        if strict and path_or_dict.warnings:
            raise _strict_error(list(path_or_dict.warnings))
        return path_or_dict
    raw, source = _read_source(path_or_dict)
    unknown = unknown_keys(raw, OmegaConfig)
    _reject_typos([k for k in unknown if k.typo])
    warnings = tuple(k.message() for k in unknown)
    if strict and warnings:
        raise _strict_error(list(warnings), unknown[0].path)
    for warning in warnings:
        _log.warning("%s", warning)
    try:
        model = OmegaConfig.model_validate(raw)
    except ValidationError as exc:
        raise config_error(exc) from None  # the chained error would add nothing safe
    normalized = model.normalized()
    text = canonical_json(normalized)
    _core.check_config(text)
    return LoadedConfig(
        model=model,
        normalized=normalized,
        canonical_json=text,
        config_hash=config_hash(model.model_dump(mode="json")),  # seed unresolved: see module doc
        warnings=warnings,
        source=source,
    )


def _reject_typos(typos: list[UnknownKey]) -> None:
    if typos:
        raise ConfigError(
            bounded_join([k.message() for k in typos])
            + "; fix the spelling (a misspelt key would be ignored and change the run)",
            code=Code.CONFIG_UNKNOWN_KEY,
            context={"field": typos[0].path, "did_you_mean": typos[0].suggestion or ""},
        )


def _strict_error(warnings: list[str], first_path: str | None = None) -> ConfigError:
    context = {"field": first_path} if first_path else {}
    return ConfigError(
        "strict mode rejects unknown config keys: " + bounded_join(warnings),
        code=Code.CONFIG_UNKNOWN_KEY,
        context=context,
    )


def _read_source(source: Any) -> tuple[dict[str, Any], str]:
    if isinstance(source, Mapping):
        return dict(source), "dict"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        is_example = path.resolve() == example_config_path()
        return _read_json_file(path), "example" if is_example else str(path)
    raise TypeError(f"load_config expects a dict, a path to a JSON file or a LoadedConfig, not {type(source).__name__}")


def _read_json_file(path: Path) -> dict[str, Any]:
    context = {"file": str(path)}
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a BOM from Windows editors
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}", code=Code.CONFIG_FILE_NOT_FOUND, context=context) from None
    except UnicodeDecodeError:  # `from None`: its text would quote the offending bytes
        raise ConfigError(
            f"config file {path} is not UTF-8 text", code=Code.CONFIG_JSON_INVALID, context=context
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror or type(exc).__name__}",
            code=Code.CONFIG_FILE_UNREADABLE,
            context=context,
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            code=Code.CONFIG_JSON_INVALID,
            context={**context, "line": str(exc.lineno), "column": str(exc.colno)},
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must contain a JSON object", code=Code.CONFIG_INVALID, context=context)
    return data
