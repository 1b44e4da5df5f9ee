"""The dashboard page: summary strip, charts, table, filters, against the SPUC emulator."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from spucsvi.data import charts
from tests.support.apps import make_app, post_sighting
from tests.support.records import DATA, HEADER

# Every declared chart, in the page's order.
TITLES = {chart.id: chart.title for chart in charts.CHARTS}
CHARTS = tuple(TITLES)
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


def lines(n: int, units: str = "iuhc") -> str:
    """n well-formed records, one a second, brightness 1..n."""
    return HEADER + "".join(
        f"{i},2026-11-27 {10 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d},"
        f"place {i % 4},{i},{units}\n"
        for i in range(1, n + 1)
    )


# --- a small DOM, to assert on the page's structure rather than its formatting -------------


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text content, whitespace collapsed."""
        parts = [c if isinstance(c, str) else c.text for c in self.children]
        return " ".join(" ".join(parts).split())

    @property
    def raw_text(self) -> str:
        return "".join(c if isinstance(c, str) else c.raw_text for c in self.children)

    def iter(self):
        for child in self.children:
            if isinstance(child, Element):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        attrs = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag) and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} elements match {tag} {attrs}"
        return found[0]

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def dom(html: str) -> Element:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def page(client, url: str = "/", status: int = 200) -> Element:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return dom(response.get_data(as_text=True))


def stats(document: Element) -> dict[str, str]:
    """The summary strip as {term: description text}."""
    strip = document.find("dl", class_="summary-strip")
    return {div.find("dt").text: div.find("dd").text for div in strip.find_all("div")}


def table_counts(document: Element) -> list[int]:
    body = document.find("table", class_="sightings").find("tbody")
    return [int(row.find_all("td")[0].text) for row in body.find_all("tr")]


def figure(document: Element, chart: str) -> dict:
    return json.loads(document.find("script", id=f"{chart}-data").raw_text)


def notes(document: Element) -> list[str]:
    return [p.text for p in document.find_all("p", class_="note")]


@pytest.fixture(scope="module")
def board(seeded_for_module):
    """The test client on SPUC holding DATA (read only: shared by the module)."""
    client, _ = seeded_for_module(DATA)
    return client


# --- summary strip ------------------------------------------------------------------------


def test_summary_strip_shows_every_number(board):
    assert stats(page(board)) == {
        "Sightings": "5",
        "Latest": "mars 2026-11-28 09:15 UTC , brightness 3 iuhc",
        # Mixed units: each unit's figures, never averaged together.
        "Brightest": '12.5 iuhc venus 100 iulu moon, "big" crater',
        "Mean / median brightness": "7.75 iuhc median 7.75 iuhc 53.5 iulu median 53.5 iulu",
        "Locations": "3",
        "Units": "Imperial Unicorn Hoove Candles (iuhc) and Intergalactic Unicorn Luminosity "
        "Units (iulu) (mixed: SPUC was restarted with other units)",
    }


def test_summary_total_is_marked_for_tests_and_tools(board):
    html = board.get("/").get_data(as_text=True)
    assert '<span class="stat-number" data-testid="total">5</span>' in html


def test_unreadable_lines_are_counted_in_a_note(board):
    assert "2 lines of SPUC's export could not be read and are left out." in notes(page(board))


def test_one_unreadable_line_is_singular(seeded):
    client, _ = seeded(HEADER + "1,2026-11-27 10:00:00,venus,7,iuhc\ngarbage\n")
    assert "1 line of SPUC's export could not be read and is left out." in notes(page(client))


def test_one_unit_has_its_long_name_and_no_mixed_note(seeded):
    client, _ = seeded(lines(3, units="iulu"))
    assert stats(page(client))["Units"] == "Intergalactic Unicorn Luminosity Units (iulu)"


def test_latest_shows_its_time_to_the_minute_as_machine_readable_time(board):
    latest = page(board).find("dl", class_="summary-strip").find("time")
    # SPUC's zoneless time, taken as UTC, says so.
    assert (latest.attrs["datetime"], latest.text) == (
        "2026-11-28T09:15:30.500000Z",
        "2026-11-28 09:15 UTC",
    )


