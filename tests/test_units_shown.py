"""Unit codes from SPUC's file reach the page and its charts as text, bounded in length
(issue 20, finding 10), and the downloads whole.

A unit code is whatever ends a line of SPUC's file: no spaces or commas, anything
else. Two codes joined with " and " in an axis title made a Plotly link.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from spucsvi.data.charts import CHARTS, MAX_UNIT_PLOTS
from spucsvi.data.display import MAX_UNIT_SHOWN, shown_location
from tests.support.apps import post_sighting
from tests.support.records import HEADER

# "<a" and this one joined by " and " are the tag <a and href="http://evil.example">.
LINK_OPEN = "<a"
LINK_REST = 'href="http://evil.example">x</a>'
LONG = "u" * 300
TEMPLATE = "%{meta.series}"  # Plotly fills in "%{...}" in trace names and titles
# The only pseudo-HTML tags SPUCSVi writes into a figure.
OWN_TAGS = {"<br>", "<b>", "</b>", "<extra>", "</extra>"}


def export(*units: str, rows_each: int = 3) -> str:
    """SPUC's file with `rows_each` sightings in each unit."""
    lines = [HEADER]
    count = 0
    for code in units:
        for i in range(rows_each):
            count += 1
            lines.append(
                f"{count},2026-11-27 18:{count // 60:02d}:{count % 60:02d},moon,{i},{code}\n"
            )
    return "".join(lines)


def figures(html: str) -> dict[str, dict]:
    """Every chart's figure as the page hands it to Plotly."""
    found = {}
    for chart in CHARTS:
        opening = f'id="{chart.id}-data">'
        start = html.index(opening) + len(opening)
        found[chart.id] = json.loads(html[start : html.index("</script>", start)])
    return found


def texts(value: object) -> list[str]:
    """Every string in a figure: titles, names, hover templates and their data, labels."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in texts(item)]
    return []


def part(html: str, start: str, end: str) -> str:
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


def words(html: str) -> str:
    """What a piece of HTML shows as text (attributes left out)."""
    return re.sub(r"<[^>]*>", "", html)


@pytest.mark.parametrize(
    ("units", "rows_each"),
    [
        ((LINK_OPEN, LINK_REST), 3),
        ((LINK_OPEN, LINK_REST, LONG, TEMPLATE), 3),
        ((LONG,), 3),
        ((LINK_REST,), 3),
        ((LINK_OPEN, TEMPLATE), 1100),  # drawn as bands: more points than fit
    ],
)
def test_unit_codes_reach_the_charts_as_plain_bounded_text(seeded, units, rows_each):
    client, _ = seeded(export(*units, rows_each=rows_each))
    html = client.get("/").get_data(as_text=True)
    every = [text for figure in figures(html).values() for text in texts(figure)]
    tags = {tag for text in every for tag in re.findall(r"<[^>]*>?", text)}
    assert tags <= OWN_TAGS, tags - OWN_TAGS
    assert not any("%{meta" in text for text in every)
    assert not any("u" * (MAX_UNIT_SHOWN + 1) in text for text in every)
    if rows_each > 1000:
        assert "reduced_from" in figures(html)["brightness-chart"]


def test_two_codes_make_no_link_in_the_axis_title(seeded):
    client, _ = seeded(export(LINK_OPEN, LINK_REST))
    figure = figures(client.get("/").get_data(as_text=True))["brightness-chart"]
    layout = figure["layout"]
    titles = [layout[axis]["title"]["text"] for axis in ("yaxis", "yaxis2")]
    assert titles == ["&lt;a", 'href="h\N{HORIZONTAL ELLIPSIS}']
    assert [trace["name"] for trace in figure["data"]] == [
        "&lt;a",
        'href="h\N{HORIZONTAL ELLIPSIS}',
    ]


def test_a_few_units_are_drawn_each_on_its_own_scale_and_the_rest_counted(seeded):
    client, _ = seeded(export(*(f"u{i}" for i in range(40)), rows_each=2))
    page = client.get("/").get_data(as_text=True)
    found = figures(page)
    for chart, axis in (("brightness-chart", "yaxis"), ("histogram-chart", "xaxis")):
        layout = found[chart]["layout"]
        assert f"{axis}{MAX_UNIT_PLOTS}" in layout and f"{axis}{MAX_UNIT_PLOTS + 1}" not in layout
        assert found[chart]["units_left_out"] == 40 - MAX_UNIT_PLOTS
    assert f"{40 - MAX_UNIT_PLOTS} more units: choose one in the filter" in page


def test_a_long_code_is_bounded_in_the_strip_and_table_and_longer_on_hover(seeded):
    client, _ = seeded(export(LONG, LINK_REST))
    html = client.get("/").get_data(as_text=True)
    shown = "u" * (MAX_UNIT_SHOWN - 1) + "\N{HORIZONTAL ELLIPSIS}"
    for start, end in (('class="summary-strip"', "</dl>"), ('class="sightings"', "</table>")):
        piece = part(html, start, end)
        assert shown in words(piece)
        assert "u" * MAX_UNIT_SHOWN not in words(piece)
        # On hover the code as the page shows any long text: 200 characters and its length.
        assert f'title="{shown_location(LONG)}"' in piece
        assert "&lt;/a&gt;" not in words(piece)  # the other code is shortened too
        assert "href=&#34;h\N{HORIZONTAL ELLIPSIS}" in words(piece)


def test_a_huge_code_is_not_whole_even_on_hover(seeded):
    huge = "h" * 100_000
    client, _ = seeded(export(huge, rows_each=20))
    page = client.get("/").get_data(as_text=True)
    assert len(page) < 100_000, len(page)
    assert "h" * 201 not in page
    assert "\N{HORIZONTAL ELLIPSIS} (100,000 characters)" in page


def test_the_downloads_keep_every_code_whole(seeded):
    units = (LINK_OPEN, LINK_REST, LONG, TEMPLATE)
    client, _ = seeded(export(*units, rows_each=1))
    rows = client.get("/api/sightings?sort=time&order=asc").get_json()["sightings"]
    assert [row["units"] for row in rows] == list(units)
    summary = client.get("/api/summary").get_json()
    assert sorted(summary["units"]) == sorted(units)
    assert sorted(u["units"] for u in summary["per_unit"]) == sorted(units)
    with client.get("/sightings.csv") as answer:
        table = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [row["units"] for row in table] == list(units)


def test_the_confirmation_names_a_long_code_bounded(seeded):
    client, _ = seeded(export(LONG), units=LONG)  # SPUC run with --units LONG
    answer = post_sighting(client, "venus", "5", follow_redirects=True)
    banner = words(part(answer.get_data(as_text=True), 'id="recorded"', "</p>"))
    assert "venus, brightness 5 " + "u" * (MAX_UNIT_SHOWN - 1) + "\N{HORIZONTAL ELLIPSIS}" in banner
    assert "u" * MAX_UNIT_SHOWN not in banner
