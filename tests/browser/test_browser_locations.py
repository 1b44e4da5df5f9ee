"""The location list at 50,000 distinct locations in real headless Chromium (issue 20):
the page lists the most sighted, and the search box finds any other by asking the
server, adding it to the list without undoing what the visitor chose.

Chromium is Debian's /usr/bin/chromium, never a browser downloaded by
`playwright install`.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect

from spucsvi.data.derived import LISTED_LOCATIONS
from tests.support.browser import Server, assert_clean, in_place, running_spucsvi, watch
from tests.support.records import export_of_locations

pytestmark = pytest.mark.browser

DISTINCT = 50_000
RARE = "Quiet Zebra Pond"
TOP = "Place 00000"


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("many-locations")
    with running_spucsvi(workdir, export_of_locations(DISTINCT, rare=[RARE])) as server:
        yield server


def option(page: Page, name: str):
    return page.locator("#filter-location option", has_text=name)


def test_a_rare_location_is_found_by_typing_chosen_and_applied(page: Page, many: Server):
    seen = watch(page)
    page.goto(f"{many.url}/")
    select = page.locator("#filter-location")
    assert select.locator("option").count() == LISTED_LOCATIONS
    expect(page.locator("#filter-location-help")).to_contain_text(
        f"The {LISTED_LOCATIONS} most sighted of {DISTINCT + 1:,} locations; type to search all."
    )
    select.select_option(TOP)
    expect(option(page, RARE)).to_have_count(0)

    page.get_by_label("Find a location").press_sequentially("zebra p", delay=30)
    expect(option(page, RARE)).to_have_count(1)  # from the server's search
    assert option(page, RARE).get_attribute("label") == f"{RARE} (1)"
    expect(select.locator("option:not([hidden])")).to_have_count(2)  # it, and the chosen one
    select.select_option([TOP, RARE])

    assert in_place(page, page.get_by_role("button", name="Apply").click) == 200
    assert parse_qs(urlsplit(page.url).query)["location"] == [TOP, RARE]
    expect(page.get_by_test_id("total")).to_have_text("3")
    chips = page.get_by_role("list", name="Active filters").get_by_role("link")
    expect(chips).to_have_count(2)
    # The page as served now lists the rare one itself, chosen.
    assert option(page, RARE).evaluate("(o) => o.selected")
    assert select.locator("option").count() == LISTED_LOCATIONS + 1
    assert_clean(seen)


def test_a_found_location_chosen_stays_chosen_when_the_list_is_refreshed(page: Page, many: Server):
    seen = watch(page)
    page.goto(f"{many.url}/")
    page.get_by_label("Find a location").fill("zebra")
    expect(option(page, RARE)).to_have_count(1)
    page.locator("#filter-location").select_option(RARE)  # not applied yet

    # A new sighting changes the list (a count in it): the live refresh swaps it in.
    requests.put(
        f"{many.spuc.url}/unicorn_spotted",
        params={"location": "Place 00001", "brightness": "9"},
        timeout=5,
    ).raise_for_status()
    for _ in range(30):  # until a worker has a copy with it
        page.get_by_role("button", name="Refresh now").click()
        page.wait_for_timeout(300)
        if option(page, "Place 00001").get_attribute("label") == "Place 00001 (3)":
            break
    assert option(page, "Place 00001").get_attribute("label") == "Place 00001 (3)"
    assert option(page, RARE).evaluate("(o) => o.selected && !o.hidden")
    assert_clean(seen)
