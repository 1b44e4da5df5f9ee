"""The dashboard in real headless Chromium: filters, table, auto-refresh, dark mode, screenshots.

Served as a new user serves it (plain gunicorn, 4 workers, in front of the SPUC
emulator), with helpers and the Chromium set-up shared with test_browser.py.
The filter and table tests share one server (`known`) on a known data set
and add nothing to it; the auto-refresh tests add sightings to SPUC directly
on another (`live`) and assert relative to what they find; the screenshots
start their own on 2,000 sightings.

Chromium is Debian's /usr/bin/chromium, never a browser downloaded by
`playwright install`.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, Response, expect

from tests.support.browser import (
    Server,
    assert_clean,
    chart_points,
    contrast,
    describe,
    first_row_location,
    in_place,
    is_poll,
    is_poll_request,
    luminance,
    publish_screenshots,
    running_spucsvi,
    serious,
    take_screenshots,
    total,
    wait_for_charts,
    watch,
)
from tests.support.records import HEADER

pytestmark = pytest.mark.browser

# ------------------------------------------------------------- known data --

MOON, MARS, EUROPA = "moon, crater", "Olympus Mons, Mars", "Europa ice shelf"
START = datetime(2026, 3, 1)
# A window given to the minute: 'to' includes that whole minute.
WINDOW_FROM, WINDOW_TO = "2026-03-04T00:00", "2026-03-08T12:00"
NO_MATCH_FROM = "2031-01-01T00:00"
PER_PAGE = 15  # views.DEFAULT_PER_PAGE


@dataclass(frozen=True)
class Row:
    count: int
    time: datetime
    location: str
    brightness: str  # as SPUC stores it


def known_rows() -> list[Row]:
    """60 sightings, 5 hours apart from START: 25 on the moon, 20 on Mars, 15 on Europa.

    Every brightness is different, so each sort order has exactly one answer.
    """
    locations = [MOON] * 25 + [MARS] * 20 + [EUROPA] * 15
    random.Random(60).shuffle(locations)  # noqa: S311 - test data, not secrets
    rows = []
    for i, location in enumerate(locations):
        when = START + timedelta(hours=5 * i, seconds=(i * 37) % 60, microseconds=i * 7919)
        value = (i * 37) % 97 + 1  # distinct for i < 97
        rows.append(Row(i + 1, when, location, f"{value}.5" if i % 4 == 0 else str(value)))
    return rows


ROWS = known_rows()


def export_of(rows: list[Row], units: str = "iuhc") -> str:
    lines = [HEADER]
    lines += [f"{r.count},{r.time},{r.location},{r.brightness},{units}\n" for r in rows]
    return "".join(lines)


def in_window(row: Row) -> bool:
    start = datetime.fromisoformat(WINDOW_FROM)
    end = datetime.fromisoformat(WINDOW_TO) + timedelta(minutes=1)
    return start <= row.time < end


@pytest.fixture(scope="module")
def known(tmp_path_factory) -> Iterator[Server]:
    """The known 60 sightings; no test adds to them."""
    with running_spucsvi(tmp_path_factory.mktemp("dashboard"), export_of(ROWS)) as running:
        yield running


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Server]:
    """The known sightings, to which tests add: each asserts relative to what it finds."""
    with running_spucsvi(tmp_path_factory.mktemp("live"), export_of(ROWS)) as running:
        yield running


# ----------------------------------------------------------------- helpers --


def open_settled(page: Page, server: Server, seconds: float = 10) -> None:
    """Open the dashboard once its total is what SPUC holds: a worker's page may
    be up to one freshness window older than a sighting an earlier test added."""
    held = server.export_bytes().count(b"\n") - 1
    deadline = time.monotonic() + seconds
    open_page(page, f"{server.url}/")
    while total(page) != held and time.monotonic() < deadline:
        page.wait_for_timeout(200)
        open_page(page, f"{server.url}/")
    assert total(page) == held


def open_page(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, response and response.status


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def apply_filters(page: Page) -> int:
    """Press Apply as a visitor does; return the status of the view it shows (in place)."""
    return in_place(page, page.get_by_role("button", name="Apply").click)


def follow(page: Page, link) -> int:
    """Follow a link to another view (in place); return the status of that view."""
    return in_place(page, link.click)


def column(page: Page, heading: str) -> list[str]:
    """The texts of one column of the table page shown, top to bottom."""
    return page.evaluate(
        """(heading) => {
          const table = document.querySelector("table.sightings");
          const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
          const index = heads.findIndex((text) => text.startsWith(heading));
          return [...table.querySelectorAll("tbody tr")]
            .map((row) => row.children[index].textContent.trim());
        }""",
        heading,
    )


def selected_locations(page: Page) -> list[str]:
    return page.get_by_label("Locations").evaluate(
        "(select) => [...select.selectedOptions].map((option) => option.value)"
    )


def location_bars(page: Page) -> list[str]:
    return page.evaluate("document.getElementById('locations-chart').data[0].y")


def report_to_spuc(server: Server, location: str, brightness: str) -> None:
    """A sighting PUT to SPUC directly, as another client of SPUC would, not through SPUCSVi."""
    answer = requests.put(
        f"{server.spuc.url}/unicorn_spotted",
        params={"location": location, "brightness": brightness},
        timeout=5,
    )
    answer.raise_for_status()


def window_listeners(page: Page, event: str) -> int:
    """How many `event` listeners the page's window holds (Chromium's DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    try:
        window = cdp.send("Runtime.evaluate", {"expression": "window"})["result"]["objectId"]
        listeners = cdp.send("DOMDebugger.getEventListeners", {"objectId": window})["listeners"]
        return sum(listener["type"] == event for listener in listeners)
    finally:
        cdp.detach()


