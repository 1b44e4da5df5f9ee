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

import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import (
    RECORDED,
    TIMEOUT_MS,
    assert_clean,
    contrast,
    describe,
    in_place,
    new_page,
    publish_screenshots,
    running_spucsvi,
    serious,
    submit,
    wait_for_charts,
    watch,
)
from tests.support.records import HEADER

pytestmark = pytest.mark.browser


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
    assert submit(page, location, brightness) == 200
    assert page.url.endswith("#report")


def x_span_minutes(page: Page, chart_id: str) -> float:
    return page.evaluate(
        """(id) => {
          const range = document.getElementById(id)._fullLayout.xaxis.range;
          return (new Date(range[1]) - new Date(range[0])) / 60000;
        }""",
        chart_id,
    )


def tick_label_problems(page: Page, chart_id: str) -> list[str]:
    """Rotated, overlapping or cut-off tick labels of a chart's x axis, or fewer
    than two shown (a narrow chart once left its only label out)."""
    return page.evaluate(
        """(id) => {
          const chart = document.getElementById(id);
          const box = chart.getBoundingClientRect();
          const labels = [...chart.querySelectorAll(".xtick text")].filter((t) => {
            const r = t.getBoundingClientRect();  // left out (display: none): not shown
            return r.width > 0 && getComputedStyle(t).display !== "none";
          });
          const problems = labels.length < 2 ? [labels.length + " labels shown"] : [];
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
    viewport = {"width": 1440, "height": 900}
    with (
        new_page(browser, viewport=viewport, color_scheme="light", reduced_motion="reduce") as page,
        running_spucsvi(tmp_path) as server,
    ):
        page.goto(f"{server.url}/")
        submit_and_land(page, "moon, crater", "7")
        wait_for_charts(page)
        path = tmp_path / "screenshot-first-sighting.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
    assert path.read_bytes().startswith(b"\x89PNG")
    publish_screenshots([path])


# ------------------------------------------------------------- the form helps --


def test_the_form_says_the_units_reads_a_decimal_comma_and_never_asks_to_resend(
    page: Page, tmp_path: Path
):
    seen = watch(page)
    posted_navigations: list[str] = []
    page.on(
        "request",
        lambda r: (
            r.is_navigation_request() and r.method != "GET" and posted_navigations.append(r.url)
        ),
    )
    # SPUC was switched to iulu: its newest record says so.
    export = five_sightings().replace(",18,iuhc\n", ",18,iulu\n")
    with running_spucsvi(tmp_path, export) as server:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        brightness = page.get_by_label("Brightness", exact=True)
        expect(page.locator("#brightness-help")).to_have_text(
            "SPUC records it in Intergalactic Unicorn Luminosity Units (iulu), "
            "the units of its newest sighting."
        )
        expect(brightness).to_have_attribute("aria-describedby", "brightness-help")

        # Refused: the reason next to the field, focus there, the page not left.
        assert submit(page, "Callisto", "very") == 422
        expect(brightness).to_be_focused()
        expect(page.locator("#brightness-error")).to_be_in_viewport()
        expect(brightness).to_have_value("very")

        # "7,5" from a European keypad goes to SPUC as 7.5.
        assert submit(page, "Callisto", "7,5") == 200
        expect(page.get_by_text(RECORDED, exact=True)).to_be_in_viewport()
        # (This emulator records iuhc: the help follows SPUC's newest record, now that one.)
        assert server.export_bytes().endswith(b",Callisto,7.5,iuhc\n")

        # Back: no form is sent again, because none ever was a navigation.
        page.go_back()
        page.wait_for_load_state("load")
        assert posted_navigations == []
        assert server.export_bytes().count(b"Callisto") == 1
    assert_clean(seen, answered=422)


def test_a_refused_sighting_on_a_phone_shows_its_reason_at_the_field(page: Page, tmp_path: Path):
    seen = watch(page)
    page.set_viewport_size({"width": 375, "height": 740})
    with running_spucsvi(tmp_path, five_sightings()) as server:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        page.mouse.wheel(0, 2000)  # the visitor had scrolled to the charts, then back up
        page.get_by_label("Location", exact=True).scroll_into_view_if_needed()
        assert submit(page, "", "3") == 422
        location = page.get_by_label("Location", exact=True)
        expect(location).to_be_focused()
        expect(page.locator("#location-error")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_clean(seen, answered=422)


def test_dark_scheme_data_stands_out_and_toolbars_are_not_in_the_tab_order(
    browser: Browser, tmp_path: Path
):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = watch(page)
    try:
        with running_spucsvi(tmp_path, five_sightings()) as server:
            page.goto(f"{server.url}/")
            wait_for_charts(page)
            colours = page.evaluate(
                """() => {
                  const css = (c) => { const e = document.createElement("i");
                    e.style.color = c; document.body.append(e);
                    const v = getComputedStyle(e).color; e.remove(); return v; };
                  const panel = getComputedStyle(document.querySelector(".chart-panel"))
                    .backgroundColor;
                  const line = document.getElementById("cumulative-chart").data[0].line.color;
                  const bars = document.getElementById("locations-chart").data[0].marker;
                  return {panel, data: [css(line), css(bars.color), css(bars.line.color)]};
                }"""
            )
            for colour in colours["data"]:
                assert contrast(colour, colours["panel"]) >= 3, (colour, colours["panel"])
            focusable = page.evaluate(
                """() => [...document.querySelectorAll(
                    ".chart a, .chart button, .chart [tabindex]")
                  ].filter((e) => e.tabIndex >= 0).length"""
            )
            assert focusable == 0
            # Tab from the table's first sort link back: never into a chart.
            page.locator("table.sightings thead a").first.focus()
            for _ in range(8):
                page.keyboard.press("Shift+Tab")
                assert page.evaluate("!document.activeElement.closest('.chart')")
    finally:
        context.close()
    assert_clean(seen)


# --------------------------------------------------------- instant interaction --


def test_sort_and_pages_update_in_place_keeping_scroll_zoom_and_focus(page: Page, tmp_path: Path):
    seen = watch(page)
    many = HEADER + "".join(
        f"{i},2026-11-27 {i // 60:02d}:{i % 60:02d}:00,L{i % 7},{i * 37 % 101},iuhc\n"
        for i in range(1, 41)
    )
    with running_spucsvi(tmp_path, many) as server:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        page.evaluate("window.__samePage = true")
        # Zoom the brightness chart, then scroll to the table.
        page.evaluate(
            """Plotly.relayout("brightness-chart",
                 {"xaxis.range": ["2026-11-27 00:10", "2026-11-27 00:20"]})"""
        )
        heading = page.get_by_role("link", name="Brightness", exact=True)
        heading.scroll_into_view_if_needed()
        scrolled = page.evaluate("window.scrollY")
        assert scrolled > 0

        assert in_place(page, heading.click) == 200
        assert "sort=brightness" in page.url
        assert page.evaluate("window.__samePage") is True  # no reload
        assert abs(page.evaluate("window.scrollY") - scrolled) < 5
        expect(page.get_by_role("link", name=re.compile("^Brightness"))).to_be_focused()
        zoomed = page.evaluate("document.getElementById('brightness-chart').layout.xaxis.range")
        assert zoomed[0].startswith("2026-11-27 00:10")

        next_page = page.get_by_role("link", name="Next page")
        assert in_place(page, next_page.click) == 200
        assert "page=2" in page.url
        expect(page.locator(".pagination")).to_contain_text("Page 2 of 3")
        expect(page.get_by_role("link", name="Next page")).to_be_focused()

        # Back shows the earlier view in place, as its link would.
        with page.expect_response(lambda r: urlsplit(r.url).path == "/"):
            page.go_back()
        page.wait_for_selector("main:not([aria-busy])", state="attached")
        expect(page.locator(".pagination")).to_contain_text("Page 1 of 3")
        assert page.evaluate("window.__samePage") is True
    assert_clean(seen)


def test_without_javascript_the_same_links_and_forms_work(browser: Browser, tmp_path: Path):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        with running_spucsvi(tmp_path, five_sightings()) as server:
            page.goto(f"{server.url}/")
            with page.expect_navigation():
                page.get_by_role("link", name="Brightness", exact=True).click()
            assert "sort=brightness" in page.url
            with page.expect_navigation():
                page.get_by_role("link", name="Last day").click()
            assert "since=1d" in page.url
            page.locator("#filter-from").fill("2026-01-01")
            with page.expect_navigation():
                page.get_by_role("button", name="Apply").click()
            assert "from=2026-01-01" in page.url and "since=1d" in page.url
            expect(page.get_by_test_id("total")).to_have_text("5")
            page.get_by_label("Location", exact=True).fill("Io")
            page.get_by_label("Brightness", exact=True).fill("4")
            with page.expect_navigation():
                page.get_by_role("button", name="I saw a unicorn!").click()
            expect(page.get_by_text(RECORDED, exact=True)).to_be_visible()
            assert "sort=brightness" in page.url and page.url.endswith("#report")
    finally:
        context.close()


def test_clicking_a_locations_bar_filters_by_it(page: Page, tmp_path: Path):
    seen = watch(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    with running_spucsvi(tmp_path, five_sightings()) as server:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        page.locator("#locations-chart").scroll_into_view_if_needed()
        box = page.locator("#locations-chart .bars .point").last.bounding_box()  # the top bar
        assert box is not None
        x, y = box["x"] + box["width"] / 3, box["y"] + box["height"] / 2
        page.mouse.move(x, y + 20)
        page.mouse.move(x, y, steps=4)  # Plotly clicks what it hovers
        assert in_place(page, lambda: page.mouse.click(x, y)) == 200
        assert "location=moon%2C+crater" in page.url or "location=moon,+crater" in page.url
        expect(page.get_by_test_id("total")).to_have_text("2")
    assert_clean(seen)


# ------------------------------------------------------------------- live --


def test_live_refresh_keeps_zoom_and_typing_marks_new_rows_and_says_when_stale(
    page: Page, tmp_path: Path
):
    import requests

    seen = watch(page)
    with running_spucsvi(tmp_path, five_sightings()) as server:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        zoom = ["2026-01-01 00:00", "2026-01-02 00:00"]
        page.evaluate(f"Plotly.relayout('brightness-chart', {{'xaxis.range': {zoom}}})")
        location = page.get_by_label("Location", exact=True)
        location.fill("half-typed")
        for name in ("Callisto", "Callisto", "Titan"):  # straight to SPUC, not through the page
            requests.put(
                f"{server.spuc.url}/unicorn_spotted",
                params={"location": name, "brightness": "3"},
                timeout=5,
            ).raise_for_status()
        status = page.locator("#refresh-status")
        # The visitor reads the table; the refresh must leave it where it is on screen.
        table = page.locator("table.sightings")
        table.scroll_into_view_if_needed()
        assert page.evaluate("window.scrollY") > 0
        where = table.evaluate("(t) => t.getBoundingClientRect().top")
        for _ in range(20):
            page.evaluate("document.getElementById('refresh-now').click()")  # no scrolling
            page.wait_for_timeout(300)
            if re.search(r"\b3 new", status.inner_text()):
                break
        expect(status).to_contain_text(re.compile(r"\b3 new"))
        assert abs(table.evaluate("(t) => t.getBoundingClientRect().top") - where) <= 2
        expect(page.locator("table.sightings tr.is-new")).to_have_count(3)
        wait_for_charts(page)
        page.wait_for_timeout(300)
        kept = page.evaluate("document.getElementById('brightness-chart').layout.xaxis.range")
        assert [k[:16] for k in kept] == zoom
        expect(location).to_have_value("half-typed")
        options = page.locator("#filter-location option")
        expect(options).to_have_count(6)  # Callisto and Titan are new
        assert "Callisto (2)" in options.evaluate_all("(os) => os.map((o) => o.label)")

        # SPUC (or SPUCSVi) not answering: the page says what it shows may be stale.
        page.route(
            f"{server.url}/",
            lambda route: (
                route.fulfill(status=503, body="")
                if route.request.resource_type == "fetch"
                else route.continue_()
            ),
        )
        page.get_by_role("button", name="Refresh now").click()
        expect(status).to_contain_text("may be out of date")
    assert_clean(seen, answered=503)
