"""Unit codes of SPUC's file in real headless Chromium (issue 20, finding 10): no code
makes a link in a chart, and a long one does not stretch the summary strip.

Chromium is Debian's /usr/bin/chromium, never a browser downloaded by
`playwright install`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support.browser import (
    REALISTIC,
    Server,
    clipped_titles,
    hover_newest_point,
    new_page,
    running_spucsvi,
    wait_for_charts,
)
from tests.support.records import HEADER

pytestmark = pytest.mark.browser

# "<a" and 'href=...' joined with " and " are the tag <a and href="http://evil.example">.
HOSTILE = ("<a", 'href="http://evil.example">x</a>', "u" * 300)
ORDINARY = ("iuhc", "iulu", "lux")
WIDTHS = (1440, 375)
# Figures of the strip wider than their column, and unit codes over more than one line.
STICKING_OUT = """() => [
  ...[...document.querySelectorAll(".summary-strip .stat")]
    .filter((stat) => stat.scrollWidth > stat.clientWidth + 1).map((stat) => stat.innerText),
  ...[...document.querySelectorAll(".summary-strip .unit")]
    .filter((code) => code.getClientRects().length > 1).map((code) => code.innerText),
]"""


def export(units: tuple[str, ...]) -> str:
    """The realistic month of sightings, their units taken in turn from `units`."""
    last_day = datetime.now() - timedelta(days=2)
    lines = [HEADER]
    for count, (days_before, clock, location, brightness) in enumerate(REALISTIC, start=1):
        day = (last_day - timedelta(days=days_before)).date().isoformat()
        lines.append(f"{count},{day} {clock},{location},{brightness},{units[count % len(units)]}\n")
    return "".join(lines)


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[str, Server]]:
    with (
        running_spucsvi(tmp_path_factory.mktemp("hostile"), export(HOSTILE)) as hostile,
        running_spucsvi(tmp_path_factory.mktemp("ordinary"), export(ORDINARY)) as ordinary,
    ):
        yield {"hostile": hostile, "ordinary": ordinary}


def strip_height(
    browser: Browser, server: Server, width: int, shot: Path | None = None
) -> tuple[float, str]:
    """The summary strip's height at this width, once checked that no chart holds a
    link (hovered too), no title is cut and no figure of the strip sticks out."""
    viewport = {"width": width, "height": 900}
    with new_page(browser, viewport=viewport, reduced_motion="reduce") as page:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        page.evaluate("document.fonts.ready.then(() => true)")
        label = hover_newest_point(page)
        assert page.locator(".js-plotly-plot svg a").count() == 0
        assert page.locator("[href*='evil.example']").count() == 0
        assert clipped_titles(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(STICKING_OUT) == []
        if shot is not None:
            page.screenshot(path=str(shot), full_page=True, animations="disabled")
        return page.locator(".summary-strip").bounding_box()["height"], label


@pytest.mark.parametrize("width", WIDTHS)
def test_unit_codes_make_no_link_and_keep_the_strip_its_height(browser, servers, width, tmp_path):
    ordinary, _ = strip_height(browser, servers["ordinary"], width)
    hostile, label = strip_height(
        browser, servers["hostile"], width, tmp_path / f"units-{width}.png"
    )
    # The hovered sighting's code as text (the point nearest the mouse may be another's).
    assert re.search(
        'Brightness \\d+ (<a|href="h\N{HORIZONTAL ELLIPSIS}|u{7}\N{HORIZONTAL ELLIPSIS})$', label
    )
    # A long code may take its own line under a figure, as a long number would
    # (measured 1.0-1.42 times, 299 px over 211 at 1440 px since locations are clamped
    # to two lines; shown whole, 1.9-3.0 times).
    assert hostile <= ordinary * 1.5, (hostile, ordinary)
