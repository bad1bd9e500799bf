"""Close matches of a misspelt name among the known ones."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: A match at least this close (difflib ratio) is taken for a typo of a known key.
TYPO_CUTOFF = 0.8
#: A looser match is only suggested.
SUGGESTION_CUTOFF = 0.6


def closest(name: str, known: Iterable[str], cutoff: float = SUGGESTION_CUTOFF) -> str | None:
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=cutoff)
    return match[0] if match else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    match = closest(name, known)
    return f"; did you mean `{match}`?" if match else ""