# ----------------------------------------------------------------- filters --


def test_filters_change_the_summary_the_charts_and_the_table(page: Page, known: Server):
    seen = watch(page)
    open_page(page, f"{known.url}/")
    wait_for_charts(page)
    assert total(page) == len(ROWS)
    assert chart_points(page) == len(ROWS)

    # One location, chosen by its label in the multi-select.
    moon = [r for r in ROWS if r.location == MOON]
    page.get_by_label("Locations").select_option(value=MOON)
    assert apply_filters(page) == 200
    wait_for_charts(page)

    assert query_of(page) == {"location": [MOON]}
    assert total(page) == len(moon)
    expect(page.locator("#live-summary .stat-total .stat-note")).to_have_text(f"of {len(ROWS)}")
    locations = column(page, "Location")
    assert len(locations) == PER_PAGE and set(locations) == {MOON}
    expect(page.locator(".pagination")).to_contain_text(f"({len(moon)} sightings)")
    assert chart_points(page) == len(moon)
    assert chart_points(page, "cumulative-chart") == len(moon)
    assert location_bars(page) == [MOON]
    assert selected_locations(page) == [MOON]  # the form shows the filter in force

    # Then a time window, on top of the location.
    expected = [r for r in moon if in_window(r)]
    assert 0 < len(expected) < len(moon)
    page.get_by_label("From", exact=True).fill(WINDOW_FROM)
    page.get_by_label("To", exact=True).fill(WINDOW_TO)
    assert apply_filters(page) == 200
    wait_for_charts(page)

    assert query_of(page) == {"location": [MOON], "from": [WINDOW_FROM], "to": [WINDOW_TO]}
    assert total(page) == len(expected)
    assert chart_points(page) == len(expected)
    assert set(column(page, "Location")) == {MOON}
    # Every time says its zone: this browser's is UTC.
    shown = [datetime.strptime(t, "%Y-%m-%d %H:%M:%S UTC") for t in column(page, "Time")]
    assert shown == sorted((r.time.replace(microsecond=0) for r in expected), reverse=True)
    expect(page.get_by_label("From", exact=True)).to_have_value(WINDOW_FROM)
    expect(page.get_by_label("To", exact=True)).to_have_value(WINDOW_TO)

    # "Clear filters" shows everything again, with an empty form.
    assert follow(page, page.get_by_role("link", name="Clear filters", exact=True)) == 200
    wait_for_charts(page)
    assert query_of(page) == {}
    assert total(page) == len(ROWS)
    assert chart_points(page) == len(ROWS)
    assert sorted(location_bars(page)) == sorted({MOON, MARS, EUROPA})
    assert selected_locations(page) == []
    expect(page.get_by_label("From", exact=True)).to_have_value("")
    expect(page.get_by_role("link", name="Clear filters")).to_have_count(0)
    assert_clean(seen)