def test_summary_without_readable_brightness_says_none(seeded):
    client, _ = seeded(HEADER + "1,2026-11-27 10:00:00,venus,bright,iuhc\n")
    summary = stats(page(client))
    assert (summary["Brightest"], summary["Mean / median brightness"]) == (
        "none",
        "none median none",
    )


def test_no_sightings_yet(client):
    document = page(client)
    assert document.find("h2", id="empty-title").text == "No unicorn sightings yet!"
    # Said once: no strip of "none"s, no download of nothing (#18).
    assert document.find_all("dl", class_="summary-strip") == []
    # No download line; its place is kept, hidden and empty, for the live refresh.
    (downloads,) = document.find_all("p", class_="downloads")
    assert "hidden" in downloads.attrs and not downloads.children
    assert "none" not in client.get("/").get_data(as_text=True).lower()
    assert document.find_all("div", class_="chart") == []


# --- charts -------------------------------------------------------------------------------


def test_four_charts_each_with_its_json_data(board):
    document = page(board)
    for chart in CHARTS:
        container = document.find("div", id=chart)
        assert container.classes() == {"chart"}
        assert container.attrs["aria-label"] == f"{TITLES[chart]}, for 5 sightings"
        # The page's script draws every [data-chart] from the JSON script it names.
        assert container.attrs["data-chart"] == f"{chart}-data"
        script = document.find("script", id=f"{chart}-data")
        assert script.attrs["type"] == "application/json"
        assert set(figure(document, chart)) >= {"data", "layout", "config"}


def test_chart_data_matches_the_sightings(board):
    document = page(board)
    # One series per unit: iuhc, then iulu.
    assert [t["y"] for t in figure(document, "brightness-chart")["data"]] == [[12.5, 3], [100, 7]]
    assert figure(document, "cumulative-chart")["data"][0]["y"] == [1, 2, 3, 4, 5]
    locations = figure(document, "locations-chart")["data"][0]
    assert (locations["y"], locations["x"]) == (
        ['moon, "big" crater', "mars", "venus"],
        [1, 2, 2],
    )
    assert sum(sum(t["y"]) for t in figure(document, "histogram-chart")["data"]) == 4


def test_brightness_axis_names_the_mixed_units(board):
    layout = figure(page(board), "brightness-chart")["layout"]
    assert layout["yaxis"]["title"]["text"] == "iuhc"
    assert layout["yaxis2"]["title"]["text"] == "iulu"


def test_many_sightings_are_drawn_reduced_with_a_note(seeded):
    client, _ = seeded(lines(2500))
    document = page(client)
    assert notes(document) == [
        "Drawing 500 of 2,500 points: "
        "each stretch of time (at least 10 sightings) as a band from its lowest "
        "to its highest sighting, with its mean.",
        "Drawing 1,251 of 2,500 points: "
        "the running count at evenly spaced sightings, the last one included.",
    ]
    # Each stretch's highest and lowest (a band) and its mean: 250 stretches of 10.
    highest, lowest, mean = figure(document, "brightness-chart")["data"]
    assert len(highest["x"]) + len(lowest["x"]) == 500 and lowest["fill"] == "tonexty"
    assert len(mean["x"]) == 250
    assert figure(document, "brightness-chart")["reduced_from"] == 2500


def test_up_to_1000_sightings_are_drawn_whole_without_a_note(seeded):
    client, _ = seeded(lines(1000))
    document = page(client)
    assert not [n for n in notes(document) if n.startswith("Drawing")]
    assert len(figure(document, "brightness-chart")["data"][0]["x"]) == 1000


# --- table: sorting and pages -------------------------------------------------------------


def header_cells(document: Element) -> dict[str, Element]:
    head = document.find("table", class_="sightings").find("thead")
    return {th.find("a").text.split()[0]: th for th in head.find_all("th") if th.find_all("a")}


def test_table_is_newest_first_and_says_so(board):
    document = page(board)
    assert table_counts(document) == [5, 4, 3, 2, 1]
    cells = header_cells(document)
    assert cells["Time"].attrs["aria-sort"] == "descending"
    assert "aria-sort" not in cells["Location"].attrs
    assert "aria-sort" not in cells["Brightness"].attrs
    assert {name: th.find("a").attrs["href"] for name, th in cells.items()} == {
        "Time": "/?sort=time&order=asc",
        "Location": "/?sort=location&order=desc",
        "Brightness": "/?sort=brightness&order=desc",
    }


