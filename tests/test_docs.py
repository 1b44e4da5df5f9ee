"""The README is a newcomer's first screen; the pages it links to exist."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# A link or image to a file of this repository: not a URL, not only an anchor.
LOCAL_LINK = re.compile(r"""(?:\]\(|src=")(?!https?:|mailto:|#)([^)"#\s]+)""")


def test_readme_starts_with_the_two_commands():
    title, blank, opening, *_ = README.splitlines()
    assert (title.startswith("# "), blank, opening.startswith("```")) == (True, "", True)
    first_block = README.split("```")[1]
    commands = [line.split("#")[0].strip() for line in first_block.splitlines()[1:]]
    assert commands == ["make run", "make test"]


def test_docker_compose_up_is_on_the_first_screen():
    first_screen = "\n".join(README.splitlines()[:40])
    assert "docker compose up" in first_screen
    assert "docs/screenshot-1440.png" in first_screen


def test_readme_reads_in_two_minutes():
    assert len(README.split()) <= 500


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_local_links_lead_to_files(page):
    targets = LOCAL_LINK.findall(page.read_text())
    missing = [t for t in targets if not (page.parent / t).exists()]
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_every_page_in_docs_is_linked_from_somewhere():
    linked = {
        (page.parent / target).resolve()
        for page in PAGES
        for target in LOCAL_LINK.findall(page.read_text())
    }
    assert [p.name for p in PAGES[1:] if p.resolve() not in linked] == []
