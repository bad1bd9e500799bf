"""Generated blocks inside the hand-written pages, and markdown tables.

A block is everything between an opening marker and the next end marker::

    <!-- generated: strategy-parameters sma_crossover -->
    ...generated text, never edited by hand...
    <!-- end generated -->

The opening marker names the block (`strategy-parameters`) and, optionally, its argument
(`sma_crossover`). Rewriting a page replaces only the text between its markers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

_BLOCK = re.compile(
    r"(?P<open><!-- generated: (?P<name>[a-z][a-z-]*)(?: (?P<arg>[A-Za-z0-9_ -]+?))? -->\n)"
    r"(?P<body>.*?)"
    r"(?P<close><!-- end generated -->)",
    re.DOTALL,
)
_OPENING = re.compile(r"<!-- generated:")


@dataclass(frozen=True)
class Block:
    """One generated block of a page: its name, argument and current text."""

    name: str
    arg: str | None
    body: str

    @property
    def label(self) -> str:
        return f"{self.name} {self.arg}" if self.arg else self.name


class MarkerError(ValueError):
    """A page whose markers do not pair up."""


def blocks(text: str) -> list[Block]:
    """The generated blocks of a page, in order."""
    found = [Block(m["name"], m["arg"], m["body"]) for m in _BLOCK.finditer(text)]
    if len(found) != len(_OPENING.findall(text)):
        raise MarkerError("a `<!-- generated: NAME [ARG] -->` marker has no `<!-- end generated -->` after it")
    return found


def rewrite(text: str, render: Callable[[Block], str]) -> str:
    """The page with each block's text replaced by `render(block)` (markers kept)."""
    blocks(text)  # pairs checked before anything is replaced
    return _BLOCK.sub(
        lambda m: m["open"] + ending(render(Block(m["name"], m["arg"], m["body"]))) + m["close"],
        text,
    )


def ending(body: str) -> str:
    """`body` ending in exactly the newline a block's text ends with."""
    return body if body.endswith("\n") else body + "\n"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A markdown table; cells are escaped so a `|` in a value cannot break a row."""
    lines = [_row(headers), "|" + "|".join("---" for _ in headers) + "|"]
    lines += [_row(cells) for cells in rows]
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def code(value: str) -> str:
    """`value` as inline code (empty cells stay empty)."""
    return f"`{value}`" if value else ""