def test_table_row_shows_every_field(board):
    row = page(board).find("table", class_="sightings").find("tbody").find_all("tr")[-1]
    cells = row.find_all("td")
    assert [c.text for c in cells] == [
        "1",
        "2026-11-27 18:02:00 UTC",
        'moon, "big" crater',
        "100",
        "iulu",
    ]
    assert cells[1].find("time").attrs["datetime"] == "2026-11-27T18:02:00.027188Z"
    assert cells[4].find("abbr").attrs["title"] == "Intergalactic Unicorn Luminosity Units (iulu)"


@pytest.mark.parametrize(
    ("query", "counts", "sorted_by", "aria"),
    [
        ("sort=time&order=asc", [1, 2, 3, 4, 5], "Time", "ascending"),
        # Within each unit: iuhc (3, 5, 4), then iulu (1, 2).
        ("sort=brightness", [3, 5, 4, 1, 2], "Brightness", "descending"),
        ("sort=brightness&order=asc", [4, 5, 3, 2, 1], "Brightness", "ascending"),
        ("sort=location&order=asc", [4, 5, 1, 2, 3], "Location", "ascending"),
    ],
)
def test_table_sorting(board, query, counts, sorted_by, aria):
    document = page(board, f"/?{query}")
    assert table_counts(document) == counts
    cells = header_cells(document)
    assert cells[sorted_by].attrs["aria-sort"] == aria
    assert [name for name, th in cells.items() if "aria-sort" in th.attrs] == [sorted_by]


def test_sort_link_of_the_current_column_flips_the_order(board):
    cells = header_cells(page(board, "/?sort=brightness&order=asc"))
    assert cells["Brightness"].find("a").attrs["href"] == "/?sort=brightness&order=desc"
    cells = header_cells(page(board, "/?sort=brightness&order=desc"))
    assert cells["Brightness"].find("a").attrs["href"] == "/?sort=brightness&order=asc"


def test_sort_links_keep_the_filters_and_go_back_to_page_one(board):
    cells = header_cells(page(board, "/?location=venus&location=mars&per_page=2&page=2"))
    assert cells["Location"].find("a").attrs["href"] == (
        "/?location=venus&location=mars&per_page=2&sort=location&order=desc"
    )


def test_pagination(seeded):
    client, _ = seeded(lines(12))
    document = page(client, "/?per_page=5&page=2")
    assert table_counts(document) == [7, 6, 5, 4, 3]
    nav = document.find("nav", class_="pagination")
    assert nav.find("span").text == "Page 2 of 3 (12 sightings)"
    assert nav.find("a", rel="prev").attrs["href"] == "/?per_page=5&page=1"
    assert nav.find("a", rel="next").attrs["href"] == "/?per_page=5&page=3"


def test_per_page_alone(seeded):
    client, _ = seeded(lines(12))
    document = page(client, "/?per_page=5")
    assert table_counts(document) == [12, 11, 10, 9, 8]
    nav = document.find("nav", class_="pagination")
    assert nav.find("span").text == "Page 1 of 3 (12 sightings)"
    assert nav.find_all("a", rel="prev") == []


def test_last_page_has_no_next_link_and_a_page_past_the_end_shows_it(seeded):
    client, _ = seeded(lines(12))
    document = page(client, "/?per_page=5&page=99")
    assert table_counts(document) == [2, 1]
    nav = document.find("nav", class_="pagination")
    assert nav.find("span").text == "Page 3 of 3 (12 sightings)"
    assert nav.find_all("a", rel="next") == []


def test_default_page_size_is_15(seeded):
    client, _ = seeded(lines(16))
    document = page(client)
    assert table_counts(document) == list(range(16, 1, -1))
    assert document.find("nav", class_="pagination").find("span").text == (
        "Page 1 of 2 (16 sightings)"
    )


# --- the just-submitted sighting ----------------------------------------------------------


def highlighted(document: Element) -> list[tuple[int, str]]:
    body = document.find("table", class_="sightings").find("tbody")
    return [
        (int(row.find_all("td")[0].text), row.find_all("td")[2].text)
        for row in body.find_all("tr")
        if "just-added" in row.classes()
    ]


