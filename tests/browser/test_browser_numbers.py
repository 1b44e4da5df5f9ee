"""Honest numbers in real headless Chromium: issue 11, item 5.

Mixed units are never averaged together: the summary gives each unit's
figures and the charts one series per unit, each with its colour and a
legend entry. 100,000 sightings are drawn reduced, each stretch of time as a
band from its lowest to its highest sighting with its mean; big numbers
have thousands separators and never break; no axis title is cut off.

Chromium is Debian's /usr/bin/chromium, never a browser downloaded by
`playwright install`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from spucsvi.data.derived import LISTED_LOCATIONS
from tests.support.browser import (
    Server,
    assert_clean,
    clipped_titles,
    in_place,
    running_spucsvi,
    wait_for_charts,
    watch,
)
from tests.support.records import HEADER

pytestmark = pytest.mark.browser


def export_of_many(n: int, *, iulu_from: int | None = None, locations: int = 40) -> str:
    """n sightings a minute apart, ending now; from `iulu_from` on in iulu."""
    rng = random.Random(n)
    start = datetime.now() - timedelta(minutes=n)
    names = [f"Crater {i:03d}" for i in range(locations)]
    lines = [HEADER]
    for i in range(n):
        units = "iulu" if iulu_from is not None and i >= iulu_from else "iuhc"
        value = rng.randint(0, 499)
        when = start + timedelta(minutes=i, microseconds=i % 1000)
        name = names[i] if i < locations else rng.choice(names)  # each at least once
        lines.append(f"{i + 1},{when},{name},{value},{units}\n")
    return "".join(lines)


@pytest.fixture(scope="module")
def hundred_thousand(tmp_path_factory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("hundred-thousand")
    with running_spucsvi(workdir, export_of_many(100_000)) as server:
        yield server


def test_mixed_units_are_never_averaged_together(page: Page, tmp_path):
    seen = watch(page)
    export = HEADER + "".join(
        f"{i},2026-11-27 1{i}:00:00,{'venus' if i % 2 else 'mars'},{b},{u}\n"
        for i, (b, u) in enumerate(
            [("7", "iuhc"), ("9", "iuhc"), ("11", "iuhc"), ("700", "iulu"), ("900", "iulu")],
            start=1,
        )
    )
    with running_spucsvi(tmp_path, export) as server:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        means = page.locator(".stat", has_text="Mean / median")
        expect(means).to_contain_text("9 iuhc")
        expect(means).to_contain_text("800 iulu")
        expect(page.locator(".stat", has_text="Brightest")).to_contain_text("11 iuhc")
        expect(page.locator(".stat", has_text="Brightest")).to_contain_text("900 iulu")

        for chart in ("brightness-chart", "histogram-chart"):
            traces = page.evaluate(
                f"""document.getElementById("{chart}").data.map(
                  (t) => [t.name, t.marker.color])"""
            )
            assert [name for name, _ in traces] == ["iuhc", "iulu"], chart
            assert traces[0][1] != traces[1][1], chart  # a colour each
            # Each unit in a plot of its own, its axis titled with its code.
            titles = page.locator(f"#{chart} .infolayer [class$='title']").all_text_contents()
            assert any("iuhc" in t for t in titles) and any("iulu" in t for t in titles), titles
        assert clipped_titles(page) == []
    assert_clean(seen)


def test_100000_sightings_are_a_band_with_its_mean_and_readable_numbers(
    page: Page, hundred_thousand: Server
):
    seen = watch(page)
    page.goto(f"{hundred_thousand.url}/")
    wait_for_charts(page)
    total = page.get_by_test_id("total")
    expect(total).to_have_text("100,000")
    assert page.evaluate(
        """() => {
          const e = document.querySelector("[data-testid=total]");
          return e.getClientRects().length === 1
            && e.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(e).fontSize);
        }"""
    ), "the total breaks over lines"
    names = page.evaluate("document.getElementById('brightness-chart').data.map((t) => t.name)")
    assert names == ["highest, iuhc", "lowest, iuhc", "mean, iuhc"]
    means = page.evaluate("document.getElementById('brightness-chart').data[2].y")
    # Uniform brightness from 0 to 499: each stretch's mean is near the middle,
    # not the two flat lines at 0 and 499 of the extremes alone.
    assert all(150 < mean < 350 for mean in means)
    expect(page.locator("#brightness-chart-title ~ .note")).to_have_text(
        "Drawing 1,000 of 100,000 points: each stretch of time (at least 10 sightings) "
        "as a band from its lowest to its highest sighting, with its mean."
    )
    expect(page.locator(".pagination")).to_contain_text("(100,000 sightings)")
    assert clipped_titles(page) == []
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_timeout(300)  # plotly redraws responsive charts
    assert clipped_titles(page) == []
    assert_clean(seen)


def test_downloads_are_files_of_every_filtered_sighting(page: Page, tmp_path):
    import json

    seen = watch(page)
    with running_spucsvi(tmp_path, export_of_many(2_000, locations=4)) as server:
        page.goto(f"{server.url}/?location=Crater 001")
        wait_for_charts(page)
        shown = int(page.get_by_test_id("total").inner_text().replace(",", ""))
        assert shown > 15  # more than one table page
        downloads = page.locator("p.downloads")
        expect(downloads).to_contain_text(f"Download these {shown} sightings")
        for label, name in (("JSON", "json"), ("plain CSV", "csv")):
            with page.expect_download() as download:
                downloads.get_by_role("link", name=label, exact=True).click()
            assert download.value.suggested_filename == f"unicorn_sightings_Crater-001.{name}"
            path = download.value.path()
            if name == "json":
                body = json.loads(path.read_text())
                assert body["total"] == len(body["sightings"]) == shown
                assert body["sightings"][0]["time"].endswith("Z")
            else:
                assert len(path.read_text().splitlines()) == shown + 1
        assert page.url.endswith("?location=Crater%20001")  # the page stayed
    assert_clean(seen)


# --------------------------------------------------------------- facets --


def test_401_locations_the_most_sighted_listed_the_rest_searched_and_chips_remove_them(
    page: Page, tmp_path
):
    seen = watch(page)
    page.set_viewport_size({"width": 1440, "height": 900})
    with running_spucsvi(tmp_path, export_of_many(3_000, locations=401)) as server:
        page.goto(f"{server.url}/")
        wait_for_charts(page)
        select = page.locator("#filter-location")
        assert select.locator("option").count() == LISTED_LOCATIONS
        expect(page.locator("#filter-location-help")).to_contain_text(
            f"The {LISTED_LOCATIONS} most sighted of 401 locations; type to search all."
        )
        label = select.locator("option").first.get_attribute("label")
        assert label and label.startswith("Crater ") and label.endswith(")")

        search = page.get_by_label("Find a location")
        search.fill("Crater 39")  # Crater 390 to 399, listed or found by the server
        visible = select.locator("option:not([hidden])")
        expect(visible).to_have_count(10)
        select.select_option(["Crater 393", "Crater 397"])
        assert in_place(page, page.get_by_role("button", name="Apply").click) == 200
        chips = page.get_by_role("list", name="Active filters").get_by_role("link")
        expect(chips).to_have_count(2)

        # A chip removes its filter; the rest stays.
        assert in_place(page, chips.first.click) == 200
        assert parse_qs(urlsplit(page.url).query)["location"] == ["Crater 397"]
        expect(chips).to_have_count(1)

        # A click on a location's bar filters by it too.
        assert in_place(page, chips.first.click) == 200
        wait_for_charts(page)
        page.wait_for_timeout(300)  # the charts drawn after the first
        top = page.evaluate("document.getElementById('locations-chart').data[0].customdata")[-1]
        # (Here the top bar is a sliver beside 'other (386 locations)': Plotly's own
        # click event stands for the mouse, as the bar's click handler receives it.)
        click = "(name) => document.getElementById('locations-chart')"
        click += ".emit('plotly_click', {points: [{customdata: name}]})"
        assert in_place(page, lambda: page.evaluate(click, top)) == 200
        assert parse_qs(urlsplit(page.url).query)["location"] == [top]
        expect(chips).to_have_count(1)
    assert_clean(seen)
