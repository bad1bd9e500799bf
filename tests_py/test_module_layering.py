"""The Rust crate's top-level modules form layers: no module reaches, through `crate::` paths,
a module that reaches back to it. A cycle is how a rule ends up owned twice (each side grows
its half); this check names the edges of any cycle and the lines that make them. It reads the
source only (well under a second)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
#: Entry points above every layer: the crate root, the binary and the Python bindings.
ROOTS = {"lib", "main", "bin", "bindings"}
_CRATE_PATH = re.compile(r"\bcrate::(\w+)")


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """The file's lines before its unit tests, with `//` comments cut off."""
    text = path.read_text(encoding="utf-8").split("#[cfg(test)]", 1)[0]
    return [(n, line.split("//", 1)[0]) for n, line in enumerate(text.splitlines(), 1)]


def crate_graph(src: Path = SRC) -> dict[tuple[str, str], list[str]]:
    """(module, module it uses) -> the `file:line`s that use it."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(src.rglob("*.rs")):
        module = path.relative_to(src).parts[0].removesuffix(".rs")
        if module in ROOTS:
            continue
        for n, code in _code_lines(path):
            for used in _CRATE_PATH.findall(code):
                if used != module:
                    edges[(module, used)].append(f"{path.relative_to(src.parent)}:{n}")
    return edges


def cycles(edges: dict[tuple[str, str], list[str]]) -> list[set[str]]:
    """The groups of modules that reach each other (strongly connected, more than one)."""
    uses: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        uses[a].add(b)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in uses[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    reached = {m: reach(m) for m in list(uses)}
    groups: list[set[str]] = []
    for m in reached:
        group = {m} | {o for o in reached[m] if m in reached.get(o, set())}
        if len(group) > 1 and group not in groups:
            groups.append(group)
    return groups


def test_the_crates_modules_have_no_cycle() -> None:
    edges = crate_graph()
    assert len({a for a, _ in edges}) >= 10, "the scan found the crate's modules"
    found = cycles(edges)
    report = [
        f"{a} -> {b}: {', '.join(where[:3])}" for group in found for (a, b), where in edges.items() if {a, b} <= group
    ]
    assert not found, "module cycles:\n" + "\n".join(report)


def test_a_planted_cycle_is_found_and_named(tmp_path: Path) -> None:
    (tmp_path / "src" / "run").mkdir(parents=True)
    (tmp_path / "src" / "output.rs").write_text("use crate::run::Inputs; // crate::data in a comment\n")
    (tmp_path / "src" / "run" / "mod.rs").write_text("use crate::output::write;\n#[cfg(test)]\nuse crate::data;\n")
    (tmp_path / "src" / "data.rs").write_text("use crate::output::x;\n")
    edges = crate_graph(tmp_path / "src")
    assert set(edges) == {("output", "run"), ("run", "output"), ("data", "output")}
    assert edges[("output", "run")] == ["src/output.rs:1"]
    assert cycles(edges) == [{"output", "run"}]
