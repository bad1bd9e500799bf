"""Which generator renders which block, and the pages of `docs/` rewritten or checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from omega_v2.reference import cli, config_fields, errors, metrics, specs, strategy_parameters
from omega_v2.reference.markers import Block, blocks, ending, rewrite

WRITE = "python -m omega_v2.reference --write"


@dataclass(frozen=True)
class Generator:
    render: Callable[..., str]
    #: Every argument the block takes; each must appear in some page (None: no argument).
    args: Callable[[], list[str]] | None = None


BLOCKS: dict[str, Generator] = {
    "config-fields": Generator(config_fields.fields_table),
    "config-example": Generator(config_fields.full_example),
    "strategy-parameters": Generator(strategy_parameters.parameters_table, strategy_parameters.names),
    "metrics": Generator(metrics.metrics_table),
    "error-classes": Generator(errors.classes_table),
    "error-codes": Generator(errors.codes_table),
    "cli-command": Generator(cli.command_reference, lambda: list(cli.commands())),
    "symbol-specs": Generator(specs.symbol_specs_table),
    "execution-costs": Generator(specs.execution_costs_table),
}


@dataclass(frozen=True)
class Stale:
    """A page whose block differs from what the code generates (or a block no page has)."""

    page: str
    block: str
    why: str

    def __str__(self) -> str:
        return f"{self.page}: block `{self.block}` {self.why}"


def docs_dir() -> Path:
    """`docs/` of the source checkout this package runs from."""
    return Path(__file__).resolve().parent.parent.parent / "docs"


def render(block: Block) -> str:
    generator = BLOCKS.get(block.name)
    if generator is None:
        raise ValueError(f"unknown generated block `{block.name}`; known: {', '.join(BLOCKS)}")
    if (block.arg is None) != (generator.args is None):
        raise ValueError(f"block `{block.label}`: `{block.name}` takes {'an' if generator.args else 'no'} argument")
    if generator.args is not None and block.arg not in generator.args():
        raise ValueError(f"block `{block.label}`: unknown argument; known: {', '.join(generator.args())}")
    return generator.render(block.arg) if block.arg is not None else generator.render()


def write(docs: Path) -> list[Path]:
    """Rewrites every block of every page; returns the pages that changed."""
    changed = []
    for page in _pages(docs):
        text = page.read_text(encoding="utf-8")
        new = rewrite(text, render)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed.append(page)
    return changed


def check(docs: Path) -> list[Stale]:
    """Every stale block, and every generated block that no page contains."""
    stale, seen = [], set()
    for page in _pages(docs):
        for block in blocks(page.read_text(encoding="utf-8")):
            seen.add((block.name, block.arg))
            if block.body != ending(render(block)):
                stale.append(Stale(f"{docs.name}/{page.name}", block.label, f"is out of date; run `{WRITE}`"))
    for name, generator in BLOCKS.items():
        for arg in generator.args() if generator.args else [None]:
            if (name, arg) not in seen:
                label = f"{name} {arg}" if arg else name
                stale.append(Stale(f"{docs.name}/", label, "is in no page; add its markers where it belongs"))
    return stale


def _pages(docs: Path) -> list[Path]:
    return sorted(docs.glob("*.md"))
