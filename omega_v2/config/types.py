"""Field types of the config models and the one way to express a rule violation.

Types are strict: JSON configs are typed, so "20" is not an int and true is not 1. A rule
violation is a pydantic custom error whose `type` is our error code and whose message never
contains the input (configs may hold secrets).

The first docstring line of a validator (here and in the models) is its rule as the user
reference `docs/config.md` states it (`python -m omega_v2.reference --write` copies it there).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Field, Strict
from pydantic_core import PydanticCustomError

from omega_v2.errors import Code

# Rust reads ints as i64/u64/usize; serde would echo an out-of-range value.
INT64_MAX = 2**63 - 1
SEED_LIMIT = 2**63
_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")


def rule(message: str, code: str = Code.CONFIG_INVALID) -> PydanticCustomError:
    """A validation failure whose pydantic `type` is our error code (no input in it)."""
    return PydanticCustomError(str(code), message)


def upper(value: Any) -> Any:
    """case-insensitive (stored upper-case)"""
    return value.strip().upper() if isinstance(value, str) else value


def lower(value: Any) -> Any:
    """case-insensitive"""
    return value.strip().lower() if isinstance(value, str) else value


def dedup(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


def _check_date(value: str) -> str:
    """a calendar date `YYYY-MM-DD`"""
    if not (_DATE.fullmatch(value) and _is_calendar_date(value)):
        raise rule("must be a calendar date YYYY-MM-DD")
    return value


def _is_calendar_date(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _check_hhmm(value: str) -> str:
    """`HH:MM`, 00:00 to 23:59"""
    if not _HHMM.fullmatch(value):
        raise rule("must be a UTC time HH:MM (00:00..23:59)")
    return value


def _check_currency(value: str) -> str:
    """a 3-letter currency code such as `EUR`"""
    if not _CURRENCY.fullmatch(value):
        raise rule("must be a 3-letter currency code such as EUR")
    return value


def _check_int64(value: int) -> int:
    # No docstring: the 64-bit bound of every int goes without saying in the reference.
    if value > INT64_MAX:
        raise rule(f"must be less than or equal to {INT64_MAX}")
    return value


# The int64 bound is a validator, not Field(le=...): a field's own Field(le=...) would be
# silently overridden by an `le` in the alias (pydantic merges constraints per key).
Int = Annotated[int, Strict(), AfterValidator(_check_int64)]
# Strict float still accepts ints (dumped as floats); rejects bools, strings, NaN, inf.
Float = Annotated[float, Strict(), AllowInfNan(False)]
PositiveFloat = Annotated[Float, Field(gt=0)]
NonNegativeFloat = Annotated[Float, Field(ge=0)]
Bool = Annotated[bool, Strict()]
Timeframe = Annotated[Literal["M1", "M5", "M15", "M30", "H1", "H4", "D1"], BeforeValidator(upper)]
Currency = Annotated[str, Strict(), BeforeValidator(upper), AfterValidator(_check_currency)]
IsoDate = Annotated[str, Strict(), AfterValidator(_check_date)]
HhMm = Annotated[str, Strict(), AfterValidator(_check_hhmm)]
Seed = Annotated[int, Strict(), Field(ge=0, lt=SEED_LIMIT)]


class Section(BaseModel):
    """Base of every config section: immutable, unknown keys ignored (and reported).

    `defer_build`: a section's own validator is built on its first direct use only; a run
    validates sections inside `OmegaConfig`, whose one validator holds them all, so building
    each section's at import would cost a fresh process tens of milliseconds for nothing.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True, defer_build=True)