def test_a_filter_matching_nothing_says_so_and_its_link_clears_it(page: Page, known: Server):
    seen = watch(page)
    open_page(page, f"{known.url}/")
    wait_for_charts(page)
    page.get_by_label("Locations").select_option(value=MARS)
    page.get_by_label("From", exact=True).fill(NO_MATCH_FROM)
    assert apply_filters(page) == 200

    expect(page.get_by_role("heading", name="No sightings match these filters")).to_be_visible()
    assert total(page) == 0
    expect(page.locator(".chart")).to_have_count(0)
    expect(page.locator("table.sightings")).to_have_count(0)
    expect(page.locator("#live-results")).to_contain_text(f"to see all {len(ROWS)} sightings")

    assert follow(page, page.get_by_role("link", name="Clear the filters")) == 200
    wait_for_charts(page)
    assert query_of(page) == {}
    assert total(page) == len(ROWS)
    assert chart_points(page) == len(ROWS)
    assert_clean(seen)


def test_a_malformed_filter_answers_400_and_the_form_still_works(page: Page, known: Server):
    seen = watch(page)
    open_page(page, f"{known.url}/?from=yesterday", status=400)

    # The reason beside the field, which keeps what was typed; the rest applies.
    expect(page.locator("#filter-from-error")).to_contain_text(
        "'from' must be a date like 2026-11-27 or a time like 2026-11-27T18:30."
    )
    wait_for_charts(page)
    assert total(page) == len(ROWS)
    expect(page.get_by_label("From", exact=True)).to_have_value("yesterday")

    page.get_by_label("From", exact=True).fill("")
    page.get_by_label("Locations").select_option(value=EUROPA)
    assert apply_filters(page) == 200
    wait_for_charts(page)
    expect(page.locator("#filter-from-error")).to_have_count(0)
    assert query_of(page) == {"location": [EUROPA]}
    assert total(page) == sum(r.location == EUROPA for r in ROWS)
    assert_clean(seen, answered=400)


# ------------------------------------------------------------------- table --