def test_just_submitted_sighting_is_highlighted_once(seeded):
    client, _ = seeded(DATA)
    # A sighting like an older one (2: venus, 7): only the new one is marked (8:
    # SPUC counts the file's lines, and the broken record 6 takes two).
    assert post_sighting(client, "venus", "7").status_code == 303
    document = page(client)
    assert highlighted(document) == [(8, "venus your sighting")]
    assert document.find("strong", class_="badge").text == "your sighting"
    assert highlighted(page(client)) == []


def test_highlight_is_only_for_the_visitor_who_sent_it(seeded):
    client, spuc = seeded(DATA)
    post_sighting(client, "venus", "8")
    other = make_app(spuc.url, spuc.data_file.parent).test_client()
    assert highlighted(page(other)) == []
    assert highlighted(page(client)) == [(8, "venus your sighting")]


# --- filters in the URL -------------------------------------------------------------------


def test_location_filter_changes_summary_table_and_charts(board):
    document = page(board, "/?location=venus")
    summary = stats(document)
    assert summary["Sightings"] == "2 of 5"
    assert summary["Latest"] == "venus 2026-11-27 23:59 UTC , brightness 12.5 iuhc"
    assert summary["Mean / median brightness"] == "12.5 iuhc median 12.5 iuhc 7 iulu median 7 iulu"
    assert table_counts(document) == [3, 2]
    assert [t["y"] for t in figure(document, "brightness-chart")["data"]] == [[12.5], [7]]
    assert figure(document, "locations-chart")["data"][0]["y"] == ["venus"]
    assert figure(document, "cumulative-chart")["data"][0]["y"] == [1, 2]


def test_filter_form_shows_the_chosen_values(board):
    document = page(board, "/?location=venus&from=2026-11-27T18:00&to=2026-11-28")
    options = document.find("select", id="filter-location").find_all("option")
    assert [(o.attrs["value"], "selected" in o.attrs) for o in options] == [
        ("venus", True),
        ("mars", False),
        ('moon, "big" crater', False),
    ]
    assert document.find("input", id="filter-from").attrs["value"] == "2026-11-27T18:00"
    assert document.find("input", id="filter-to").attrs["value"] == "2026-11-28"
    assert document.find("div", class_="filter-actions").find("a").attrs["href"] == "/"


def test_time_filter_changes_the_table(board):
    assert table_counts(page(board, "/?from=2026-11-27T18:02:01&to=2026-11-27")) == [3, 2]


def test_filter_matching_nothing_says_so_with_a_clear_link(board):
    document = page(board, "/?location=venus&from=2026-11-28")
    empty = document.find("section", class_="panel empty")
    assert empty.find("h2").text == "No sightings match these filters"
    assert empty.find("a").attrs["href"] == "/"
    assert empty.find("p").text == "Clear the filters to see all 5 sightings."
    assert stats(document)["Sightings"] == "0 of 5"
    assert document.find_all("div", class_="chart") == []
    assert document.find_all("table") == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("sort=colour", "'sort' must be one of time, location, brightness."),
        ("page=0", "'page' must be a whole number from 1 to 1000000000."),
        ("per_page=500", "'per_page' must be a whole number from 1 to 200."),
    ],
)
def test_malformed_filter_is_a_400_page_with_the_reason_and_the_form(board, query, message):
    document = page(board, f"/?{query}", status=400)
    banner = document.find("div", class_="banner banner-warning")
    assert banner.find("h2").text == "That filter could not be read"
    assert banner.find_all("p")[0].text == message
    assert banner.find("a").attrs["href"] == "/"
    assert document.find("form", class_="sighting-form").attrs["method"] == "post"
    assert document.find("form", class_="filters").attrs["method"] == "get"
    assert stats(document)["Sightings"] == "5"  # everything, unfiltered


@pytest.mark.parametrize(
    ("query", "error_id", "message"),
    [
        (
            "from=yesterday",
            "filter-from-error",
            "'from' must be a date like 2026-11-27 or a time like 2026-11-27T18:30.",
        ),
        (
            "since=1y",
            "filter-since-error",
            "'since' must be a number of minutes, hours or days, like 90m, 2h or 30d.",
        ),
        ("from=2000-01-02&to=2000-01-01", "filter-to-error", "The 'from' time must be before"),
    ],
)
def test_a_refused_part_of_the_filter_is_said_beside_it_and_the_rest_applies(
    board, query, error_id, message
):
    document = page(board, f"/?{query}&location=venus", status=400)
    assert document.find("p", id=error_id).text.startswith(message)
    assert stats(document)["Sightings"] == "2 of 5"  # the location still applies


