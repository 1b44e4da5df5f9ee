"""No record can break the layout (issue 18, item 1), in real headless Chromium.

A location of 200 characters without a space (the form takes it) and a
200-character URL, in the table, the summary strip, the chips, the location
list, the charts and the confirmation: the document is exactly as wide as the
window at 1440 px and on a 375 px phone, the strip about as tall as with
ordinary names, and each location whole on hover and in the download.

Chromium is Debian's /usr/bin/chromium, never a browser downloaded by
`playwright install`.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from playwright.sync_api import Browser, Page

from tests.support.browser import (
    REALISTIC,
    Server,
    new_page,
    running_spucsvi,
    submit,
    wait_for_charts,
)
from tests.support.records import HEADER

pytestmark = pytest.mark.browser

WORD = "Xanadu" + "x" * 194
URL = "https://example.org/" + "/".join(f"segment-{i:03d}" for i in range(20))[:180]
SUBMITTED = "Kubla" + "k" * 195
VIEWPORTS = {"desktop": (1440, 900), "phone": (375, 812)}
# Over its ordinary height, the strip may grow by a line or two of a long name.
STRIP_GROWTH = 1.35


def export(long_names: bool) -> str:
    """The realistic month of sightings; with `long_names`, each long location sighted
    three times (into the per-location chart's top) on the last day, the brightest."""
    last_day = datetime.now() - timedelta(days=2)
    lines = [HEADER]
    for count, (days_before, clock, location, brightness) in enumerate(REALISTIC, start=1):
        day = (last_day - timedelta(days=days_before)).date().isoformat()
        lines.append(f"{count},{day} {clock},{location},{brightness},iuhc\n")
    extra = [(WORD, "500"), (URL, "700")] * 3 if long_names else []
    for count, (location, brightness) in enumerate(extra, start=len(lines)):
        moment = f"{last_day.date()} 23:0{count % 10}:00"
        lines.append(f"{count},{moment},{location},{brightness},iuhc\n")
    assert all(len(name) == 200 for name in (WORD, URL, SUBMITTED))
    return "".join(lines)


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where the screenshots go, to be looked at."""
    return tmp_path_factory.mktemp("bounds-shots")


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> Iterator[dict[str, Server]]:
    with (
        running_spucsvi(tmp_path_factory.mktemp("long"), export(True)) as long,
        running_spucsvi(tmp_path_factory.mktemp("ordinary"), export(False)) as ordinary,
    ):
        yield {"long": long, "ordinary": ordinary}


def opened(page: Page, url: str) -> None:
    answer = page.goto(url)
    assert answer is not None and answer.status == 200
    wait_for_charts(page)
    page.evaluate("document.fonts.ready.then(() => true)")


WIDER_THAN_THE_WINDOW = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > width + 1
      && !e.closest(".visually-hidden, .skip-link, .hoverlayer, .table-scroll"))
    .slice(0, 5).map((e) => e.tagName + "." + e.className + ": " + e.textContent.slice(0, 40));
}"""


def shoot(page: Page, path: Path) -> None:
    """The whole page, and the parts that show locations one by one (a phone's whole
    page is too tall to look at in one image)."""
    page.screenshot(path=str(path), full_page=True)
    for part in (".summary-panel", ".filters-panel", "#locations-chart", ".table-panel"):
        name = part.strip(".#")
        page.locator(part).screenshot(path=str(path.with_name(f"{path.stem}-{name}.png")))


def check_bounded(page: Page, width: int) -> None:
    """The document is the window's width; nothing sticks out to the right (the
    table scrolls in its own box: `table_width`)."""
    assert page.evaluate(WIDER_THAN_THE_WINDOW) == []
    assert page.evaluate("document.documentElement.scrollWidth") == width


def table_width(page: Page) -> float:
    return page.locator("table.sightings").bounding_box()["width"]


def strip_height(page: Page) -> float:
    return page.locator(".summary-strip").bounding_box()["height"]


def tick_room(page: Page) -> float:
    """The share of the per-location chart's width taken by its location labels."""
    return page.evaluate(
        """() => {
          const chart = document.getElementById("locations-chart");
          return chart._fullLayout._size.l / chart.getBoundingClientRect().width;
        }"""
    )


def hover_long_bar(page: Page) -> dict:
    """Hover the long word's bar; the hover label's box and the window's width."""
    page.locator("#locations-chart").scroll_into_view_if_needed()
    where = page.evaluate(
        """(word) => {
          const chart = document.getElementById("locations-chart");
          const trace = chart.data[0];
          const i = trace.customdata.indexOf(word);
          const layout = chart._fullLayout;
          const box = chart.getBoundingClientRect();
          return {
            x: box.left + layout._size.l + layout.xaxis.d2p(trace.x[i] / 2),
            y: box.top + layout._size.t + layout.yaxis.d2p(trace.y[i]),
          };
        }""",
        WORD,
    )
    page.mouse.move(where["x"] - 5, where["y"])
    page.mouse.move(where["x"], where["y"], steps=3)
    label = page.locator("#locations-chart .hoverlayer .hovertext")
    label.wait_for()
    box = label.bounding_box()
    return {"text": label.text_content(), "right": box["x"] + box["width"], "left": box["x"]}


@pytest.mark.parametrize("device", VIEWPORTS)
def test_long_locations_keep_the_page_its_width(browser: Browser, servers, device, shots):
    width, height = VIEWPORTS[device]
    with new_page(browser, viewport={"width": width, "height": height}) as page:
        opened(page, servers["ordinary"].url + "/")
        ordinary_strip = strip_height(page)
        ordinary_ticks = tick_room(page)
        ordinary_table = table_width(page)

        opened(page, servers["long"].url + "/")
        shoot(page, shots / f"bounds-{device}.png")
        check_bounded(page, width)
        assert table_width(page) <= ordinary_table + 1, (table_width(page), ordinary_table)
        assert strip_height(page) <= ordinary_strip * STRIP_GROWTH, (
            strip_height(page),
            ordinary_strip,
        )
        # Beside its bar a location is shortened: its label takes about the room of
        # an ordinary name's (whole, one took nearly all of the chart's width).
        assert tick_room(page) <= ordinary_ticks * 1.2, (tick_room(page), ordinary_ticks)
        # Each long location whole on hover, wherever the page shortens it.
        for place in page.locator(".place").all():
            assert place.get_attribute("title") == place.text_content()
        assert page.locator(f'.place[title="{WORD}"]').count() >= 2  # the table, the strip
        hovered = hover_long_bar(page)
        assert hovered["text"].replace(" ", "").startswith(WORD[:80])
        assert hovered["left"] >= 0 and hovered["right"] <= width
        check_bounded(page, width)

        # The filtered view: both as chips, chosen in the location list.
        query = urlencode([("location", WORD), ("location", URL)])
        opened(page, f"{servers['long'].url}/?{query}")
        shoot(page, shots / f"bounds-{device}-filtered.png")
        check_bounded(page, width)
        chips = page.locator(".chip")
        assert chips.count() == 2
        for chip in chips.all():
            assert chip.bounding_box()["height"] < 40  # one line each
        # The location list shows each ordinary label whole: no option is cut.
        cut = page.evaluate(
            """() => [...document.querySelectorAll("#filter-location option")]
              .filter((o) => o.label.length < 40 && o.scrollWidth > o.clientWidth + 1)
              .map((o) => o.label)"""
        )
        assert cut == []


def banner_height(browser: Browser, server: Server, location: str, shot: Path) -> float:
    """The confirmation's height on a phone once `location` was submitted, checked
    that it says the location whole on hover and that the page keeps its width."""
    width, height = VIEWPORTS["phone"]
    with new_page(browser, viewport={"width": width, "height": height}) as page:
        opened(page, server.url + "/")
        assert submit(page, location, "5") == 200
        banner = page.locator("#recorded")
        assert banner.locator(".place").get_attribute("title") == location
        page.locator(".form-panel").screenshot(path=str(shot))
        check_bounded(page, width)
        return banner.bounding_box()["height"]


def test_the_submitters_page_keeps_its_width_and_the_download_its_text(browser, servers, shots):
    server = servers["long"]
    ordinary = banner_height(browser, servers["ordinary"], "Xanadu", shots / "submitted-short.png")
    long = banner_height(browser, server, SUBMITTED, shots / "submitted.png")
    # The long location on a line of its own, shortened: two lines more at most.
    assert long <= ordinary + 2 * 25, (long, ordinary)
    for _ in range(30):  # until the worker answering has read SPUC since the submission
        with requests.get(f"{server.url}/sightings.csv", timeout=10) as answer:
            rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
        if SUBMITTED in {row["location"] for row in rows}:
            break
        time.sleep(0.2)
    assert {WORD, URL, SUBMITTED} <= {row["location"] for row in rows}


@pytest.mark.parametrize("device", VIEWPORTS)
def test_long_locations_in_the_dark(browser: Browser, servers, device, shots):
    """The dark scheme, for the screenshots: the same bounds."""
    width, height = VIEWPORTS[device]
    viewport = {"width": width, "height": height}
    with new_page(browser, viewport=viewport, color_scheme="dark") as page:
        opened(page, servers["long"].url + "/")
        shoot(page, shots / f"bounds-{device}-dark.png")
        check_bounded(page, width)
