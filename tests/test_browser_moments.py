"""The first sightings in real headless Chromium: issue 11, items 1 and 9.

The first sighting and the first few must look like a moment, not a broken
chart: a time axis minutes wide, nothing clipped, no empty frame; after a
submission the confirmation is where the visitor is, and their sighting is
ringed in the chart and marked in the table. Each test starts its own server
on its own data (none, or five sightings), as a new community would.

Chromium is Debian's /usr/bin/chromium, never a browser downloaded by
`playwright install`.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from test_browser import (  # noqa: F401 - browser_type_launch_args is a fixture for this module
    RECORDED,
    ROOT,
    TIMEOUT_MS,
    assert_clean,
    browser_type_launch_args,
    describe,
    fill_form,
    running_spucsvi,
    serious,
    wait_for_charts,
    watch,
)

pytestmark = pytest.mark.browser

HEADER = "count,time,location,brightness,units\n"


def five_sightings() -> str:
    """Five sightings within two minutes of each other, an hour ago."""
    start = datetime.now() - timedelta(hours=1)
    rows = [("moon, crater", "7"), ("Phobos", "12.5"), ("moon, crater", "3"), ("Io", "30")]
    rows.append(("Europa ice shelf", "18"))
    return HEADER + "".join(
        f"{i},{start + timedelta(seconds=25 * i, microseconds=1234 * i)},{loc},{b},iuhc\n"
        for i, (loc, b) in enumerate(rows, start=1)
    )


def submit_and_land(page: Page, location: str, brightness: str) -> None:
    fill_form(page, location, brightness)
    with page.expect_navigation(url="**#report"):
        page.get_by_role("button", name="I saw a unicorn!").click()
    page.wait_for_load_state("load")


def x_span_minutes(page: Page, chart_id: str) -> float:
    return page.evaluate(
        """(id) => {
          const range = document.getElementById(id)._fullLayout.xaxis.range;
          return (new Date(range[1]) - new Date(range[0])) / 60000;
        }""",
        chart_id,
    )


def tick_label_problems(page: Page, chart_id: str) -> list[str]:
    """Rotated, overlapping or cut-off tick labels of a chart's x axis."""
    return page.evaluate(
        """(id) => {
          const chart = document.getElementById(id);
          const box = chart.getBoundingClientRect();
          const labels = [...chart.querySelectorAll(".xtick text")];
          const problems = [];
          const rects = labels.map((t) => t.getBoundingClientRect());
          labels.forEach((t, i) => {
            if ((t.getAttribute("transform") || "").includes("rotate")) {
              problems.push("rotated: " + t.textContent);
            }
            const r = rects[i];
            if (r.left < box.left - 1 || r.right > box.right + 1) {
              problems.push("cut off: " + t.textContent);
            }
            if (i && rects[i - 1].right > r.left + 1) {
              problems.push("overlaps: " + t.textContent);
            }
          });
          return problems;
        }""",
        chart_id,
    )


def unicorns_inside(page: Page) -> bool:
    """Every unicorn of the brightness chart lies inside the chart's box."""
    return page.evaluate(
        """() => {
          const chart = document.getElementById("brightness-chart");
          const box = chart.getBoundingClientRect();
          const marks = [...chart.querySelectorAll(".scatterlayer .textpoint text")];
          return marks.length > 0 && marks.every((m) => {
            const r = m.getBoundingClientRect();
            return r.top >= box.top && r.bottom <= box.bottom
              && r.left >= box.left && r.right <= box.right;
          });
        }"""
    )


def test_the_first_sighting_is_a_moment(page: Page, tmp_path: Path):
    from axe_playwright_python.sync_playwright import Axe

    seen = watch(page)
    with running_spucsvi(tmp_path) as server:
        page.goto(f"{server.url}/")
        expect(page.get_by_role("heading", name="No unicorn sightings yet!")).to_be_visible()
        submit_and_land(page, "moon, crater", "7")

        # The confirmation is where the visitor is: at the form, in view.
        confirmation = page.get_by_text(RECORDED, exact=True)
        expect(confirmation).to_be_visible()
        expect(confirmation).to_be_in_viewport()
        wait_for_charts(page)

        # A time axis minutes wide, the unicorn whole, its ring and label on it.
        assert x_span_minutes(page, "brightness-chart") >= 9
        assert unicorns_inside(page)
        assert tick_label_problems(page, "brightness-chart") == []
        traces = page.evaluate("document.getElementById('brightness-chart').data.map(t => t.name)")
        assert traces[1:] == ["your sighting"]
        expect(page.locator("tr.just-added")).to_have_count(1)
        expect(page.locator("tr.just-added .badge")).to_have_text("your sighting")

        # No empty frames: a note says what each chart will show once it can.
        for chart in ("cumulative-chart", "histogram-chart"):
            expect(page.locator(f"#{chart}")).to_have_count(0)
            expect(page.locator(f"#{chart}-instead")).to_be_visible()
        expect(page.locator(".pagination")).to_contain_text("(1 sighting)")

        found = serious(Axe().run(page))
        assert found == [], describe(found)
        assert_clean(seen)


def test_a_few_sightings_have_sensible_upright_axes_at_every_width(page: Page, tmp_path: Path):
    seen = watch(page)
    with running_spucsvi(tmp_path, five_sightings()) as server:
        for width in (1440, 375):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{server.url}/")
            wait_for_charts(page)
            for chart in ("brightness-chart", "cumulative-chart"):
                page.locator(f"#{chart}").scroll_into_view_if_needed()
                assert x_span_minutes(page, chart) >= 9, (width, chart)
                assert tick_label_problems(page, chart) == [], (width, chart)
            assert unicorns_inside(page), width
            # Few enough to see at once: no range slider under the chart.
            expect(page.locator("#brightness-chart .rangeslider-container")).to_have_count(0)
            assert page.evaluate("document.documentElement.scrollWidth") <= width
    assert_clean(seen)


def test_a_submission_from_a_filtered_view_keeps_the_filter(page: Page, tmp_path: Path):
    seen = watch(page)
    with running_spucsvi(tmp_path, five_sightings()) as server:
        page.goto(f"{server.url}/?location=Phobos&sort=brightness&order=asc")
        wait_for_charts(page)
        submit_and_land(page, "Phobos", "9")
        assert "location=Phobos" in page.url and "sort=brightness" in page.url
        expect(page.get_by_text(RECORDED, exact=True)).to_be_in_viewport()
        expect(page.get_by_test_id("total")).to_have_text("2")
        expect(page.locator("tr.just-added")).to_have_count(1)
    assert_clean(seen)


def test_screenshot_of_the_first_sighting(browser: Browser, tmp_path: Path):
    """Taken always; copied to docs/ only with SPUCSVI_SCREENSHOTS=1."""
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, color_scheme="light", reduced_motion="reduce"
    )
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        with running_spucsvi(tmp_path) as server:
            page.goto(f"{server.url}/")
            submit_and_land(page, "moon, crater", "7")
            wait_for_charts(page)
            path = tmp_path / "screenshot-first-sighting.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
    finally:
        context.close()
    assert path.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("SPUCSVI_SCREENSHOTS") == "1":
        shutil.copyfile(path, ROOT / "docs" / path.name)
