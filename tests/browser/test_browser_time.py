"""Honest time in real headless Chromium: issue 11, item 4.

SPUC writes its times without a zone; SPUCSVi takes them as UTC (unless
SPUC_TIMEZONE says otherwise) and every time on the page says its zone. A
visitor in Berlin (the browser context's timezone_id) sees them on their own
clock, with recent ones as "2 min ago", can switch to UTC, and types filter
times on their own clock. Range presets count back from now, are links a
keyboard reaches, and live in the URL.

Chromium is Debian's /usr/bin/chromium, never a browser downloaded by
`playwright install`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import (
    TIMEOUT_MS,
    Server,
    assert_clean,
    clipped_titles,
    in_place,
    new_page,
    running_spucsvi,
    wait_for_charts,
    watch,
)
from tests.support.records import HEADER

pytestmark = pytest.mark.browser


def export() -> str:
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (datetime(2026, 1, 15, 10, 0), "moon, crater"),  # 11:00 in Berlin (CET)
        (datetime(2026, 1, 15, 12, 0), "Phobos"),  # 13:00 in Berlin
        (now - timedelta(hours=3), "Io"),
        (now - timedelta(seconds=150), "Europa ice shelf"),
    ]
    return HEADER + "".join(
        f"{i},{when},{location},{10 * i},iuhc\n" for i, (when, location) in enumerate(rows, 1)
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    with running_spucsvi(tmp_path_factory.mktemp("time"), export()) as served:
        yield served


@pytest.fixture
def berlin(browser: Browser) -> Iterator[Page]:
    with new_page(browser, timezone_id="Europe/Berlin", locale="de-DE") as page:
        yield page


def total(page: Page) -> str:
    return page.get_by_test_id("total").inner_text()


def table_times(page: Page) -> list[str]:
    return page.locator("table.sightings tbody tr td:nth-child(2)").all_inner_texts()


def test_a_visitor_in_berlin_sees_their_own_clock_and_can_switch_to_utc(
    berlin: Page, server: Server
):
    seen = watch(berlin)
    berlin.goto(f"{server.url}/")
    wait_for_charts(berlin)
    times = table_times(berlin)
    assert times[-1] == "2026-01-15 11:00:00 MEZ"  # 10:00 UTC, on a German clock
    assert times[0].endswith("(2 min ago)")
    hover = berlin.evaluate("document.getElementById('brightness-chart').data[0].hovertemplate")
    assert "UTC" not in hover and ("MEZ" in hover or "MESZ" in hover)
    title = berlin.evaluate("document.getElementById('brightness-chart').layout.xaxis.title.text")
    assert title.startswith("Time of sighting (your time")

    utc = berlin.get_by_role("button", name="UTC")
    expect(utc).to_have_attribute("aria-pressed", "false")
    utc.focus()
    berlin.keyboard.press("Enter")
    expect(utc).to_have_attribute("aria-pressed", "true")
    assert table_times(berlin)[-1] == "2026-01-15 10:00:00 UTC"
    expect(berlin.locator("#filter-time-help")).to_have_text("In UTC: a date, or a date and time.")
    wait_for_charts(berlin)
    hover = berlin.evaluate("document.getElementById('brightness-chart').data[0].hovertemplate")
    assert " UTC" in hover
    berlin.get_by_role("button", name="your time").click()  # back to the default
    assert_clean(seen)


def test_on_a_phone_in_india_the_zone_fits_in_the_axis_titles(browser: Browser, server: Server):
    """The visitor's zone makes a time axis's title longer ("GMT+5:30")."""
    context = browser.new_context(
        timezone_id="Asia/Kolkata", locale="en-US", viewport={"width": 375, "height": 800}
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    seen = watch(page)
    page.goto(f"{server.url}/")
    wait_for_charts(page)
    title = page.evaluate("document.getElementById('brightness-chart').layout.xaxis.title.text")
    assert "GMT+5:30" in title
    assert clipped_titles(page) == []
    assert_clean(seen)
    context.close()


def test_filter_times_mean_the_visitors_clock_and_a_date_alone_is_accepted(
    berlin: Page, server: Server
):
    seen = watch(berlin)
    berlin.goto(f"{server.url}/")
    wait_for_charts(berlin)
    expect(berlin.locator("#filter-time-help")).to_have_text(
        "In your time (Europe/Berlin): a date, or a date and time."
    )
    berlin.locator("#filter-from").fill("2026-01-15 12:30")  # 11:30 UTC: after sighting 1
    berlin.locator("#filter-to").fill("2026-01-15")  # a date alone: that whole day in Berlin
    assert in_place(berlin, berlin.get_by_role("button", name="Apply").click) == 200
    wait_for_charts(berlin)
    query = parse_qs(urlsplit(berlin.url).query)
    assert query["from"] == ["2026-01-15T11:30Z"]
    assert query["to"] == ["2026-01-15T22:59Z"]
    assert total(berlin) == "1"
    assert table_times(berlin) == ["2026-01-15 13:00:00 MEZ"]
    expect(berlin.locator("#filter-from")).to_have_value("2026-01-15 12:30")
    assert_clean(seen)


def test_range_presets_count_back_from_now_by_keyboard_and_live_in_the_url(
    page: Page, server: Server
):
    seen = watch(page)
    page.goto(f"{server.url}/")
    wait_for_charts(page)
    presets = page.get_by_role("navigation", name="Time range")
    expect(presets.get_by_role("link", name="All time")).to_have_attribute("aria-current", "page")
    last_hour = presets.get_by_role("link", name="Last hour")
    last_hour.focus()
    assert in_place(page, lambda: page.keyboard.press("Enter")) == 200
    # In place: the chosen preset keeps the focus.
    expect(presets.get_by_role("link", name="Last hour")).to_be_focused()
    assert parse_qs(urlsplit(page.url).query) == {"since": ["1h"]}
    assert total(page) == "1"
    expect(presets.get_by_role("link", name="Last hour")).to_have_attribute("aria-current", "page")
    wait_for_charts(page)
    assert page.evaluate("document.getElementById('brightness-chart').data[0].y") == [40]
    assert in_place(page, presets.get_by_role("link", name="Last day").click) == 200
    assert total(page) == "2"
    assert len(table_times(page)) == 2
    assert_clean(seen)


def test_a_time_chip_says_what_its_field_says_on_either_clock(berlin: Page, server: Server):
    seen = watch(berlin)
    berlin.goto(f"{server.url}/?from=2026-01-15T11:30Z&to=2026-01-15")
    wait_for_charts(berlin)
    chips = berlin.get_by_role("list", name="Active filters").get_by_role("link")
    expect(berlin.locator("#filter-from")).to_have_value("2026-01-15 12:30")
    expect(chips).to_have_text(["from 2026-01-15 12:30 ×", "to 2026-01-15 01:00 ×"])
    expect(chips.first).to_have_attribute("aria-label", "Remove the filter: from 2026-01-15 12:30")
    berlin.get_by_role("button", name="UTC").click()
    expect(berlin.locator("#filter-from")).to_have_value("2026-01-15 11:30")
    expect(chips).to_have_text(["from 2026-01-15 11:30 ×", "to 2026-01-15 ×"])
    berlin.get_by_role("button", name="your time").click()  # back to the default
    assert_clean(seen)


@pytest.mark.parametrize(
    "options",
    [{"timezone_id": "UTC"}, {"timezone_id": "Europe/Berlin", "java_script_enabled": False}],
    ids=["in-utc", "without-javascript"],
)
def test_the_zone_switch_is_only_there_when_it_can_do_something(
    browser: Browser, server: Server, options: dict
):
    with new_page(browser, **options) as page:
        page.goto(f"{server.url}/")
        page.locator("table.sightings").wait_for()
        switch = page.locator(".zone-switch")
        expect(switch).to_have_count(1)
        expect(switch).to_be_hidden()


def test_a_visitor_in_kolkata_reads_the_zones_current_name(browser: Browser, server: Server):
    with new_page(browser, timezone_id="Asia/Kolkata") as page:
        seen = watch(page)
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        expect(page.locator("#filter-time-help")).to_have_text(
            "In your time (Asia/Kolkata): a date, or a date and time."
        )
        expect(page.locator(".zone-switch")).to_be_visible()
        assert_clean(seen)
