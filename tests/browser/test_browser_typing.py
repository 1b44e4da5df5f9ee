"""Nothing a visitor typed is lost, and a bad part of a filter costs only that part
(issue 18, items 2 and 6), in real headless Chromium.

The page shows other views in place (swap.js): a half-typed sighting, a location
chosen in the filter list but not applied, a From time typed but not applied and
the location search stay through sorting, paging, a range preset, applying the
filter, live refresh and Back/Forward. A refused part of the filter is said
beside its field while the rest of the filter applies and the field keeps what
was typed.

The tests of this module share one served SPUCSVi (REALISTIC: 30 sightings over
a month); the live refresh test, last, adds a sighting to SPUC.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.support.browser import (
    REALISTIC,
    Server,
    assert_clean,
    in_place,
    total,
    wait_for_charts,
    watch,
)

pytestmark = pytest.mark.browser

CHOSEN = "Triton"  # chosen in the filter list, not applied
SEARCH = "tri"  # typed in the location search
TYPED_FROM = "2026-01-0"  # half a From time, not applied
SIGHTING = ("Half-typed crater", "4,5")


def words(text: str) -> str:
    """Text as read, whatever lines the layout puts its parts on (a chip is a flex row)."""
    return " ".join(text.split())


def type_everything(page: Page, *, from_time: bool = True) -> None:
    page.get_by_label("Location", exact=True).fill(SIGHTING[0])
    page.get_by_label("Brightness", exact=True).fill(SIGHTING[1])
    page.get_by_label("Find a location").fill(SEARCH)
    page.locator("#filter-location").select_option(CHOSEN)
    if from_time:
        page.get_by_label("From", exact=True).fill(TYPED_FROM)


def assert_all_kept(page: Page, *, from_time: bool = True) -> None:
    expect(page.get_by_label("Location", exact=True)).to_have_value(SIGHTING[0])
    expect(page.get_by_label("Brightness", exact=True)).to_have_value(SIGHTING[1])
    expect(page.get_by_label("Find a location")).to_have_value(SEARCH)
    chosen = page.locator("#filter-location").evaluate(
        "(s) => [...s.selectedOptions].map((o) => o.value)"
    )
    assert chosen == [CHOSEN]
    # The search still narrows the list.
    shown = page.locator("#filter-location option:not([hidden])").evaluate_all(
        "(os) => os.map((o) => o.value)"
    )
    assert shown and all(SEARCH in value.lower() for value in shown), shown
    if from_time:
        expect(page.get_by_label("From", exact=True)).to_have_value(TYPED_FROM)


def opened(page: Page, server: Server, query: str = "") -> None:
    response = page.goto(f"{server.url}/{query}")
    assert response is not None and response.status == 200
    wait_for_charts(page)


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


# ------------------------------------------------------ nothing typed is lost --

VIEWS: dict[str, Callable[[Page], None]] = {
    "sorting": lambda page: page.locator("[data-focus-key='sort-brightness']").click(),
    "paging": lambda page: page.get_by_role("link", name="Next page").click(),
    "a range preset": lambda page: page.get_by_role("link", name="Last 30 days").click(),
}


@pytest.mark.parametrize("action", VIEWS, ids=lambda name: name.replace(" ", "-"))
def test_what_was_typed_stays_through_another_view(page: Page, server: Server, action: str):
    seen = watch(page)
    opened(page, server)
    type_everything(page)
    assert in_place(page, lambda: VIEWS[action](page)) == 200
    assert query_of(page) != {}
    assert_all_kept(page)
    assert_clean(seen)


def test_what_was_typed_stays_through_back_and_forward(page: Page, server: Server):
    seen = watch(page)
    opened(page, server)
    assert in_place(page, lambda: VIEWS["sorting"](page)) == 200
    type_everything(page)
    assert in_place(page, page.go_back) == 200
    assert query_of(page) == {}
    assert_all_kept(page)
    assert in_place(page, page.go_forward) == 200
    assert query_of(page) == {"sort": ["brightness"], "order": ["desc"]}
    assert_all_kept(page)
    assert_clean(seen)


def test_applying_the_filter_keeps_the_sighting_and_the_search(page: Page, server: Server):
    seen = watch(page)
    opened(page, server)
    type_everything(page, from_time=False)
    assert in_place(page, page.get_by_role("button", name="Apply").click) == 200
    assert query_of(page) == {"location": [CHOSEN]}
    assert total(page) == sum(row[2] == CHOSEN for row in REALISTIC)
    # The chosen location is now applied (the server's), the rest as typed.
    assert_all_kept(page, from_time=False)
    assert_clean(seen)


# ----------------------------------------------------- filters that forgive --


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("yesterday", "'from' must be a date like 2026-11-27"),
        ("01.12.2026", "'from' must be a date like 2026-11-27"),
        ("12012026", "'from' must be a date like 2026-11-27"),
    ],
)
def test_a_refused_time_is_said_beside_its_field_and_the_rest_applies(
    page: Page, server: Server, typed: str, reason: str
):
    seen = watch(page)
    opened(page, server)
    page.locator("#filter-location").select_option(["Triton", "Phobos"])
    page.get_by_label("From", exact=True).fill(typed)
    page.get_by_label("To", exact=True).fill("2100-01-01")
    assert in_place(page, page.get_by_role("button", name="Apply").click) == 400
    query = query_of(page)
    assert sorted(query.pop("location")) == ["Phobos", "Triton"]
    assert query == {"from": [typed], "to": ["2100-01-01"]}
    error = page.locator("#filter-from-error")
    expect(error).to_contain_text(reason)
    expect(page.get_by_label("From", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("From", exact=True)).to_be_focused()  # its reason beside it
    expect(page.get_by_label("From", exact=True)).to_have_value(typed)
    expect(page.get_by_label("To", exact=True)).to_have_value("2100-01-01")
    # The locations and the other time still apply, and say so in their chips.
    wait_for_charts(page)
    assert total(page) == 2
    chips = page.get_by_role("list", name="Active filters").get_by_role("link")
    assert sorted(map(words, chips.all_inner_texts())) == [
        "Phobos ×",
        "Triton ×",
        "to 2100-01-01 ×",
    ]
    chosen = page.locator("#filter-location").evaluate(
        "(s) => [...s.selectedOptions].map((o) => o.value)"
    )
    assert sorted(chosen) == ["Phobos", "Triton"]
    # The downloads hold what is applied.
    csv = page.get_by_role("link", name="plain CSV", exact=True).get_attribute("href") or ""
    assert "from=" not in csv and "to=2100-01-01" in csv
    assert_clean(seen, answered=400)


def test_from_after_to_refuses_to_and_keeps_from(page: Page, server: Server):
    seen = watch(page)
    opened(page, server)
    page.get_by_label("From", exact=True).fill("2000-01-02")
    page.get_by_label("To", exact=True).fill("2000-01-01")
    assert in_place(page, page.get_by_role("button", name="Apply").click) == 400
    expect(page.locator("#filter-to-error")).to_contain_text(
        "The 'from' time must be before the 'to' time."
    )
    expect(page.get_by_label("To", exact=True)).to_have_value("2000-01-01")
    expect(page.get_by_label("From", exact=True)).to_have_value("2000-01-02")
    wait_for_charts(page)
    assert total(page) == len(REALISTIC)  # every sighting is after 2000-01-02
    chips = page.get_by_role("list", name="Active filters").get_by_role("link")
    assert list(map(words, chips.all_inner_texts())) == ["from 2000-01-02 ×"]
    assert_clean(seen, answered=400)


def test_relative_ranges_of_30_and_90_days_and_any_number_of_hours(page: Page, server: Server):
    seen = watch(page)
    opened(page, server)
    presets = page.get_by_role("navigation", name="Time range")
    assert in_place(page, presets.get_by_role("link", name="Last 90 days").click) == 200
    assert query_of(page) == {"since": ["90d"]}
    assert total(page) == len(REALISTIC)
    assert in_place(page, presets.get_by_role("link", name="Last 30 days").click) == 200
    assert total(page) == len(REALISTIC)  # a month ending two days ago
    response = page.goto(f"{server.url}/?since=2h")
    assert response is not None and response.status == 200
    assert total(page) == 0  # the newest sighting is two days old
    expect(page.get_by_role("list", name="Active filters")).to_contain_text("range 2h")
    # Beyond the bound: said beside the presets, everything else shown.
    response = page.goto(f"{server.url}/?since=9999d&location=Triton")
    assert response is not None and response.status == 400
    expect(page.locator("#filter-since-error")).to_contain_text("at most 3,660 days")
    assert total(page) == sum(row[2] == "Triton" for row in REALISTIC)
    assert_clean(seen, answered=400)


# ------------------------------------------------------------- live refresh --


def test_what_was_typed_stays_through_live_refresh(page: Page, server: Server):
    seen = watch(page)
    opened(page, server)
    before = total(page)
    type_everything(page)
    requests.put(
        f"{server.spuc.url}/unicorn_spotted",
        params={"location": "Typing nebula", "brightness": "9"},
        timeout=5,
    ).raise_for_status()
    for _ in range(30):  # until a worker has revalidated its copy of SPUC's data
        page.get_by_role("button", name="Refresh now").click()
        page.wait_for_timeout(300)
        if total(page) == before + 1:
            break
    assert total(page) == before + 1
    assert_all_kept(page)
    assert_clean(seen)


def test_what_was_typed_stays_after_leaving_the_page_and_coming_back(page: Page, server: Server):
    """Back from another page (the JSON API), or a reload: the browser builds the
    page anew (the fields ask for no autocomplete), and the tab's storage gives
    back what was typed."""
    seen = watch(page)
    # The API's JSON page asks for a /favicon.ico there is not.
    page.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    opened(page, server)
    type_everything(page)
    page.get_by_role("link", name="paged JSON API").click()
    page.wait_for_url("**/api/sightings**")
    page.go_back()
    wait_for_charts(page)
    assert_all_kept(page)
    page.reload()
    wait_for_charts(page)
    assert_all_kept(page)
    assert_clean(seen)
