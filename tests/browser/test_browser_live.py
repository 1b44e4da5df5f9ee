"""The page's script as ES modules under the strict CSP, and live refresh as a
conditional GET of the page's own address, in real headless Chromium.

The tests of this module share one served SPUCSVi and run in order: the last
adds a sighting to SPUC.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Page, Response, expect

from tests.support.browser import (
    ROOT,
    Server,
    assert_clean,
    in_place,
    is_poll,
    open_dashboard,
    spuc_total,
    submit,
    total,
    wait_for_charts,
    watch,
)

pytestmark = pytest.mark.browser

# Elements that a swap would replace: the live regions' children and the charts.
SWAPPABLE = "[data-live] > *, [data-chart], [data-chart] svg.main-svg"


def mark_swappable(page: Page) -> int:
    return page.evaluate(
        "(selector) => [...document.querySelectorAll(selector)]"
        ".map((element) => (element.__before = true)).length",
        SWAPPABLE,
    )


def unmarked(page: Page) -> int:
    """How many swappable elements are new since `mark_swappable`."""
    return page.evaluate(
        "(selector) => [...document.querySelectorAll(selector)]"
        ".filter((element) => !element.__before).length",
        SWAPPABLE,
    )


def refresh_now(page: Page) -> Response:
    """Press "Refresh now" (without moving focus) and wait until the page has dealt
    with the answer: the quiet "checked" line says when."""
    checked = page.locator("#refresh-checked")
    page.evaluate("document.getElementById('refresh-checked').textContent = ''")
    with page.expect_response(is_poll) as poll:
        page.evaluate("document.getElementById('refresh-now').click()")
    expect(checked).not_to_have_text("")
    return poll.value


def announced(page: Page) -> list[str]:
    """Every text the aria-live status took since `listen_to_status`."""
    return page.evaluate("window.__announced")


def listen_to_status(page: Page) -> None:
    page.evaluate(
        """() => {
          window.__announced = [];
          const status = document.getElementById("refresh-status");
          new MutationObserver(() => window.__announced.push(status.textContent))
            .observe(status, { childList: true, characterData: true, subtree: true });
        }"""
    )


def test_the_script_loads_as_modules_under_the_strict_csp(page: Page, server: Server):
    seen = watch(page)
    scripts: list[Response] = []
    page.on("response", lambda r: r.request.resource_type == "script" and scripts.append(r))
    answer = page.goto(f"{server.url}/")
    assert answer is not None and answer.status == 200
    wait_for_charts(page)

    policy = answer.header_value("content-security-policy") or ""
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    entry = page.locator("script[type=module]")
    expect(entry).to_have_count(1)
    main = urlsplit(entry.get_attribute("src") or "").path
    assert main.startswith("/assets/") and main.endswith("/js/main.js")
    # main.js imports the others by relative URL: each resolves to a served,
    # versioned URL beside it, and every module in static/js/ is one of them.
    folder = main.rsplit("/", 1)[0] + "/"
    modules = {urlsplit(r.url).path: r.status for r in scripts if "/js/" in r.url}
    assert set(modules.values()) == {200}
    assert all(path.startswith(folder) for path in modules)
    names = {path.removeprefix(folder) for path in modules}
    assert names == {file.name for file in (ROOT / "static" / "js").glob("*.js")}
    assert len(names) > 1
    # An unversioned or stale URL of a module is not served.
    assert (
        requests.get(f"{server.url}/assets/000000000000/js/charts.js", timeout=5).status_code == 404
    )
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    assert seen.csp_violations() == []
    assert_clean(seen)


def test_refresh_with_nothing_new_is_a_304_and_swaps_nothing(page: Page, server: Server):
    seen = watch(page)
    open_dashboard(page, server)
    before = total(page)
    assert mark_swappable(page) > 6

    listen_to_status(page)

    first = refresh_now(page)
    assert urlsplit(first.url).path == "/" and not urlsplit(first.url).query
    assert first.request.header_value("if-none-match") is None
    etag = first.header_value("etag")
    assert first.status == 200 and etag
    # The same page again: its HTML equals what is shown, so nothing is swapped.
    expect(page.locator("#refresh-checked")).to_contain_text("Up to date at")
    assert unmarked(page) == 0

    second = refresh_now(page)
    assert second.request.header_value("if-none-match") == etag
    assert second.status == 304
    expect(page.locator("#refresh-checked")).to_contain_text("Up to date at")
    assert unmarked(page) == 0
    assert total(page) == before
    # Nothing changed, so nothing was said to a screen reader.
    assert announced(page) == []
    expect(page.locator("#refresh-status")).to_have_text("")
    assert_clean(seen)


def test_a_new_sighting_comes_by_the_same_address_refreshed(page: Page, server: Server):
    """A filtered view: the refresh asks for exactly its address, filter and all."""
    seen = watch(page)
    location = f"Same-address nebula {uuid.uuid4().hex[:8]}"
    view = f"{server.url}/?location={location.replace(' ', '+')}&per_page=25"
    page.goto(view)
    expect(page.locator("#live-results")).to_contain_text("No sightings match these filters")
    page.get_by_label("Find a location").fill("Olympus")  # a search the swap must keep
    requests.put(
        f"{server.spuc.url}/unicorn_spotted",
        params={"location": location, "brightness": "9"},
        timeout=5,
    ).raise_for_status()

    listen_to_status(page)
    polls: list[Response] = []
    for _ in range(20):  # until a worker has revalidated its copy of SPUC's data
        polls.append(refresh_now(page))
        if polls[-1].status == 200 and total(page) == 1:
            break
        page.wait_for_timeout(300)
    assert total(page) == 1
    # Said once, only the change.
    assert announced(page) == ["1 new sighting"]
    assert {p.url for p in polls} == {page.url}
    assert all(p.request.header_value("if-none-match") for p in polls[1:])
    expect(page.locator("table.sightings td.location")).to_have_text(location)
    wait_for_charts(page)
    assert page.evaluate("document.getElementById('brightness-chart').data[0].x.length") == 1
    # The location list has the new place, chosen as the address says; the
    # visitor's search still narrows it.
    new = page.locator("#filter-location option", has_text=location)
    expect(new).to_have_count(1)
    assert new.evaluate("(option) => option.selected && !option.hidden")
    shown = page.locator("#filter-location option:not([hidden])")
    assert all("Olympus" in text or location in text for text in shown.all_inner_texts())
    assert_clean(seen)


def test_focus_stays_and_the_downloads_count_the_new_total_after_a_refresh(
    page: Page, server: Server
):
    """A keyboard user on a table's sort link, or in the location list, keeps
    their place when a new sighting arrives; the download line counts it."""
    seen = watch(page)
    open_dashboard(page, server)
    for focused in ("[data-focus-key='sort-brightness']", "#filter-location"):
        before = spuc_total(server)  # a page's total may be a worker's older copy
        page.locator(focused).focus()
        requests.put(
            f"{server.spuc.url}/unicorn_spotted",
            params={"location": f"Focus nebula {uuid.uuid4().hex[:8]}", "brightness": "5"},
            timeout=5,
        ).raise_for_status()
        for _ in range(20):  # until a worker has revalidated its copy of SPUC's data
            refresh_now(page)
            if total(page) == before + 1:
                break
            page.wait_for_timeout(300)
        assert total(page) == before + 1
        assert page.evaluate(
            "(selector) => document.activeElement === document.querySelector(selector)", focused
        ), page.evaluate("document.activeElement.outerHTML.slice(0, 80)")
        expect(page.locator("p.downloads")).to_contain_text(f"Download all {before + 1} sightings")
    assert_clean(seen)


def test_the_same_refusal_twice_leaves_the_form_usable(page: Page, server: Server):
    """The second answer is the page already shown, so nothing is swapped: the
    form's button must come back by itself."""
    seen = watch(page)
    open_dashboard(page, server)
    for _ in range(2):
        assert submit(page, "", "-3") == 422
        expect(page.get_by_role("button", name="I saw a unicorn!")).to_be_enabled()
        expect(page.get_by_label("Location", exact=True)).to_have_attribute("aria-invalid", "true")
    assert_clean(seen, answered=422)


def test_a_late_refresh_answer_leaves_the_view_chosen_meanwhile(page: Page, server: Server):
    """A refresh of page 1 answered after the visitor went to page 2 is not shown."""
    seen = watch(page)
    held: list = []
    page.route(
        f"{server.url}/",
        lambda route: (
            held.append(route) if route.request.resource_type == "fetch" else route.continue_()
        ),
    )
    open_dashboard(page, server)
    page.get_by_role("button", name="Refresh now").click()
    for _ in range(50):  # the route handler runs while the page waits
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the refresh was not sent"
    assert in_place(page, page.get_by_role("link", name="Next page").click) == 200
    expect(page.locator(".pagination")).to_contain_text("Page 2 of")
    with page.expect_response(is_poll):
        held[0].continue_()
    page.wait_for_timeout(300)  # the late answer, if it were used, would be swapped in by now
    expect(page.locator(".pagination")).to_contain_text("Page 2 of")
    assert "page=2" in page.url
    assert_clean(seen)