def test_page_links_its_csv_and_json_alternates(board):
    links = {
        link.attrs["type"]: link.attrs["href"]
        for link in page(board, "/?location=venus&sort=brightness&order=asc&per_page=5").find_all(
            "link", rel="alternate"
        )
    }
    assert links == {
        "text/csv": "/sightings.csv?location=venus",
        "application/json": "/api/sightings?location=venus&sort=brightness&order=asc&per_page=5",
    }


def test_alternates_of_the_whole_data_set(board):
    links = {
        link.attrs["type"]: link.attrs["href"]
        for link in page(board).find_all("link", rel="alternate")
    }
    assert links == {"text/csv": "/sightings.csv", "application/json": "/api/sightings"}


def test_download_links_follow_the_filter(board):
    downloads = page(board, "/?location=mars&sort=location").find("p", class_="downloads")
    assert downloads.text.startswith("Download these 2 sightings:")
    assert [a.attrs["href"] for a in downloads.find_all("a")] == [
        "/sightings-for-spreadsheets.csv?location=mars",
        "/sightings.csv?location=mars",
        "/sightings.json?location=mars",
        "/api/sightings?location=mars&sort=location",
        "/api/summary?location=mars",
    ]
    assert ["download" in a.attrs for a in downloads.find_all("a")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_location_with_surrounding_spaces_can_be_chosen(seeded):
    client, _ = seeded(
        HEADER + "1,2026-11-27 10:00:00, venus,7,iuhc\n2,2026-11-27 10:00:01,mars,3,iuhc\n"
    )
    option = page(client).find("select", id="filter-location").find_all("option")[0]
    assert option.attrs["value"] == " venus"
    assert table_counts(page(client, "/?location=%20venus")) == [1]


# --- escaping -----------------------------------------------------------------------------

ATTACK = "<b>bold</b></script><script>alert(1)</script>"
ONE_SIGHTING = ("brightness-chart", "locations-chart")


@pytest.fixture
def attacked(seeded):
    client, _ = seeded(HEADER + f"1,2026-11-27 10:00:00,{ATTACK},7,iuhc\n")
    return client


def test_markup_in_a_location_never_reaches_the_page_as_markup(attacked):
    html = attacked.get("/").get_data(as_text=True)
    assert "<b>bold" not in html
    assert "alert(1)</script>" not in html
    assert re.findall(r"<script[^>]*>", html) == (
        # One sighting: the over-time and distribution charts are notes until there are more.
        [f'<script type="application/json" id="{c}-data">' for c in CHARTS if c in ONE_SIGHTING]
        + re.findall(r'<script src="[^"]+" defer>', html)
        + re.findall(r'<script type="module" src="[^"]+">', html)
    )


def test_markup_in_a_location_is_text_in_the_summary(attacked):
    summary = page(attacked).find("dl", class_="summary-strip")
    assert summary.find_all("b") == []
    assert stats(page(attacked))["Latest"] == f"{ATTACK} 2026-11-27 10:00 UTC , brightness 7 iuhc"


def test_markup_in_a_location_is_text_in_the_table(attacked):
    cells = page(attacked).find("table", class_="sightings").find("tbody").find_all("td")
    assert cells[2].text == ATTACK
    assert cells[2].find_all("b") == []


def test_markup_in_a_location_is_text_in_the_filter_options(attacked):
    option = page(attacked).find("select", id="filter-location").find("option")
    assert (option.attrs["value"], option.text) == (ATTACK, ATTACK)


def test_markup_in_a_location_is_escaped_in_the_chart_json(attacked):
    html = attacked.get("/").get_data(as_text=True)
    assert "\\u0026lt;b\\u0026gt;bold" in html
    document = dom(html)
    # In lines for the hover (data/display.py, HOVER_LINE).
    escaped = "&lt;b&gt;bold&lt;/b&gt;&lt;/script&gt;&lt;scr<br>ipt&gt;alert(1)&lt;/script&gt;"
    assert figure(document, "brightness-chart")["data"][0]["customdata"] == [[escaped, "iuhc"]]
    assert figure(document, "locations-chart")["data"][0]["y"] == [escaped]
