"""A hostile SPUC cannot make the page grow with what its file holds (issue 20): any
number of unit codes comes to a few listed ones and one entry for the rest, in the
strip, the charts and the API; a brightness of any length is shortened on the page
(whole on hover, bounded as a long location is) and whole in the downloads.

SPUC is a fake over real HTTP on 127.0.0.1 serving the file as SPUC would.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest

from spucsvi.data.display import MAX_BRIGHTNESS_SHOWN, MAX_UNITS_LISTED, shown_location
from tests.support.apps import make_app
from tests.support.fakes import FakeRequest, FakeSpuc, http_response
from tests.support.records import HEADER
from tests.test_units_shown import figures  # every chart's figure, as the page hands it over

UNITS = 5_000
JUNK = "junk" * 1_280  # a 5 KB brightness, not a number
BRIGHT = "0" * 5_000 + "9999"  # 5 KB, a number: the brightest
ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"
# The units SPUC's file holds (UNITS and iuhc) less those listed.
OTHERS = f"{UNITS + 1 - (MAX_UNITS_LISTED - 1):,} other units"


def export() -> bytes:
    """30 sightings in iuhc, then one in each of UNITS codes, then the two long brightnesses."""
    lines = [HEADER]
    codes = ["iuhc"] * 30 + [f"u{i:05d}" for i in range(UNITS)] + ["iuhc", "iuhc"]
    brightness = ["7"] * (len(codes) - 2) + [BRIGHT, JUNK]
    for count, (code, value) in enumerate(zip(codes, brightness, strict=True), start=1):
        lines.append(
            f"{count},2026-11-27 {count // 3600 % 24:02d}:{count // 60 % 60:02d}:"
            f"{count % 60:02d},moon,{value},{code}\n"
        )
    return "".join(lines).encode()


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator:
    body = export()

    def respond(request: FakeRequest, connection) -> None:
        if request.method == "GET" and request.path == "/export":
            connection.sendall(
                http_response(200, body, {"Content-Type": "text/plain; charset=utf-8"})
            )
        else:
            connection.sendall(http_response(404, b"Not Found", {"Content-Type": "text/plain"}))

    with FakeSpuc(respond) as fake:
        fake.release.set()  # answer and close at once
        yield make_app(fake.url, tmp_path_factory.mktemp("bounds")).test_client()


def part(html: str, start: str, end: str) -> str:
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


def test_thousands_of_unit_codes_are_a_few_entries_and_one_for_the_rest(client):
    html = client.get("/").get_data(as_text=True)
    assert len(html) < 300_000, len(html)
    found = figures(html)
    for chart_id in ("brightness-chart", "histogram-chart"):
        traces = found[chart_id]["data"]
        series = {trace["meta"]["series"] for trace in traces}
        assert len(series) <= MAX_UNITS_LISTED, (chart_id, len(series))
        # The folded units share no scale: no plot of theirs; the page says how many.
        assert not any(trace["name"].endswith(OTHERS) for trace in traces)
        figure = found[chart_id]
        assert figure["units_drawn"] + figure["units_left_out"] == UNITS + 1
    assert len(found["brightness-chart"]["data"]) <= 3 * MAX_UNITS_LISTED
    units = re.sub(r"<[^>]*>", "", part(html, 'class="stat stat-units"', "</div>"))
    assert OTHERS in units
    assert len(re.findall(r"\bu\d{5}\b", units)) <= MAX_UNITS_LISTED - 1
    summary = client.get("/api/summary").get_json()
    assert len(summary["units"]) <= MAX_UNITS_LISTED
    assert len(summary["per_unit"]) <= MAX_UNITS_LISTED
    # Figures over several units mean nothing: the folded entry has none.
    folded = [u for u in summary["per_unit"] if u["units"].endswith("other units")]
    assert len(folded) == 1 and folded[0]["mean_brightness"] is None


def test_a_long_brightness_is_shortened_on_the_page_and_whole_in_the_download(client):
    html = client.get("/").get_data(as_text=True)
    assert "junk" * 5 not in html.replace(shown_location(JUNK), "")
    assert "0" * 50 not in html.replace(shown_location(BRIGHT), "")
    shown = JUNK[: MAX_BRIGHTNESS_SHOWN - 1] + ELLIPSIS
    table = part(html, 'class="sightings"', "</table>")
    assert f'<span class="long-value" title="{shown_location(JUNK)}">{shown}</span>' in table
    strip = part(html, 'class="summary-strip"', "</dl>")
    assert f">{BRIGHT[: MAX_BRIGHTNESS_SHOWN - 1]}{ELLIPSIS}</span>" in strip  # the brightest
    assert f">{shown}</span>" in strip  # the latest
    with client.get("/sightings.csv") as answer:
        rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["brightness"] for row in rows[-2:]] == [BRIGHT, JUNK]
