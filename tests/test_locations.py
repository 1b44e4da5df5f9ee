"""The location list at 50,000 distinct locations, over real HTTP (issue 20): the page
offers the most sighted and the chosen ones, and a search finds the rest."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
import requests

from spucsvi.data.derived import LISTED_LOCATIONS, location_index
from spucsvi.data.display import shown_location
from spucsvi.spuc.emulator import EmulatorServer
from spucsvi.web.api import MAX_SEARCH_RESULTS, SEARCH_LENGTH, SEARCH_RESULTS
from tests.support.apps import make_app
from tests.support.records import export_of_locations, sighting, snapshot_of
from tests.support.servers import spucsvi_in_process

DISTINCT = 50_000
RARE = "Quiet Zebra Pond"
MARKUP = '<b>"Tom & Jerry\'s"</b>\\u0041'
LONG = "Very long lagoon " + "x" * 400
PAGE_GZIP_BYTES = 300 * 1024


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("locations")
    data_file = folder / "spuc" / "unicorn_sightings.txt"
    data_file.parent.mkdir()
    export = export_of_locations(DISTINCT, rare=[RARE, MARKUP, LONG])
    data_file.write_text(export, encoding="utf-8", newline="")
    with (
        EmulatorServer(data_file) as spuc,
        spucsvi_in_process(make_app(spuc.url, folder)) as served,
    ):
        deadline = time.monotonic() + 60
        while requests.get(f"{served}/healthz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        while requests.get(f"{served}/", timeout=60).status_code != 200:  # first load
            assert time.monotonic() < deadline
            time.sleep(0.2)
        yield served


class _Options(HTMLParser):
    """The location list's options, each as its attributes (`selected`: None)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside, self.found = False, []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "select":
            self.inside = found.get("id") == "filter-location"
        elif tag == "option" and self.inside:
            self.found.append(found)

    def handle_endtag(self, tag):
        if tag == "select":
            self.inside = False


def options(html: str) -> list[dict]:
    parser = _Options()
    parser.feed(html)
    return parser.found


def selected(html: str) -> list[str]:
    return [o["value"] for o in options(html) if "selected" in o]


def search(url: str, **params: str) -> requests.Response:
    return requests.get(f"{url}/api/locations", params=params, timeout=10)


def test_the_page_lists_the_most_sighted_and_is_small(url):
    with requests.get(
        f"{url}/", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=60
    ) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        compressed = answer.raw.read(decode_content=False)
    assert len(compressed) < PAGE_GZIP_BYTES
    html = requests.get(f"{url}/", timeout=60).text
    listed = options(html)
    assert len(listed) == LISTED_LOCATIONS
    # The most sighted (twice each) first, in the order first seen.
    assert [o["value"] for o in listed[:3]] == ["Place 00000", "Place 00001", "Place 00002"]
    assert listed[0]["label"] == "Place 00000 (2)"
    assert selected(html) == []
    help_text = re.sub("<[^>]+>", "", html.split('id="filter-location-help">')[1].split("</p>")[0])
    said = f"The {LISTED_LOCATIONS} most sighted of {DISTINCT + 3:,} locations; type to search all."
    assert said in help_text


def test_a_chosen_location_outside_the_top_is_listed_and_selected(url):
    chosen = ["Place 00007", RARE, "Place 49999"]
    html = requests.get(f"{url}/", params={"location": chosen}, timeout=60).text
    listed = options(html)
    assert len(listed) == LISTED_LOCATIONS + 2  # Place 00007 is in the top already
    assert {o["value"]: o["label"] for o in listed if "selected" in o} == {
        "Place 00007": "Place 00007 (2)",
        RARE: f"{RARE} (1)",
        "Place 49999": "Place 49999 (1)",
    }
    assert 'data-testid="total">4<' in html  # 2 + 1 + 1
    # The form sent again as it stands (no script: the options listed) keeps the filter.
    assert sorted(selected(html)) == sorted(chosen)


def test_search_finds_a_rare_location_whatever_its_case(url):
    for words in ("zebra", "ZEBRA p", "Quiet Zebra Pond", "ebra po"):
        answer = search(url, q=words)
        assert answer.status_code == 200
        assert answer.json()["locations"] == [{"location": RARE, "sightings": 1}]
        assert answer.json()["more"] is False
    assert search(url, q="no such place").json()["locations"] == []


def test_search_results_are_the_most_sighted_first_and_bounded(url):
    body = search(url, q="place 0").json()
    assert len(body["locations"]) == SEARCH_RESULTS
    assert body["more"] is True
    assert body["all"] == DISTINCT + 3
    assert body["locations"][0] == {"location": "Place 00000", "sightings": 2}
    found = search(url, q="PLACE 4999", limit="200").json()["locations"]
    assert [f["location"] for f in found] == [f"Place 4999{i}" for i in range(10)]
    assert len(search(url, q="", limit=str(MAX_SEARCH_RESULTS)).json()["locations"]) == 200


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * (SEARCH_LENGTH + 1)},
        {"q": "place", "limit": "0"},
        {"q": "place", "limit": str(MAX_SEARCH_RESULTS + 1)},
        {"q": "place", "limit": "ten"},
        {"q": "place", "limit": "9" * 5000},
        {"q": "place", "limit": "-1"},
    ],
)
def test_search_refuses_what_is_out_of_bounds(url, params):
    answer = search(url, **params)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["error"]


def test_search_gives_a_location_exactly_as_stored_in_json(url):
    answer = search(url, q="tom & jerry")
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["locations"] == [{"location": MARKUP, "sightings": 1}]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # never read as a page


def test_search_gives_a_long_location_as_the_page_shows_it_and_it_filters(url):
    shown = shown_location(LONG)
    assert shown != LONG
    assert search(url, q="long lagoon").json()["locations"] == [{"location": shown, "sightings": 1}]
    html = requests.get(f"{url}/", params={"location": shown}, timeout=60).text
    assert 'data-testid="total">1<' in html
    assert selected(html) == [shown]


def test_search_with_no_sightings_finds_nothing(client):
    for words in ("", "venus"):
        answer = client.get("/api/locations", query_string={"q": words})
        assert answer.status_code == 200
        assert answer.get_json() == {"q": words, "locations": [], "more": False, "all": 0}


def test_long_locations_that_show_alike_are_one_entry_their_sightings_added():
    one, other = "L" * 300 + "a", "L" * 300 + "b"  # the same length: shown alike
    snapshot = snapshot_of(
        [
            sighting(1, "2026-11-27 09:00:00", "venus"),
            sighting(2, "2026-11-27 09:00:01", "venus"),
            sighting(3, "2026-11-27 09:00:02", one),
            sighting(4, "2026-11-27 09:00:03", "mars"),
            sighting(5, "2026-11-27 09:00:04", other),
            sighting(6, "2026-11-27 09:00:05", other),
        ]
    )
    index = location_index(snapshot)
    assert index.counted == ((shown_location(one), 3), ("venus", 2), ("mars", 1))
    assert index.search("lll", 5) == ([(shown_location(one), 3)], False)
