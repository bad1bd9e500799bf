"""The user reference in docs/: generated blocks match the code (like a stub check), every
relative link resolves to a file and heading, examples in the config page load, and the pages
cite nothing a user does not have. No runs: the whole file takes well under a second."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from omega_v2 import _core
from omega_v2.config import load_config
from omega_v2.reference import check, docs_dir, write
from omega_v2.reference.fields import UndocumentedFieldError, rows

REPO = Path(__file__).resolve().parent.parent
DOCS = docs_dir()
PAGES = sorted(DOCS.glob("*.md"))
LINKED_PAGES = [*PAGES, REPO / "README.md"]

_FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)


def test_the_docs_dir_is_the_checkouts() -> None:
    assert DOCS == REPO / "docs" and (DOCS / "README.md").is_file()


def test_committed_docs_match_the_generator() -> None:
    stale = check(DOCS)
    assert not stale, "\n".join(map(str, stale)) + "\nrun `python -m omega_v2.reference --write`"


def test_the_check_names_a_stale_page_and_block(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for page in PAGES:
        (docs / page.name).write_text(page.read_text(encoding="utf-8"), encoding="utf-8")
    page = docs / "errors.md"
    page.write_text(page.read_text(encoding="utf-8").replace("`data.no_bars`", "`data.gone`", 1), encoding="utf-8")
    assert [(s.page, s.block) for s in check(docs)] == [("docs/errors.md", "error-codes")]
    assert write(docs) == [page]
    assert check(docs) == []


def test_a_block_missing_from_every_page_is_reported(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = (DOCS / "data.md").read_text(encoding="utf-8")
    (docs / "data.md").write_text(text, encoding="utf-8")
    missing = {s.block for s in check(docs) if s.page == "docs/"}
    assert "metrics" in missing and "cli-command run" in missing and "symbol-specs" not in missing


def test_every_config_and_strategy_field_is_documented() -> None:
    from pydantic import Field

    from omega_v2.config import OmegaConfig
    from omega_v2.config.types import Section

    documented = {row.key for row in rows(OmegaConfig)}
    assert {"account.stop_out_level", "outputs.equity", "sessions[].end", "trade_management.trailing.enabled"} <= (
        documented
    )

    class Undocumented(Section):
        knob: int = Field(1)

    with pytest.raises(UndocumentedFieldError, match="`knob`"):
        list(rows(Undocumented))


def test_the_generated_tables_hold_the_catalogues() -> None:
    text = {page.name: page.read_text(encoding="utf-8") for page in PAGES}
    assert all(f"| `{code}` |" in text["errors.md"] for code, _kind, _what in _core.error_catalogue())
    assert all(f"| `{row[0]}` |" in text["artefacts.md"] for row in _core.metric_catalogue())


def _prose(text: str) -> str:
    """Markdown without code, where links are not links."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = heading.replace("`", "").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    slugs: dict[str, int] = {}
    out = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = _slug(heading)
        n = slugs.get(slug, 0)
        out.add(slug if n == 0 else f"{slug}-{n}")
        slugs[slug] = n + 1
    return out


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for target in _LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved}")
        elif anchor and (resolved.suffix != ".md" or anchor not in _anchors(resolved)):
            broken.append(f"{target}: no heading #{anchor} in {resolved.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_the_link_check_sees_a_broken_anchor(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("# Title\n\n[ok](#title) [bad](#nope) `[code](#ignored)`\n", encoding="utf-8")
    targets = _LINK.findall(_prose(page.read_text(encoding="utf-8")))
    assert targets == ["#title", "#nope"] and _anchors(page) == {"title"}


def test_the_config_examples_load() -> None:
    text = (DOCS / "config.md").read_text(encoding="utf-8")
    configs = [json.loads(block) for block in re.findall(r"^```json\n(.*?)^```", text, re.DOTALL | re.MULTILINE)]
    configs = [c for c in configs if "schema_version" in c]
    assert len(configs) >= 2  # the minimal one and the generated complete one
    for config in configs:
        load_config(config, strict=True)


# Nothing users get may point at documents they do not have (the developers' planning suite).
SPEC_CITATION = re.compile(r"\bSPEC\b")
CHECKED = ("src", "omega_v2", "tests_rs", "tests_py", "benches", "docs", "notebooks", ".github", ".ci")
CHECKED_FILES = ("README.md", "noxfile.py", "pyproject.toml", "Cargo.toml")


def _checked_files() -> list[Path]:
    files = [REPO / name for name in CHECKED_FILES]
    for folder in CHECKED:
        files += [p for p in (REPO / folder).rglob("*") if p.is_file() and p.suffix not in {".so", ".pyc", ".parquet"}]
    return sorted(p for p in files if p != Path(__file__).resolve() and "__pycache__" not in p.parts)


def test_no_citation_of_documents_users_do_not_have() -> None:
    cited = []
    for path in _checked_files():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            continue  # binary data (example datasets)
        cited += [f"{path.relative_to(REPO)}:{n}" for n, line in enumerate(lines, 1) if SPEC_CITATION.search(line)]
    assert not cited, cited
