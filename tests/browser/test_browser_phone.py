"""The page on a 375x812 phone, and what a visitor sees with SPUC down, the page empty,
or no JavaScript (#18): in headless Chromium on the module's served SPUCSVi."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.apps import make_app
from tests.support.browser import (
    Server,
    new_page,
    realistic_export,
    spuc_total,
    wait_for_charts,
)
from tests.support.fakes import closed_port_url
from tests.support.servers import spucsvi_in_process

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


def test_with_spuc_down_a_new_visitor_sees_the_last_copy_with_its_age_and_reason(
    browser: Browser, tmp_path: Path
):
    data_file = tmp_path / "spuc" / "unicorn_sightings.txt"
    data_file.parent.mkdir()
    data_file.write_text(realistic_export(datetime.now()), encoding="utf-8")
    spuc = EmulatorServer(data_file).start()
    spuc_url = spuc.url
    app = make_app(spuc_url, tmp_path, SPUCSVI_FRESHNESS="1")
    with spucsvi_in_process(app) as url:
        requests.get(f"{url}/", timeout=10).raise_for_status()  # the process holds a copy
        spuc.stop()
        for _ in range(50):  # until the process has tried SPUC and failed
            if 'data-testid="stale"' in requests.get(f"{url}/", timeout=10).text:
                break
            time.sleep(0.1)
        with new_page(browser, viewport=DESKTOP) as page:  # a visitor who never came before
            page.goto(f"{url}/")
            wait_for_charts(page)
            banner = page.get_by_test_id("stale")
            expect(banner).to_contain_text(" ago")
            expect(banner).to_contain_text("could not be reached")
            expect(page.get_by_test_id("total")).to_have_text("30")
            expect(page.locator("table.sightings tbody tr")).to_have_count(15)
            expect(page.locator("#sighting-form button")).to_be_visible()
            assert page.content().count(spuc_url) == 1


def test_with_spuc_down_and_no_copy_one_message_names_spuc_once(browser: Browser, tmp_path: Path):
    spuc_url = closed_port_url()
    with spucsvi_in_process(make_app(spuc_url, tmp_path)) as url, new_page(browser) as page:
        page.goto(f"{url}/")
        expect(page.locator(".banner")).to_have_count(1)
        expect(page.get_by_test_id("no-copy")).to_contain_text("no copy")
        assert page.content().count(spuc_url) == 1
        expect(page.locator("#sighting-form button")).to_be_visible()


def test_with_the_export_off_the_page_says_once_how_to_turn_it_on_in_compose(
    browser: Browser, tmp_path: Path
):
    with (
        EmulatorServer(tmp_path / "off.txt", export_enabled=False) as spuc,
        spucsvi_in_process(make_app(spuc.url, tmp_path)) as url,
        new_page(browser) as page,
    ):
        page.goto(f"{url}/")
        text = page.locator("main").inner_text()
        assert text.count("EXPORT=true") == 2  # the reason's sentence, and the Compose lines
        assert text.count("Start SPUC with EXPORT=true") == 1
        expect(page.locator("pre")).to_contain_text("environment:\n  - EXPORT=true")


def test_a_pasted_long_location_is_kept_and_refused_with_its_reason(
    browser: Browser, server: Server
):
    with new_page(browser, viewport=PHONE) as page:
        page.goto(f"{server.url}/")
        before = spuc_total(server)
        location = page.locator("#location")
        location.fill("x" * 250)  # as a paste: maxlength would cut it to 200
        assert len(location.input_value()) == 250
        page.locator("#brightness").fill("7")
        page.locator("#sighting-form button").click()
        expect(page.locator("#location-error")).to_contain_text("200 characters or fewer")
        assert len(page.locator("#location").input_value()) == 250
        assert spuc_total(server) == before


def test_the_empty_page_says_once_there_are_no_sightings_and_how_to_add_one(
    browser: Browser, tmp_path: Path
):
    with (
        EmulatorServer(tmp_path / "empty" / "unicorn_sightings.txt") as spuc,
        spucsvi_in_process(make_app(spuc.url, tmp_path)) as url,
        new_page(browser, viewport=DESKTOP) as page,
    ):
        page.goto(f"{url}/")
        text = page.locator("main").inner_text()
        assert text.count("No unicorn sightings yet") == 1
        assert "report one with the form" in text
        assert "none" not in text.lower()
        assert "Download" not in text
        expect(page.locator(".summary-panel")).to_be_hidden()


def test_without_javascript_one_sentence_stands_for_the_charts(browser: Browser, server: Server):
    with new_page(browser, viewport=DESKTOP, java_script_enabled=False) as page:
        page.goto(f"{server.url}/")
        expect(page.get_by_test_id("no-script")).to_be_visible()
        expect(page.get_by_test_id("no-script")).to_contain_text("the table below")
        for panel in page.locator(".chart-panel").all():
            expect(panel).to_be_hidden()


@pytest.mark.parametrize(
    ("zone", "column"), [("Europe/Berlin", "time_Europe/Berlin"), ("UTC", None)]
)
def test_the_spreadsheet_download_has_the_visitors_zone(
    browser: Browser, server: Server, zone: str, column: str | None
):
    with new_page(browser, timezone_id=zone) as page:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        link = page.get_by_role("link", name="CSV for spreadsheets")
        answer = page.request.get(link.evaluate("(a) => a.href"))
        assert answer.ok
        body = answer.body()
        assert body.startswith("\ufeff".encode())
        header = body.decode("utf-8-sig").split("\r\n", 1)[0].split(",")
        assert header[:2] == ["count", "time_utc"]
        assert header[2] == column if column else not header[2].startswith("time_")