def test_table_sorts_by_brightness_both_ways_and_pages(page: Page, known: Server):
    seen = watch(page)
    open_page(page, f"{known.url}/")
    wait_for_charts(page)
    brightness = sorted(float(r.brightness) for r in ROWS)
    time_head = page.get_by_role("columnheader", name="Time", exact=True)
    brightness_head = page.get_by_role("columnheader", name="Brightness", exact=True)
    expect(time_head).to_have_attribute("aria-sort", "descending")
    expect(brightness_head).not_to_have_attribute("aria-sort", re.compile(".*"))

    # First click: brightest first.
    assert follow(page, brightness_head.get_by_role("link")) == 200
    wait_for_charts(page)
    assert query_of(page) == {"sort": ["brightness"], "order": ["desc"]}
    expect(brightness_head).to_have_attribute("aria-sort", "descending")
    expect(time_head).not_to_have_attribute("aria-sort", re.compile(".*"))
    values = [float(v) for v in column(page, "Brightness")]
    assert values[0] == max(brightness)
    assert values == brightness[::-1][:PER_PAGE]

    # Second click: dimmest first.
    assert follow(page, brightness_head.get_by_role("link")) == 200
    wait_for_charts(page)
    assert query_of(page) == {"sort": ["brightness"], "order": ["asc"]}
    expect(brightness_head).to_have_attribute("aria-sort", "ascending")
    values = [float(v) for v in column(page, "Brightness")]
    assert values == brightness[:PER_PAGE]

    # The next page continues the same order.
    assert follow(page, page.get_by_role("link", name="Next page")) == 200
    wait_for_charts(page)
    assert query_of(page) == {"sort": ["brightness"], "order": ["asc"], "page": ["2"]}
    pages = -(-len(ROWS) // PER_PAGE)
    expect(page.locator(".pagination")).to_contain_text(f"Page 2 of {pages}")
    expect(page.get_by_role("link", name="Previous page")).to_be_visible()
    values = [float(v) for v in column(page, "Brightness")]
    assert values == brightness[PER_PAGE : 2 * PER_PAGE]
    expect(brightness_head).to_have_attribute("aria-sort", "ascending")
    # Charts and summary cover every sighting whatever the table shows.
    assert total(page) == len(ROWS)
    assert chart_points(page) == len(ROWS)
    assert_clean(seen)


# ------------------------------------------------------------ auto-refresh --


def test_auto_refresh_shows_a_sighting_added_to_spuc_without_reloading(page: Page, live: Server):
    """Real timers: polls every 5 s, conditional after the first, a 304 while nothing changes."""
    server = live
    seen = watch(page)
    polls: list[Response] = []
    page.on("response", lambda r: is_poll(r) and polls.append(r))
    open_settled(page, server)
    wait_for_charts(page)
    page.evaluate("window.__noReload = 1")
    before, points = total(page), chart_points(page)

    with page.expect_response(is_poll, timeout=8_000) as first:
        page.get_by_label("Auto-refresh").select_option(label="Every 5 s")
        expect(page.locator("#refresh-status")).to_have_text("Refreshing every 5 s")
    with page.expect_response(is_poll, timeout=8_000) as second:
        pass
    etag = first.value.header_value("etag")
    assert first.value.status == 200 and etag
    assert first.value.request.header_value("if-none-match") is None
    assert second.value.request.header_value("if-none-match") == etag
    assert second.value.status == 304
    expect(page.locator("#refresh-checked")).to_contain_text("Up to date at")
    assert total(page) == before

    # A sighting reported to SPUC directly, not through SPUCSVi.
    location = f"Refresh nebula {uuid.uuid4().hex[:8]}"
    report_to_spuc(server, location, "77")

    expect(page.get_by_test_id("total")).to_have_text(str(before + 1), timeout=15_000)
    assert first_row_location(page) == location
    wait_for_charts(page)
    assert chart_points(page) == points + 1
    assert location in location_bars(page)
    expect(page.locator("#refresh-checked")).to_contain_text("Updated at")
    expect(page.locator("#refresh-status")).to_have_text("1 new sighting")
    # Until a worker has revalidated (within its freshness window), polls say 304.
    changed = polls[-1]
    assert [poll.status for poll in polls[1:-1]] == [304] * (len(polls) - 2)
    assert changed.status == 200 and changed.header_value("etag") != etag

    # The redrawn page keeps polling, now with the new ETag, and nothing changed.
    with page.expect_response(is_poll, timeout=8_000) as after:
        pass
    assert after.value.request.header_value("if-none-match") == changed.header_value("etag")
    assert after.value.status == 304
    assert page.evaluate("window.__noReload") == 1
    assert [r.status for r in polls] == [200, 304, 200, 304]
    assert_clean(seen)


def test_auto_refresh_releases_the_charts_it_replaces(page: Page, live: Server):
    """Page clock under test control, so the refresh needs no 5 s of waiting."""
    seen = watch(page)
    page.clock.install()
    open_page(page, f"{live.url}/")
    wait_for_charts(page)
    before = window_listeners(page, "resize")
    assert before >= 4  # plotly.js's responsive charts, one each
    page.get_by_label("Auto-refresh").select_option(label="Every 5 s")
    location = f"Leak check {uuid.uuid4().hex[:8]}"
    report_to_spuc(live, location, "3")
    # Past two freshness windows (1 s each), in real time: the poll's worker asks SPUC first.
    page.wait_for_timeout(2_500)
    with page.expect_response(is_poll) as poll:
        page.clock.run_for(5_000)
    assert poll.value.status == 200
    page.wait_for_function(
        "(location) => document.querySelector('table.sightings td.location')"
        ".textContent.trim() === location",
        arg=location,
    )
    wait_for_charts(page)
    assert_clean(seen)
    assert window_listeners(page, "resize") == before


def test_auto_refresh_pauses_while_the_page_is_hidden(page: Page, known: Server):
    """Page clock under test control; document.hidden overridden in the page."""
    seen = watch(page)
    polls: list[str] = []
    page.on("request", lambda r: is_poll_request(r) and polls.append(r.url))
    page.clock.install()
    open_page(page, f"{known.url}/")
    wait_for_charts(page)
    page.evaluate(
        """() => {
          window.__hidden = false;
          Object.defineProperty(document, "hidden", {
            configurable: true, get: () => window.__hidden });
          Object.defineProperty(document, "visibilityState", {
            configurable: true, get: () => (window.__hidden ? "hidden" : "visible") });
          window.__setHidden = (hidden) => {
            window.__hidden = hidden;
            document.dispatchEvent(new Event("visibilitychange"));
          };
        }"""
    )
    page.clock.pause_at(datetime.now() + timedelta(hours=1))
    page.get_by_label("Auto-refresh").select_option(label="Every 5 s")

    # Visible: a poll every 5 s of page time, and none before.
    page.clock.run_for(4_900)
    page.wait_for_timeout(300)  # a request, if any, would be reported by now
    assert polls == []
    with page.expect_request(is_poll_request):
        page.clock.run_for(100)
    assert len(polls) == 1

    # Hidden: three intervals pass without a request.
    page.evaluate("window.__setHidden(true)")
    assert page.evaluate("document.hidden") is True
    page.clock.run_for(16_000)
    page.wait_for_timeout(300)  # a request, if any, would be reported by now
    assert len(polls) == 1

    # Shown again: at once, then on the interval.
    with page.expect_response(lambda r: is_poll_request(r.request)):
        page.evaluate("window.__setHidden(false)")
    assert len(polls) == 2
    page.wait_for_timeout(300)  # one poll at a time: let this one finish first
    with page.expect_request(is_poll_request):
        page.clock.run_for(5_000)
    assert len(polls) == 3
    assert_clean(seen)


# ---------------------------------------------------- dark, reduced motion --


def test_dark_scheme_with_reduced_motion_is_dark_and_accessible(page: Page, known: Server):
    from axe_playwright_python.sync_playwright import Axe

    page.emulate_media(color_scheme="dark", reduced_motion="reduce")
    seen = watch(page)
    open_page(page, f"{known.url}/")
    wait_for_charts(page)
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    assert page.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")

    styles = page.evaluate(
        """() => {
          const style = (selector) => getComputedStyle(document.querySelector(selector));
          return {
            body: style("body").backgroundColor, text: style("body").color,
            panel: style(".panel").backgroundColor,
          };
        }"""
    )
    assert luminance(styles["body"]) < 0.05, styles
    assert luminance(styles["panel"]) < 0.05, styles
    assert luminance(styles["text"]) > 0.6, styles

    axe = Axe()
    found = serious(axe.run(page))
    assert found == [], "dark, all sightings:\n" + describe(found)

    page.get_by_label("Locations").select_option(value=MOON)
    assert apply_filters(page) == 200
    wait_for_charts(page)
    found = serious(axe.run(page))
    assert found == [], "dark, filtered:\n" + describe(found)
    assert_clean(seen)


def test_dark_scheme_chart_text_is_readable(page: Page, known: Server):
    page.emulate_media(color_scheme="dark")
    open_page(page, f"{known.url}/")
    wait_for_charts(page)
    found = page.evaluate(
        """() => {
          const texts = document.querySelectorAll(
            ".chart .xtick text, .chart .ytick text, .chart .g-xtitle text, .chart .g-ytitle text");
          return {
            panel: getComputedStyle(document.querySelector(".chart-panel")).backgroundColor,
            fills: [...new Set([...texts].map((text) => getComputedStyle(text).fill))],
          };
        }"""
    )
    assert found["fills"], "no axis text found"
    low = {fill: round(contrast(fill, found["panel"]), 2) for fill in found["fills"]}
    assert all(ratio >= 4.5 for ratio in low.values()), f"on {found['panel']}: {low}"


# ------------------------------------------------------------- screenshots --

BUSY_LOCATIONS = [
    "moon, crater",
    "Olympus Mons, Mars",
    "Tycho crater",
    "Europa ice shelf",
    "Saturn's rings (B ring)",
    "ISS cupola",
    "Titan, Kraken Mare",
    "Andromeda outskirts",
    "Ganymede",
    "Io, Loki Patera",
    "Enceladus geysers",
    "Orion Nebula",
    "Venus cloud tops",
    "Halley's comet tail",
    "Lagrange point L2",
    "Phobos",
    "Callisto",
    "Proxima b",
    "Vesta, Rheasilvia",
    "Kuiper belt",
]
BUSY_READABLE = 2000


def busy_export(last_day: datetime, seed: int = 2026) -> str:
    """2,000 readable sightings over the week before `last_day`, as SPUC would have them.

    Locations with Zipf-like frequencies, brightness about N(50, 20) clipped at
    0 with a few very bright outliers, SPUC restarted with `iulu` units for the
    last 500, and one location with a newline in it: two unreadable lines.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(BUSY_LOCATIONS))]
    start = last_day - timedelta(days=7)
    week = 7 * 86_400 * 10**6
    times = sorted(
        start + timedelta(microseconds=rng.randrange(week)) for _ in range(BUSY_READABLE + 1)
    )
    outliers = set(rng.sample(range(BUSY_READABLE + 1), 6))
    broken = 1234
    lines = [HEADER]
    for i, when in enumerate(times):
        location = rng.choices(BUSY_LOCATIONS, weights)[0]
        if i == broken:
            location = "Kuiper belt\n(near Arrokoth)"
        value = rng.uniform(180, 400) if i in outliers else max(0.0, rng.gauss(50, 20))
        raw = str(round(value)) if rng.random() < 0.6 else f"{value:.1f}"
        units = "iuhc" if i < BUSY_READABLE + 1 - 500 else "iulu"
        lines.append(f"{i + 1},{when},{location},{raw},{units}\n")
    return "".join(lines)


def test_screenshots_with_2000_sightings(browser: Browser, tmp_path: Path):
    """Always taken and checked; copied to docs/ only with SPUCSVI_SCREENSHOTS=1."""
    with running_spucsvi(tmp_path, busy_export(datetime(2026, 11, 26))) as shown:
        summary = requests.get(f"{shown.url}/api/summary", timeout=10).json()
        assert summary["total"] == BUSY_READABLE
        assert summary["unreadable_lines"] == 2
        assert summary["units"] == ["iuhc", "iulu"]
        assert summary["locations"] == len(BUSY_LOCATIONS)
        shots = take_screenshots(
            browser, shown.url, tmp_path, views=("1440", "375", "1440-dark", "375-dark")
        )

    assert all(path.stat().st_size > 20_000 for path in shots)  # a page, not a blank
    publish_screenshots(shots)
