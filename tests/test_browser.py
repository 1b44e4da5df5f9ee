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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from conftest import HEADER
from playwright.sync_api import Browser, Page, expect
from servers import gunicorn, running

from spucsvi.spuc.emulator import EmulatorServer
from spucsvi.web.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
RECORDED = "Unicorn sighting recorded!"

# Collects CSP violations in the page; runs before any of the page's scripts.
CSP_WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push({
    directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample,
    source: e.sourceFile, line: e.lineNumber, column: e.columnNumber,
  });
});
"""


# ----------------------------------------------------------------- browser --


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright launches Debian's Chromium with these arguments."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


# ----------------------------------------------------------------- servers --

# (days before the last one, time of day, location, brightness): a month of use.
REALISTIC = [
    (27, "21:14:03.512044", "moon, crater", "12"),
    (26, "22:40:51.003318", "Olympus Mons, Mars", "48"),
    (25, "03:12:09.771205", "Europa ice shelf", "5"),
    (24, "19:55:30.118903", "Saturn's rings (B ring)", "73"),
    (23, "23:08:44.650112", "Tycho crater", "9.5"),
    (22, "20:31:17.402876", "ISS cupola", "31"),
    (21, "01:47:58.229031", "Andromeda outskirts", "100"),
    (20, "18:22:36.884410", "Ganymede", "17"),
    (19, "22:03:12.561937", "Titan, Kraken Mare", "26"),
    (18, "04:36:25.907314", "Ceres, Occator crater", "3"),
    (17, "21:59:48.330265", "moon, crater", "22"),
    (16, "20:14:07.145598", "Phobos", "8"),
    (15, "23:45:39.772801", "Halley's comet tail", "64"),
    (14, "19:02:55.018736", "Venus cloud tops", "41"),
    (13, "02:28:14.693420", "Lagrange point L2", "12.5"),
    (12, "22:51:03.284197", "Kuiper belt", "2"),
    (11, "21:06:41.559032", "Pluto, Sputnik Planitia", "15"),
    (10, "20:33:27.806119", "Enceladus geysers", "57"),
    (9, "00:19:52.447683", "Io, Loki Patera", "88"),
    (8, "22:12:30.915574", "Olympus Mons, Mars", "36"),
    (7, "19:48:16.073921", "Mercury, Caloris basin", "44"),
    (6, "23:27:58.638205", "Orion Nebula", "95"),
    (5, "21:41:09.251876", "Proxima b", "19"),
    (4, "03:05:44.980312", "moon, crater", "28"),
    (3, "20:57:21.437659", "Callisto", "6"),
    (2, "22:18:35.112480", "Vesta, Rheasilvia", "52"),
    (1, "19:36:02.869347", "Triton", "11"),
    (1, "23:59:59.501113", "Andromeda outskirts", "79"),
    (0, "20:24:47.304626", "Tycho crater", "33"),
    (0, "21:02:13.748390", "Olympus Mons, Mars", "67"),
]


def realistic_export(last_day: datetime) -> str:
    """SPUC's export file holding the REALISTIC sightings, ending on `last_day`."""
    lines = [HEADER]
    for count, (days_before, clock, location, brightness) in enumerate(REALISTIC, start=1):
        day = (last_day - timedelta(days=days_before)).date().isoformat()
        lines.append(f"{count},{day} {clock},{location},{brightness},iuhc\n")
    return "".join(lines)


@dataclass
class Server:
    """SPUCSVi under gunicorn (`url`) in front of a SPUC emulator (`spuc`)."""

    url: str
    spuc: EmulatorServer
    log: Path

    def export_bytes(self) -> bytes:
        """SPUC's file byte for byte, as SPUC serves it."""
        with requests.get(f"{self.spuc.url}/export", timeout=5) as response:
            response.raise_for_status()
            return response.content


@contextmanager
def running_spucsvi(workdir: Path, export: str | None = None) -> Iterator[Server]:
    """The emulator on `export` (None: no sightings yet) and `spucsvi serve` on it."""
    data_file = workdir / "spuc" / "unicorn_sightings.txt"
    if export is not None:
        data_file.parent.mkdir(parents=True, exist_ok=True)
        data_file.write_text(export, encoding="utf-8", newline="")
    with EmulatorServer(data_file) as spuc:
        # The README's plain command, without gunicorn.conf.py: 4 sync workers.
        served = gunicorn(workdir, spuc.url, workers=4, threads=1)
        with running(served):
            yield Server(served.url, spuc, served.log)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("browser")
    with running_spucsvi(workdir, realistic_export(datetime.now() - timedelta(days=2))) as served:
        yield served


# ----------------------------------------------------------------- helpers --


