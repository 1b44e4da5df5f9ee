"""A zoomed time chart's window (`/api/charts/<id>/window`): the detail the overview
reduces away, within the page's filter, bounded like the page's figure."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from spucsvi.data.charts import MAX_POINTS
from tests.support.records import HEADER

START = datetime(2026, 11, 27)
STEP = timedelta(seconds=10)
N = 20_000  # about 2.3 days, one sighting every 10 s
BURST = (datetime(2026, 11, 28, 12), datetime(2026, 11, 28, 13))  # bright for one hour
PEAK = 987.0


def brightness(i: int, when: datetime) -> str:
    if BURST[0] <= when < BURST[1]:
        return str(PEAK) if when == BURST[0] + timedelta(minutes=30) else str(900 + i % 50)
    return str(1 + i * 7919 % 97)


def export() -> str:
    records = []
    for i in range(1, N + 1):
        when = START + i * STEP
        records.append(f"{i},{when},{'mars' if i % 2 else 'venus'},{brightness(i, when)},iuhc\n")
    return HEADER + "".join(records)


@pytest.fixture(scope="module")
def client(seeded_for_module):
    return seeded_for_module(export())[0]


def window(client, start: str, end: str, **query: str):
    return client.get(
        "/api/charts/brightness-chart/window",
        query_string={"window_from": start, "window_to": end, **query},
    )


def test_the_page_says_where_its_chart_asks_for_a_window(client):
    page = client.get("/").get_data(as_text=True)
    assert 'data-chart-detail="/api/charts/brightness-chart/window"' in page


def test_a_window_that_fits_is_every_sighting_in_it_the_burst_whole(client):
    answer = window(client, "2026-11-28T11:45:00Z", "2026-11-28T14:14:59Z")
    assert answer.status_code == 200
    found = answer.get_json()
    (trace,) = found["figure"]["data"]
    assert found["sightings"] == len(trace["x"]) == 150 * 6
    assert "reduced_from" not in found["figure"]
    assert max(trace["y"]) == PEAK
    bright = [
        datetime.fromisoformat(x) for x, y in zip(trace["x"], trace["y"], strict=True) if y >= 900
    ]
    assert (min(bright), max(bright)) == (BURST[0], BURST[1] - STEP)


def test_a_window_too_full_for_points_is_finer_stretches(client):
    found = window(client, "2026-11-27T12:00:00Z", "2026-11-28T23:59:59Z").get_json()
    highest, lowest, mean = found["figure"]["data"]
    stretches = [count for count, _, _ in mean["customdata"]]
    assert found["sightings"] == sum(stretches) == 36 * 360
    assert len(highest["x"]) + len(lowest["x"]) <= MAX_POINTS
    assert max(highest["y"]) == PEAK


def test_a_window_stays_within_the_pages_filter(client):
    found = window(client, "2026-11-28T12:00Z", "2026-11-28T12:59:59Z", location="mars").get_json()
    (trace,) = found["figure"]["data"]
    assert found["sightings"] == 180
    assert {row[0] for row in trace["customdata"]} == {"mars"}


def test_a_window_without_sightings_is_an_empty_chart(client):
    found = window(client, "2030-01-01T00:00Z", "2030-01-02T00:00Z").get_json()
    assert found["sightings"] == 0
    assert all(trace["x"] == [] for trace in found["figure"]["data"])  # axes, no marks


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"window_from": "2026-11-28T12:00Z"}, 400, "window_from and window_to"),
        ({"window_from": "yesterday", "window_to": "2026-11-28T12:00Z"}, 400, "The window: "),
        ({"window_from": "2026-11-28T13:00Z", "window_to": "2026-11-28T12:00Z"}, 400, "before"),
        ({"window_from": "2026-11-28", "window_to": "2026-11-29", "page": "0"}, 400, "page"),
    ],
)
def test_a_malformed_window_is_refused_with_its_reason(client, query, status, words):
    answer = client.get("/api/charts/brightness-chart/window", query_string=query)
    assert answer.status_code == status
    assert words in answer.get_json()["error"]


@pytest.mark.parametrize("chart", ["histogram-chart", "nothing"])
def test_only_charts_declared_for_zoom_have_a_window(client, chart):
    answer = client.get(
        f"/api/charts/{chart}/window",
        query_string={"window_from": "2026-11-28", "window_to": "2026-11-29"},
    )
    assert answer.status_code == 404
