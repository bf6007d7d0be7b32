"""The README is the front door and its map stays true: links resolve, mapped paths exist."""

from __future__ import annotations

import re

import pytest

from tests.utils.apps import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors for a page's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("\\", "").lower()).replace(" ", "-")
        found.add(slug)
    return found


def test_the_readme_is_a_front_door_not_a_manual():
    assert README.stat().st_size <= 12 * 1024
    text = README.read_text()
    for command in ("make run", "make test", "make test-fast", "make lint"):
        assert command in text
    # Every manual page is reachable from the README in one hop.
    for page in (ROOT / "docs").glob("*.md"):
        assert f"(docs/{page.name})" in text, page.name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_link_resolves(page):
    text = page.read_text()
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name} links to {target}, which is not there"
        if anchor and file.suffix == ".md":
            assert anchor in anchors(file.read_text()), f"{page.name}: no #{anchor} in {file.name}"


def test_every_path_on_the_map_exists():
    table = README.read_text().split("## Architecture", 1)[1]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) > 15
    for row in rows:
        for path in re.findall(r"`([^`]+)`", row.split(" | ")[0]):
            if "*" in path:
                assert list(ROOT.glob(path)), path
            else:
                assert (ROOT / path).exists(), path
