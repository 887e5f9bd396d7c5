"""The repository documents itself: every link in README.md and docs/*.md leads to a file (and
heading) inside the repository, and no page points outside it — no web links, no sibling
checkouts, no absolute paths of a developer's machine, no document the repository lacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
MACHINE_PATH = re.compile(r"(?<![\w.:/-])(?:/(?:work|home|root|tmp|Users)/|~/|[A-Za-z]:\\)")
"""A path on someone's machine (a checkout, a home, a scratch directory). Paths inside the
images the stack runs (`/opt/kafka/bin/…`, `/var/lib/postgresql`) are the deployment's, not a
machine's, and may be named."""
MENTIONED_PAGE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b")


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def prose(page: Path) -> str:
    """The page without its fenced code blocks (a link in a code sample is no link)."""
    return FENCE.sub("", page.read_text(encoding="utf-8"))


def slugs(page: Path) -> set[str]:
    """The anchors a renderer gives the page's headings (lowercase, punctuation dropped,
    spaces to hyphens; a repeated heading gets -1, -2, …)."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", prose(page), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def broken_link(page: Path, target: str) -> str | None:
    """Why `target`, linked from `page`, does not lead inside the repository (None if it does)."""
    if re.match(r"^[a-zA-Z][a-zA-Z+.-]*:", target) or target.startswith("//"):
        return f"{target}: links outside the repository"
    path, _, anchor = target.partition("#")
    resolved = (page.parent / path).resolve() if path else page
    if not resolved.is_relative_to(ROOT):
        return f"{target}: leads outside the repository"
    if not resolved.exists():
        return f"{target}: no such file in the repository"
    if anchor and resolved.suffix == ".md" and anchor not in slugs(resolved):
        return f"{target}: no heading #{anchor} in {page_id(resolved)}"
    return None


def mentions_missing_page(page: Path, name: str) -> bool:
    """True when `name` (e.g. `RULES.md`) is neither beside the page nor from the root."""
    return not ((page.parent / name).exists() or (ROOT / name).exists())


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_every_relative_link_leads_to_a_file_in_the_repository(page):
    problems = [problem for target in LINK.findall(prose(page))
                if (problem := broken_link(page, target))]
    assert problems == []


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_no_page_points_outside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    assert "../shared" not in text and "shared/" not in text
    assert MACHINE_PATH.findall(text) == []
    missing = [name for name in MENTIONED_PAGE.findall(text) if mentions_missing_page(page, name)]
    assert missing == []


def test_the_docs_have_pages_to_check():
    assert {p.name for p in PAGES} >= {"README.md", "architecture.md", "contract.md", "rules.md",
                                       "reasons.md", "operations.md"}
