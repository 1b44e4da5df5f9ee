"""Units on their own scales, the unit and brightness filters, facet counts within the
filter and numbers shown plainly, on the page as the Flask test client gets it from
the SPUC emulator (issue 18, items 3, 8 and 12)."""

from __future__ import annotations

import html
import re

import pytest

from tests.support.records import DATA, HEADER


@pytest.fixture(scope="module")
def page(seeded_for_module):
    client, _ = seeded_for_module(DATA)

    def get(query: str = "") -> str:
        response = client.get(f"/?{query}")
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)

    return get


def options(body: str) -> dict[str, str]:
    """The location list's options: value -> label."""
    found = re.findall(r'<option value="([^"]*)" label="([^"]*)"', body)
    return {html.unescape(value): html.unescape(label) for value, label in found}


def test_the_form_offers_each_unit_and_a_brightness_range(page):
    body = page("units=iulu&min_brightness=5")
    assert re.search(r'<input type="checkbox" name="units" value="iulu" checked>', body)
    assert re.search(r'<input type="checkbox" name="units" value="iuhc">', body)
    assert re.search(r'name="min_brightness"[^>]*value="5"', body)
    assert re.search(r'name="max_brightness"[^>]*value=""', body)
    # Each filter a chip that removes it.
    assert 'aria-label="Remove the filter: units iulu"' in body
    assert 'aria-label="Remove the filter: brightness from 5"' in body


def test_the_page_shows_only_the_units_chosen(page):
    body = page("units=iuhc")
    total = re.search(r'data-testid="total">([^<]*)<', body)
    assert total and total.group(1) == "3"  # iuhc: 3, 4 and 5
    assert "100" not in re.findall(r"<td>([^<]*)</td>", body)


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("", "Recent sightings"),
        ("order=asc", "Earliest sightings"),
        ("sort=brightness", "Brightest sightings, in each unit"),
        ("sort=brightness&order=asc", "Faintest sightings, in each unit"),
        ("sort=brightness&units=iulu", "Brightest sightings"),
        ("sort=location&order=asc", "Sightings by location, A to Z"),
    ],
)
def test_the_table_title_says_its_order(page, query, title):
    found = re.search(r'<h2 id="table-title">([^<]*)</h2>', page(query))
    assert found and html.unescape(found.group(1)) == title


def test_location_counts_are_within_the_filter(page):
    everything = options(page())
    assert everything["mars"] == "mars (2)" and everything["venus"] == "venus (2)"
    # From 2026-11-28 on: mars twice, venus not at all.
    later = options(page("from=2026-11-28"))
    assert later["mars"] == "mars (2)" and "venus" not in later
    # The list's own choice does not narrow it: it is where more are chosen.
    chosen = options(page("from=2026-11-28&location=mars"))
    assert chosen == {"mars": "mars (2)"}
    iulu = options(page("units=iulu"))
    assert iulu == {'moon, "big" crater': 'moon, "big" crater (1)', "venus": "venus (1)"}


def test_a_chosen_location_outside_the_filter_stays_listed_with_none(page):
    listed = options(page("from=2026-11-28&location=venus"))
    assert listed["venus"] == "venus (0)"


def test_the_location_search_counts_within_the_filter(seeded_for_module):
    client, _ = seeded_for_module(DATA)
    body = client.get("/api/locations?q=v&from=2026-11-27T23:00").get_json()
    assert body["locations"] == [{"location": "venus", "sightings": 1}]
    body = client.get("/api/locations?q=v").get_json()
    assert body["locations"] == [{"location": "venus", "sightings": 2}]


def test_a_brightness_in_exponent_notation_is_shown_plainly(seeded):
    client, _ = seeded(
        HEADER + "1,2026-11-27 10:00:00,venus,1e3,iulu\n2,2026-11-27 10:00:01,mars,2.5E1,iulu\n"
    )
    body = client.get("/").get_data(as_text=True)
    assert "1e3" not in body and "2.5E1" not in body
    assert '<span class="num">1000</span>' in body  # the brightest, in the strip
    assert "<td>25</td>" in body and "<td>1000</td>" in body
    # The downloads keep what SPUC holds.
    assert b"venus,1e3,iulu" in client.get("/sightings.csv").get_data()


def test_the_form_refuses_exponent_notation_with_the_value_kept(client):
    response = client.post("/sightings", data={"location": "venus", "brightness": "1e3"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Please write the brightness as a plain number (1000), without an exponent." in body
    assert 'value="1e3"' in body


def test_a_mean_is_shown_with_separators_and_no_exponent(seeded):
    client, _ = seeded(
        HEADER + "1,2026-11-27 10:00:00,venus,12345,iulu\n2,2026-11-27 10:00:01,mars,12346,iulu\n"
    )
    body = client.get("/").get_data(as_text=True)
    strip = body[body.index('class="summary-strip"') : body.index("</dl>")]
    assert '<span class="num">12,346</span>' in strip  # the mean, 12,345.5 to 4 digits
    assert "e+04" not in strip


def test_a_huge_unit_code_is_not_offered_whole(seeded):
    huge = "h" * 5000
    client, _ = seeded(
        HEADER
        + "1,2026-11-27 10:00:00,venus,7,iulu\n2,2026-11-27 10:00:01,moon,3,iuhc\n"
        + f"3,2026-11-27 10:00:02,mars,8,{huge}\n"
    )
    body = client.get("/").get_data(as_text=True)
    assert 'name="units" value="iulu"' in body and 'name="units" value="iuhc"' in body
    assert "h" * 201 not in body


def test_the_form_offers_every_unit_code_even_when_the_summary_folds_them(seeded):
    """Beyond a few units the summary lists one entry for the rest ("3 other units"):
    the form still offers each real code, never that entry."""
    codes = ["iulu", "iuhc", "aaa", "bbb", "ccc", "ddd"]
    lines = [
        f"{i + 1},2026-11-2{i % 9} 10:00:00.000000,mars,{i},{code}\n"
        for i, code in enumerate(codes * 3)
    ]
    client, _ = seeded(HEADER + "".join(lines))
    body = client.get("/").get_data(as_text=True)
    assert "other units" in body  # the summary folds
    offered = re.findall(r'<input type="checkbox" name="units" value="([^"]*)"', body)
    assert offered == sorted(codes)
