"""Helpers for the browser tests: SPUCSVi under gunicorn on an emulator, and what a page did.

Chromium is Debian's /usr/bin/chromium, never a browser downloaded by
`playwright install`.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, Page, Request, Response

from spucsvi.spuc.emulator import EmulatorServer
from tests.support.records import HEADER
from tests.support.servers import gunicorn, running

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
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
          const charts = [...document.querySelectorAll("[data-chart]")];
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


def is_poll_request(request: Request) -> bool:
    """Live refresh: the page's script asking for the page's own address again."""
    return (
        request.resource_type == "fetch"
        and request.method == "GET"
        and urlsplit(request.url).path == "/"
    )


def is_poll(response: Response) -> bool:
    return is_poll_request(response.request)


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
          return cell.querySelector(".place").textContent.trim();
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


def luminance(css_color: str) -> float:
    """WCAG relative luminance of an `rgb(...)`/`rgba(...)` computed colour."""
    red, green, blue = (float(c) / 255 for c in re.findall(r"\d+(?:\.\d+)?", css_color)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(one: str, other: str) -> float:
    """WCAG contrast ratio of two computed colours."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def clipped_titles(page: Page) -> list[str]:
    """Axis titles of any chart not wholly inside that chart's box."""
    return page.evaluate(
        """() => [...document.querySelectorAll(".chart.js-plotly-plot")].flatMap((chart) => {
          const box = chart.getBoundingClientRect();
          // Every axis's: .g-xtitle, .g-ytitle, .g-y2title (each unit's plot)...
          const titles = chart.querySelectorAll(".infolayer [class^='g-'][class$='title'] text");
          return [...titles].filter((t) => {
            const r = t.getBoundingClientRect();
            return r.left < box.left - 1 || r.right > box.right + 1
              || r.top < box.top - 1 || r.bottom > box.bottom + 1;
          }).map((t) => chart.id + ": " + t.textContent);
        })"""
    )


@contextmanager
def new_page(browser: Browser, **options: Any) -> Iterator[Page]:
    """A page in a browser context of its own, made with `options` (viewport, zone,
    scheme...) and closed afterwards."""
    context = browser.new_context(**options)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        yield page
    finally:
        context.close()


# The views docs/ shows of a set of sightings: (name, viewport, colour scheme, the
# visitor's zone). Another zone than UTC shows the times on the visitor's clock.
SCREENSHOT_VIEWS = (
    ("1440", {"width": 1440, "height": 900}, "light", "UTC"),
    ("375", {"width": 375, "height": 800}, "light", "UTC"),
    ("1440-dark", {"width": 1440, "height": 900}, "dark", "Asia/Kolkata"),
    ("375-dark", {"width": 375, "height": 800}, "dark", "America/New_York"),
)


def take_screenshots(
    browser: Browser, url: str, folder: Path, name: str = "", views: Sequence[str] = ("1440", "375")
) -> list[Path]:
    """The dashboard, full page, in each of `views` (SCREENSHOT_VIEWS' names), as
    folder/screenshot[-name]-VIEW.png; each checked to be as wide as its window."""
    shots = []
    for view, viewport, scheme, zone in SCREENSHOT_VIEWS:
        if view not in views:
            continue
        with new_page(
            browser,
            viewport=viewport,
            color_scheme=scheme,
            timezone_id=zone,
            reduced_motion="reduce",
        ) as page:
            page.goto(f"{url}/")
            wait_for_charts(page)
            page.evaluate("document.fonts.ready.then(() => true)")
            path = folder / ("-".join(filter(None, ("screenshot", name, view))) + ".png")
            page.screenshot(path=str(path), full_page=True, animations="disabled")
            png = path.read_bytes()
            assert png.startswith(b"\x89PNG\r\n\x1a\n")
            # IHDR: as wide as the window (nothing overflows), at least a screen tall.
            assert int.from_bytes(png[16:20], "big") == viewport["width"], path.name
            assert int.from_bytes(png[20:24], "big") >= viewport["height"], path.name
            shots.append(path)
    return shots


def publish_screenshots(shots: Sequence[Path]) -> None:
    """Copy screenshots to docs/, only with SPUCSVI_SCREENSHOTS=1: taken and checked
    in every run, published when someone means to."""
    if os.environ.get("SPUCSVI_SCREENSHOTS") == "1":
        for path in shots:
            shutil.copyfile(path, ROOT / "docs" / path.name)
