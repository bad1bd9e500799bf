"""pydantic's validation errors as one `ConfigError`: location and rule only, never the input,
and at most a few problems spelled out (a config with thousands of bad keys must not produce a
message of megabytes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from omega_v2.errors import Code, ConfigError

#: Problems spelled out in one message; the rest are counted.
MAX_LISTED = 8

_RULE_TEXTS = {
    "missing": "is required",
    "model_type": "must be an object",
    "dict_type": "must be an object",
}


def config_error(exc: ValidationError) -> ConfigError:
    problems = [
        (_dotted(err["loc"]), _rule_text(err), _error_code(err))
        for err in exc.errors(include_input=False, include_url=False, include_context=False)
    ]
    texts = [f"`{path}`: {rule}" for path, rule, _ in problems]
    if len(texts) == 1:
        message = f"invalid config: {texts[0]}"
    else:
        message = f"invalid config ({len(texts)} problems): " + bounded_join(texts)
    first_path, _, first_code = problems[0]
    context = {"field": first_path}
    if len(problems) > 1:
        context["fields"] = bounded_join([path for path, _, _ in problems], ", ")
    return ConfigError(message, code=first_code, context=context)


def bounded_join(items: Sequence[str], separator: str = "; ") -> str:
    """The first `MAX_LISTED` items joined, plus how many were left out."""
    text = separator.join(items[:MAX_LISTED])
    if len(items) > MAX_LISTED:
        text += f"{separator}... and {len(items) - MAX_LISTED} more"
    return text


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(config)"


def _rule_text(err: Mapping[str, Any]) -> str:
    if err["type"] in _RULE_TEXTS:
        return _RULE_TEXTS[err["type"]]
    msg = str(err["msg"]).removeprefix("Value error, ")
    # pydantic's messages read "Input should be ..."; ours start with a verb already.
    return msg.replace("Input should be", "must be", 1)


def _error_code(err: Mapping[str, Any]) -> str:
    code = str(err["type"])
    if code.startswith("config.") and code != Code.CONFIG_INVALID:
        return code  # a specific code raised by our own rules
    if err["loc"] and err["loc"][0] == "strategy_parameters":
        return Code.CONFIG_STRATEGY_PARAMETER
    return Code.CONFIG_INVALID
