"""The page on a 375x812 phone, and what a visitor sees with SPUC down, the page empty,
or no JavaScript (#18): in headless Chromium on the module's served SPUCSVi."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import Server, new_page, wait_for_charts

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1440, "height": 900}


def box(page: Page, selector: str) -> dict:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def overlaps(one: dict, other: dict) -> bool:
    return not (
        one["x"] + one["width"] <= other["x"]
        or other["x"] + other["width"] <= one["x"]
        or one["y"] + one["height"] <= other["y"]
        or other["y"] + other["height"] <= one["y"]
    )


def test_on_a_phone_the_form_is_in_the_first_screen(browser: Browser, server: Server):
    with new_page(browser, viewport=PHONE, has_touch=True, is_mobile=True) as page:
        page.goto(f"{server.url}/")
        for selector in ("#form-title", "#location", "#brightness", "#sighting-form button"):
            found = box(page, selector)
            assert found["y"] + found["height"] <= PHONE["height"], (selector, found)


def test_on_a_phone_the_table_reads_without_sideways_scrolling(browser: Browser, server: Server):
    with new_page(browser, viewport=PHONE, timezone_id="Europe/Berlin") as page:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        assert page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]
        scroll = page.locator(".table-scroll")
        assert scroll.evaluate("(e) => e.scrollWidth <= e.clientWidth"), (
            "the table scrolls sideways"
        )
        rows = page.locator("table.sightings tbody tr")
        assert rows.count() > 5
        for index in range(rows.count()):
            row = rows.nth(index)
            cells = row.locator("td")
            time, value, unit = (box(row, "time"), cells.nth(3), cells.nth(4))
            line = float(row.locator("time").evaluate("(t) => getComputedStyle(t).lineHeight")[:-2])
            assert time["height"] < 1.5 * line, "a date over more than one line"
            for cell in (value, unit):
                found = cell.bounding_box()
                assert found is not None and found["x"] + found["width"] <= PHONE["width"]


def test_the_chart_toolbar_is_never_over_the_data(browser: Browser, server: Server):
    for viewport in (DESKTOP, PHONE):
        with new_page(browser, viewport=viewport) as page:
            page.goto(f"{server.url}/")
            wait_for_charts(page)
            for chart in page.locator("[data-chart]").all():
                chart.scroll_into_view_if_needed()
                chart.hover()
                modebar = chart.locator(".modebar")
                if not modebar.is_visible():
                    continue
                bar = modebar.bounding_box()
                assert bar is not None
                covered = [chart.locator(".nsewdrag").first, *chart.locator(".legend").all()]
                for part in covered:
                    found = part.bounding_box()
                    assert found is None or not overlaps(bar, found), (
                        viewport,
                        chart.get_attribute("id"),
                    )
                assert viewport is DESKTOP, "a toolbar over a phone's small chart"
