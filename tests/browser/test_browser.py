"""SPUCSVi in real headless Chromium, served as a new user serves it.

One SPUC emulator (in-process, on 127.0.0.1) and SPUCSVi under plain
`gunicorn -w 4 'spucsvi:create_app()'` (no gunicorn.conf.py, no secret, as a
subprocess) serve the whole module; they start with a month of
realistic sightings. Every test asserts relative to what it adds itself, so
the tests do not depend on their order.

Chromium is Debian's /usr/bin/chromium, never a browser downloaded by
`playwright install`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from spucsvi.web.security import CONTENT_SECURITY_POLICY
from tests.support.browser import (
    RECORDED,
    Server,
    assert_clean,
    chart_points,
    describe,
    first_row_location,
    hover_newest_point,
    is_form_answer,
    open_dashboard,
    plotly_path,
    serious,
    spuc_total,
    submit,
    total,
    wait_for_charts,
    watch,
)

pytestmark = pytest.mark.browser

# ------------------------------------------------------------------- tests --


def test_submit_through_the_form_records_shows_and_charts_it(page: Page, server: Server):
    seen = watch(page)
    location = "moon, crater & co #1 + ünïcörn"
    open_dashboard(page, server)
    before = spuc_total(server)

    assert submit(page, location, "7") == 200

    expect(page.get_by_text(RECORDED, exact=True)).to_be_visible()
    assert total(page) == before + 1
    assert first_row_location(page) == location
    wait_for_charts(page)
    chart = page.locator("#brightness-chart")
    expect(chart).to_have_class(re.compile(r"\bjs-plotly-plot\b"))
    assert chart.locator("svg.main-svg").count() >= 1
    assert chart_points(page) == before + 1
    export = server.export_bytes()
    assert export.endswith(f",{location},7,iuhc\n".encode())
    assert export.count(location.encode()) == 1
    assert_clean(seen)


def test_invalid_input_shows_field_errors_keeps_values_and_sends_nothing(
    page: Page, server: Server
):
    seen = watch(page)
    open_dashboard(page, server)
    export_before = server.export_bytes()

    assert submit(page, "", "-3") == 422

    location_input = page.get_by_label("Location", exact=True)
    brightness_input = page.get_by_label("Brightness", exact=True)
    expect(page.locator("#location-error")).to_have_text("Please say where you saw the unicorn.")
    expect(page.locator("#brightness-error")).to_have_text("Brightness cannot be negative.")
    expect(location_input).to_have_attribute("aria-invalid", "true")
    expect(location_input).to_have_attribute("aria-describedby", re.compile(r"^location-error\b"))
    expect(brightness_input).to_have_attribute("aria-invalid", "true")
    expect(brightness_input).to_have_attribute(
        "aria-describedby", re.compile(r"^brightness-error\b")
    )
    expect(location_input).to_have_value("")
    expect(brightness_input).to_have_value("-3")
    expect(page.get_by_text(RECORDED)).to_have_count(0)

    # A valid location is kept exactly as typed while the brightness is fixed.
    assert submit(page, "Olympus Mons & <co> ünïcörn", "very bright") == 422
    expect(page.locator("#location-error")).to_have_count(0)
    expect(page.locator("#brightness-error")).to_have_text(
        "Brightness must be a number, such as 7 or 12.5."
    )
    expect(location_input).to_have_value("Olympus Mons & <co> ünïcörn")
    expect(brightness_input).to_have_value("very bright")

    assert server.export_bytes() == export_before
    # The page counts what SPUC holds (another worker's view may have been a moment older).
    assert total(page) == export_before.count(b"\n") - 1
    assert_clean(seen, answered=422)


def test_markup_in_a_location_is_text_in_the_table_and_on_hover(page: Page, server: Server):
    seen = watch(page)
    payload = "</script><script>alert(1)</script>"
    open_dashboard(page, server)

    assert submit(page, payload, "93") == 200

    expect(page.get_by_text(RECORDED, exact=True)).to_be_visible()
    assert first_row_location(page) == payload
    wait_for_charts(page)
    # No script element beyond the page's own: the JSON data and two external files.
    scripts = page.evaluate(
        """[...document.scripts].map(
          (s) => s.type === "application/json" ? "json" : s.src ? "src" : "inline")"""
    )
    assert "inline" not in scripts
    hover = hover_newest_point(page)
    assert payload in hover
    assert "Brightness 93" in hover
    assert page.locator("#brightness-chart script").count() == 0
    page.wait_for_timeout(200)  # a dialog, if any, would open by now
    assert_clean(seen)
    assert seen.csp_violations() == []


def test_real_policy_draws_everything_without_console_errors_or_csp_violations(
    page: Page, server: Server
):
    seen = watch(page)
    response = page.goto(f"{server.url}/")
    assert response is not None and response.status == 200
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    wait_for_charts(page)
    hover_newest_point(page)
    # Every chart is drawn and the hover label shown; now a submission and the page after it.
    violations = seen.csp_violations()
    assert submit(page, "Venus cloud tops", "41") == 200
    wait_for_charts(page)
    hover_newest_point(page)
    violations += seen.csp_violations()

    assert violations == []
    assert seen.console_errors == []
    assert seen.page_errors == []


def test_without_unsafe_inline_styles_plotly_is_blocked(page: Page, server: Server):
    """Why style-src keeps 'unsafe-inline': plotly.js writes style attributes and elements.

    The page is served under the app's policy minus style-src 'unsafe-inline'
    (the header is rewritten in the browser; the app is unchanged).
    """
    strict = CONTENT_SECURITY_POLICY.replace("style-src 'self' 'unsafe-inline'", "style-src 'self'")
    assert strict != CONTENT_SECURITY_POLICY and "unsafe-inline" not in strict

    def with_strict_policy(route):
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": strict}
        route.fulfill(response=response, headers=headers)

    seen = watch(page)
    page.route(f"{server.url}/", with_strict_policy)
    page.goto(f"{server.url}/")
    # A function, not an expression: Playwright polls an expression with eval, which
    # the page's policy refuses.
    page.wait_for_function("() => document.getElementById('brightness-chart').data !== undefined")
    page.wait_for_timeout(300)
    violations = seen.csp_violations()

    # plotly.js's <style> elements (its modebar, hover and layout rules) and
    # style attributes it sets with setAttribute are refused; charts fall apart.
    assert violations, "plotly.js no longer needs style-src 'unsafe-inline': drop it"
    directives = {v["directive"] for v in violations}
    assert "style-src-elem" in directives
    assert directives <= {"style-src-elem", "style-src-attr"}
    assert {urlsplit(v["source"]).path for v in violations} == {plotly_path(page)}
    assert any("Content Security Policy" in text for text in seen.console_errors)


def test_no_request_leaves_127_0_0_1(page: Page, server: Server):
    seen = watch(page)
    open_dashboard(page, server)
    hover_newest_point(page)
    assert submit(page, "Io, Loki Patera", "88") == 200
    wait_for_charts(page)

    hosts = {urlsplit(url).hostname for url in seen.requests}
    assert hosts == {"127.0.0.1"}, seen.requests
    assert all(url.startswith(f"{server.url}/") for url in seen.requests), seen.requests
    # plotly.js's "Share chart..." button opens https://cloud.plotly.com/newchart
    # and posts the chart's data there: the page must not offer it.
    share = page.locator('.modebar-btn[data-title="Share chart..."]')
    assert share.count() == 0, "plotly.js offers to upload the charts to Plotly Cloud"
    plotly = [url for url in seen.requests if "plotly" in url]
    assert plotly, seen.requests
    assert all(
        urlsplit(url).path.endswith("/vendor/plotly.js/plotly-basic.min.js") for url in plotly
    ), plotly


def test_accessibility_with_data_and_after_a_validation_error(page: Page, server: Server):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    watch(page)
    open_dashboard(page, server)
    found = serious(axe.run(page))
    assert found == [], "with data:\n" + describe(found)

    assert submit(page, "", "-3") == 422
    wait_for_charts(page)
    found = serious(axe.run(page))
    assert found == [], "after a validation error:\n" + describe(found)


def test_phone_width_has_no_horizontal_scroll_and_the_form_works(page: Page, server: Server):
    seen = watch(page)
    page.set_viewport_size({"width": 375, "height": 800})
    open_dashboard(page, server)
    before = spuc_total(server)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    button = page.get_by_role("button", name="I saw a unicorn!")
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert submit(page, "Ganymede, from my phone", "17") == 200

    expect(page.get_by_text(RECORDED, exact=True)).to_be_visible()
    assert total(page) == before + 1
    assert first_row_location(page) == "Ganymede, from my phone"
    wait_for_charts(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_clean(seen)


def test_keyboard_only_skip_link_tab_type_enter(page: Page, server: Server):
    seen = watch(page)
    open_dashboard(page, server)
    before = spuc_total(server)

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0  # shown on screen while focused
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Location", exact=True)).to_be_focused()
    page.keyboard.type("Tycho crater, by keyboard")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Brightness", exact=True)).to_be_focused()
    page.keyboard.type("12.5")
    with page.expect_response(is_form_answer) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    page.wait_for_selector("main:not([aria-busy])", state="attached")

    expect(page.get_by_text(RECORDED, exact=True)).to_be_visible()
    assert total(page) == before + 1
    assert first_row_location(page) == "Tycho crater, by keyboard"
    assert server.export_bytes().endswith(b",Tycho crater, by keyboard,12.5,iuhc\n")
    assert_clean(seen)