@dataclass
class Watch:
    """What a page reported: console errors, uncaught errors, dialogs, requests."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def csp_violations(self) -> list[dict]:
        """The violations of the document now shown (the list restarts on navigation)."""
        # Violation events are queued as tasks: let them run first.
        return self.page.evaluate(
            "() => new Promise((done) => setTimeout(() => done(window.__cspViolations), 50))"
        )


def watch(page: Page) -> Watch:
    page.set_default_timeout(TIMEOUT_MS)
    seen = Watch(page)
    page.add_init_script(CSP_WATCH)
    page.on("console", lambda m: m.type == "error" and seen.console_errors.append(m.text))
    page.on("pageerror", lambda e: seen.page_errors.append(str(e)))
    page.on("request", lambda r: seen.requests.append(r.url))

    def on_dialog(dialog):
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def open_dashboard(page: Page, server: Server) -> None:
    response = page.goto(f"{server.url}/")
    assert response is not None and response.status == 200, response and response.status
    wait_for_charts(page)


def wait_for_charts(page: Page) -> None:
    """Every chart on the page is a drawn Plotly plot."""
    page.wait_for_function(
        """() => {
          const charts = [...document.querySelectorAll(".chart[id]")];
          return charts.length > 0 && charts.every(
            (c) => c.classList.contains("js-plotly-plot") && c.querySelector("svg.main-svg"));
        }"""
    )


def plotly_path(page: Page) -> str:
    return urlsplit(page.locator("script[src*='plotly']").get_attribute("src") or "").path


def spuc_total(server: Server) -> int:
    """How many sightings SPUC's file holds (this module's data has no broken lines).

    Counted at SPUC, not on a page: another worker's page may be up to one
    freshness window older.
    """
    return server.export_bytes().count(b"\n") - 1


def total(page: Page) -> int:
    return int(page.get_by_test_id("total").inner_text().replace(",", ""))


def fill_form(page: Page, location: str, brightness: str) -> None:
    page.get_by_label("Location", exact=True).fill(location)
    page.get_by_label("Brightness", exact=True).fill(brightness)


def is_form_answer(response) -> bool:
    """The final answer to the form, sent by the page's script: the refusal, or
    the page the accepted submission redirects to."""
    return (
        response.request.resource_type == "fetch"
        and response.status != 303
        and urlsplit(response.url).path in ("/", "/sightings")
    )


def in_place(page: Page, act) -> int:
    """Do `act` (click a link to another view, press Apply): the page's script
    shows that view in place; return the status of the page it fetched."""
    with page.expect_response(
        lambda r: r.request.resource_type == "fetch" and urlsplit(r.url).path == "/"
    ) as answer:
        act()
    page.wait_for_selector("main:not([aria-busy])", state="attached")
    return answer.value.status


def submit(page: Page, location: str, brightness: str, *, press_enter: bool = False) -> int:
    """Submit through the form as a visitor does; return the final answer's status.
    The page stays (no navigation): the script swaps in the answer."""
    fill_form(page, location, brightness)
    with page.expect_response(is_form_answer) as answer:
        if press_enter:
            page.keyboard.press("Enter")
        else:
            page.get_by_role("button", name="I saw a unicorn!").click()
    page.wait_for_selector("main:not([aria-busy])", state="attached")
    return answer.value.status


def first_row_location(page: Page) -> str:
    """The text of the Location cell of the table's first row (without any badge)."""
    return page.evaluate(
        """() => {
          const table = document.querySelector("table.sightings");
          const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
          const column = heads.findIndex((text) => text.startsWith("Location"));
          const cell = table.querySelector("tbody tr").children[column];
          return [...cell.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE)
            .map((n) => n.textContent).join("").trim();
        }"""
    )


def chart_points(page: Page, chart_id: str = "brightness-chart") -> int:
    return page.evaluate(f"document.getElementById('{chart_id}').data[0].x.length")


def hover_newest_point(page: Page) -> str:
    """Move the mouse onto the newest point of the brightness chart; return the hover label."""
    page.locator("#brightness-chart").scroll_into_view_if_needed()
    where = page.evaluate(
        """() => {
          const chart = document.getElementById("brightness-chart");
          const trace = chart.data[0];
          const layout = chart._fullLayout;
          let newest = 0;
          trace.x.forEach((x, i) => { if (x > trace.x[newest]) newest = i; });
          const box = chart.getBoundingClientRect();
          return {
            x: box.left + layout._size.l + layout.xaxis.d2p(trace.x[newest]),
            y: box.top + layout._size.t + layout.yaxis.d2p(trace.y[newest]),
          };
        }"""
    )
    page.mouse.move(where["x"] - 30, where["y"] - 30)
    page.mouse.move(where["x"], where["y"], steps=5)
    label = page.locator("#brightness-chart .hoverlayer .hovertext")
    label.wait_for()
    return label.text_content() or ""


def serious(results) -> list[dict]:
    return [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        for v in violations
    )


def assert_clean(seen: Watch, *, answered: int | None = None) -> None:
    """No console error, no uncaught error, no dialog. Chromium logs a console
    error for a page answered with an error status: `answered` allows that one."""
    expected = f"the server responded with a status of {answered} "
    assert [text for text in seen.console_errors if answered is None or expected not in text] == []
    assert seen.page_errors == []
    assert seen.dialogs == []


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
    expect(location_input).to_have_attribute("aria-describedby", "location-error")
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
    page.wait_for_function("document.getElementById('brightness-chart').data !== undefined")
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


def take_screenshots(browser: Browser, url: str, folder: Path) -> list[Path]:
    """The dashboard, full page, at desktop and phone width, in the light scheme."""
    shots = []
    for width, height in ((1440, 900), (375, 800)):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme="light",
            reduced_motion="reduce",
        )
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(f"{url}/")
            wait_for_charts(page)
            page.evaluate("document.fonts.ready.then(() => true)")
            path = folder / f"screenshot-{width}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled")
            shots.append(path)
        finally:
            context.close()
    return shots
